"""What billing and revenue know of one project, for psa's project page and financials API
(registered as psa's `project_money` provider: psa may not import billing or revenue).

A contract's money is shared among its projects where billing or revenue do not say which
project it belongs to; the parts are split with `psa.common.money.split`, so they add up:

- revenue: what the revenue runs recognised on the contract, shared by the projects' actual
  cost (evenly while none has cost);
- billed: the contract's lines on issued invoices less its lines on issued credit notes; a
  line naming a project is that project's, the others (expenses, installments, retainers,
  caps) are shared by the named lines' amounts (evenly when no line names one);
- unbilled: the health page's unbilled work (approved billable T&M time with no live invoice
  link, plus billable milestones not invoiced).
"""

from collections import defaultdict
from decimal import Decimal

from django.db.models import F, Q, Sum
from django.utils import timezone

from billing.models import Invoice, InvoiceLine
from insight.selectors.health import project_health_many
from psa.common.money import ZERO, column_sum, quantize, split
from psa.extensions import ProjectMoney
from psa.models import Expense, Project, TimeEntry
from psa.selectors.projects import ACTUAL_STATES, EXACT_PRODUCT
from revenue.models import RecognitionEntry

ISSUED = (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID, Invoice.Status.PAID)


def _share(total: Decimal, weights: dict[int, Decimal], project: Project,
           siblings: list[int]) -> Decimal:
    """`project`'s part of `total` split by `weights` over `siblings` (evenly without any)."""
    if not total:
        return ZERO
    if len(siblings) == 1:
        return total
    parts = [weights.get(pk, ZERO) for pk in siblings]
    if not any(parts):
        parts = [Decimal(1)] * len(siblings)
    return split(total, parts, project.currency)[siblings.index(project.pk)]


def _sibling_costs(contract_id: int) -> dict[int, Decimal]:
    """Actual cost per project of the contract: two grouped queries whatever their number."""
    costs: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in (TimeEntry.objects.filter(project__contract_id=contract_id,
                                         status__in=ACTUAL_STATES)
                .order_by().values("project_id")
                .annotate(cost=Sum(F("hours") * F("cost_rate"), output_field=EXACT_PRODUCT))):
        costs[row["project_id"]] += column_sum(row["cost"], places=6)
    for row in (Expense.objects.filter(project__contract_id=contract_id,
                                       status__in=ACTUAL_STATES)
                .order_by().values("project_id").annotate(cost=Sum("project_amount"))):
        costs[row["project_id"]] += column_sum(row["cost"])
    return costs


def _billed_by_project(contract_id: int) -> dict[int | None, Decimal]:
    """Issued invoice lines less issued credit note lines of the contract, per named project
    (None: lines naming none). One query."""
    rows = (InvoiceLine.objects.filter(invoice__contract_id=contract_id,
                                       invoice__status__in=ISSUED)
            .order_by().values("project_id")
            .annotate(invoiced=Sum("amount", filter=Q(invoice__kind=Invoice.Kind.INVOICE)),
                      credited=Sum("amount", filter=Q(invoice__kind=Invoice.Kind.CREDIT_NOTE))))
    return {row["project_id"]: column_sum(row["invoiced"]) - column_sum(row["credited"])
            for row in rows}


def project_money_for(project: Project) -> ProjectMoney:
    """The project's recognised revenue, billed and unbilled amounts, in its currency."""
    currency = project.currency
    health = project_health_many(projects=Project.objects.filter(pk=project.pk),
                                 today=timezone.localdate(), with_burn_chart=False)[project.pk]
    unbilled = quantize(health.unbilled_amount, currency)
    if not project.contract_id:
        return ProjectMoney(revenue_amount=ZERO, billed_amount=ZERO, unbilled_amount=unbilled)
    siblings = list(Project.objects.filter(contract_id=project.contract_id)
                    .order_by("pk").values_list("pk", flat=True))
    recognised = quantize(column_sum(
        RecognitionEntry.objects.filter(contract_id=project.contract_id)
        .aggregate(total=Sum("amount"))["total"]), currency)
    revenue = _share(recognised, _sibling_costs(project.contract_id) if recognised else {},
                     project, siblings)
    billed = _billed_by_project(project.contract_id)
    unnamed = quantize(billed.pop(None, ZERO), currency)
    named = quantize(billed.get(project.pk, ZERO), currency)
    return ProjectMoney(revenue_amount=revenue,
                        billed_amount=named + _share(unnamed, billed, project, siblings),
                        unbilled_amount=unbilled)
