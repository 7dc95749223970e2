"""Reads of projects, tasks and milestones, and a project's financial summary."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet, Sum

from psa.common.money import ZERO, quantize
from psa.models import Milestone, Project, Task
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

    Actual hours and cost come from approved time and expenses, which arrive with the time
    issue; until then they are zero. Revenue is what the revenue runs recognised (zero until
    the revenue issue). Billed and unbilled count milestones: invoiced ones are billed, and
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


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if not whole else (part * HUNDRED / whole).quantize(Decimal("0.01"))


def project_financials(*, project: Project) -> ProjectFinancials:
    """Budget, actuals, burn, EAC (actual + remaining budget), revenue, cost, margin, billing.

    Every figure is a plain SQL sum over the project's rows (DOMAIN.md, Measures).
    """
    currency = project.currency
    billable = Q(status=Milestone.Status.ACCEPTED) | Q(
        status=Milestone.Status.COMPLETED, requires_acceptance=False)
    sums = Milestone.objects.filter(project=project).aggregate(
        billed=Sum("amount", filter=Q(status=Milestone.Status.INVOICED)),
        unbilled=Sum("amount", filter=billable))
    actual_hours = Decimal("0.00")  # TODO(#3): approved time entries
    actual_cost = ZERO  # TODO(#3): frozen cost of approved time and expenses
    revenue = ZERO  # TODO(#7): recognised revenue of the project's contract
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
        billed_amount=quantize(sums["billed"] or ZERO, currency),
        unbilled_amount=quantize(sums["unbilled"] or ZERO, currency),
    )
