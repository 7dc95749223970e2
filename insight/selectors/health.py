"""A project's health: budget burn, percent complete, estimate at completion and margin,
milestones coming due or overdue, unbilled and unsubmitted work, and a weekly burn chart.

`project_health_many` reads any number of projects in a FIXED number of grouped queries (ten
with the burn chart, eight without), keyed by project id; `project_health` is the one-project
case. Definitions follow psa's `project_financials` (DOMAIN.md, Measures): actual hours are
approved time (approved, invoiced or written off), actual cost that time at its frozen cost
rate plus approved expenses at cost, both in the project's currency (cost frozen in another
currency is kept apart, never converted at a guessed rate).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncWeek

from billing.models import BilledItem
from billing.selectors.unbilled import TIME_BILLED_MODELS
from insight.selectors.types import HUNDRED, ratio_percent
from psa.common.money import ZERO, column_sum, quantize
from psa.models import Expense, Milestone, Person, Project, ProjectMember, Task, TimeEntry
from psa.selectors.projects import ACTUAL_STATES, EXACT_PRODUCT
from revenue.models import ContractEstimate

HOURS = Decimal("0.01")
# Milestones due within this many days from today count as "due soon".
DUE_SOON_DAYS = 30
MS = Milestone.Status
# Not yet accepted or invoiced: what can still be due or overdue.
OPEN_MILESTONES = (MS.PLANNED, MS.COMPLETED)
DONE_MILESTONES = (MS.COMPLETED, MS.ACCEPTED, MS.INVOICED)
# Billable and not invoiced (project_financials' "unbilled"): accepted, or completed where no
# acceptance is needed.
BILLABLE_MILESTONE = Q(status=MS.ACCEPTED) | Q(status=MS.COMPLETED, requires_acceptance=False)

PercentSource = Literal["estimate", "milestones", "tasks", "none"]
SOURCE_LABELS: dict[str, str] = {
    "estimate": "actual cost ÷ the contract's estimate at completion",
    "milestones": "share of milestone amounts completed, accepted or invoiced",
    "tasks": "closed tasks' budget hours ÷ all tasks' budget hours",
    "none": "no estimate, milestones or task budgets to measure it by",
}


@dataclass(frozen=True)
class BurnPoint:
    """One week of the burn chart: cumulative actuals through the week's Sunday against the
    linear budget line (the budget spread evenly over the project's days)."""

    week_start: date
    actual_hours: Decimal
    actual_cost_amount: Decimal
    planned_hours: Decimal
    planned_cost_amount: Decimal


@dataclass(frozen=True)
class ProjectHealth:
    """A project's health on `today`, amounts in the project's currency.

    Percent complete comes from the first source that has figures: the contract's estimate at
    completion in force (the project's share of its total cost, by budget cost), then the
    milestones, then the leaf tasks' budget hours. EAC cost = actual cost + estimate to
    complete (the estimate less actual, else the remaining budget; never below zero). Margins
    are on the budget revenue: sold = (revenue - budget cost) ÷ revenue, at completion =
    (revenue - EAC cost) ÷ revenue. Unbilled work: approved billable T&M time with no live
    invoice link (hours x frozen bill rate, in the project's currency) plus billable milestones
    not invoiced. Unsubmitted work: draft hours, and team members employed in the last
    complete week (Monday to Sunday before today's week) who entered no time that week.
    """

    project: Project
    today: date
    currency: str
    budget_hours: Decimal
    budget_cost_amount: Decimal
    budget_revenue_amount: Decimal
    actual_hours: Decimal
    billable_hours: Decimal
    actual_cost_amount: Decimal
    other_currency_costs: dict[str, Decimal]
    burn_hours_percent: Decimal | None
    burn_cost_percent: Decimal | None
    percent_complete: Decimal | None
    percent_complete_source: PercentSource
    estimated_total_cost_amount: Decimal | None
    estimate_to_complete_amount: Decimal
    eac_cost_amount: Decimal
    sold_margin_percent: Decimal | None
    eac_margin_percent: Decimal | None
    milestones_due_soon: int
    milestones_due_soon_amount: Decimal
    milestones_overdue: int
    milestones_overdue_amount: Decimal
    unbilled_time_hours: Decimal
    unbilled_time_amount: Decimal
    unbilled_milestone_amount: Decimal
    draft_hours: Decimal
    last_week_start: date
    team: tuple[Person, ...]
    people_without_time: tuple[Person, ...]
    burn_chart: tuple[BurnPoint, ...]

    @property
    def project_id(self) -> int:
        return self.project.pk

    @property
    def non_billable_hours(self) -> Decimal:
        return self.actual_hours - self.billable_hours

    @property
    def unbilled_amount(self) -> Decimal:
        return self.unbilled_time_amount + self.unbilled_milestone_amount

    @property
    def burn_basis(self) -> Literal["hours", "cost"]:
        """Burn is measured in hours where there is an hour budget, else in cost."""
        return "hours" if self.budget_hours else "cost"

    @property
    def burn_percent(self) -> Decimal | None:
        return self.burn_hours_percent if self.burn_basis == "hours" else self.burn_cost_percent

    @property
    def percent_complete_label(self) -> str:
        return SOURCE_LABELS[self.percent_complete_source]

    @property
    def last_week_end(self) -> date:
        return self.last_week_start + timedelta(days=6)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _as_date(value: object) -> date:
    """TruncWeek gives a date on a DateField, a datetime on some backends: normalise."""
    return value.date() if hasattr(value, "date") else value  # type: ignore[return-value]


def _projects(projects: QuerySet[Project]) -> list[Project]:
    """The projects with what the figures need: contract, client, manager, and the contract's
    total budget cost and number of projects (to share its estimate among them)."""
    siblings = (Project.objects.filter(contract_id=OuterRef("contract_id")).order_by()
                .values("contract_id"))
    return list(projects.select_related("contract", "client", "manager").annotate(
        contract_budget_cost=Subquery(siblings.annotate(t=Sum("budget_cost_amount"))
                                      .values("t")),
        contract_projects=Subquery(siblings.annotate(n=Count("pk")).values("n"))))


def _time(ids: list[int]) -> dict[int, dict]:
    """Per project: actual, billable and draft hours, and actual cost per cost currency."""
    actual = Q(status__in=ACTUAL_STATES)
    rows = (TimeEntry.objects.filter(project_id__in=ids).order_by()
            .values("project_id", "cost_currency")
            .annotate(actual_hours=Sum("hours", filter=actual),
                      billable=Sum("hours", filter=actual & Q(is_billable=True)),
                      cost=Sum(F("hours") * F("cost_rate"), filter=actual,
                               output_field=EXACT_PRODUCT),
                      draft=Sum("hours", filter=Q(status=TimeEntry.Status.DRAFT))))
    result: dict[int, dict] = defaultdict(lambda: {"hours": ZERO, "billable": ZERO,
                                                   "draft": ZERO, "cost": defaultdict(Decimal)})
    for row in rows:
        totals = result[row["project_id"]]
        totals["hours"] += column_sum(row["actual_hours"])
        totals["billable"] += column_sum(row["billable"])
        totals["draft"] += column_sum(row["draft"])
        totals["cost"][row["cost_currency"]] += column_sum(row["cost"], 6)
    return result


def _expenses(ids: list[int]) -> dict[int, Decimal]:
    rows = (Expense.objects.filter(project_id__in=ids, status__in=ACTUAL_STATES).order_by()
            .values("project_id").annotate(total=Sum("project_amount")))
    return {row["project_id"]: column_sum(row["total"]) for row in rows}


def _unbilled_time(ids: list[int]) -> dict[int, dict]:
    """Approved billable time of T&M projects no live invoice link bills (billing's rule)."""
    live = BilledItem.objects.filter(time_entry=OuterRef("pk"), is_live=True)
    rows = (TimeEntry.objects
            .filter(project_id__in=ids, status=TimeEntry.Status.APPROVED, is_billable=True,
                    bill_rate__isnull=False, bill_currency=F("project__currency"),
                    project__contract__billing_model__in=TIME_BILLED_MODELS)
            .filter(~Exists(live)).order_by().values("project_id")
            .annotate(total_hours=Sum("hours"),
                      amount=Sum(F("hours") * F("bill_rate"), output_field=EXACT_PRODUCT)))
    return {row["project_id"]: row for row in rows}


def _milestones(ids: list[int], today: date) -> dict[int, dict]:
    open_ = Q(status__in=OPEN_MILESTONES)
    soon = open_ & Q(due_date__gte=today, due_date__lte=today + timedelta(days=DUE_SOON_DAYS))
    # Overdue: past due and not even completed (a completed one awaiting acceptance is the
    # "acceptance delayed" flag's business), as the risk flag counts it.
    late = Q(status=MS.PLANNED, due_date__lt=today)
    rows = (Milestone.objects.filter(project_id__in=ids).order_by().values("project_id")
            .annotate(total=Sum("amount"), done=Sum("amount", filter=Q(status__in=DONE_MILESTONES)),
                      soon=Count("pk", filter=soon), soon_amount=Sum("amount", filter=soon),
                      late=Count("pk", filter=late), late_amount=Sum("amount", filter=late),
                      unbilled=Sum("amount", filter=BILLABLE_MILESTONE)))
    return {row["project_id"]: row for row in rows}


def _tasks(ids: list[int]) -> dict[int, tuple[Decimal, Decimal]]:
    """Per project: (all, closed) budget hours of its leaf tasks (parents would count twice)."""
    rows = (Task.objects.filter(project_id__in=ids, children__isnull=True).order_by()
            .values("project_id")
            .annotate(total=Sum("budget_hours"), closed=Sum("budget_hours",
                                                            filter=Q(is_open=False))))
    return {row["project_id"]: (column_sum(row["total"]), column_sum(row["closed"]))
            for row in rows}


def _estimates(contract_ids: set[int], today: date) -> dict[int, ContractEstimate]:
    """The estimate in force per contract: the latest effective on or before today's month
    (revenue recognition's rule)."""
    latest = (ContractEstimate.objects
              .filter(contract_id=OuterRef("contract_id"), effective_month__lte=today)
              .order_by("-effective_month", "-created_at", "-pk").values("pk")[:1])
    return {estimate.contract_id: estimate for estimate in ContractEstimate.objects.filter(
        contract_id__in=contract_ids, pk=Subquery(latest))}


def _team(ids: list[int], last_week: date) -> dict[int, list[tuple[Person, bool]]]:
    """Per project: its team members, each with whether they entered any time (any project,
    any status) in the week starting `last_week`."""
    entered = TimeEntry.objects.filter(person_id=OuterRef("person_id"), work_date__gte=last_week,
                                       work_date__lte=last_week + timedelta(days=6))
    members = (ProjectMember.objects.filter(project_id__in=ids).select_related("person")
               .annotate(has_time=Exists(entered))
               .order_by("person__last_name", "person__first_name", "person_id"))
    result: dict[int, list[tuple[Person, bool]]] = defaultdict(list)
    for member in members:
        result[member.project_id].append((member.person, member.has_time))
    return result


def _weekly_actuals(ids: list[int]) -> dict[int, dict[date, list[Decimal]]]:
    """Per project and week: [approved hours, cost in the project's currency]."""
    result: dict[int, dict[date, list[Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: [ZERO, ZERO]))
    # Every approved hour burns; only cost frozen in the project's currency adds to its cost
    # line (other currencies are shown apart, never converted at a guessed rate).
    same_currency = Q(cost_currency=F("project__currency")) | Q(cost_currency="")
    time = (TimeEntry.objects
            .filter(project_id__in=ids, status__in=ACTUAL_STATES)
            .annotate(week=TruncWeek("work_date")).order_by().values("project_id", "week")
            .annotate(week_hours=Sum("hours"),
                      cost=Sum(F("hours") * F("cost_rate"), filter=same_currency,
                               output_field=EXACT_PRODUCT)))
    for row in time:
        cell = result[row["project_id"]][_as_date(row["week"])]
        cell[0] += column_sum(row["week_hours"])
        cell[1] += column_sum(row["cost"], 6)
    expenses = (Expense.objects.filter(project_id__in=ids, status__in=ACTUAL_STATES)
                .annotate(week=TruncWeek("expense_date")).order_by()
                .values("project_id", "week").annotate(total=Sum("project_amount")))
    for row in expenses:
        result[row["project_id"]][_as_date(row["week"])][1] += column_sum(row["total"])
    return result


def burn_chart(*, project: Project, today: date,
               weekly: dict[date, list[Decimal]]) -> tuple[BurnPoint, ...]:
    """Cumulative actuals per week from the project's start week to today's week (or its end
    week, if sooner, unless later time exists), against the linear budget line."""
    first = week_start(project.start_date)
    last = week_start(min(today, project.end_date))
    later = [week for week in weekly if week > last and week <= week_start(today)]
    last = max([last, *later])
    if last < first:
        return ()
    days = (project.end_date - project.start_date).days + 1
    hours = cost = ZERO
    # Work dated before the start week (an anomaly) is counted in the first week.
    for when, (week_hours, week_cost) in weekly.items():
        if when < first:
            hours += week_hours
            cost += week_cost
    points = []
    week = first
    while week <= last:
        week_hours, week_cost = weekly.get(week, (ZERO, ZERO))
        hours += week_hours
        cost += week_cost
        sunday = min(week + timedelta(days=6), project.end_date)
        share = Decimal((sunday - project.start_date).days + 1) / days
        points.append(BurnPoint(
            week_start=week, actual_hours=hours,
            actual_cost_amount=quantize(cost, project.currency),
            planned_hours=(project.budget_hours * share).quantize(HOURS, ROUND_HALF_UP),
            planned_cost_amount=quantize(project.budget_cost_amount * share, project.currency)))
        week += timedelta(days=7)
    return tuple(points)


def _percent_complete(*, project: Project, actual_cost: Decimal,
                      estimate: ContractEstimate | None, milestones: dict,
                      tasks: tuple[Decimal, Decimal] | None
                      ) -> tuple[Decimal | None, PercentSource, Decimal | None]:
    """(percent complete, its source, the project's share of the estimated total cost)."""
    if estimate is not None and estimate.total_cost_amount is not None:
        contract_budget = project.contract_budget_cost or ZERO
        if contract_budget:
            share = project.budget_cost_amount / contract_budget
        else:
            share = Decimal(1) / (project.contract_projects or 1)
        estimated = quantize(estimate.total_cost_amount * share, project.currency)
        if estimated:
            percent = ratio_percent(actual_cost, estimated)
            return min(percent, HUNDRED), "estimate", estimated
    total = column_sum(milestones.get("total"))
    if total:
        return ratio_percent(column_sum(milestones.get("done")), total), "milestones", None
    if tasks and tasks[0]:
        return ratio_percent(tasks[1], tasks[0]), "tasks", None
    return None, "none", None


def project_health_many(*, projects: QuerySet[Project], today: date,
                        with_burn_chart: bool = True) -> dict[int, ProjectHealth]:
    """The health of each project in `projects` on `today`, keyed by project id.

    A fixed number of queries whatever the number of projects: ten, or eight without the
    burn chart (the portfolio does not draw it).
    """
    rows = _projects(projects)
    ids = [project.pk for project in rows]
    last_week = week_start(today) - timedelta(days=7)
    time, expenses = _time(ids), _expenses(ids)
    unbilled, milestones, tasks = _unbilled_time(ids), _milestones(ids, today), _tasks(ids)
    estimates = _estimates({p.contract_id for p in rows if p.contract_id}, today)
    team = _team(ids, last_week)
    weekly = _weekly_actuals(ids) if with_burn_chart else {}
    return {project.pk: _health(project=project, today=today, last_week=last_week,
                                time=time.get(project.pk), expense=expenses.get(project.pk, ZERO),
                                unbilled=unbilled.get(project.pk, {}),
                                milestones=milestones.get(project.pk, {}),
                                tasks=tasks.get(project.pk),
                                estimate=estimates.get(project.contract_id),
                                team=team.get(project.pk, []),
                                weekly=weekly.get(project.pk, {}) if with_burn_chart else None)
            for project in rows}


def _health(*, project: Project, today: date, last_week: date, time: dict | None,
            expense: Decimal, unbilled: dict, milestones: dict,
            tasks: tuple[Decimal, Decimal] | None, estimate: ContractEstimate | None,
            team: list[tuple[Person, bool]],
            weekly: dict[date, list[Decimal]] | None) -> ProjectHealth:
    currency = project.currency
    costs: dict[str, Decimal] = dict(time["cost"]) if time else {}
    own = costs.pop(currency, ZERO) + costs.pop("", ZERO)
    actual_cost = quantize(own + expense, currency)
    others = {code: quantize(amount, code) for code, amount in sorted(costs.items()) if amount}
    actual_hours = time["hours"] if time else ZERO
    percent, source, estimated = _percent_complete(
        project=project, actual_cost=actual_cost, estimate=estimate, milestones=milestones,
        tasks=tasks)
    target = estimated if estimated is not None else project.budget_cost_amount
    to_complete = max(target - actual_cost, ZERO)
    eac = actual_cost + to_complete
    revenue = project.budget_revenue_amount
    week_end = last_week + timedelta(days=6)
    missing = tuple(person for person, has_time in team if not has_time
                    and person.hire_date <= week_end
                    and (person.termination_date is None or person.termination_date >= last_week))
    return ProjectHealth(
        project=project, today=today, currency=currency,
        budget_hours=project.budget_hours, budget_cost_amount=project.budget_cost_amount,
        budget_revenue_amount=revenue, actual_hours=actual_hours,
        billable_hours=time["billable"] if time else ZERO, actual_cost_amount=actual_cost,
        other_currency_costs=others,
        burn_hours_percent=ratio_percent(actual_hours, project.budget_hours),
        burn_cost_percent=ratio_percent(actual_cost, project.budget_cost_amount),
        percent_complete=percent, percent_complete_source=source,
        estimated_total_cost_amount=estimated, estimate_to_complete_amount=to_complete,
        eac_cost_amount=eac,
        sold_margin_percent=ratio_percent(revenue - project.budget_cost_amount, revenue),
        eac_margin_percent=ratio_percent(revenue - eac, revenue),
        milestones_due_soon=milestones.get("soon", 0),
        milestones_due_soon_amount=column_sum(milestones.get("soon_amount")),
        milestones_overdue=milestones.get("late", 0),
        milestones_overdue_amount=column_sum(milestones.get("late_amount")),
        unbilled_time_hours=column_sum(unbilled.get("total_hours")),
        unbilled_time_amount=quantize(column_sum(unbilled.get("amount"), 6), currency),
        unbilled_milestone_amount=column_sum(milestones.get("unbilled")),
        draft_hours=time["draft"] if time else ZERO,
        last_week_start=last_week, team=tuple(person for person, _ in team),
        people_without_time=missing,
        burn_chart=burn_chart(project=project, today=today, weekly=weekly)
        if weekly is not None else ())


def project_health(*, project: Project, today: date) -> ProjectHealth:
    """The health of one project on `today` (with its burn chart)."""
    return project_health_many(projects=Project.objects.filter(pk=project.pk),
                               today=today)[project.pk]
