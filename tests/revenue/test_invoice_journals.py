"""Journal entries for issued invoices and credit notes, posted from `invoice.issued` through
the outbox: the split between unbilled receivable and deferred revenue, the credit note
mirror, idempotency on re-delivery and consolidated invoices; and the schedule subscribers."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from billing.models import Invoice
from billing.services.credit_notes import credit_note_create
from billing.services.issue import invoice_approve, invoice_issue
from psa import events
from psa.models import Contract, Delivery, OutboxEvent
from psa.services.contracts import contract_update
from revenue.models import AccountKey, JournalEntry, JournalLine, RecognitionRun, ScheduleLine
from revenue.services.invoice_journals import (
    SOURCE_INVOICE_PART,
    InvoiceJournalError,
    invoice_journal_entries,
    invoice_journal_post,
)
from revenue.services.journals import contract_balances
from revenue.services.recognition import recognition_run_execute
from tests.billing.factories import InvoiceFactory, InvoiceLineFactory, with_totals
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    MilestoneFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def ratable(value: str = "10000.00") -> Contract:
    """10,000.00 from 1 Jan to 31 Mar: 3,444.44 / 3,111.11 / 3,444.45 (DOMAIN.md)."""
    return ContractFactory(revenue_method=Contract.RevenueMethod.RATABLE,
                           billing_model=Contract.BillingModel.FIXED_INSTALLMENTS,
                           value_amount=D(value), start_date=JAN, end_date=date(2026, 3, 31))


def recognise(contract: Contract, month: date) -> None:
    run = RecognitionRun.objects.create(legal_entity=contract.legal_entity, period=month)
    assert recognition_run_execute(run_id=run.pk).status == RecognitionRun.Status.COMPLETED


def deliver(document: Invoice) -> Delivery:
    """Run revenue's delivery of the document's `invoice.issued` event, as a worker would."""
    delivery = Delivery.objects.get(event__type="invoice.issued",
                                    event__aggregate_id=str(document.pk),
                                    subscriber="revenue.invoice_journal")
    result = events.delivery_attempt(delivery.pk)
    assert result is not None and result.state == Delivery.State.SUCCEEDED, result.last_error
    return result


def issue(document: Invoice, on: date) -> Invoice:
    actor = UserFactory()
    if document.status == Invoice.Status.DRAFT:
        document = invoice_approve(invoice=document, actor=actor)
    document = invoice_issue(invoice=document, actor=actor, issue_date=on)
    deliver(document)
    return document


def invoice_for(contract: Contract, *amounts: str) -> Invoice:
    invoice = InvoiceFactory(contract=contract)
    for amount in amounts:
        InvoiceLineFactory(invoice=invoice, quantity=None, unit_price=None,
                           base_amount=D(amount))
    return with_totals(invoice)


def lines_of(entry: JournalEntry) -> dict[str, tuple[Decimal, Decimal]]:
    return {line.account_key: (line.debit, line.credit) for line in entry.lines.all()}


def assert_balanced(entry: JournalEntry) -> None:
    sums = entry.lines.aggregate(debit=Sum("debit"), credit=Sum("credit"))
    assert entry.total_debit == entry.total_credit == sums["debit"] == sums["credit"]


class TestInvoiceIssued:
    def test_recognised_before_billing_credits_unbilled_then_deferred(self):
        contract = ratable()
        recognise(contract, JAN)  # 3,444.44 recognised, nothing billed: unbilled receivable
        assert contract_balances(contract.pk) == (D("3444.44"), D("0"))

        invoice = issue(invoice_for(contract, "5000.00"), date(2026, 2, 10))  # tax 8.25 %

        entry = JournalEntry.objects.get(source=JournalEntry.Source.INVOICE,
                                         source_id=invoice.pk)
        assert_balanced(entry)
        assert entry.contract == contract and entry.entry_date == date(2026, 2, 10)
        assert entry.period == FEB and entry.total_debit == D("5412.50")
        assert lines_of(entry) == {
            AccountKey.RECEIVABLE: (D("5412.50"), D("0")),
            AccountKey.TAX_PAYABLE: (D("0"), D("412.50")),
            AccountKey.UNBILLED: (D("0"), D("3444.44")),
            AccountKey.DEFERRED: (D("0"), D("1555.56")),
        }
        assert contract_balances(contract.pk) == (D("0.00"), D("1555.56"))

    def test_billed_before_recognised_is_all_deferred_and_recognition_draws_it_down(self):
        contract = ratable()
        issue(invoice_for(contract, "4000.00"), date(2026, 1, 5))
        entry = JournalEntry.objects.get(source=JournalEntry.Source.INVOICE)
        assert lines_of(entry)[AccountKey.DEFERRED] == (D("0"), D("4000.00"))
        assert AccountKey.UNBILLED not in lines_of(entry)
        assert contract_balances(contract.pk) == (D("0"), D("4000.00"))

        recognise(contract, JAN)
        recognise(contract, FEB)  # 6,555.55 recognised against 4,000.00 billed
        assert contract_balances(contract.pk) == (D("2555.55"), D("0.00"))

    def test_credit_note_mirrors_the_invoice_deferred_first_then_unbilled(self):
        contract = ratable()
        recognise(contract, JAN)
        invoice = issue(invoice_for(contract, "3000.00", "2000.00"), date(2026, 2, 10))
        assert contract_balances(contract.pk) == (D("0.00"), D("1555.56"))

        note = credit_note_create(invoice=invoice, actor=UserFactory(), reason="Rate error",
                                  lines=[(invoice.lines.order_by("pk").first(), D("2000.00"))])
        note = issue(note, date(2026, 2, 20))

        entry = JournalEntry.objects.get(source=JournalEntry.Source.CREDIT_NOTE,
                                         source_id=note.pk)
        assert_balanced(entry)
        assert lines_of(entry) == {
            AccountKey.RECEIVABLE: (D("0"), D("2165.00")),
            AccountKey.TAX_PAYABLE: (D("165.00"), D("0")),
            AccountKey.DEFERRED: (D("1555.56"), D("0")),
            AccountKey.UNBILLED: (D("444.44"), D("0")),
        }
        # billed 3,000.00 against 3,444.44 recognised: an unbilled receivable of 444.44
        assert contract_balances(contract.pk) == (D("444.44"), D("0.00"))

    def test_redelivery_and_a_second_post_write_nothing(self):
        contract = ratable()
        invoice = issue(invoice_for(contract, "1000.00"), date(2026, 1, 15))
        assert JournalEntry.objects.count() == 1

        delivery = Delivery.objects.get(event__type="invoice.issued",
                                        subscriber="revenue.invoice_journal")
        Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.FAILED)
        assert events.delivery_attempt(delivery.pk).state == Delivery.State.SUCCEEDED
        assert invoice_journal_post(invoice_id=invoice.pk) == []
        from revenue.subscribers import on_invoice_issued

        on_invoice_issued(OutboxEvent.objects.get(type="invoice.issued"))
        assert JournalEntry.objects.count() == 1 and JournalLine.objects.count() == 3
        assert contract_balances(contract.pk) == (D("0"), D("1000.00"))

    def test_journal_entry_posted_event_for_the_erp(self):
        contract = ratable()
        invoice = issue(invoice_for(contract, "1000.00"), date(2026, 1, 15))
        event = OutboxEvent.objects.get(type="journal_entry.posted")
        assert event.payload["source"] == "invoice"
        assert event.payload["source_id"] == invoice.pk
        assert event.payload["total"] == "1082.50"

    def test_drafts_are_not_posted(self):
        invoice = invoice_for(ratable(), "1000.00")
        assert invoice_journal_post(invoice_id=invoice.pk) == []
        assert not JournalEntry.objects.exists()


class TestConsolidatedInvoice:
    def _consolidated(self, first: Contract, second: Contract) -> Invoice:
        client = first.client
        invoice = InvoiceFactory(contract=None, client=client, legal_entity=first.legal_entity,
                                 currency=client.currency, tax_rate=client.tax_rate,
                                 payment_terms_days=client.payment_terms_days)
        InvoiceLineFactory(invoice=invoice, contract=first, quantity=None, unit_price=None,
                           base_amount=D("600.00"))
        InvoiceLineFactory(invoice=invoice, contract=second, quantity=None, unit_price=None,
                           base_amount=D("300.00"))
        InvoiceLineFactory(invoice=invoice, contract=second, quantity=None, unit_price=None,
                           base_amount=D("100.00"))
        return with_totals(invoice)

    def test_one_entry_per_contract_each_split_on_its_own_balances(self):
        client = ClientFactory(consolidated_invoicing=True)
        first, second = (ContractFactory(client=client,
                                         revenue_method=Contract.RevenueMethod.MILESTONE,
                                         billing_model=Contract.BillingModel.FIXED_MILESTONES)
                         for _ in range(2))
        MilestoneFactory(project=ProjectFactory(contract=second), amount=D("250.00"),
                         status="accepted", accepted_at=datetime(2026, 1, 20, 12, tzinfo=UTC))
        recognise(second, JAN)  # 250.00 unbilled on the second contract only

        invoice = issue(self._consolidated(first, second), date(2026, 1, 31))
        assert invoice.total == D("1082.50")

        entries = {e.contract_id: e for e in invoice_journal_entries(invoice)}
        assert set(entries) == {first.pk, second.pk}
        for entry in entries.values():
            assert_balanced(entry)
            assert entry.source == SOURCE_INVOICE_PART
        # tax 82.50 split 600 : 400 -> 49.50 and the residual 33.00
        assert lines_of(entries[first.pk]) == {
            AccountKey.RECEIVABLE: (D("649.50"), D("0")),
            AccountKey.TAX_PAYABLE: (D("0"), D("49.50")),
            AccountKey.DEFERRED: (D("0"), D("600.00")),
        }
        assert lines_of(entries[second.pk]) == {
            AccountKey.RECEIVABLE: (D("433.00"), D("0")),
            AccountKey.TAX_PAYABLE: (D("0"), D("33.00")),
            AccountKey.UNBILLED: (D("0"), D("250.00")),
            AccountKey.DEFERRED: (D("0"), D("150.00")),
        }
        receivable = JournalLine.objects.filter(entry__in=entries.values(),
                                                account_key=AccountKey.RECEIVABLE)
        assert receivable.aggregate(total=Sum("debit"))["total"] == invoice.total
        first_lines = {line.contract_id: line.pk for line in invoice.lines.order_by("-pk")}
        assert entries[first.pk].source_id == first_lines[first.pk]
        assert contract_balances(first.pk) == (D("0"), D("600.00"))
        assert contract_balances(second.pk) == (D("0.00"), D("150.00"))

        # keyed by line ids under their own source: no collision with an invoice's id
        assert invoice_journal_post(invoice_id=invoice.pk) == []
        assert JournalEntry.objects.filter(source=JournalEntry.Source.INVOICE).count() == 0

    def test_a_line_without_a_contract_is_refused(self):
        contract = ratable()
        invoice = self._consolidated(contract, ContractFactory(client=contract.client))
        line = invoice.lines.first()
        type(line).objects.filter(pk=line.pk).update(contract=None)
        Invoice.objects.filter(pk=invoice.pk).update(
            status=Invoice.Status.ISSUED, number="X-1", issue_date=JAN)
        with pytest.raises(InvoiceJournalError):
            invoice_journal_post(invoice_id=invoice.pk)
        assert not JournalEntry.objects.exists()


class TestScheduleSubscribers:
    def test_contract_changed_refreshes_the_plan(self):
        contract = ratable()
        contract_update(contract=contract, actor=UserFactory(),
                        data={"value_amount": D("9000.00")})
        delivery = Delivery.objects.get(event__type="contract.changed",
                                        subscriber="revenue.schedule_plan")
        assert events.delivery_attempt(delivery.pk).state == Delivery.State.SUCCEEDED
        planned = ScheduleLine.objects.filter(schedule__contract=contract).aggregate(
            total=Sum("planned_amount"))["total"]
        assert planned == D("9000.00")

    def test_every_schedule_event_is_subscribed(self):
        for event_type in ("contract.created", "contract.changed", "change_order.approved"):
            assert events.subscription_for(event_type, "revenue.schedule_plan") is not None
        assert events.subscription_for("invoice.issued", "revenue.invoice_journal") is not None
