"""Approving, issuing and voiding: transitions, guards, numbering per series, void release."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.errors import CreditNoteError, InvoiceStateError, InvoiceValidationError
from billing.models import BilledItem, CapHold, Invoice, InvoiceLine, NumberSequence
from billing.services.credit_notes import credit_note_create
from billing.services.issue import (
    invoice_approve,
    invoice_issue,
    invoice_number_format,
    invoice_unapprove,
    invoice_void,
)
from psa.common.errors import PeriodClosedError
from psa.models import Expense, Milestone, OutboxEvent, Period, TimeEntry
from tests.billing.factories import (
    BilledItemFactory,
    CapHoldFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    invoice_with_lines,
)
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    LegalEntityFactory,
    MilestoneFactory,
    PeriodFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
MARCH_31 = date(2026, 3, 31)


@pytest.fixture
def actor(finance):
    return finance.user


def approved(amounts=None, **kwargs) -> Invoice:
    invoice = invoice_with_lines(amounts or [D("1000.00")], **kwargs)
    return invoice_approve(invoice=invoice, actor=invoice_actor())


def invoice_actor():
    from tests.psa.factories import UserFactory

    return UserFactory(username="billing-clerk")


def issued(issue_date=MARCH_31, **kwargs) -> Invoice:
    return invoice_issue(invoice=approved(**kwargs), actor=invoice_actor(),
                         issue_date=issue_date)


def events_of(invoice: Invoice, event_type: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(type=event_type, aggregate_id=str(invoice.pk)))


class TestInvoiceApprove:
    def test_approve_freezes_totals_from_the_lines(self, actor):
        invoice = InvoiceFactory(contract__client__tax_rate=D("8.2500"))
        InvoiceLineFactory(invoice=invoice, quantity=D("37.50"), unit_price=D("150.0000"))
        InvoiceLineFactory(invoice=invoice, quantity=D("12.25"), unit_price=D("200.0000"))

        invoice = invoice_approve(invoice=invoice, actor=actor)

        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.APPROVED
        assert (invoice.subtotal, invoice.tax_amount, invoice.total) == (
            D("8075.00"), D("666.19"), D("8741.19"))
        assert invoice.approved_by == actor and invoice.approved_at is not None
        assert events_of(invoice, "invoice.approved")

    def test_approve_refuses_an_invoice_without_lines(self, actor):
        invoice = InvoiceFactory()

        with pytest.raises(InvoiceValidationError):
            invoice_approve(invoice=invoice, actor=actor)

        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.DRAFT

    def test_approve_allows_a_zero_total_with_lines(self, actor):
        invoice = invoice_with_lines([D("500.00"), D("-500.00")])

        invoice = invoice_approve(invoice=invoice, actor=actor)

        assert invoice.status == Invoice.Status.APPROVED and invoice.total == D("0.00")

    def test_approve_refuses_a_negative_total(self, actor):
        invoice = invoice_with_lines([D("100.00"), D("-100.01")])

        with pytest.raises(InvoiceValidationError):
            invoice_approve(invoice=invoice, actor=actor)

    def test_approve_refuses_an_approved_invoice(self, actor):
        invoice = approved()

        with pytest.raises(InvoiceStateError):
            invoice_approve(invoice=invoice, actor=actor)

    def test_unapprove_sends_an_approved_invoice_back_to_draft(self, actor):
        invoice = invoice_unapprove(invoice=approved(), actor=actor)

        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.DRAFT
        assert invoice.approved_at is None and invoice.approved_by is None

    def test_unapprove_refuses_a_draft_and_an_issued_invoice(self, actor):
        with pytest.raises(InvoiceStateError):
            invoice_unapprove(invoice=invoice_with_lines([D("1.00")]), actor=actor)
        with pytest.raises(InvoiceStateError):
            invoice_unapprove(invoice=issued(), actor=actor)


class TestInvoiceIssue:
    def test_issue_numbers_dates_and_publishes(self, actor, django_capture_on_commit_callbacks):
        invoice = approved(contract__client__payment_terms_days=45)

        with django_capture_on_commit_callbacks() as callbacks:
            invoice = invoice_issue(invoice=invoice, actor=actor, issue_date=MARCH_31)

        invoice.refresh_from_db()
        assert invoice.number == "US-2026-000001"
        assert invoice.status == Invoice.Status.ISSUED
        assert invoice.issue_date == MARCH_31 and invoice.due_date == date(2026, 5, 15)
        assert invoice.issued_by == actor and invoice.issued_at is not None
        [event] = events_of(invoice, "invoice.issued")
        assert {key: event.payload[key] for key in (
            "invoice_id", "number", "client_id", "contract_id", "total", "currency",
            "issue_date", "due_date")} == {
            "invoice_id": invoice.pk, "number": "US-2026-000001",
            "client_id": invoice.client_id, "contract_id": invoice.contract_id,
            "total": "1082.50", "currency": "USD", "issue_date": "2026-03-31",
            "due_date": "2026-05-15"}
        # The document goes out through the outbox (retried, swept, replayable), its delivery
        # sent on the billing queue once the issue commits.
        document = event.deliveries.get(subscriber="billing.invoice_document")
        sent = [(cb.task.name, cb.args, cb.options) for cb in callbacks if hasattr(cb, "task")]
        assert ("psa.outbox_deliver", (document.pk,), {"queue": "billing"}) in sent

    def test_issue_date_defaults_to_today_in_the_entity_time_zone(self, actor, time_machine):
        # 02:00 UTC on 1 May is still 30 April in New York.
        time_machine.move_to(datetime(2026, 5, 1, 2, 0, tzinfo=UTC), tick=False)
        invoice = approved()

        invoice = invoice_issue(invoice=invoice, actor=actor)

        assert invoice.issue_date == date(2026, 4, 30)
        assert invoice.due_date == date(2026, 5, 30)

    def test_issue_refuses_a_draft(self, actor):
        with pytest.raises(InvoiceStateError):
            invoice_issue(invoice=invoice_with_lines([D("1.00")]), actor=actor,
                          issue_date=MARCH_31)
        assert not NumberSequence.objects.exists()

    def test_issue_refuses_an_issued_invoice(self, actor):
        invoice = issued()

        with pytest.raises(InvoiceStateError):
            invoice_issue(invoice=invoice, actor=actor, issue_date=MARCH_31)

    def test_issue_refuses_a_date_in_a_closed_period(self, actor):
        invoice = approved()
        PeriodFactory(legal_entity=invoice.legal_entity, month=date(2026, 3, 1),
                      status=Period.Status.CLOSED)

        with pytest.raises(PeriodClosedError):
            invoice_issue(invoice=invoice, actor=actor, issue_date=MARCH_31)

        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.APPROVED and invoice.number == ""
        assert invoice_issue(invoice=invoice, actor=actor,
                             issue_date=date(2026, 4, 1)).number == "US-2026-000001"

    def test_issued_invoice_can_no_longer_be_voided_or_unapproved(self, actor):
        invoice = issued()

        with pytest.raises(InvoiceStateError):
            invoice_void(invoice=invoice, actor=actor, reason="typo")
        with pytest.raises(InvoiceStateError):
            invoice_unapprove(invoice=invoice, actor=actor)
        with pytest.raises(InvoiceStateError):
            invoice_approve(invoice=invoice, actor=actor)


class TestNumbering:
    def test_numbers_are_sequential_per_entity_year_and_series(self, actor):
        us_client = ClientFactory()
        uk = LegalEntityFactory(code="UK", name="Northwind UK Ltd", country="GB",
                                base_currency="GBP", time_zone="Europe/London")
        uk_client = ClientFactory(legal_entity=uk)

        numbers = [issued(contract__client=us_client).number for _ in range(3)]
        numbers.append(issued(contract__client=uk_client).number)
        numbers.append(issued(contract__client=us_client, issue_date=date(2027, 1, 4)).number)
        numbers.append(issued(contract__client=us_client).number)
        note = credit_note_create(invoice=Invoice.objects.get(number="US-2026-000002"),
                                  actor=actor, reason="Hours billed twice")
        note = invoice_issue(invoice=invoice_approve(invoice=note, actor=actor), actor=actor,
                             issue_date=MARCH_31)
        numbers.append(note.number)

        assert numbers == ["US-2026-000001", "US-2026-000002", "US-2026-000003",
                           "UK-2026-000001", "US-2027-000001", "US-2026-000004",
                           "US-CN-2026-000001"]
        assert NumberSequence.objects.get(legal_entity=us_client.legal_entity, year=2026,
                                          kind=Invoice.Kind.INVOICE).last_number == 4

    def test_a_failed_issue_gives_its_number_back(self, actor):
        """A credit note whose issue is refused after it took its number rolls the number
        back with everything else: the next document gets it (gapless)."""
        first = issued()
        note = credit_note_create(invoice=first, actor=actor, reason="Discount")
        # The draft's line was raised beyond what the invoice line billed (1,000.00).
        line = note.lines.get()
        InvoiceLine.objects.filter(pk=line.pk).update(base_amount=D("1000.01"),
                                                      amount=D("1000.01"))
        note = invoice_approve(invoice=note, actor=actor)

        with pytest.raises(CreditNoteError):
            invoice_issue(invoice=note, actor=actor, issue_date=MARCH_31)

        note.refresh_from_db()
        assert note.number == "" and note.status == Invoice.Status.APPROVED
        assert not NumberSequence.objects.filter(kind=Invoice.Kind.CREDIT_NOTE,
                                                 last_number__gt=0).exists()
        InvoiceLine.objects.filter(pk=line.pk).update(base_amount=D("1000.00"),
                                                      amount=D("1000.00"))
        assert invoice_issue(invoice=note, actor=actor,
                             issue_date=MARCH_31).number == "US-CN-2026-000001"

    def test_number_format(self):
        assert invoice_number_format(prefix="US", year=2026, kind="invoice",
                                     number=123) == "US-2026-000123"
        assert invoice_number_format(prefix="DE", year=2027, kind="credit_note",
                                     number=7) == "DE-CN-2027-000007"

    def test_two_documents_of_an_entity_cannot_share_a_number(self):
        InvoiceFactory(issued=True, number="US-2026-000009")

        with pytest.raises(IntegrityError), transaction.atomic():
            InvoiceFactory(issued=True, number="US-2026-000009")


class TestInvoiceVoid:
    def test_void_releases_items_and_deletes_its_cap_holds(self, actor):
        invoice = InvoiceFactory(approved=True)
        line = InvoiceLineFactory(invoice=invoice)
        time_item = BilledItemFactory(line=line)
        expense_item = BilledItemFactory(line=line, expense_item=True)
        milestone_item = BilledItemFactory(line=line, milestone_item=True)
        CapHoldFactory(source_invoice=invoice)

        invoice = invoice_void(invoice=invoice, actor=actor, reason="Wrong contract")

        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.VOID and invoice.voided_at is not None
        assert invoice.reason == "Wrong contract"
        assert not BilledItem.objects.filter(invoice=invoice, is_live=True).exists()
        assert TimeEntry.objects.get(pk=time_item.time_entry_id).status == "approved"
        assert Expense.objects.get(pk=expense_item.expense_id).status == "approved"
        assert Milestone.objects.get(pk=milestone_item.milestone_id).status == "accepted"
        assert not CapHold.objects.filter(source_invoice=invoice).exists()
        assert events_of(invoice, "invoice.voided")

    def test_void_puts_a_milestone_without_acceptance_back_to_completed(self, actor):
        invoice = InvoiceFactory()
        item = BilledItemFactory(line=InvoiceLineFactory(invoice=invoice), milestone_item=True,
                                 milestone__requires_acceptance=False)

        invoice_void(invoice=invoice, actor=actor, reason="Duplicate")

        assert Milestone.objects.get(pk=item.milestone_id).status == "completed"

    def test_void_needs_a_reason(self, actor):
        invoice = InvoiceFactory()

        with pytest.raises(InvoiceValidationError):
            invoice_void(invoice=invoice, actor=actor, reason="  ")

    def test_void_refuses_when_its_cap_hold_was_resolved(self, actor):
        invoice = InvoiceFactory()
        CapHoldFactory(source_invoice=invoice, status=CapHold.Status.WRITTEN_OFF)

        with pytest.raises(InvoiceValidationError):
            invoice_void(invoice=invoice, actor=actor, reason="Duplicate")

    def test_voided_items_can_be_billed_again(self, actor):
        invoice = InvoiceFactory()
        item = BilledItemFactory(line=InvoiceLineFactory(invoice=invoice))
        invoice_void(invoice=invoice, actor=actor, reason="Duplicate")

        again = BilledItemFactory(line=InvoiceLineFactory(), time_entry=item.time_entry)

        assert again.is_live

    def test_a_held_milestone_of_another_project_is_untouched(self, actor):
        other = MilestoneFactory(status=Milestone.Status.INVOICED,
                                 project__contract=ContractFactory())
        invoice_void(invoice=InvoiceFactory(), actor=actor, reason="Duplicate")

        other.refresh_from_db()
        assert other.status == Milestone.Status.INVOICED
