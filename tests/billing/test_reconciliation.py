"""The reconciliation check: approved = billed + unbilled + written off + held over cap."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import BilledItem, CapHold, Invoice, InvoiceLine, InvoiceRun
from billing.selectors.reconciliation import reconciliation
from billing.services.runs import invoice_run_execute
from psa.models import Contract, TimeEntry
from tests.psa.factories import (
    ContractFactory,
    LegalEntityFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
ST = TimeEntry.Status
K = InvoiceLine.Kind
_numbers = iter(range(1, 10_000))


def invoice(contract, status=Invoice.Status.DRAFT):
    number = f"US-2026-{next(_numbers):06d}" if status in Invoice.ISSUED_STATES else ""
    return Invoice.objects.create(legal_entity=contract.legal_entity, client=contract.client,
                                  contract=contract, currency=contract.currency, status=status,
                                  number=number)


def line(inv, kind, amount):
    return InvoiceLine.objects.create(invoice=inv, contract=inv.contract, kind=kind,
                                      description=kind, base_amount=D(amount),
                                      amount=D(amount))


def entry(task, hours, rate, day, status=ST.APPROVED):
    return TimeEntryFactory(task=task, hours=D(hours), bill_rate=D(rate), work_date=day,
                            approved=True, status=status)


def bill(inv, time_entry, billed_hours=None, live=True):
    return BilledItem.objects.create(
        invoice=inv, time_entry=time_entry, is_live=live, raw_hours=time_entry.hours,
        billed_hours=D(billed_hours) if billed_hours else time_entry.hours,
        rate=time_entry.bill_rate)


def hold(contract, source, amount, status=CapHold.Status.HELD):
    return CapHold.objects.create(contract=contract, source_invoice=source, amount=D(amount),
                                  currency=contract.currency, status=status)


@pytest.fixture
def capped():
    """A capped contract with history: a first invoice of 9,000.00, a second that met the cap
    (1,500.00 of time, 500.00 held), a rounding policy item, unbilled and written-off time, a
    hold written off and one billed later as "previously held"."""
    contract = ContractFactory(code="CAP-1", billing_model=Contract.BillingModel
                               .TIME_AND_MATERIALS_CAP, cap_amount=D("10000.00"))
    task = TaskFactory(project=ProjectFactory(contract=contract))
    first = invoice(contract, Invoice.Status.ISSUED)
    for day in (2, 3, 4):
        bill(first, entry(task, "20.00", "150.0000", date(2026, 2, day), ST.INVOICED))
    line(first, K.TIME, "9000.00")
    second = invoice(contract)
    bill(second, entry(task, "10.00", "150.0000", date(2026, 3, 2), ST.INVOICED))
    bill(second, entry(task, "1.00", "100.0000", date(2026, 3, 3), ST.INVOICED),
         billed_hours="1.25")  # rounded up: +25.00
    line(second, K.TIME, "1625.00")
    line(second, K.CAP_ADJUSTMENT, "-500.00")
    hold(contract, second, "500.00")
    # Earlier holds: one written off, one billed on the second invoice after a change order.
    line(first, K.CAP_ADJUSTMENT, "-100.00")
    hold(contract, first, "70.00", CapHold.Status.WRITTEN_OFF)
    later = hold(contract, first, "30.00", CapHold.Status.BILLED)
    previously = line(second, K.PREVIOUSLY_HELD, "30.00")
    BilledItem.objects.create(invoice=second, line=previously, cap_hold=later,
                              amount=D("30.00"))
    entry(task, "2.00", "150.0000", date(2026, 3, 10))  # unbilled: 300.00
    entry(task, "1.00", "200.0000", date(2026, 3, 11), ST.WRITTEN_OFF)  # 200.00
    return contract, task, first, second


class TestReconciliation:
    def test_consistent_capped_contract_balances(self, capped):
        contract, *_ = capped
        (row,) = reconciliation()
        assert row.contract_id == contract.pk
        assert row.approved == D("11100.00")
        assert row.billed_items == D("10625.00")
        assert row.cap_adjustments == D("-600.00")
        assert row.previously_held_billed == D("30.00")
        assert row.billed == D("10055.00")
        assert row.hours_rounding == D("25.00")
        assert row.unbilled == D("300.00")
        assert row.written_off == D("270.00")
        assert row.held_over_cap == D("500.00")
        assert (row.difference, row.is_balanced) == (D("0.00"), True)

    def test_missing_cap_hold_shows_a_difference(self, capped):
        contract, *_ = capped
        CapHold.objects.filter(status=CapHold.Status.HELD).delete()
        (row,) = reconciliation(contract=contract)
        assert (row.difference, row.is_balanced) == (D("500.00"), False)

    def test_invoiced_entry_without_live_link_shows_a_difference(self, capped):
        contract, task, first, _ = capped
        orphan = entry(task, "4.00", "150.0000", date(2026, 2, 20), ST.INVOICED)
        bill(first, orphan, live=False)  # link dead, entry never released
        (row,) = reconciliation(contract=contract)
        assert (row.difference, row.is_balanced) == (D("600.00"), False)

    def test_live_link_on_a_void_invoice_shows_a_difference(self, capped):
        contract, task, *_ = capped
        stale = entry(task, "1.00", "150.0000", date(2026, 3, 20), ST.INVOICED)
        bill(invoice(contract, Invoice.Status.VOID), stale)
        (row,) = reconciliation(contract=contract)
        assert (row.difference, row.is_balanced) == (D("150.00"), False)

    def test_billed_at_another_rate_shows_a_difference(self, capped):
        contract, task, first, _ = capped
        rerated = entry(task, "2.00", "150.0000", date(2026, 2, 21), ST.INVOICED)
        BilledItem.objects.create(invoice=first, time_entry=rerated, raw_hours=D("2.00"),
                                  billed_hours=D("2.00"), rate=D("140.0000"))
        (row,) = reconciliation(contract=contract)
        assert (row.difference, row.is_balanced) == (D("20.00"), False)

    def test_sub_cent_breaks_are_not_balanced(self, capped):
        contract, task, first, _ = capped
        odd = entry(task, "0.25", "0.0100", date(2026, 2, 22), ST.INVOICED)  # 0.0025
        bill(first, odd, live=False)
        (row,) = reconciliation(contract=contract)
        assert row.difference == D("0.00")
        assert row.is_balanced is False

    def test_scope_and_fixed_fee_contracts(self, capped):
        contract, *_ = capped
        other_entity = LegalEntityFactory(code="GB", country="GB", base_currency="GBP")
        foreign = ContractFactory(client__legal_entity=other_entity)
        entry(TaskFactory(project=ProjectFactory(contract=foreign)), "1.00", "100.0000",
              date(2026, 3, 2))
        fixed = ContractFactory(billing_model=Contract.BillingModel.FIXED_MILESTONES)
        entry(TaskFactory(project=ProjectFactory(contract=fixed)), "1.00", "100.0000",
              date(2026, 3, 2))
        assert [row.contract_id for row in reconciliation()] == sorted(
            [contract.pk, foreign.pk], key=lambda pk: Contract.objects.get(pk=pk).code)
        (row,) = reconciliation(legal_entity=other_entity)
        assert (row.contract_id, row.currency, row.unbilled) == (foreign.pk, "GBP",
                                                                  D("100.00"))
        assert reconciliation(contract=fixed) == []
        (empty,) = reconciliation(contract=ContractFactory())
        assert (empty.approved, empty.is_balanced) == (D("0.00"), True)


def test_real_invoice_runs_over_the_cap_balance():
    """The DOMAIN.md cap example through the invoice run itself: balanced at every step."""
    contract = ContractFactory(billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP,
                               cap_amount=D("10000.00"), expenses_billable=False)
    task = TaskFactory(project=ProjectFactory(contract=contract))
    for day in (2, 3, 4):
        entry(task, "20.00", "150.0000", date(2026, 2, day))
    invoice_run_execute(run_id=InvoiceRun.objects.create(cut_off=date(2026, 2, 28)).pk,
                        inline=True)
    for day in (2, 3):
        entry(task, "5.00", "150.0000", date(2026, 3, day))
    entry(task, "1.00", "150.0000", date(2026, 4, 1))
    invoice_run_execute(run_id=InvoiceRun.objects.create(cut_off=date(2026, 3, 31)).pk,
                        inline=True)

    (row,) = reconciliation(contract=contract)
    assert row.held_over_cap == D("500.00")
    assert row.unbilled == D("150.00")
    assert row.billed == D("10000.00")
    assert row.is_balanced


@pytest.mark.parametrize("size", [3, 30])
def test_fixed_number_of_queries(size, django_assert_max_num_queries):
    for _ in range(size):
        contract = ContractFactory()
        task = TaskFactory(project=ProjectFactory(contract=contract))
        inv = invoice(contract)
        bill(inv, entry(task, "1.00", "100.0000", date(2026, 3, 2), ST.INVOICED))
        entry(task, "1.00", "100.0000", date(2026, 3, 3))
        line(inv, K.CAP_ADJUSTMENT, "-1.00")
        hold(contract, inv, "1.00")
    with django_assert_max_num_queries(5):
        rows = reconciliation()
    assert len(rows) == size
    assert all(row.is_balanced for row in rows)
