"""Reads of projects, tasks and milestones, and a project's financial summary."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from psa.common.money import ZERO, quantize
from psa.extensions import ProjectMoney, project_money
from psa.models import Expense, Milestone, Project, Task, TimeEntry
from psa.rules import visible

UserLike = User | AnonymousUser
HUNDRED = Decimal(100)


def project_list(*, actor: UserLike) -> QuerySet[Project]:
    """Projects the actor may see (managers and team members: their own)."""
    return visible(Project.objects.all(), actor, "psa.view_project")


def task_list(*, actor: UserLike) -> QuerySet[Task]:
    """Tasks of the projects the actor may see."""
    return visible(Task.objects.all(), actor, "psa.view_task")


def milestone_list(*, actor: UserLike) -> QuerySet[Milestone]:
    """Milestones of the projects the actor may see."""
    return visible(Milestone.objects.all(), actor, "psa.view_milestone")


@dataclass(frozen=True)
class ProjectFinancials:
    """A project's budget against actuals, in the project's currency.

    Actual hours are approved time (approved, invoiced or written off); actual cost is that
    time at its frozen cost rate plus approved expenses at cost (DOMAIN.md: project cost). Cost
    frozen in another currency than the project's (a UK consultant on a US project) is kept
    apart in `other_currency_costs` rather than converted at a guessed rate. Revenue is what
    the revenue runs recognised and billed / unbilled what billing knows, both from the
    provider the insight app registers (`psa.extensions.project_money`). Without one (psa
    alone), revenue is zero and billed / unbilled count milestones: invoiced ones billed,
    billable but not yet invoiced ones (accepted, or completed without acceptance) unbilled.
    """

    project_id: int
    currency: str
    budget_hours: Decimal
    budget_cost_amount: Decimal
    budget_revenue_amount: Decimal
    actual_hours: Decimal
    actual_cost_amount: Decimal
    burn_hours_percent: Decimal | None
    burn_cost_percent: Decimal | None
    eac_hours: Decimal
    eac_cost_amount: Decimal
    revenue_amount: Decimal
    cost_amount: Decimal
    margin_amount: Decimal
    margin_percent: Decimal | None
    billed_amount: Decimal
    unbilled_amount: Decimal
    other_currency_costs: dict[str, Decimal]


# Time and expenses count as actuals once approved, and stay so when billed or written off.
ACTUAL_STATES = (TimeEntry.Status.APPROVED, TimeEntry.Status.INVOICED,
                 TimeEntry.Status.WRITTEN_OFF)
# hours (2 places) x rate (4 places) is exact at 6 places: no double rounding before quantize.
EXACT_PRODUCT = DecimalField(max_digits=24, decimal_places=6)


def actual_hours_subquery() -> Coalesce:
    """Approved hours of the outer project, for annotating a project queryset in one query."""
    hours = (TimeEntry.objects.filter(project=OuterRef("pk"), status__in=ACTUAL_STATES)
             .order_by().values("project").annotate(total=Sum("hours")).values("total"))
    return Coalesce(Subquery(hours), Value(Decimal("0.00")),
                    output_field=DecimalField(max_digits=12, decimal_places=2))


def project_actuals(*, project: Project) -> tuple[Decimal, Decimal, dict[str, Decimal]]:
    """(approved hours, cost in the project currency, cost in other currencies): two queries."""
    hours = ZERO
    cost_by_currency: dict[str, Decimal] = {}
    time = (TimeEntry.objects.filter(project=project, status__in=ACTUAL_STATES).order_by()
            .values("cost_currency")
            .annotate(total_hours=Sum("hours"),
                      total_cost=Sum(F("hours") * F("cost_rate"), output_field=EXACT_PRODUCT)))
    for row in time:
        hours += row["total_hours"] or ZERO
        currency = row["cost_currency"] or project.currency
        cost_by_currency[currency] = (cost_by_currency.get(currency, ZERO)
                                      + (row["total_cost"] or ZERO))
    expenses = Expense.objects.filter(project=project, status__in=ACTUAL_STATES).aggregate(
        total=Sum("project_amount"))["total"] or ZERO
    own = quantize(cost_by_currency.pop(project.currency, ZERO) + expenses, project.currency)
    others = {code: quantize(amount, code) for code, amount in sorted(cost_by_currency.items())}
    return hours, own, others


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if not whole else (part * HUNDRED / whole).quantize(Decimal("0.01"))


def project_financials(*, project: Project) -> ProjectFinancials:
    """Budget, actuals, burn, EAC (actual + remaining budget), revenue, cost, margin, billing.

    Every figure is a plain SQL sum over the project's rows (DOMAIN.md, Measures).
    """
    currency = project.currency
    actual_hours, actual_cost, other_costs = project_actuals(project=project)
    money = project_money(project)
    if money is None:
        billable = Q(status=Milestone.Status.ACCEPTED) | Q(
            status=Milestone.Status.COMPLETED, requires_acceptance=False)
        sums = Milestone.objects.filter(project=project).aggregate(
            billed=Sum("amount", filter=Q(status=Milestone.Status.INVOICED)),
            unbilled=Sum("amount", filter=billable))
        money = ProjectMoney(revenue_amount=ZERO, billed_amount=sums["billed"] or ZERO,
                             unbilled_amount=sums["unbilled"] or ZERO)
    revenue = quantize(money.revenue_amount, currency)
    cost = actual_cost
    margin = quantize(revenue - cost, currency)
    return ProjectFinancials(
        project_id=project.pk,
        currency=currency,
        budget_hours=project.budget_hours,
        budget_cost_amount=project.budget_cost_amount,
        budget_revenue_amount=project.budget_revenue_amount,
        actual_hours=actual_hours,
        actual_cost_amount=actual_cost,
        burn_hours_percent=_percent(actual_hours, project.budget_hours),
        burn_cost_percent=_percent(actual_cost, project.budget_cost_amount),
        eac_hours=actual_hours + max(project.budget_hours - actual_hours, Decimal("0.00")),
        eac_cost_amount=actual_cost + max(project.budget_cost_amount - actual_cost, ZERO),
        revenue_amount=revenue,
        cost_amount=cost,
        margin_amount=margin,
        margin_percent=_percent(margin, revenue),
        billed_amount=quantize(money.billed_amount, currency),
        unbilled_amount=quantize(money.unbilled_amount, currency),
        other_currency_costs=other_costs,
    )
