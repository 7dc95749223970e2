"""A contract's revenue plan: its schedule and one planned amount per month of service.

`schedule_plan_refresh` is called by revenue's subscribers whenever a contract is created or
changed or a change order is approved. It writes what the plan says and nothing else: the
recognised amounts (and the explanation a recognition run gave a month) belong to the runs
and are never touched here.

The plan per revenue method (DOMAIN.md, Revenue recognition):

- ratable: the value spread over the service period by days, exactly the split recognition
  uses (`targets.ratable_cumulative`), so plan and recognition agree to the cent;
- milestone: each milestone's amount in the month it is due (clamped into the service
  period), capped so the plan never exceeds the value; any part of the value no milestone
  covers yet sits in the last month, labelled as such, so the plan always adds up to the
  value;
- percent complete (cost or hours): the projects' planned effort is taken as even over the
  service period, so the value is spread by days like ratable. It is the simplest plan that
  can be defended without a resource-loaded project plan; the recognised figures follow the
  actual cost or hours against the estimate, and the variance shows the difference;
- T&M as delivered: an estimate, the value (at most the cap, when there is one) spread by
  days.

Every refresh costs a fixed number of queries whatever the length of the contract: the
schedule (locked), its lines, the milestones when the method needs them, the months outside
the service period that have recognition entries, then bulk writes.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from psa.common.money import quantize, split
from psa.models import Contract, Milestone
from revenue.models import RecognitionEntry, RevenueSchedule, ScheduleLine
from revenue.services.targets import month_end, months_between, ratable_cumulative

Method = Contract.RevenueMethod
ZERO = Decimal("0.00")
# Marks a line's explanation and inputs as the plan's (a recognition run replaces both with
# its own, which the plan then leaves alone).
PLAN_SOURCE = "plan"


@dataclass(frozen=True)
class PlannedMonth:
    """One month of the plan: the amount, the sentence that explains it and its inputs."""

    month: date
    amount: Decimal
    explanation: str
    inputs: dict[str, str] = field(default_factory=dict)


def _days_per_month(contract: Contract) -> list[tuple[date, int]]:
    """Each month of the service period with the number of service days in it."""
    return [(month, (min(month_end(month), contract.end_date)
                     - max(month, contract.start_date)).days + 1)
            for month in months_between(contract.start_date, contract.end_date)]


def _by_days(contract: Contract, total: Decimal, what: str) -> list[PlannedMonth]:
    """`total` spread over the service period by days, the last month taking the residual."""
    days = _days_per_month(contract)
    total_days = sum(d for _, d in days)
    if total == contract.value_amount:
        # The very split recognition uses for ratable contracts (one definition of it).
        _, parts = ratable_cumulative(contract, contract.start_date)
    else:
        parts = split(total, [d for _, d in days], contract.currency)
    planned = []
    for index, ((month, month_days), part) in enumerate(zip(days, parts, strict=True)):
        last = index == len(days) - 1
        text = (f"{what} {total:,.2f} x {month_days} of {total_days} days "
                f"({max(month, contract.start_date):%d %b} - "
                f"{min(month_end(month), contract.end_date):%d %b %Y})"
                + (", the last month taking the residual" if last and len(days) > 1
                   else ", rounded half up"))
        planned.append(PlannedMonth(month=month, amount=part, explanation=text, inputs={
            "basis": "days", "total": f"{total}", "days": str(month_days),
            "total_days": str(total_days)}))
    return planned


def _milestone_plan(contract: Contract, milestones: Sequence[Milestone]) -> list[PlannedMonth]:
    """Milestone amounts in their due months; capped at the value, the uncovered rest last."""
    months = months_between(contract.start_date, contract.end_date)
    first, last = months[0], months[-1]
    due: dict[date, list[tuple[str, Decimal]]] = {month: [] for month in months}
    remaining = contract.value_amount
    for milestone in milestones:
        month = min(max(milestone.due_date.replace(day=1), first), last)
        amount = min(quantize(milestone.amount, contract.currency), remaining)
        remaining -= amount
        due[month].append((f"{milestone.name} due {milestone.due_date:%d %b %Y}", amount))
    planned = []
    for month in months:
        parts = due[month]
        amount = sum((amount for _, amount in parts), ZERO)
        text = ("; ".join(f"{name}: {amount:,.2f}" for name, amount in parts)
                if parts else "no milestone due this month")
        inputs = {"basis": "milestones", "milestones": str(len(parts))}
        if month == last and remaining > 0:
            amount += remaining
            text += (f"; value not yet covered by a milestone {remaining:,.2f} "
                     f"(of {contract.value_amount:,.2f})")
            inputs["uncovered"] = f"{remaining}"
        planned.append(PlannedMonth(month=month, amount=amount,
                                    explanation=f"Milestones: {text}", inputs=inputs))
    return planned


def plan_for(contract: Contract, milestones: Sequence[Milestone] = ()) -> list[PlannedMonth]:
    """The planned amount of every month of the contract's service period (no query)."""
    method = contract.revenue_method
    if method == Method.MILESTONE:
        planned = _milestone_plan(contract, milestones)
    elif method == Method.AS_DELIVERED:
        capped = (contract.cap_amount is not None
                  and contract.cap_amount < contract.value_amount)
        total = contract.cap_amount if capped else contract.value_amount
        planned = _by_days(contract, total, "Estimate: T&M value at the cap" if capped
                           else "Estimate: T&M value")
    elif method in (Method.PERCENT_COMPLETE_COST, Method.PERCENT_COMPLETE_HOURS):
        unit = "cost" if method == Method.PERCENT_COMPLETE_COST else "hours"
        planned = _by_days(contract, contract.value_amount,
                           f"Effort ({unit}) planned evenly over the service period: value")
    else:
        planned = _by_days(contract, contract.value_amount, "Ratable: value")
    return [PlannedMonth(month=p.month, amount=p.amount, explanation=p.explanation,
                         inputs={"source": PLAN_SOURCE, "method": method, **p.inputs})
            for p in planned]


def plan_milestones(contract: Contract) -> list[Milestone]:
    """The milestones a milestone contract's plan uses, by due date (one query); none for
    the other methods (no query)."""
    if contract.revenue_method != Method.MILESTONE:
        return []
    return list(Milestone.objects.filter(project__contract=contract).order_by("due_date", "pk"))


def _is_plan_owned(line: ScheduleLine) -> bool:
    """Whether the line's explanation is still the plan's (no run has explained it)."""
    return (line.inputs or {}).get("source") == PLAN_SOURCE or (
        not line.inputs and not line.explanation)


@transaction.atomic
def schedule_plan_refresh(*, contract: Contract) -> RevenueSchedule:
    """Create or update the contract's schedule and write every month's planned amount.

    Idempotent: a second call with unchanged inputs writes the same figures. Recognised
    amounts are never changed; a month outside the service period is removed only when
    nothing was ever recognised in it (otherwise it stays, planned at zero).
    """
    schedule, created = RevenueSchedule.objects.select_for_update(of=("self",)).get_or_create(
        contract=contract, defaults={"method": contract.revenue_method,
                                     "currency": contract.currency,
                                     "value_amount": contract.value_amount})
    if not created and (schedule.method, schedule.currency, schedule.value_amount) != (
            contract.revenue_method, contract.currency, contract.value_amount):
        schedule.method, schedule.currency = contract.revenue_method, contract.currency
        schedule.value_amount = contract.value_amount
        schedule.save(update_fields=["method", "currency", "value_amount", "updated_at"])

    planned = {p.month: p for p in plan_for(contract, plan_milestones(contract))}
    existing = {line.month: line for line in ScheduleLine.objects.filter(schedule=schedule)}
    written = _lines_write(schedule, planned, existing)
    removed = _lines_outside_remove(schedule, contract, planned, existing)
    if (written or removed) and not created:
        # The schedule's version moves with its lines (ETag, `updated_since`).
        schedule.save(update_fields=["updated_at"])
    return schedule


def _lines_write(schedule: RevenueSchedule, planned: dict[date, PlannedMonth],
                 existing: dict[date, ScheduleLine]) -> bool:
    """Insert the new months; update the changed ones (the amount, and the plan's own
    explanation where no run has written one). Whether anything was written."""
    now = timezone.now()
    new, amounts, explained = [], [], []
    for month, plan in planned.items():
        line = existing.get(month)
        if line is None:
            new.append(ScheduleLine(schedule=schedule, month=month, planned_amount=plan.amount,
                                    explanation=plan.explanation, inputs=plan.inputs))
            continue
        if _is_plan_owned(line):
            if (line.planned_amount, line.explanation, line.inputs) != (
                    plan.amount, plan.explanation, plan.inputs):
                line.planned_amount, line.explanation = plan.amount, plan.explanation
                line.inputs, line.updated_at = plan.inputs, now
                explained.append(line)
        elif line.planned_amount != plan.amount:
            line.planned_amount, line.updated_at = plan.amount, now
            amounts.append(line)
    # A run may have added the month meanwhile: then only the planned amount is set on it.
    ScheduleLine.objects.bulk_create(new, update_conflicts=True,
                                     unique_fields=["schedule", "month"],
                                     update_fields=["planned_amount", "updated_at"])
    ScheduleLine.objects.bulk_update(explained, ["planned_amount", "explanation", "inputs",
                                                 "updated_at"])
    ScheduleLine.objects.bulk_update(amounts, ["planned_amount", "updated_at"])
    return bool(new or explained or amounts)


def _lines_outside_remove(schedule: RevenueSchedule, contract: Contract,
                          planned: dict[date, PlannedMonth],
                          existing: dict[date, ScheduleLine]) -> bool:
    """Months no longer in the service period: removed unless something was recognised in
    them; those stay, with nothing planned. Whether anything was written."""
    outside = [line for month, line in existing.items() if month not in planned]
    if not outside:
        return False
    recognised = set(RecognitionEntry.objects.filter(
        contract=contract, month__in=[line.month for line in outside])
        .values_list("month", flat=True))
    keep = [line for line in outside if line.recognised_amount or line.month in recognised]
    kept = {line.pk for line in keep}
    ScheduleLine.objects.filter(pk__in=[line.pk for line in outside if line.pk not in kept]
                                ).delete()
    now = timezone.now()
    zeroed = []
    for line in keep:
        if line.planned_amount:
            line.planned_amount, line.updated_at = ZERO, now
            zeroed.append(line)
    ScheduleLine.objects.bulk_update(zeroed, ["planned_amount", "updated_at"])
    return len(keep) < len(outside) or bool(zeroed)
