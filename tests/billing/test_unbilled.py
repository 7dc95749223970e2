"""Invoice-ready amounts per contract: what a run with the cut-off would find, set-based."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.models import (
    BilledItem,
    CapHold,
    HeldItem,
    Installment,
    Invoice,
    RetainerMonth,
    RoundingPolicy,
)
from billing.selectors.unbilled import (
    invoice_ready_by_contract,
    last_due_month,
    rounding_policy_for,
)
from psa.models import Contract, Expense, ExpenseCategory, Milestone, TimeEntry
from tests.psa.factories import (
    ContractFactory,
    ExpenseFactory,
    LegalEntityFactory,
    MilestoneFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
CUT_OFF = date(2026, 3, 31)
BM = Contract.BillingModel


# Local billing helpers (tests/billing/factories.py belongs to another helper).
def draft_invoice(contract, status=Invoice.Status.DRAFT):
    return Invoice.objects.create(legal_entity=contract.legal_entity, client=contract.client,
                                  contract=contract, currency=contract.currency, status=status)


def link(contract, *, live=True, **source):
    invoice = draft_invoice(contract, Invoice.Status.DRAFT if live else Invoice.Status.VOID)
    return BilledItem.objects.create(invoice=invoice, is_live=live, **source)


def hold(user, **source):
    return HeldItem.objects.create(held_by=user, **source)


def work(contract):
    project = ProjectFactory(contract=contract)
    return project, TaskFactory(project=project)


def entry(task, hours, rate="150.0000", day=date(2026, 3, 10), **kwargs):
    return TimeEntryFactory(task=task, hours=D(hours), work_date=day, approved=True,
                            bill_rate=D(rate), **kwargs)


def expense(project, amount, category=ExpenseCategory.LODGING, **kwargs):
    kwargs.setdefault("status", Expense.Status.APPROVED)
    return ExpenseFactory(project=project, amount=D(amount), category=category, **kwargs)


def row_for(rows, contract):
    (row,) = [row for row in rows if row.contract_id == contract.pk]
    return row


def test_last_due_month():
    assert last_due_month(date(2026, 3, 31)) == date(2026, 3, 1)
    assert last_due_month(date(2026, 3, 30)) == date(2026, 2, 1)
    assert last_due_month(date(2026, 1, 15)) == date(2025, 12, 1)


class TestTimeAndExpenses:
    def test_worked_example_with_exclusions(self):
        finance = UserFactory(role="finance")
        contract = ContractFactory(code="A-TM", expense_markup_percent=D("10.0000"))
        project, task = work(contract)
        entry(task, "24.00", day=date(2026, 3, 9))
        entry(task, "13.50", day=date(2026, 3, 10))
        entry(task, "12.25", "200.0000", day=date(2026, 3, 2))
        re_billable = entry(task, "1.00", day=date(2026, 3, 11))
        link(contract, live=False, time_entry=re_billable)  # voided invoice: billable again
        billed = entry(task, "5.00", day=date(2026, 3, 12))
        link(contract, time_entry=billed)
        held = entry(task, "3.00", day=date(2026, 3, 1))
        hold(finance, time_entry=held)
        entry(task, "4.00", day=date(2026, 4, 1))  # after the cut-off
        TimeEntryFactory(task=task, hours=D("2.00"), work_date=date(2026, 3, 13),
                         status=TimeEntry.Status.SUBMITTED)
        TimeEntryFactory(task=TaskFactory(project=project, is_billable=False), approved=True,
                         hours=D("6.00"))
        expense(project, "420.00", ExpenseCategory.LODGING)
        expense(project, "35.50", ExpenseCategory.GROUND_TRANSPORT)
        held_expense = expense(project, "99.00", ExpenseCategory.MEALS)
        hold(finance, expense=held_expense)
        expense(project, "10.00", status=Expense.Status.SUBMITTED)

        row = row_for(invoice_ready_by_contract(cut_off=CUT_OFF), contract)

        assert row.time_hours == D("50.75")
        assert row.time_amount == D("8225.00")  # 5,625.00 + 2,450.00 + 150.00
        assert row.expense_amount == D("501.05")  # 462.00 + 39.05
        assert row.held_items == 2
        assert row.total_amount == D("8726.05")
        assert row.oldest_item_date == date(2026, 3, 2)
        assert row.age_days == 29

    def test_time_rounded_once_per_contract(self):
        contract = ContractFactory()
        _, task = work(contract)
        entry(task, "0.25", "100.0100", day=date(2026, 3, 2))  # 25.0025
        entry(task, "0.25", "100.0100", day=date(2026, 3, 3))  # 25.0025 -> 50.005 -> 50.01
        row = row_for(invoice_ready_by_contract(cut_off=CUT_OFF), contract)
        assert row.time_amount == D("50.01")

    def test_fixed_fee_time_is_never_billed_and_retainer_time_is_hours_only(self):
        fixed = ContractFactory(billing_model=BM.FIXED_MILESTONES, expenses_billable=False)
        retainer = ContractFactory(billing_model=BM.RETAINER, retainer_amount=D("5000.00"),
                                   start_date=date(2026, 3, 1))
        entry(work(fixed)[1], "8.00")
        entry(work(retainer)[1], "10.00")
        rows = invoice_ready_by_contract(cut_off=date(2026, 3, 20))
        assert [row.contract_id for row in rows] == [retainer.pk]
        assert (rows[0].time_hours, rows[0].time_amount) == (D("10.00"), D("0.00"))
        assert rows[0].retainer_months == 0


class TestFixedFeesAndRetainers:
    def test_milestones_installments_retainers_and_caps(self):
        at = datetime(2026, 3, 5, 12, tzinfo=UTC)
        milestones = ContractFactory(code="B-MS", billing_model=BM.FIXED_MILESTONES)
        project, _ = work(milestones)
        MilestoneFactory(project=project, amount=D("25000.00"),
                         status=Milestone.Status.ACCEPTED, accepted_at=at)
        MilestoneFactory(project=project, amount=D("5000.00"), requires_acceptance=False,
                         status=Milestone.Status.COMPLETED,
                         completed_at=datetime(2026, 3, 1, 9, tzinfo=UTC))
        MilestoneFactory(project=project, amount=D("7000.00"),
                         status=Milestone.Status.COMPLETED, completed_at=at)  # needs acceptance
        late = datetime(2026, 4, 2, 9, tzinfo=UTC)
        MilestoneFactory(project=project, amount=D("1000.00"),
                         status=Milestone.Status.ACCEPTED, accepted_at=late)
        billed = MilestoneFactory(project=project, amount=D("9000.00"),
                                  status=Milestone.Status.ACCEPTED, accepted_at=at)
        link(milestones, milestone=billed)

        installments = ContractFactory(code="C-IN", billing_model=BM.FIXED_INSTALLMENTS)
        first = Installment.objects.create(contract=installments, sequence=1,
                                           due_date=date(2026, 1, 31), amount=D("100.00"))
        Installment.objects.create(contract=installments, sequence=2,
                                   due_date=date(2026, 2, 28), amount=D("100.00"))
        Installment.objects.create(contract=installments, sequence=3,
                                   due_date=date(2026, 4, 30), amount=D("100.01"))
        link(installments, installment=first)

        retainer = ContractFactory(code="D-RT", billing_model=BM.RETAINER,
                                   retainer_amount=D("5000.00"), start_date=date(2026, 1, 15))
        january = RetainerMonth.objects.create(contract=retainer, month=date(2026, 1, 1))
        link(retainer, retainer_month=january)
        february = RetainerMonth.objects.create(contract=retainer, month=date(2026, 2, 1))
        link(retainer, live=False, retainer_month=february)

        capped = ContractFactory(code="E-CAP", billing_model=BM.TIME_AND_MATERIALS_CAP,
                                 cap_amount=D("10000.00"))
        source = draft_invoice(capped)
        CapHold.objects.create(contract=capped, source_invoice=source, amount=D("500.00"),
                               currency="USD")
        CapHold.objects.create(contract=capped, source_invoice=source, amount=D("70.00"),
                               currency="USD", status=CapHold.Status.WRITTEN_OFF)
        ContractFactory(status=Contract.Status.DRAFT, billing_model=BM.FIXED_INSTALLMENTS)

        rows = invoice_ready_by_contract(cut_off=CUT_OFF)

        assert [row.contract_code for row in rows] == ["B-MS", "C-IN", "D-RT", "E-CAP"]
        ms, inst, ret, cap = rows
        assert (ms.milestone_count, ms.milestone_amount) == (2, D("30000.00"))
        assert ms.oldest_item_date == date(2026, 3, 1)
        assert (inst.installment_count, inst.installment_amount) == (1, D("100.00"))
        assert inst.oldest_item_date == date(2026, 2, 28)
        assert (ret.retainer_months, ret.retainer_amount) == (2, D("10000.00"))
        assert ret.oldest_item_date == date(2026, 2, 28)
        assert cap.held_over_cap == D("500.00")
        assert cap.total_amount == D("0.00")

    def test_legal_entity_and_actor_scope(self):
        other = LegalEntityFactory(code="GB", country="GB", base_currency="GBP")
        here = ContractFactory(billing_model=BM.FIXED_INSTALLMENTS)
        Installment.objects.create(contract=here, sequence=1, due_date=date(2026, 1, 31),
                                   amount=D("100.00"))
        there = ContractFactory(client__legal_entity=other,
                                billing_model=BM.FIXED_INSTALLMENTS)
        Installment.objects.create(contract=there, sequence=1, due_date=date(2026, 1, 31),
                                   amount=D("100.00"))
        rows = invoice_ready_by_contract(cut_off=CUT_OFF, legal_entity=other)
        assert [row.contract_id for row in rows] == [there.pk]
        assert rows[0].currency == "GBP"
        finance = UserFactory(role="finance")
        consultant = UserFactory(role="consultant")
        assert len(invoice_ready_by_contract(cut_off=CUT_OFF, actor=finance)) == 2
        assert invoice_ready_by_contract(cut_off=CUT_OFF, actor=consultant) == []


def _world(size):
    finance = UserFactory(username="fin", role="finance")
    for n in range(size):
        tm = ContractFactory()
        project, task = work(tm)
        entry(task, "8.00")
        hold(finance, time_entry=entry(task, "2.00", day=date(2026, 3, 11)))
        expense(project, "12.00")
        fixed = ContractFactory(billing_model=BM.FIXED_MILESTONES)
        MilestoneFactory(project=work(fixed)[0], status=Milestone.Status.ACCEPTED,
                         accepted_at=datetime(2026, 3, 1, tzinfo=UTC))
        inst = ContractFactory(billing_model=BM.FIXED_INSTALLMENTS)
        Installment.objects.create(contract=inst, sequence=1, due_date=date(2026, 3, 1),
                                   amount=D("10.00"))
        ret = ContractFactory(billing_model=BM.RETAINER, retainer_amount=D("1000.00"))
        link(ret, retainer_month=RetainerMonth.objects.create(contract=ret,
                                                              month=date(2026, 1, 1)))
        if n % 2:
            CapHold.objects.create(contract=tm, source_invoice=draft_invoice(tm),
                                   amount=D("1.00"), currency="USD")


@pytest.mark.parametrize("size", [3, 30])
def test_fixed_number_of_queries(size, django_assert_max_num_queries):
    _world(size)
    with django_assert_max_num_queries(7):
        rows = invoice_ready_by_contract(cut_off=CUT_OFF)
    assert len(rows) == 4 * size
    assert sum(row.held_items for row in rows) == size
    assert sum(row.retainer_months for row in rows) == 2 * size


class TestRoundingPolicyFor:
    def test_contract_policy_wins_over_client_policy(self):
        contract = ContractFactory()
        assert rounding_policy_for(contract) is None
        client_policy = RoundingPolicy.objects.create(client=contract.client,
                                                      increment_minutes=15)
        assert rounding_policy_for(contract) == client_policy
        own = RoundingPolicy.objects.create(contract=contract, increment_minutes=6)
        assert rounding_policy_for(contract) == own
        assert rounding_policy_for(ContractFactory(client=contract.client)) == client_policy
