"""The invoice document: the PDF rendered with WeasyPrint, stored once and e-mailed once.

`invoice_document_deliver` is what the outbox's `billing.invoice_document` subscriber of
`invoice.issued` runs (billing/subscribers.py). It is safe to run twice or twice at once (a
delivery may be re-sent): the PDF is stored by a conditional UPDATE (first writer wins) and the
e-mail is claimed by one before it is sent, so the client never gets it twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone

from billing.errors import InvoiceStateError
from billing.models import Invoice, InvoiceLine
from psa.common.money import MINOR_UNITS
from psa.models import Contract

logger = logging.getLogger(__name__)

PDF_TEMPLATE = "billing/pdf/invoice.html"
EMAIL_BODY_TEMPLATE = "billing/email/invoice_issued.txt"
EMAIL_SUBJECT_TEMPLATE = "billing/email/invoice_issued_subject.txt"
KIND_ORDER = {kind: index for index, kind in enumerate(InvoiceLine.Kind.values)}


def format_amount(amount: Decimal | None, currency: str) -> str:
    """`8,576.05`: thousands separators and the currency's minor unit (none for JPY)."""
    if amount is None:
        return ""
    return f"{amount:,.{MINOR_UNITS.get(currency, 2)}f}"


def format_quantity(value: Decimal | None) -> str:
    """Hours or units with 2 places; a rate keeps 4 only when it has them (`123.4567`)."""
    if value is None:
        return ""
    places = 2 if value == value.quantize(Decimal("0.01")) else 4
    return f"{value:,.{places}f}"


def format_percent(rate: Decimal) -> str:
    """`8.25` for 8.2500, `10` for 10.0000."""
    return f"{rate.normalize():f}"


@dataclass(frozen=True)
class DocumentLine:
    description: str
    quantity: str
    unit_price: str
    amount: str


@dataclass
class KindGroup:
    label: str
    lines: list[DocumentLine] = field(default_factory=list)


@dataclass
class ProjectGroup:
    label: str
    kinds: list[KindGroup] = field(default_factory=list)


@dataclass
class ContractGroup:
    label: str
    po_number: str
    projects: list[ProjectGroup] = field(default_factory=list)


def _line_sort_key(line: InvoiceLine) -> tuple[object, ...]:
    contract = _line_contract(line)
    kind = line.credited_line.kind if line.credited_line_id else line.kind
    return (contract.code if contract else "", line.project.code if line.project_id else "",
            KIND_ORDER.get(kind, len(KIND_ORDER)), line.sequence, line.pk)


def _line_contract(line: InvoiceLine) -> Contract | None:
    if line.contract_id:
        return line.contract
    return line.project.contract if line.project_id else None


def _grouped_lines(invoice: Invoice) -> list[ContractGroup]:
    """Lines by contract (several only on a consolidated invoice), then project, then kind."""
    lines = sorted(
        invoice.lines.select_related("contract", "project__contract", "credited_line"),
        key=_line_sort_key)
    groups: list[ContractGroup] = []
    for line in lines:
        contract = _line_contract(line)
        contract_label = f"{contract.code} · {contract.name}" if contract else ""
        if not groups or groups[-1].label != contract_label:
            groups.append(ContractGroup(label=contract_label,
                                        po_number=getattr(contract, "po_number", "") or ""))
        projects = groups[-1].projects
        project_label = (f"{line.project.code} · {line.project.name}" if line.project_id
                         else "Other charges")
        if not projects or projects[-1].label != project_label:
            projects.append(ProjectGroup(label=project_label))
        kinds = projects[-1].kinds
        kind = line.credited_line.kind if line.credited_line_id else line.kind
        kind_label = str(InvoiceLine.Kind(kind).label)
        if not kinds or kinds[-1].label != kind_label:
            kinds.append(KindGroup(label=kind_label))
        kinds[-1].lines.append(DocumentLine(
            description=line.description,
            quantity=format_quantity(line.quantity),
            unit_price=format_quantity(line.unit_price),
            amount=format_amount(line.amount, invoice.currency)))
    return groups


def _payment_instructions(invoice: Invoice, total: str) -> str:
    """Settings may name the bank details; otherwise how much, by when and what to quote."""
    if invoice.is_credit_note:
        return (f"This credit note reduces the amount due on invoice "
                f"{invoice.credited_invoice.number} by {total} {invoice.currency}.")
    configured = getattr(settings, "BILLING_PAYMENT_INSTRUCTIONS", "")
    due = f" by {invoice.due_date:%d %B %Y}" if invoice.due_date else ""
    reference = invoice.number or "the invoice number"
    sentence = f"Please pay {total} {invoice.currency}{due}, quoting {reference}."
    return f"{sentence}\n{configured}".strip()


def invoice_document_context(invoice: Invoice) -> dict[str, object]:
    """Everything the PDF and the e-mail show, formatted (templates run no queries)."""
    invoice = (Invoice.objects.select_related("legal_entity", "client", "contract",
                                              "credited_invoice").get(pk=invoice.pk))
    groups = _grouped_lines(invoice)
    po_numbers = sorted({group.po_number for group in groups if group.po_number})
    if invoice.contract_id and invoice.contract.po_number:
        po_numbers = [invoice.contract.po_number]
    total = format_amount(invoice.total, invoice.currency)
    is_draft = not invoice.number
    return {
        "invoice": invoice,
        "entity": invoice.legal_entity,
        "client": invoice.client,
        "title": "Credit note" if invoice.is_credit_note else "Invoice",
        "is_credit_note": invoice.is_credit_note,
        "is_draft": is_draft,
        "number": invoice.number or f"Draft {invoice.pk}",
        "credited_number": invoice.credited_invoice.number if invoice.credited_invoice_id
        else "",
        "po_numbers": po_numbers,
        "consolidated": len(groups) > 1,
        "groups": groups,
        "subtotal": format_amount(invoice.subtotal, invoice.currency),
        "tax_rate": format_percent(invoice.tax_rate),
        "tax_amount": format_amount(invoice.tax_amount, invoice.currency),
        "total": total,
        "currency": invoice.currency,
        "terms": f"Net {invoice.payment_terms_days} days",
        "payment_instructions": _payment_instructions(invoice, total),
    }


def invoice_pdf_render(*, invoice: Invoice) -> bytes:
    """The invoice or credit note as a PDF (drafts render too, marked as drafts)."""
    from weasyprint import HTML

    html = render_to_string(PDF_TEMPLATE, invoice_document_context(invoice))
    # No base URL: the template is self-contained and must fetch nothing.
    return HTML(string=html).write_pdf()


def invoice_pdf_bytes(*, invoice: Invoice) -> bytes:
    """The issued document's PDF: the stored file, or rendered now when the delivery task has
    not stored it yet (or the stored file went missing)."""
    if invoice.pdf:
        try:
            with invoice.pdf.open("rb") as stored:
                return stored.read()
        except OSError:
            logger.warning("invoice %s: stored PDF %s unreadable; rendering it again",
                           invoice.pk, invoice.pdf.name)
    return invoice_pdf_render(invoice=invoice)


def _store_pdf(invoice: Invoice) -> None:
    """Render and store the PDF unless one is stored; a concurrent writer's file wins."""
    if invoice.pdf:
        return
    data = invoice_pdf_render(invoice=invoice)
    invoice.pdf.save(f"{invoice.number}.pdf", ContentFile(data), save=False)
    stored = Invoice.objects.filter(pk=invoice.pk, pdf="").update(pdf=invoice.pdf.name,
                                                                   updated_at=timezone.now())
    if not stored:
        invoice.pdf.delete(save=False)
        invoice.refresh_from_db(fields=["pdf"])


def _email_once(invoice: Invoice) -> None:
    """E-mail the PDF to the client's billing contact, once: the send is claimed first."""
    recipient = invoice.client.billing_contact_email
    if invoice.emailed_at or not recipient:
        return
    context = invoice_document_context(invoice)
    subject = " ".join(render_to_string(EMAIL_SUBJECT_TEMPLATE, context).split())
    message = EmailMessage(subject=subject, body=render_to_string(EMAIL_BODY_TEMPLATE, context),
                           to=[recipient])
    with invoice.pdf.open("rb") as pdf:
        message.attach(f"{invoice.number}.pdf", pdf.read(), "application/pdf")
    now = timezone.now()
    claimed = Invoice.objects.filter(pk=invoice.pk, emailed_at__isnull=True).update(
        emailed_at=now, emailed_to=recipient, updated_at=now)
    if not claimed:
        return
    try:
        message.send()
    except Exception:
        # Give the claim back so the delivery's retry sends it; then let the outbox see the error.
        Invoice.objects.filter(pk=invoice.pk, emailed_at=now).update(emailed_at=None,
                                                                     emailed_to="")
        raise
    logger.info("Invoice document e-mailed", extra={"invoice_id": invoice.pk})


def invoice_document_deliver(*, invoice_id: int) -> None:
    """Store the issued document's PDF and e-mail it to the client, each at most once.

    Runs outside any transaction of ours (rendering is slow, sending mail is I/O). A client
    without a billing contact e-mail gets no mail; the PDF is stored regardless.
    Raises InvoiceStateError for a document that is not issued.
    """
    invoice = Invoice.objects.select_related("client").get(pk=invoice_id)
    if invoice.status not in Invoice.ISSUED_STATES:
        raise InvoiceStateError(f"{invoice} is not issued: it has no document to deliver.",
                                attr="status")
    _store_pdf(invoice)
    _email_once(invoice)
