"""What each contract should have recognised by the end of a month, by its revenue method
(DOMAIN.md, Revenue recognition), computed for many contracts at once.

Every input is one aggregate query grouped by contract (time value and cost, hours, expenses,
accepted milestones, the estimate in force, what is recognised already), so a run over
thousands of contracts costs a fixed number of queries; Python only combines a handful of
figures per contract. The target is cumulative to date: the run posts the difference from
what was recognised before, which makes it idempotent and gives the cumulative catch-up after
a change order or a new estimate for free.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum

from psa.common.money import column_sum, quantize, split
from psa.models import Contract, Expense, Milestone, TimeEntry
from revenue.models import ContractEstimate, RecognitionEntry

Method = Contract.RevenueMethod
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")
# Time counts once approved and stays counted when billed; written-off time earns nothing.
EARNED_STATES = (TimeEntry.Status.APPROVED, TimeEntry.Status.INVOICED)
VALUE = DecimalField(max_digits=20, decimal_places=6)


def month_end(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def months_between(first: date, last: date) -> list[date]:
    """First days of the months from `first`'s to `last`'s, inclusive."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


@dataclass
class Target:
    """A contract's recognised-to-date target at a month end, with the why."""

    contract_id: int
    cumulative: Decimal
    recognised_before: Decimal
    explanation: str
    inputs: dict[str, str] = field(default_factory=dict)

    @property
    def difference(self) -> Decimal:
        return self.cumulative - self.recognised_before


def _by_contract(queryset, value, places: int = 2) -> dict[int, Decimal]:
    """Σ `value` per contract, exact to `places` (see psa.common.money.column_sum)."""
    return {row["contract_key"]: column_sum(row["value"], places) for row in
            queryset.order_by().values("contract_key").annotate(value=value)}


def _figures(queryset, sums: dict[str, tuple[object, int]]) -> dict[str, dict[int, Decimal]]:
    """Several sums per contract in ONE grouped query: {name: {contract id: exact sum}}."""
    out: dict[str, dict[int, Decimal]] = {name: {} for name in sums}
    rows = (queryset.order_by().values("contract_key")
            .annotate(**{name: expression for name, (expression, _) in sums.items()}))
    for row in rows:
        for name, (_, places) in sums.items():
            out[name][row["contract_key"]] = column_sum(row[name], places)
    return out


def _time_figures(ids: list[int], end: date) -> dict[str, dict[int, Decimal]]:
    """Billable value at the frozen bill rate, cost at the frozen cost rate and hours, per
    contract, in one pass over the time entries."""
    def value(rate: str) -> ExpressionWrapper:
        return ExpressionWrapper(F("hours") * F(rate), output_field=VALUE)

    return _figures(TimeEntry.objects.filter(
        project__contract_id__in=ids, status__in=EARNED_STATES, work_date__lte=end)
        .annotate(contract_key=F("project__contract_id")), {
            "billable_value": (Sum(value("bill_rate"), filter=Q(is_billable=True)), 6),
            "cost_value": (Sum(value("cost_rate")), 6),
            "hours": (Sum("hours"), 2)})


def _expense_figures(ids: list[int], end: date) -> dict[str, dict[int, Decimal]]:
    """Billable and all expenses per contract, in one pass."""
    return _figures(Expense.objects.filter(
        project__contract_id__in=ids, status__in=EARNED_STATES, expense_date__lte=end)
        .annotate(contract_key=F("project__contract_id")), {
            "billable": (Sum("project_amount", filter=Q(is_billable=True)), 2),
            "all": (Sum("project_amount"), 2)})


def _milestones(ids: list[int], end: date) -> dict[int, Decimal]:
    done = (Q(status__in=(Milestone.Status.ACCEPTED, Milestone.Status.INVOICED),
              accepted_at__date__lte=end)
            | Q(requires_acceptance=False, completed_at__date__lte=end,
                status__in=(Milestone.Status.COMPLETED, Milestone.Status.INVOICED)))
    return _by_contract(Milestone.objects.filter(done, project__contract_id__in=ids)
                        .annotate(contract_key=F("project__contract_id")), Sum("amount"))


def recognised_before(ids: list[int], month: date) -> dict[int, Decimal]:
    """Recognised to date through `month` (entries of earlier months and of `month` itself)."""
    return _by_contract(RecognitionEntry.objects.filter(contract_id__in=ids, month__lte=month)
                        .annotate(contract_key=F("contract_id")), Sum("amount"))


def _estimates(contracts: list[Contract], month: date) -> dict[int, ContractEstimate]:
    """The estimate in force in `month` per contract: the latest effective on or before it."""
    latest = (ContractEstimate.objects.filter(contract_id=OuterRef("contract_id"),
                                              effective_month__lte=month)
              .order_by("-effective_month", "-created_at", "-pk").values("pk")[:1])
    return {estimate.contract_id: estimate for estimate in ContractEstimate.objects.filter(
        contract_id__in=[c.pk for c in contracts], pk=Subquery(latest))}


def _budgets(ids: list[int]) -> dict[int, tuple[Decimal, Decimal]]:
    """Σ project budget cost and hours per contract: the estimate until one is entered."""
    from psa.models import Project

    return {row["contract_id"]: (row["cost"] or ZERO, row["hours"] or ZERO)
            for row in Project.objects.filter(contract_id__in=ids).order_by()
            .values("contract_id").annotate(cost=Sum("budget_cost_amount"),
                                            hours=Sum("budget_hours"))}


def ratable_cumulative(contract: Contract, month: date) -> tuple[Decimal, list[Decimal]]:
    """The value spread over the service period by days (parts rounded, the last month takes
    the residual): recognised to date through `month`, and every month's part."""
    months = months_between(contract.start_date, contract.end_date)
    days = [(min(month_end(m), contract.end_date) - max(m, contract.start_date)).days + 1
            for m in months]
    parts = split(contract.value_amount, days, contract.currency)
    done = sum((part for m, part in zip(months, parts, strict=True) if m <= month), ZERO)
    return done, parts


def _ratio(done: Decimal, total: Decimal) -> Decimal:
    return min(Decimal(1), done / total) if total else Decimal(0)


def targets_for(contracts: Iterable[Contract], month: date) -> list[Target]:
    """Each contract's recognised-to-date target at the end of `month` (fixed query count)."""
    contracts = list(contracts)
    ids = [c.pk for c in contracts]
    end = month_end(month)
    before = recognised_before(ids, month)
    methods = {c.revenue_method for c in contracts}
    by_time = {Method.AS_DELIVERED, Method.PERCENT_COMPLETE_COST,
               Method.PERCENT_COMPLETE_HOURS} & methods
    times = _time_figures(ids, end) if by_time else {"billable_value": {}, "cost_value": {},
                                                     "hours": {}}
    by_expense = {Method.AS_DELIVERED, Method.PERCENT_COMPLETE_COST} & methods
    spent = _expense_figures(ids, end) if by_expense else {"billable": {}, "all": {}}
    time_value, time_cost, hours = (times["billable_value"], times["cost_value"],
                                    times["hours"])
    billable_expenses, all_expenses = spent["billable"], spent["all"]
    milestones = _milestones(ids, end) if Method.MILESTONE in methods else {}
    estimated = ({Method.PERCENT_COMPLETE_COST, Method.PERCENT_COMPLETE_HOURS} & methods)
    estimates = _estimates(contracts, month) if estimated else {}
    budgets = _budgets(ids) if estimated else {}
    targets = []
    for contract in contracts:
        pk, currency, value = contract.pk, contract.currency, contract.value_amount
        method = contract.revenue_method
        inputs: dict[str, str] = {"value": f"{value}"}
        if method == Method.AS_DELIVERED:
            markup = 1 + contract.expense_markup_percent / HUNDRED
            time = quantize(time_value.get(pk, ZERO), currency)
            expenses = quantize(billable_expenses.get(pk, ZERO) * markup, currency)
            cumulative = time + expenses
            text = (f"approved billable time {time:,.2f} + billable expenses with markup "
                    f"{expenses:,.2f}")
            if contract.cap_amount is not None and cumulative > contract.cap_amount:
                cumulative = contract.cap_amount
                text += f", stopped at the cap {contract.cap_amount:,.2f}"
            inputs |= {"time": f"{time}", "expenses": f"{expenses}"}
        elif method in (Method.PERCENT_COMPLETE_COST, Method.PERCENT_COMPLETE_HOURS):
            by_cost = method == Method.PERCENT_COMPLETE_COST
            estimate = estimates.get(pk)
            budget_cost, budget_hours = budgets.get(pk, (ZERO, ZERO))
            if by_cost:
                done = quantize(time_cost.get(pk, ZERO) + all_expenses.get(pk, ZERO), currency)
                total = (estimate.total_cost_amount if estimate and estimate.total_cost_amount
                         else budget_cost)
                unit = "cost"
            else:
                done = hours.get(pk, ZERO)
                total = (estimate.total_hours if estimate and estimate.total_hours
                         else budget_hours)
                unit = "hours"
            ratio = _ratio(done, total)
            cumulative = quantize(value * ratio, currency)
            source = (f"estimate of {estimate.effective_month:%b %Y}" if estimate
                      else "project budgets")
            text = (f"value {value:,.2f} x min(1, {unit} to date {done:,.2f} / estimated "
                    f"{total:,.2f} ({source})) = {ratio * 100:.2f} %")
            inputs |= {f"{unit}_to_date": f"{done}", f"estimated_{unit}": f"{total}"}
        elif method == Method.MILESTONE:
            accepted = milestones.get(pk, ZERO)
            cumulative = min(accepted, value)
            text = f"accepted milestones to date {accepted:,.2f}"
            if accepted > value:
                text += f", stopped at the value {value:,.2f}"
        else:  # ratable
            cumulative, _ = ratable_cumulative(contract, month)
            days = (contract.end_date - contract.start_date).days + 1
            text = (f"value {value:,.2f} over {days} days from {contract.start_date} to "
                    f"{contract.end_date}, by month, the last month taking the residual")
        recognised = before.get(pk, ZERO)
        text += f"; to date {cumulative:,.2f} - recognised before {recognised:,.2f}"
        targets.append(Target(contract_id=pk, cumulative=cumulative,
                              recognised_before=recognised, explanation=text, inputs=inputs))
    return targets
