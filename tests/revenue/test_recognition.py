"""Recognition runs: DOMAIN.md's worked examples to the cent, idempotency, journals."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from psa.common.errors import PeriodClosedError
from psa.models import Contract, Period
from revenue.models import (
    AccountKey,
    ContractEstimate,
    JournalEntry,
    JournalLine,
    RecognitionEntry,
    RecognitionRun,
    ScheduleLine,
)
from revenue.services.journals import contract_balances
from revenue.services.recognition import recognition_run_execute
from tests.psa.factories import (
    ContractFactory,
    ExpenseFactory,
    MilestoneFactory,
    PersonFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def recognise(contract: Contract, month: date) -> RecognitionRun:
    run = RecognitionRun.objects.create(legal_entity=contract.legal_entity, period=month)
    return recognition_run_execute(run_id=run.pk)


def posted(contract: Contract, month: date) -> Decimal:
    return RecognitionEntry.objects.filter(contract=contract, month=month).aggregate(
        total=Sum("amount"))["total"] or D("0")


def test_ratable_worked_example():
    contract = ContractFactory(revenue_method=Contract.RevenueMethod.RATABLE,
                               value_amount=D("10000.00"), start_date=JAN,
                               end_date=date(2026, 3, 31))
    for month in (JAN, FEB, MAR):
        recognise(contract, month)
    assert [posted(contract, m) for m in (JAN, FEB, MAR)] == [
        D("3444.44"), D("3111.11"), D("3444.45")]
    line = ScheduleLine.objects.get(schedule__contract=contract, month=MAR)
    assert line.recognised_amount == D("3444.45") and "residual" in line.explanation


def test_percent_complete_cost_worked_example_with_estimate_and_change_order():
    contract = ContractFactory(revenue_method=Contract.RevenueMethod.PERCENT_COMPLETE_COST,
                               billing_model=Contract.BillingModel.FIXED_MILESTONES,
                               value_amount=D("120000.00"))
    task = TaskFactory(project=ProjectFactory(contract=contract))
    ContractEstimate.objects.create(contract=contract, effective_month=JAN,
                                    total_cost_amount=D("80000.00"))

    def cost(day: date, amount: str) -> None:  # cost rate 100.00 x hours
        TimeEntryFactory(task=task, person=PersonFactory(), work_date=day,
                         hours=D(amount) / 100, approved=True, cost_rate=D("100.0000"))

    for day in range(5, 15):  # 10 x 20 h x 100.00 = 20,000.00 in January
        cost(date(2026, 1, day), "2000")
    recognise(contract, JAN)
    for day in range(2, 17):  # 30,000.00 more in February, estimate revised to 100,000.00
        cost(date(2026, 2, day), "2000")
    ContractEstimate.objects.create(contract=contract, effective_month=FEB,
                                    total_cost_amount=D("100000.00"))
    recognise(contract, FEB)
    for day in range(2, 12):  # 20,000.00 more in March; a change order adds 30,000.00
        cost(date(2026, 3, day), "2000")
    Contract.objects.filter(pk=contract.pk).update(value_amount=D("150000.00"))
    recognise(contract, MAR)

    assert [posted(contract, m) for m in (JAN, FEB, MAR)] == [
        D("30000.00"), D("30000.00"), D("45000.00")]
    explanation = ScheduleLine.objects.get(schedule__contract=contract, month=FEB).explanation
    assert "50.00 %" in explanation and "100,000.00" in explanation


def test_a_second_run_posts_nothing_and_a_late_entry_posts_only_the_difference():
    contract = ContractFactory(revenue_method=Contract.RevenueMethod.AS_DELIVERED)
    project = ProjectFactory(contract=contract)
    task = TaskFactory(project=project)
    TimeEntryFactory(task=task, work_date=date(2026, 3, 10), approved=True)  # 8 h x 150.00
    ExpenseFactory(project=project, status="approved", expense_date=date(2026, 3, 11))
    first = recognise(contract, MAR)
    assert first.entries_posted == 1 and posted(contract, MAR) == D("1239.05")  # 35.50 x 1.1

    again = recognise(contract, MAR)
    assert again.entries_posted == 0 and again.status == RecognitionRun.Status.COMPLETED

    TimeEntryFactory(task=task, work_date=date(2026, 3, 12), hours=D("2.00"), approved=True)
    late = recognise(contract, MAR)
    assert late.entries_posted == 1 and late.amount_posted == D("300.00")
    assert posted(contract, MAR) == D("1539.05")


def test_journals_balance_and_recognition_before_billing_is_unbilled_receivable():
    contract = ContractFactory(revenue_method=Contract.RevenueMethod.MILESTONE)
    MilestoneFactory(project=ProjectFactory(contract=contract), amount=D("25000.00"),
                     status="accepted", accepted_at=datetime(2026, 3, 5, 12, tzinfo=UTC))
    recognise(contract, MAR)

    entry = JournalEntry.objects.get()
    assert entry.total_debit == entry.total_credit == D("25000.00")
    lines = dict(JournalLine.objects.values_list("account_key", "credit"))
    assert lines[AccountKey.REVENUE] == D("25000.00")
    assert contract_balances(contract.pk) == (D("25000.00"), D("0"))


def test_a_closed_period_is_never_recognised():
    contract = ContractFactory(revenue_method=Contract.RevenueMethod.RATABLE)
    Period.objects.create(legal_entity=contract.legal_entity, month=MAR,
                          status=Period.Status.CLOSED)
    run = recognise(contract, MAR)
    assert run.status == RecognitionRun.Status.FAILED and "closed" in run.error
    assert not RecognitionEntry.objects.exists()
    with pytest.raises(PeriodClosedError):
        from revenue.services.recognition import recognition_run_start
        from tests.psa.factories import UserFactory

        recognition_run_start(actor=UserFactory(), legal_entity=contract.legal_entity,
                              period=MAR)
