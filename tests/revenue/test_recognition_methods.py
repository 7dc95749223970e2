"""Every revenue method end to end through `recognition_run_execute`, month after month, with
cumulative catch-up (DOMAIN.md, Revenue recognition): a capped T&M contract stops at its cap,
percent complete on hours follows a revised estimate, a milestone counts in the month it is
accepted (not when completed), a ratable contract absorbs a change order in the month after,
and a revised estimate that lowers percent complete posts a balanced reversal."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from psa.common.money import split
from psa.models import Contract, Milestone
from psa.services.change_orders import change_order_approve
from revenue.models import (
    AccountKey,
    ContractEstimate,
    JournalEntry,
    JournalLine,
    RecognitionEntry,
    RecognitionRun,
    RevenueSchedule,
    ScheduleLine,
)
from revenue.services.journals import contract_balances, invoice_postings, journal_post
from revenue.services.recognition import recognition_run_execute
from tests.psa.factories import (
    ChangeOrderFactory,
    ContractFactory,
    ExpenseFactory,
    MilestoneFactory,
    PersonFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
ZERO = D("0.00")
JAN, FEB, MAR, APR, MAY = (date(2026, m, 1) for m in range(1, 6))
Method = Contract.RevenueMethod


def recognise(contract: Contract, month: date) -> RecognitionRun:
    run = RecognitionRun.objects.create(legal_entity=contract.legal_entity, period=month)
    run = recognition_run_execute(run_id=run.pk)
    assert run.status == RecognitionRun.Status.COMPLETED, run.error
    return run


def amounts(queryset, field: str = "amount") -> Decimal:
    """Σ of a money column, summed here: each value is read exactly, while SQLite's SUM of a
    decimal column is a float."""
    return sum(queryset.values_list(field, flat=True), ZERO)


def posted(contract: Contract, month: date) -> Decimal:
    return amounts(RecognitionEntry.objects.filter(contract=contract, month=month))


def to_date(contract: Contract) -> Decimal:
    return amounts(RecognitionEntry.objects.filter(contract=contract))


def explanation(contract: Contract, month: date) -> str:
    return ScheduleLine.objects.get(schedule__contract=contract, month=month).explanation


def assert_journals_balanced(contract: Contract) -> None:
    """Every recognition entry has exactly one journal entry, of its amount, whose lines
    balance; the line sums equal the entry's totals."""
    entries = RecognitionEntry.objects.filter(contract=contract)
    journals = JournalEntry.objects.filter(source=JournalEntry.Source.RECOGNITION,
                                           contract=contract)
    assert journals.count() == entries.count()
    for entry in entries:
        journal = journals.get(source_id=entry.pk)
        debit, credit = amounts(journal.lines, "debit"), amounts(journal.lines, "credit")
        assert debit == credit == journal.total_debit == journal.total_credit
        assert journal.total_debit == abs(entry.amount)
        revenue = journal.lines.get(account_key=AccountKey.REVENUE)
        # Revenue is credited when recognised and debited when reversed.
        assert (revenue.credit, revenue.debit) == ((entry.amount, ZERO) if entry.amount > 0
                                                   else (ZERO, -entry.amount))


def hours(task, month: date, amount: str, *, rate: str = "150.0000") -> None:
    """`amount` approved billable hours on `task` in `month`: entries of up to 20 h, each by
    another person, on the 2nd to the 21st."""
    remaining, day = D(amount), 0
    while remaining > 0:
        chunk = min(remaining, D("20.00"))
        TimeEntryFactory(task=task, person=PersonFactory(),
                         work_date=month.replace(day=2 + day % 20), hours=chunk, approved=True,
                         bill_rate=D(rate))
        remaining -= chunk
        day += 1


def test_capped_time_and_materials_stops_at_the_cap_and_stays_there():
    contract = ContractFactory(billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP,
                               revenue_method=Method.AS_DELIVERED, cap_amount=D("10000.00"),
                               expense_markup_percent=D("10.0000"))
    task = TaskFactory(project=ProjectFactory(contract=contract))
    hours(task, JAN, "40")  # 6,000.00
    recognise(contract, JAN)
    hours(task, FEB, "20")  # 3,000.00 -> 9,000.00
    ExpenseFactory(project=task.project, status="approved", expense_date=date(2026, 2, 10),
                   amount=D("100.00"))  # x 1.10 = 110.00 -> 9,110.00
    recognise(contract, FEB)
    hours(task, MAR, "16")  # 2,400.00 -> 11,510.00, over the cap
    recognise(contract, MAR)
    hours(task, APR, "8")  # still over
    run = recognise(contract, APR)

    assert [posted(contract, m) for m in (JAN, FEB, MAR, APR)] == [
        D("6000.00"), D("3110.00"), D("890.00"), ZERO]
    assert run.entries_posted == 0
    assert to_date(contract) == contract.cap_amount
    assert RevenueSchedule.objects.get(contract=contract).recognised_to_date == D("10000.00")
    assert "stopped at the cap 10,000.00" in explanation(contract, MAR)
    assert "stopped at the cap" not in explanation(contract, FEB)
    assert_journals_balanced(contract)
    assert contract_balances(contract.pk) == (D("10000.00"), ZERO)  # all unbilled


def test_a_cap_lifted_by_a_change_order_recognises_the_held_excess_the_month_after():
    contract = ContractFactory(billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP,
                               revenue_method=Method.AS_DELIVERED, cap_amount=D("5000.00"))
    task = TaskFactory(project=ProjectFactory(contract=contract))
    hours(task, JAN, "40")  # 6,000.00 against a 5,000.00 cap
    recognise(contract, JAN)
    change_order = ChangeOrderFactory(contract=contract, value_change_amount=ZERO,
                                      cap_change_amount=D("3000.00"),
                                      effective_date=date(2026, 1, 20))
    change_order_approve(change_order=change_order, actor=UserFactory())
    recognise(contract, FEB)

    assert [posted(contract, m) for m in (JAN, FEB)] == [D("5000.00"), D("1000.00")]
    assert_journals_balanced(contract)


def test_percent_complete_on_hours_follows_a_revised_estimate():
    contract = ContractFactory(revenue_method=Method.PERCENT_COMPLETE_HOURS,
                               billing_model=Contract.BillingModel.FIXED_INSTALLMENTS,
                               value_amount=D("100000.00"))
    task = TaskFactory(project=ProjectFactory(contract=contract))
    ContractEstimate.objects.create(contract=contract, effective_month=JAN,
                                    total_hours=D("1000.00"))
    hours(task, JAN, "200")  # 200 / 1,000 = 20 %
    recognise(contract, JAN)
    hours(task, FEB, "300")  # 500 h; the estimate rises to 1,250 h -> 40 %
    ContractEstimate.objects.create(contract=contract, effective_month=FEB,
                                    total_hours=D("1250.00"))
    recognise(contract, FEB)
    hours(task, MAR, "250")  # 750 / 1,250 = 60 %
    recognise(contract, MAR)
    hours(task, APR, "600")  # 1,350 h: more than the estimate, stops at 100 %
    recognise(contract, APR)

    assert [posted(contract, m) for m in (JAN, FEB, MAR, APR)] == [
        D("20000.00"), D("20000.00"), D("20000.00"), D("40000.00")]
    assert to_date(contract) == contract.value_amount
    text = explanation(contract, FEB)
    assert "hours to date 500.00" in text and "1,250.00" in text and "40.00 %" in text
    assert "estimate of Feb 2026" in text
    line = ScheduleLine.objects.get(schedule__contract=contract, month=MAR)
    assert D(line.inputs["hours_to_date"]) == D("750")
    assert D(line.inputs["estimated_hours"]) == D("1250")
    assert_journals_balanced(contract)


def test_a_milestone_is_recognised_when_accepted_not_when_completed():
    contract = ContractFactory(revenue_method=Method.MILESTONE,
                               billing_model=Contract.BillingModel.FIXED_MILESTONES,
                               value_amount=D("60000.00"))
    project = ProjectFactory(contract=contract)
    first = MilestoneFactory(project=project, amount=D("20000.00"), status="accepted",
                             completed_at=datetime(2026, 1, 20, 12, tzinfo=UTC),
                             accepted_at=datetime(2026, 1, 28, 12, tzinfo=UTC))
    second = MilestoneFactory(project=project, amount=D("40000.00"), status="completed",
                              completed_at=datetime(2026, 2, 14, 12, tzinfo=UTC))
    for month in (JAN, FEB, MAR):
        recognise(contract, month)
    Milestone.objects.filter(pk=second.pk).update(
        status=Milestone.Status.ACCEPTED, accepted_at=datetime(2026, 4, 6, 12, tzinfo=UTC))
    recognise(contract, APR)
    recognise(contract, MAY)

    assert [posted(contract, m) for m in (JAN, FEB, MAR, APR, MAY)] == [
        first.amount, ZERO, ZERO, second.amount, ZERO]
    assert "accepted milestones to date 60,000.00" in explanation(contract, APR)
    assert_journals_balanced(contract)


def test_ratable_absorbs_a_change_order_in_the_month_after_and_adds_up_to_the_new_value():
    contract = ContractFactory(revenue_method=Method.RATABLE,
                               billing_model=Contract.BillingModel.RETAINER,
                               retainer_amount=D("1000.00"), value_amount=D("12000.00"),
                               start_date=JAN, end_date=date(2026, 12, 31))
    days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    before = split(D("12000.00"), days, "USD")
    for month in (JAN, FEB, MAR):
        recognise(contract, month)
    # A change order effective in March, approved after March was recognised.
    change_order = ChangeOrderFactory(contract=contract, value_change_amount=D("3650.00"),
                                      effective_date=date(2026, 3, 15))
    change_order_approve(change_order=change_order, actor=UserFactory())
    months = [date(2026, m, 1) for m in range(1, 13)]
    for month in months[3:]:
        recognise(contract, month)

    after = split(D("15650.00"), days, "USD")
    assert [posted(contract, m) for m in months[:3]] == before[:3]
    # April absorbs the whole difference: the new cumulative to April less what was posted.
    assert posted(contract, APR) == sum(after[:4]) - sum(before[:3])
    assert posted(contract, APR) == after[3] + (sum(after[:3]) - sum(before[:3]))
    assert [posted(contract, m) for m in months[4:]] == after[4:]
    assert to_date(contract) == D("15650.00")
    assert RevenueSchedule.objects.get(contract=contract).recognised_to_date == D("15650.00")
    assert_journals_balanced(contract)


def test_a_revised_estimate_that_lowers_percent_complete_posts_a_balanced_reversal():
    contract = ContractFactory(revenue_method=Method.PERCENT_COMPLETE_COST,
                               billing_model=Contract.BillingModel.FIXED_MILESTONES,
                               value_amount=D("100000.00"))
    task = TaskFactory(project=ProjectFactory(contract=contract))
    ContractEstimate.objects.create(contract=contract, effective_month=JAN,
                                    total_cost_amount=D("40000.00"))
    for day in range(5, 17):  # 12 x 10 h x 100.00 = 12,000.00 -> 30 %
        TimeEntryFactory(task=task, person=PersonFactory(), work_date=date(2026, 1, day),
                         hours=D("10.00"), approved=True, cost_rate=D("100.0000"))
    recognise(contract, JAN)
    # Finance invoices 35,000.00 up front: the 30,000.00 unbilled is used up, 5,000.00 deferred.
    journal_post(legal_entity=contract.legal_entity, entry_date=date(2026, 1, 31),
                 source=JournalEntry.Source.INVOICE, source_id=990001, currency="USD",
                 description="Invoice", contract=contract,
                 postings=invoice_postings(subtotal=D("35000.00"), tax=ZERO,
                                           unbilled=D("30000.00")))
    assert contract_balances(contract.pk) == (ZERO, D("5000.00"))
    # February: no new cost, the estimate at completion doubles -> 15 % -> 15,000.00 to date.
    ContractEstimate.objects.create(contract=contract, effective_month=FEB,
                                    total_cost_amount=D("80000.00"))
    run = recognise(contract, FEB)

    assert posted(contract, FEB) == D("-15000.00")
    assert (run.entries_posted, run.amount_posted) == (1, D("-15000.00"))
    assert to_date(contract) == D("15000.00")
    entry = RecognitionEntry.objects.get(contract=contract, month=FEB)
    assert entry.cumulative_amount == D("15000.00")
    journal = JournalEntry.objects.get(source=JournalEntry.Source.RECOGNITION,
                                       source_id=entry.pk)
    lines = {line.account_key: (line.debit, line.credit)
             for line in JournalLine.objects.filter(entry=journal)}
    # Nothing unbilled is left to reverse: all of it goes back to deferred revenue.
    assert lines == {AccountKey.REVENUE: (D("15000.00"), ZERO),
                     AccountKey.DEFERRED: (ZERO, D("15000.00"))}
    assert journal.total_debit == journal.total_credit == D("15000.00")
    assert contract_balances(contract.pk) == (ZERO, D("20000.00"))  # billed 35k - recognised 15k
    assert_journals_balanced(contract)
    # Running February again posts nothing more.
    assert recognise(contract, FEB).entries_posted == 0
