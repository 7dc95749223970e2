"""Credit notes: full and partial credits, the over-credit guard, their own number series,
the credited invoice's balance, and releasing items for rebilling."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.errors import CreditNoteError, InvoiceStateError
from billing.models import BilledItem, Invoice, InvoiceLine
from billing.services.credit_notes import credit_note_create, release_sources
from billing.services.issue import invoice_approve, invoice_issue, invoice_void
from billing.services.payments import payment_record
from psa.models import Expense, Milestone, TimeEntry
from tests.billing.factories import (
    BilledItemFactory,
    InstallmentFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    RetainerMonthFactory,
    invoice_with_lines,
    with_totals,
)

pytestmark = pytest.mark.django_db
D = Decimal
MARCH_31 = date(2026, 3, 31)


@pytest.fixture
def actor(finance):
    return finance.user


@pytest.fixture
def invoice(actor):
    """An issued invoice: 1,200.00 + 462.00, tax 8.25 % = 1,799.12."""
    draft = InvoiceFactory()
    InvoiceLineFactory(invoice=draft, description="Consultant 8.00 h")
    InvoiceLineFactory(invoice=draft, expense=True, base_amount=D("462.00"),
                       description="Expenses: lodging")
    draft = invoice_approve(invoice=with_totals(draft), actor=actor)
    return invoice_issue(invoice=draft, actor=actor, issue_date=MARCH_31)


def issue(note: Invoice, actor) -> Invoice:
    return invoice_issue(invoice=invoice_approve(invoice=note, actor=actor), actor=actor,
                         issue_date=MARCH_31)


def line(invoice: Invoice, description: str) -> InvoiceLine:
    return invoice.lines.get(description=description)


class TestCreditNoteCreate:
    def test_full_credit_copies_every_line_and_the_header(self, invoice, actor):
        note = credit_note_create(invoice=invoice, actor=actor, reason="Wrong client")

        assert note.kind == Invoice.Kind.CREDIT_NOTE and note.status == Invoice.Status.DRAFT
        assert note.credited_invoice == invoice and note.reason == "Wrong client"
        assert (note.legal_entity_id, note.client_id, note.contract_id, note.currency,
                note.tax_rate, note.payment_terms_days) == (
            invoice.legal_entity_id, invoice.client_id, invoice.contract_id, invoice.currency,
            invoice.tax_rate, invoice.payment_terms_days)
        credits = sorted(note.lines.values_list("kind", "credited_line__description", "amount",
                                                "quantity"))
        assert credits == [("credit", "Consultant 8.00 h", D("1200.00"), D("8.00")),
                           ("credit", "Expenses: lodging", D("462.00"), None)]
        assert (note.subtotal, note.tax_amount, note.total) == (
            invoice.subtotal, invoice.tax_amount, invoice.total) == (
            D("1662.00"), D("137.12"), D("1799.12"))

    def test_partial_credit_of_one_line(self, invoice, actor):
        consulting = line(invoice, "Consultant 8.00 h")

        note = credit_note_create(invoice=invoice, actor=actor, reason="Goodwill",
                                  lines=[(consulting, D("100.00"))])

        [credit] = note.lines.all()
        assert credit.credited_line == consulting and credit.amount == D("100.00")
        assert credit.quantity is None and credit.unit_price is None
        assert (note.subtotal, note.tax_amount, note.total) == (
            D("100.00"), D("8.25"), D("108.25"))

    def test_over_credit_is_refused_counting_earlier_credit_notes(self, invoice, actor):
        consulting = line(invoice, "Consultant 8.00 h")

        with pytest.raises(CreditNoteError):
            credit_note_create(invoice=invoice, actor=actor, reason="Too much",
                               lines=[(consulting, D("1200.01"))])
        credit_note_create(invoice=invoice, actor=actor, reason="First",
                           lines=[(consulting, D("1000.00"))])
        with pytest.raises(CreditNoteError):
            credit_note_create(invoice=invoice, actor=actor, reason="Second",
                               lines=[(consulting, D("200.01"))])
        last = credit_note_create(invoice=invoice, actor=actor, reason="Second",
                                  lines=[(consulting, D("200.00"))])

        assert last.subtotal == D("200.00")
        assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 2

    def test_a_void_credit_note_credits_nothing(self, invoice, actor):
        note = credit_note_create(invoice=invoice, actor=actor, reason="Mistake")
        invoice_void(invoice=note, actor=actor, reason="Raised by mistake")

        again = credit_note_create(invoice=invoice, actor=actor, reason="Wrong client")

        assert again.subtotal == D("1662.00")

    def test_full_credit_takes_only_what_is_left(self, invoice, actor):
        consulting = line(invoice, "Consultant 8.00 h")
        issue(credit_note_create(invoice=invoice, actor=actor, reason="Goodwill",
                                 lines=[(consulting, D("200.00"))]), actor)

        rest = credit_note_create(invoice=invoice, actor=actor, reason="Cancelled")

        assert sorted(rest.lines.values_list("amount", flat=True)) == [D("462.00"),
                                                                       D("1000.00")]
        with pytest.raises(CreditNoteError):
            credit_note_create(invoice=invoice, actor=actor, reason="Nothing left")

    @pytest.mark.parametrize("amount", [D("0.00"), D("-5.00"), D("10.001")])
    def test_zero_negative_and_sub_cent_credits_are_refused(self, invoice, actor, amount):
        with pytest.raises(CreditNoteError):
            credit_note_create(invoice=invoice, actor=actor, reason="x",
                               lines=[(line(invoice, "Consultant 8.00 h"), amount)])

    def test_a_line_of_another_invoice_is_refused(self, invoice, actor):
        stranger = InvoiceLineFactory()

        with pytest.raises(CreditNoteError):
            credit_note_create(invoice=invoice, actor=actor, reason="x",
                               lines=[(stranger, D("1.00"))])

    def test_a_reason_is_required(self, invoice, actor):
        with pytest.raises(CreditNoteError):
            credit_note_create(invoice=invoice, actor=actor, reason=" ")

    @pytest.mark.parametrize("status", ["draft", "approved", "void"])
    def test_only_issued_invoices_can_be_credited(self, actor, status):
        draft = invoice_with_lines([D("100.00")], status=status)

        with pytest.raises(InvoiceStateError):
            credit_note_create(invoice=draft, actor=actor, reason="x")

    def test_a_credit_note_cannot_be_credited(self, invoice, actor):
        note = issue(credit_note_create(invoice=invoice, actor=actor, reason="x"), actor)

        with pytest.raises(InvoiceStateError):
            credit_note_create(invoice=note, actor=actor, reason="y")

    def test_release_items_needs_whole_lines(self, invoice, actor):
        with pytest.raises(CreditNoteError):
            credit_note_create(invoice=invoice, actor=actor, reason="x", release_items=True,
                               lines=[(line(invoice, "Consultant 8.00 h"), D("100.00"))])


class TestCreditNoteIssue:
    def test_credit_notes_have_their_own_series_and_lower_the_balance(self, invoice, actor):
        note = credit_note_create(invoice=invoice, actor=actor, reason="Goodwill",
                                  lines=[(line(invoice, "Consultant 8.00 h"), D("100.00"))])

        note = issue(note, actor)

        invoice.refresh_from_db()
        assert note.number == "US-CN-2026-000001" and note.status == Invoice.Status.ISSUED
        assert invoice.credited_total == D("108.25")
        assert invoice.balance == D("1799.12") - D("108.25")
        assert invoice.status == Invoice.Status.ISSUED

    def test_a_draft_credit_note_does_not_lower_the_balance(self, invoice, actor):
        credit_note_create(invoice=invoice, actor=actor, reason="Goodwill")

        invoice.refresh_from_db()
        assert invoice.balance == D("1799.12")

    def test_a_fully_credited_invoice_is_settled(self, invoice, actor):
        issue(credit_note_create(invoice=invoice, actor=actor, reason="Cancelled"), actor)

        invoice.refresh_from_db()
        assert invoice.balance == D("0.00") and invoice.status == Invoice.Status.PAID

    def test_crediting_the_unpaid_rest_of_a_partially_paid_invoice_settles_it(
            self, invoice, actor):
        payment_record(invoice=invoice, actor=actor, amount=D("1690.87"),
                       received_date=date(2026, 4, 10))
        issue(credit_note_create(invoice=invoice, actor=actor, reason="Goodwill",
                                 lines=[(line(invoice, "Consultant 8.00 h"), D("100.00"))]),
              actor)

        invoice.refresh_from_db()
        assert invoice.balance == D("0.00") and invoice.status == Invoice.Status.PAID


class TestReleaseItems:
    @pytest.fixture
    def billed(self, actor):
        """An issued invoice whose one line bills a time entry, an expense and a milestone."""
        draft = InvoiceFactory()
        billed_line = InvoiceLineFactory(invoice=draft, description="Consultant 8.00 h")
        items = [BilledItemFactory(line=billed_line),
                 BilledItemFactory(line=billed_line, expense_item=True),
                 BilledItemFactory(line=billed_line, milestone_item=True)]
        draft = invoice_approve(invoice=with_totals(draft), actor=actor)
        return invoice_issue(invoice=draft, actor=actor, issue_date=MARCH_31), items

    def test_issued_release_puts_sources_back_to_billable(self, billed, actor):
        invoice, (time_item, expense_item, milestone_item) = billed
        note = credit_note_create(invoice=invoice, actor=actor, reason="Rebill at new rate",
                                  release_items=True)
        assert BilledItem.objects.filter(invoice=invoice, is_live=True).count() == 3

        issue(note, actor)

        assert not BilledItem.objects.filter(invoice=invoice, is_live=True).exists()
        assert TimeEntry.objects.get(pk=time_item.time_entry_id).status == "approved"
        assert Expense.objects.get(pk=expense_item.expense_id).status == "approved"
        assert Milestone.objects.get(pk=milestone_item.milestone_id).status == "accepted"

    def test_released_items_can_be_linked_once_again(self, billed, actor):
        invoice, (time_item, _, _) = billed
        issue(credit_note_create(invoice=invoice, actor=actor, reason="Rebill",
                                 release_items=True), actor)
        rebill = InvoiceLineFactory()

        BilledItemFactory(line=rebill, time_entry=time_item.time_entry)

        with pytest.raises(IntegrityError), transaction.atomic():
            BilledItemFactory(line=rebill, time_entry=time_item.time_entry)

    def test_without_release_the_items_stay_billed(self, billed, actor):
        invoice, (time_item, _, _) = billed
        issue(credit_note_create(invoice=invoice, actor=actor, reason="Goodwill"), actor)

        assert BilledItem.objects.filter(invoice=invoice, is_live=True).count() == 3
        assert TimeEntry.objects.get(pk=time_item.time_entry_id).status == "invoiced"
        with pytest.raises(IntegrityError), transaction.atomic():
            BilledItemFactory(line=InvoiceLineFactory(), time_entry=time_item.time_entry)

    def test_release_only_touches_the_credited_lines(self, billed, actor):
        invoice, _ = billed
        other_line = InvoiceLineFactory(invoice=invoice)
        other_item = BilledItemFactory(line=other_line)
        first_line = invoice.lines.exclude(pk=other_line.pk).get()

        issue(credit_note_create(invoice=invoice, actor=actor, reason="Rebill",
                                 release_items=True, lines=[(first_line, first_line.amount)]),
              actor)

        other_item.refresh_from_db()
        assert other_item.is_live
        assert TimeEntry.objects.get(pk=other_item.time_entry_id).status == "invoiced"

    def test_installments_and_retainer_months_are_just_unlinked(self, actor):
        invoice = InvoiceFactory()
        billed_line = InvoiceLineFactory(invoice=invoice)
        installment = InstallmentFactory(contract=invoice.contract)
        month = RetainerMonthFactory(contract=invoice.contract)
        BilledItem.objects.create(invoice=invoice, line=billed_line, installment=installment,
                                  amount=installment.amount)
        BilledItem.objects.create(invoice=invoice, line=billed_line, retainer_month=month,
                                  amount=D("5000.00"))

        released = release_sources(BilledItem.objects.filter(invoice=invoice))

        assert released == 2
        assert not BilledItem.objects.filter(is_live=True).exists()
        BilledItem.objects.create(invoice=invoice, line=billed_line, installment=installment,
                                  amount=installment.amount)
