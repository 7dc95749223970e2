"""The invoice document: DOMAIN.md's T&M worked example through approve, issue and the PDF;
credit-note and consolidated layouts; delivery stores the PDF once and e-mails it once."""

import io
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billing.documents import format_amount, invoice_document_deliver, invoice_pdf_render
from billing.errors import InvoiceStateError
from billing.models import Invoice, InvoiceLine
from billing.services.credit_notes import credit_note_create
from billing.services.issue import invoice_approve, invoice_issue
from tests.billing.factories import InvoiceFactory, InvoiceLineFactory, invoice_with_lines
from tests.psa.factories import ClientFactory, ContractFactory, ProjectFactory, RoleFactory

pytestmark = pytest.mark.django_db
D = Decimal
MARCH_31 = date(2026, 3, 31)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def actor(finance):
    return finance.user


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def worked_example(actor):
    """DOMAIN.md's T&M example as an issued invoice: 8,576.05 + 8.25 % tax = 9,283.57."""
    client = ClientFactory(name="Contoso Retail", tax_rate=D("8.2500"),
                           billing_address="200 Harbor Way\nSeattle, WA 98101",
                           billing_contact_name="Dana Payables",
                           billing_contact_email="ap@contoso.example")
    contract = ContractFactory(client=client, po_number="PO-77812")
    project = ProjectFactory(contract=contract, code="CON-WEB", name="Web replatform")
    invoice = InvoiceFactory(contract=contract)
    consultant = RoleFactory(code="CONS", name="Consultant")
    senior = RoleFactory(code="SRC", name="Senior Consultant", level=3)
    rows = [
        (InvoiceLine.Kind.TIME, consultant, "Consultant", D("37.50"), D("150.0000"), None),
        (InvoiceLine.Kind.TIME, senior, "Senior Consultant", D("12.25"), D("200.0000"), None),
        (InvoiceLine.Kind.EXPENSE, None, "Expenses: lodging 420.00 + 10 % markup", None, None,
         D("462.00")),
        (InvoiceLine.Kind.EXPENSE, None, "Expenses: ground transport 35.50 + 10 % markup",
         None, None, D("39.05")),
    ]
    for kind, role, description, hours, rate, amount in rows:
        InvoiceLineFactory(invoice=invoice, project=project, kind=kind, role=role,
                           description=description, quantity=hours, unit_price=rate,
                           **({"base_amount": amount} if amount is not None else {}))
    invoice = invoice_approve(invoice=invoice, actor=actor)
    return invoice_issue(invoice=invoice, actor=actor, issue_date=MARCH_31)


class TestInvoicePdf:
    def test_worked_example_totals_and_pdf(self, worked_example):
        invoice = worked_example
        assert (invoice.subtotal, invoice.tax_amount, invoice.total) == (
            D("8576.05"), D("707.52"), D("9283.57"))

        text = pdf_text(invoice_pdf_render(invoice=invoice))

        for expected in ("US-2026-000001", "Northwind Consulting Inc.", "EIN 12-3456789",
                         "Contoso Retail", "200 Harbor Way", "Dana Payables", "PO-77812",
                         "CON-WEB", "Consultant", "Senior Consultant",
                         "Expenses: lodging 420.00 + 10 % markup",
                         "Expenses: ground transport 35.50 + 10 % markup",
                         "37.50", "12.25", "150.00", "200.00", "5,625.00", "2,450.00",
                         "462.00", "39.05", "8,576.05", "8.25%", "707.52", "9,283.57",
                         "USD", "Net 30 days", "30 Apr 2026", "31 Mar 2026"):
            assert expected in text, expected
        assert "DRAFT" not in text

    def test_credit_note_pdf_names_the_invoice_it_credits(self, worked_example, actor):
        note = credit_note_create(invoice=worked_example, actor=actor,
                                  reason="Senior hours billed twice",
                                  lines=[(worked_example.lines.get(role__code="SRC"),
                                          D("2450.00"))])
        note = invoice_issue(invoice=invoice_approve(invoice=note, actor=actor), actor=actor,
                             issue_date=MARCH_31)

        text = pdf_text(invoice_pdf_render(invoice=note))

        assert "CREDIT NOTE for US-2026-000001" in text
        assert "US-CN-2026-000001" in text and "Senior hours billed twice" in text
        assert "2,450.00" in text and "202.13" in text and "2,652.13" in text

    def test_a_draft_renders_marked_as_draft(self):
        text = pdf_text(invoice_pdf_render(invoice=invoice_with_lines([D("10.00")])))

        assert "DRAFT" in text

    def test_consolidated_invoice_groups_lines_by_contract(self, actor):
        client = ClientFactory(consolidated_invoicing=True)
        first = ContractFactory(client=client, code="CT-ALPHA", po_number="PO-1")
        second = ContractFactory(client=client, code="CT-BETA", po_number="PO-2")
        invoice = InvoiceFactory(contract=None, client=client, legal_entity=client.legal_entity,
                                 currency=client.currency, tax_rate=client.tax_rate)
        InvoiceLineFactory(invoice=invoice, contract=second, description="Beta work")
        InvoiceLineFactory(invoice=invoice, contract=first, description="Alpha work")

        text = pdf_text(invoice_pdf_render(invoice=invoice))

        assert text.index("CT-ALPHA") < text.index("Alpha work") < text.index("CT-BETA") \
            < text.index("Beta work")
        assert "PO-1" in text and "PO-2" in text

    @pytest.mark.parametrize(("amount", "currency", "shown"), [
        (D("1234567.5"), "USD", "1,234,567.50"), (D("-500"), "EUR", "-500.00"),
        (D("150000"), "JPY", "150,000")])
    def test_amount_format(self, amount, currency, shown):
        assert format_amount(amount, currency) == shown


class TestInvoiceDocumentDeliver:
    def test_the_outbox_delivery_of_invoice_issued_sends_it_once_even_redelivered(
            self, worked_example, mailoutbox):
        from billing.subscribers import on_invoice_issued
        from psa import events
        from psa.models import Delivery

        delivery = Delivery.objects.get(event__type="invoice.issued",
                                        event__aggregate_id=str(worked_example.pk),
                                        subscriber="billing.invoice_document")
        assert events.delivery_attempt(delivery.pk).state == Delivery.State.SUCCEEDED
        on_invoice_issued(delivery.event)  # a message delivered twice

        invoice = Invoice.objects.get(pk=worked_example.pk)
        assert invoice.pdf.name.endswith("/US-2026-000001.pdf")
        assert len(mailoutbox) == 1 and mailoutbox[0].to == ["ap@contoso.example"]

    def test_a_document_voided_before_its_delivery_sends_nothing(self, actor, mailoutbox):
        from psa import events
        from psa.models import Delivery

        invoice = invoice_issue(invoice=invoice_approve(
            invoice=invoice_with_lines([D("10.00")]), actor=actor), actor=actor,
            issue_date=MARCH_31)
        Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.VOID)
        delivery = Delivery.objects.get(event__type="invoice.issued",
                                        event__aggregate_id=str(invoice.pk),
                                        subscriber="billing.invoice_document")

        assert events.delivery_attempt(delivery.pk).state == Delivery.State.SUCCEEDED
        assert not mailoutbox and not Invoice.objects.get(pk=invoice.pk).pdf

    def test_stores_the_pdf_and_emails_it_once(self, worked_example, mailoutbox):
        invoice_document_deliver(invoice_id=worked_example.pk)
        invoice_document_deliver(invoice_id=worked_example.pk)

        invoice = Invoice.objects.get(pk=worked_example.pk)
        assert invoice.pdf.name.startswith("invoices/")
        assert invoice.pdf.name.endswith("/US-2026-000001.pdf")
        assert "9,283.57" in pdf_text(invoice.pdf.read())
        assert len(mailoutbox) == 1
        [mail] = mailoutbox
        assert mail.to == ["ap@contoso.example"]
        assert "US-2026-000001" in mail.subject and "Northwind" in mail.subject
        assert "9,283.57 USD" in mail.body and "Net 30 days" in mail.body
        [(name, content, mimetype)] = mail.attachments
        assert (name, mimetype) == ("US-2026-000001.pdf", "application/pdf")
        assert "US-2026-000001" in pdf_text(content)
        assert invoice.emailed_to == "ap@contoso.example" and invoice.emailed_at is not None

    def test_a_stored_pdf_is_kept(self, worked_example, mailoutbox):
        invoice_document_deliver(invoice_id=worked_example.pk)
        stored = Invoice.objects.get(pk=worked_example.pk).pdf.name

        Invoice.objects.filter(pk=worked_example.pk).update(emailed_at=None)
        invoice_document_deliver(invoice_id=worked_example.pk)

        assert Invoice.objects.get(pk=worked_example.pk).pdf.name == stored
        assert len(mailoutbox) == 2  # the mail claim was reset by hand; the PDF was not

    def test_no_billing_contact_no_mail(self, actor, mailoutbox):
        invoice = invoice_approve(invoice=invoice_with_lines(
            [D("10.00")], contract__client__billing_contact_email=""), actor=actor)
        invoice = invoice_issue(invoice=invoice, actor=actor, issue_date=MARCH_31)

        invoice_document_deliver(invoice_id=invoice.pk)

        invoice.refresh_from_db()
        assert invoice.pdf and invoice.emailed_at is None and mailoutbox == []

    def test_a_failed_send_can_be_retried(self, worked_example, mailoutbox, settings):
        settings.EMAIL_BACKEND = "tests.billing.test_pdf.FailingBackend"
        with pytest.raises(ConnectionError):
            invoice_document_deliver(invoice_id=worked_example.pk)
        assert Invoice.objects.get(pk=worked_example.pk).emailed_at is None

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        invoice_document_deliver(invoice_id=worked_example.pk)

        assert len(mailoutbox) == 1

    def test_a_draft_has_no_document_to_deliver(self):
        with pytest.raises(InvoiceStateError):
            invoice_document_deliver(invoice_id=invoice_with_lines([D("1.00")]).pk)


class FailingBackend:
    """An e-mail backend whose server is down (an outside service, not our code)."""

    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("SMTP server unreachable")
