"""Revenue properties that must hold for every input, not only DOMAIN.md's worked examples:
a ratable schedule recognised to its end adds up to the contract value, month by month never
above it and never negative; every journal entry balances, and applied in any order the
postings leave at most one of unbilled receivable and deferred revenue non-zero per contract;
recognised to date never exceeds the value (fixed-fee methods) or the cap (capped T&M)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from psa.common.money import quantize
from psa.models import Contract, Milestone
from revenue.models import AccountKey, ContractEstimate, JournalEntry, RecognitionEntry
from revenue.models import RecognitionRun as Run
from revenue.services.journals import (
    contract_balances,
    invoice_postings,
    recognition_postings,
)
from revenue.services.recognition import recognition_run_execute
from revenue.services.targets import months_between, ratable_cumulative, targets_for
from tests.psa.factories import (
    ContractFactory,
    ExpenseFactory,
    MilestoneFactory,
    PersonFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
)

D = Decimal
ZERO = D("0.00")
CENT = D("0.01")
Method = Contract.RevenueMethod
DB_SETTINGS = settings(deadline=None, max_examples=15,
                       suppress_health_check=[HealthCheck.too_slow])


def money(low: str = "0", high: int = 10**8) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=D(low), max_value=high, places=2, allow_nan=False,
                       allow_infinity=False)


@st.composite
def service_periods(draw, max_months: int = 36) -> tuple[date, date]:
    """A start on any day of 2024-2027 and an end 1 to `max_months` months later (the end
    falling in the last of those months, on any day from the start on)."""
    start = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)))
    months = draw(st.integers(min_value=1, max_value=max_months))
    last = start.replace(day=1)
    for _ in range(months - 1):
        last = (last + timedelta(days=32)).replace(day=1)
    last_day = ((last + timedelta(days=32)).replace(day=1) - timedelta(days=1)).day
    earliest = start.day if months == 1 else 1
    end = last.replace(day=draw(st.integers(min_value=earliest, max_value=last_day)))
    return start, end


def ratable(value: Decimal, start: date, end: date) -> Contract:
    """An unsaved ratable contract: ratable_cumulative needs no database."""
    return Contract(revenue_method=Method.RATABLE, currency="USD", value_amount=value,
                    start_date=start, end_date=end)


# --- Ratable schedules (pure) ------------------------------------------------------------


@given(value=money(), period=service_periods())
# A small value over many months: 35 parts of 1.00 x ~31/1,096 round up to 0.03 each.
@example(value=D("1.00"), period=(date(2026, 1, 1), date(2028, 12, 31)))
@example(value=D("0.04"), period=(date(2024, 2, 12), date(2024, 5, 1)))
def test_a_ratable_schedule_adds_up_to_the_value_and_never_overshoots_it(value, period):
    start, end = period
    contract = ratable(value, start, end)
    months = months_between(start, end)
    previous = ZERO
    for month in months:
        cumulative, parts = ratable_cumulative(contract, month)
        assert cumulative == cumulative.quantize(CENT)
        assert previous <= cumulative <= value  # no month negative, never above the value
        previous = cumulative
    assert previous == value  # the last month takes the residual: exactly the value
    assert len(parts) == len(months) and sum(parts, ZERO) == value
    assert all(part >= 0 for part in parts)
    # After the service period nothing more is recognised; before it, nothing yet.
    assert ratable_cumulative(contract, months[-1] + timedelta(days=40))[0] == value
    before_start = (months[0] - timedelta(days=1)).replace(day=1)
    assert ratable_cumulative(contract, before_start)[0] == ZERO


@given(value=money(low="1000.00"), period=service_periods())
def test_a_ratable_month_follows_its_days_to_the_cent(value, period):
    """Every month but the last is the value x its days / all days, rounded half up, so months
    of equal length get equal parts (the last takes the residual). From 1,000.00 up, the
    rounding of 35 months (at most 0.175) can never exceed the last month's share (at least
    value / 1,097 days), so no part needs holding back to keep the total at the value."""
    start, end = period
    contract = ratable(value, start, end)
    _, parts = ratable_cumulative(contract, end)
    total_days = (end - start).days + 1
    by_length: dict[int, set[Decimal]] = {}
    for month, part in zip(months_between(start, end)[:-1], parts[:-1], strict=True):
        month_end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        days = (min(month_end, end) - max(month, start)).days + 1
        assert abs(part - value * days / total_days) <= D("0.005")
        by_length.setdefault(days, set()).add(part)
    assert all(len(parts_of_length) == 1 for parts_of_length in by_length.values())


# --- Journal postings (pure) -------------------------------------------------------------

operations = st.lists(st.one_of(
    st.tuples(st.just("recognise"), money("-1000000", 10**6)),
    st.tuples(st.just("invoice"), money("0", 10**6), money("0", 10**5)),
    st.tuples(st.just("credit_note"), money("0", 10**6), money("0", 10**5)),
), min_size=1, max_size=30)


def assert_balanced(postings) -> None:
    for posting in postings:
        assert posting.debit >= 0 and posting.credit >= 0
        assert not (posting.debit and posting.credit)
    assert sum((p.debit for p in postings), ZERO) == sum((p.credit for p in postings), ZERO)


@given(amount=money("-100000000", 10**8), unbilled=money(), deferred=money())
def test_every_recognition_entry_balances(amount, unbilled, deferred):
    postings = recognition_postings(amount, unbilled=unbilled, deferred=deferred)
    assert_balanced(postings)
    revenue = sum((p.credit - p.debit for p in postings if p.key == AccountKey.REVENUE), ZERO)
    assert revenue == amount


@given(subtotal=money(), tax=money("0", 10**7), unbilled=money(), deferred=money(),
       credit_note=st.booleans())
def test_every_invoice_entry_balances(subtotal, tax, unbilled, deferred, credit_note):
    postings = invoice_postings(subtotal=subtotal, tax=tax, unbilled=unbilled,
                                deferred=deferred, credit_note=credit_note)
    assert_balanced(postings)
    receivable = sum((p.debit - p.credit for p in postings if p.key == AccountKey.RECEIVABLE),
                     ZERO)
    assert receivable == (-1 if credit_note else 1) * (subtotal + tax)


@given(steps=operations)
def test_postings_applied_in_any_order_keep_at_most_one_balance_and_track_the_difference(
        steps):
    """Per contract, unbilled receivable (a debit balance) and deferred revenue (a credit
    balance) are never both non-zero and never negative; their difference is always
    recognised to date minus billed to date (DOMAIN.md, balances)."""
    unbilled = deferred = recognised = billed = ZERO
    for kind, amount, *rest in steps:
        if kind == "recognise":
            postings = recognition_postings(amount, unbilled=unbilled, deferred=deferred)
            recognised += amount
        else:
            postings = invoice_postings(subtotal=amount, tax=rest[0], unbilled=unbilled,
                                        deferred=deferred, credit_note=kind == "credit_note")
            billed += -amount if kind == "credit_note" else amount
        assert_balanced(postings)
        for p in postings:
            if p.key == AccountKey.UNBILLED:
                unbilled += p.debit - p.credit
            elif p.key == AccountKey.DEFERRED:
                deferred += p.credit - p.debit
        assert unbilled >= 0 and deferred >= 0
        assert not (unbilled and deferred)
        assert unbilled - deferred == recognised - billed


# --- Targets never exceed the value or the cap (database) --------------------------------


def _in_rollback(build):
    """Build one example's contract, compute its target, and roll it all back."""
    result = {}
    with transaction.atomic():
        contract = build()
        result["target"] = targets_for([contract], date(2026, 3, 1))[0]
        result["contract"] = contract
        transaction.set_rollback(True)
    return result["target"], result["contract"]


@pytest.mark.django_db
@DB_SETTINGS
@given(value=money(), estimate=money("0.01", 10**7), entries=st.lists(
    st.tuples(money("0.25", 24), money("0", 2000)), max_size=6),
    expense=money("0", 10**5), by_cost=st.booleans())
def test_percent_complete_never_exceeds_the_value(value, estimate, entries, expense, by_cost):
    def build() -> Contract:
        contract = ContractFactory(
            value_amount=value, revenue_method=Method.PERCENT_COMPLETE_COST if by_cost
            else Method.PERCENT_COMPLETE_HOURS,
            billing_model=Contract.BillingModel.FIXED_MILESTONES)
        task = TaskFactory(project=ProjectFactory(contract=contract))
        for day, (hours, rate) in enumerate(entries, start=2):
            TimeEntryFactory(task=task, work_date=date(2026, 2, day), approved=True,
                             hours=hours, cost_rate=rate)
        if expense:
            ExpenseFactory(project=task.project, status="approved", amount=expense,
                           expense_date=date(2026, 2, 20))
        figure = {"total_cost_amount": estimate} if by_cost else {
            "total_hours": min(estimate, D("9999999.00"))}
        ContractEstimate.objects.create(contract=contract, effective_month=date(2026, 1, 1),
                                        **figure)
        return contract

    target, contract = _in_rollback(build)
    assert ZERO <= target.cumulative <= contract.value_amount


@pytest.mark.django_db
@DB_SETTINGS
@given(value=money(), amounts=st.lists(money("0.01", 10**7), min_size=1, max_size=5))
def test_milestones_never_exceed_the_value(value, amounts):
    def build() -> Contract:
        contract = ContractFactory(value_amount=value, revenue_method=Method.MILESTONE,
                                   billing_model=Contract.BillingModel.FIXED_MILESTONES)
        project = ProjectFactory(contract=contract)
        for day, amount in enumerate(amounts, start=2):
            MilestoneFactory(project=project, amount=amount, status=Milestone.Status.ACCEPTED,
                             accepted_at=datetime(2026, 2, day, 12, tzinfo=UTC))
        return contract

    target, contract = _in_rollback(build)
    assert target.cumulative == min(sum(amounts), value)
    assert target.cumulative <= contract.value_amount


@pytest.mark.django_db
@DB_SETTINGS
@given(cap=money(), entries=st.lists(st.tuples(money("0.25", 24), money("0", 2000)),
                                     max_size=6),
       expense=money("0", 10**5), markup=st.decimals(min_value=0, max_value=50, places=2))
def test_capped_time_and_materials_never_exceeds_the_cap(cap, entries, expense, markup):
    def build() -> Contract:
        contract = ContractFactory(cap_amount=cap, revenue_method=Method.AS_DELIVERED,
                                   billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP,
                                   expense_markup_percent=markup)
        task = TaskFactory(project=ProjectFactory(contract=contract))
        for day, (hours, rate) in enumerate(entries, start=2):
            TimeEntryFactory(task=task, work_date=date(2026, 3, day), approved=True,
                             hours=hours, bill_rate=rate)
        if expense:
            ExpenseFactory(project=task.project, status="approved", amount=expense,
                           expense_date=date(2026, 3, 20))
        return contract

    target, contract = _in_rollback(build)
    assert ZERO <= target.cumulative <= contract.cap_amount
    delivered = (quantize(sum((h * r for h, r in entries), ZERO), "USD")
                 + quantize(expense * (1 + markup / 100), "USD"))
    assert target.cumulative == min(delivered, cap)


# --- Full runs on a few examples (database) ---------------------------------------------


def _recognise(contract: Contract, month: date) -> Run:
    run = Run.objects.create(legal_entity=contract.legal_entity, period=month)
    run = recognition_run_execute(run_id=run.pk)
    assert run.status == Run.Status.COMPLETED, run.error
    return run


def _to_date(contract: Contract) -> Decimal:
    """Recognised to date, summed here: each amount is read exactly (SQLite's SUM of a
    decimal column is a float)."""
    return sum(RecognitionEntry.objects.filter(contract=contract)
               .values_list("amount", flat=True), ZERO)


def _assert_journals_balance(contract: Contract) -> None:
    for journal in JournalEntry.objects.filter(contract=contract).prefetch_related("lines"):
        lines = list(journal.lines.all())
        debit = sum((line.debit for line in lines), ZERO)
        assert debit == sum((line.credit for line in lines), ZERO)
        assert debit == journal.total_debit == journal.total_credit


@pytest.mark.django_db
@settings(deadline=None, max_examples=6, suppress_health_check=[HealthCheck.too_slow])
@given(value=money(), period=service_periods(max_months=5))
def test_recognising_every_month_of_a_ratable_contract_posts_exactly_its_value(value,
                                                                              period):
    start, end = period
    with transaction.atomic():
        contract = ContractFactory(revenue_method=Method.RATABLE, value_amount=value,
                                   billing_model=Contract.BillingModel.FIXED_INSTALLMENTS,
                                   start_date=start, end_date=end)
        for month in months_between(start, end):
            _recognise(contract, month)
            assert _recognise(contract, month).entries_posted == 0  # nothing the second time
            assert _to_date(contract) <= value
        assert _to_date(contract) == value
        assert RecognitionEntry.objects.filter(contract=contract).count() <= len(
            months_between(start, end))
        assert contract_balances(contract.pk) == (value, ZERO)
        _assert_journals_balance(contract)
        transaction.set_rollback(True)


@pytest.mark.django_db
@settings(deadline=None, max_examples=8, suppress_health_check=[HealthCheck.too_slow])
@given(value=money("0", 10**7), months=st.lists(
    st.tuples(money("0", 400), money("1", 5000)), min_size=1, max_size=4))
# 2.01 recognised, then -1.91: SQLite sums the two to 0.0999999999999999, not 0.10.
@example(value=D("200.50"), months=[(D("0.01"), D("1.00")), (D("0.00"), D("19.10"))])
def test_percent_complete_runs_month_after_month_stay_within_the_value_and_balance(value,
                                                                                  months):
    """Each month some hours and a new estimate (up or down): to date is always the value x
    min(1, hours / estimate), never above the value; a second run of the month posts nothing;
    reversals included, every journal balances and at most one of the two balances is
    non-zero."""
    with transaction.atomic():
        contract = ContractFactory(revenue_method=Method.PERCENT_COMPLETE_HOURS,
                                   value_amount=value,
                                   billing_model=Contract.BillingModel.FIXED_INSTALLMENTS)
        task = TaskFactory(project=ProjectFactory(contract=contract))
        done = ZERO
        for index, (hours, estimate) in enumerate(months):
            month = date(2026, index + 1, 1)
            whole = hours.quantize(D("0.25"))
            person = PersonFactory()
            day = 1
            while whole > 0:
                chunk = min(whole, D("20.00"))
                TimeEntryFactory(task=task, person=person, work_date=month.replace(day=day),
                                 hours=chunk, approved=True)
                whole -= chunk
                done += chunk
                day += 1
            ContractEstimate.objects.create(contract=contract, effective_month=month,
                                            total_hours=estimate)
            _recognise(contract, month)
            assert _recognise(contract, month).entries_posted == 0  # nothing the second time
            to_date = _to_date(contract)
            assert to_date == quantize(value * min(D(1), done / estimate), "USD")
            assert ZERO <= to_date <= value
            unbilled, deferred = contract_balances(contract.pk)
            assert not (unbilled and deferred) and unbilled - deferred == to_date
        _assert_journals_balance(contract)
        transaction.set_rollback(True)
