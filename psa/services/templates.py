"""A project's tasks and milestones from a template, in the project's own transaction."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from psa.common.money import quantize, split
from psa.models import Milestone, Project, ProjectTemplate, Task

HUNDRED = Decimal("100")


@transaction.atomic
def project_apply_template(*, project: Project, template: ProjectTemplate,
                           milestone_value: Decimal | None = None) -> None:
    """Add the template's WBS and milestones to `project` (which has neither yet).

    Task budgets are the template's shares of the project's budget hours; milestone amounts
    are shares of `milestone_value` (the contract value), rounded per DOMAIN.md with the
    residual on the last so they add up exactly to the value times the shares' total.
    """
    if project.tasks.exists() or project.milestones.exists():
        return  # applied before (a replay): never a second WBS
    by_code: dict[str, Task] = {}
    for position, row in enumerate(template.tasks.order_by("wbs_code")):
        parent_code = row.wbs_code.rpartition(".")[0]
        task = Task.objects.create(
            project=project, parent=by_code.get(parent_code), wbs_code=row.wbs_code,
            name=row.name, is_billable=row.is_billable, position=position,
            budget_hours=(project.budget_hours * row.budget_share / HUNDRED).quantize(
                Decimal("0.01")))
        by_code[row.wbs_code] = task
    rows = list(template.milestones.all())
    if not rows:
        return
    value = milestone_value if milestone_value is not None else project.budget_revenue_amount
    share_total = sum((row.percent_of_value for row in rows), Decimal("0"))
    amounts = split(quantize(value * share_total / HUNDRED, project.currency),
                    [row.percent_of_value for row in rows], project.currency)
    Milestone.objects.bulk_create(
        Milestone(project=project, name=row.name, amount=amount, currency=project.currency,
                  due_date=min(project.start_date + timedelta(days=row.due_after_days),
                               project.end_date),
                  requires_acceptance=row.requires_acceptance)
        for row, amount in zip(rows, amounts, strict=True))
