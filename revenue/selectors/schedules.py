"""Reads of revenue schedules: the list (per contract: method, value, planned and recognised
to date) and one contract's schedule with its months and its estimate history.

Every read starts from the schedules the actor may see (`revenue.view_revenueschedule`: a
project manager the contracts of the projects they manage, finance and executives all). The
figures are sums in SQL; a page costs the same number of queries for 5 months or 30.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from psa.rules import visible
from revenue.models import ContractEstimate, RevenueSchedule, ScheduleLine
from revenue.services.schedules import plan_for, plan_milestones

UserLike = User | AnonymousUser
VIEW_PERM = "revenue.view_revenueschedule"
ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)


def _lines_sum(field: str, **filters: object) -> Coalesce:
    """Σ `field` over the schedule's lines matching `filters`, as a correlated subquery."""
    total = (ScheduleLine.objects.filter(schedule=OuterRef("pk"), **filters).order_by()
             .values("schedule").annotate(total=Sum(field)).values("total")[:1])
    return Coalesce(Subquery(total, output_field=MONEY), Value(ZERO), output_field=MONEY)


def schedule_list(*, actor: UserLike, filters: Mapping[str, object] | None = None,
                  today: date | None = None) -> QuerySet[RevenueSchedule]:
    """Schedules the actor may see, each with `planned_total`, `planned_to_date` (the months
    ended: up to last month, the last one a recognition run is normally current for),
    `recognised_total` (Σ lines) beside `recognised_to_date`, and `variance_to_date`
    (recognised - planned to date).

    Filters: `legal_entity`, `client`, `contract`, `method`, `status` (the contract's) and
    `q` (contract code or name, client name).
    """
    month = (today or timezone.localdate()).replace(day=1)
    schedules = visible(RevenueSchedule.objects.select_related(
        "contract", "contract__client", "contract__legal_entity"), actor, VIEW_PERM)
    filters = filters or {}
    exact = {"legal_entity": "contract__legal_entity_id", "client": "contract__client_id",
             "contract": "contract_id", "method": "method", "status": "contract__status"}
    for name, lookup in exact.items():
        if filters.get(name) not in (None, ""):
            schedules = schedules.filter(**{lookup: filters[name]})
    search = str(filters.get("q") or "").strip()
    if search:
        schedules = schedules.filter(Q(contract__code__icontains=search)
                                     | Q(contract__name__icontains=search)
                                     | Q(contract__client__name__icontains=search))
    return schedules.annotate(
        planned_total=_lines_sum("planned_amount"),
        planned_to_date=_lines_sum("planned_amount", month__lt=month),
        recognised_total=_lines_sum("recognised_amount"),
    ).annotate(
        variance_to_date=ExpressionWrapper(F("recognised_to_date") - F("planned_to_date"),
                                           output_field=MONEY),
    ).order_by("contract__code", "pk")


def schedule_api_list(*, actor: UserLike) -> QuerySet[RevenueSchedule]:
    """Schedules with their months (one extra query per page), for the API."""
    return schedule_list(actor=actor).prefetch_related(
        Prefetch("lines", queryset=ScheduleLine.objects.order_by("month")))


def schedules_changed_since(schedules: QuerySet[RevenueSchedule],
                            since: object) -> QuerySet[RevenueSchedule]:
    """Schedules whose row or any of whose months changed at or after `since`."""
    changed_line = ScheduleLine.objects.filter(schedule=OuterRef("pk"), updated_at__gte=since)
    return schedules.filter(Q(updated_at__gte=since) | Q(Exists(changed_line)))


@dataclass(frozen=True)
class MonthRow:
    """One month of a schedule as the page shows it: the line (whose explanation is the
    run's once a run has recognised the month) and the plan's own explanation beside it."""

    line: ScheduleLine
    variance: Decimal
    is_past: bool
    is_current: bool
    plan_explanation: str = ""
    plan_inputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduleDetail:
    """One contract's schedule: its months, totals and estimate history."""

    schedule: RevenueSchedule
    months: list[MonthRow]
    planned_total: Decimal
    planned_to_date: Decimal
    recognised_total: Decimal
    estimates: list[ContractEstimate]
    estimate_in_force: ContractEstimate | None

    @property
    def variance_to_date(self) -> Decimal:
        return self.recognised_total - self.planned_to_date


def schedule_for_contract(*, actor: UserLike, contract_id: int) -> RevenueSchedule:
    """The contract's schedule if the actor may see it (raises RevenueSchedule.DoesNotExist
    otherwise, or when the contract has none yet)."""
    return visible(RevenueSchedule.objects.select_related(
        "contract", "contract__client", "contract__legal_entity"), actor, VIEW_PERM).get(
        contract_id=contract_id)


def contract_estimates(*, contract_id: int) -> QuerySet[ContractEstimate]:
    """A contract's estimates at completion, newest effective month (then entry) first."""
    return (ContractEstimate.objects.filter(contract_id=contract_id)
            .select_related("created_by__person")
            .order_by("-effective_month", "-created_at", "-pk"))


def schedule_detail(*, schedule: RevenueSchedule, today: date | None = None) -> ScheduleDetail:
    """The months of a schedule (in order) with their variance, and the estimate history;
    two queries whatever the contract's length (three for a milestone contract). Planned to
    date counts the months ended."""
    month = (today or timezone.localdate()).replace(day=1)
    lines = list(ScheduleLine.objects.filter(schedule=schedule).order_by("month"))
    plan = {p.month: p for p in plan_for(schedule.contract,
                                          plan_milestones(schedule.contract))}
    months = []
    for line in lines:
        planned = plan.get(line.month)
        # The plan's words only where they explain the stored figure (a month outside the
        # service period, or a plan not refreshed since a change, has none).
        explains = planned is not None and planned.amount == line.planned_amount
        months.append(MonthRow(
            line=line, variance=line.recognised_amount - line.planned_amount,
            is_past=line.month < month, is_current=line.month == month,
            plan_explanation=planned.explanation if explains else "",
            plan_inputs=planned.inputs if explains else {}))
    estimates = list(contract_estimates(contract_id=schedule.contract_id))
    # The one recognition uses now: the latest effective on or before this month.
    in_force = next((e for e in estimates if e.effective_month <= month), None)
    return ScheduleDetail(
        schedule=schedule, months=months,
        planned_total=sum((line.planned_amount for line in lines), ZERO),
        planned_to_date=sum((line.planned_amount for line in lines if line.month < month),
                            ZERO),
        recognised_total=sum((line.recognised_amount for line in lines), ZERO),
        estimates=estimates, estimate_in_force=in_force)
