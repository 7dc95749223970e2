"""Risk flags on a project, each explained with the numbers that raised it, and the portfolio
of projects ordered by risk.

A flag is high or medium; the risk score is high x 3 + medium x 1. The thresholds are module
constants so a reader (and a test) can see exactly where each flag starts:

- burn_ahead (high): burn % (hours, or cost without an hour budget) - percent complete
  >= BURN_AHEAD_POINTS percentage points.
- low_realization (high): billed time amount ÷ the agreed value of that time below
  REALIZATION_MIN_PERCENT. Billed = the project's time lines on issued invoices (after write
  downs or ups) less issued credit notes against them; agreed = the hours of the time entries
  those lines bill x their frozen bill rate. It measures what delivery loses after the sale
  (write-downs, rounding, credits); the negotiated discount against the standard card is in
  billing's realization report. Quiet while no time is billed.
- non_billable_high (medium): non-billable share of actual hours above
  NON_BILLABLE_MAX_PERCENT, on client projects with at least NON_BILLABLE_MIN_HOURS logged.
- milestone_overdue (high): a milestone past its due date and still planned.
- acceptance_delayed (medium): a completed milestone that needs acceptance, completed more
  than ACCEPTANCE_WAIT_DAYS days ago and not accepted.
- repeated_change_orders (medium): CHANGE_ORDERS_MIN or more pending or approved change
  orders on the contract effective in the last CHANGE_ORDER_WINDOW_DAYS days (or later).
- overbooked_team (medium): a team member hard-booked above capacity in one of the
  OVERBOOKED_WEEKS weeks from the Monday of today's week (resourcing's capacity).
- time_anomalies (medium): over the last ANOMALY_WINDOW_WEEKS weeks, a person-day above
  LONG_DAY_HOURS hours on the project, time dated outside the project's dates, or weekend
  hours above WEEKEND_MAX_PERCENT of the hours (rejected time is left out).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, F, Min, Q, QuerySet, Sum

from billing.models import BilledItem, Invoice, InvoiceLine
from insight.selectors.health import ProjectHealth, project_health_many, week_start
from insight.selectors.types import ratio_percent
from psa.common.money import ZERO, column_sum, quantize
from psa.models import ChangeOrder, Milestone, Project, TimeEntry
from psa.rules import visible
from psa.selectors.projects import EXACT_PRODUCT
from resourcing.selectors.capacity import weekly_allocation, weekly_capacity

BURN_AHEAD_POINTS = Decimal(15)  # burn % minus percent complete, in percentage points
REALIZATION_MIN_PERCENT = Decimal(85)
NON_BILLABLE_MAX_PERCENT = Decimal(20)  # fires above it
NON_BILLABLE_MIN_HOURS = Decimal(40)
ACCEPTANCE_WAIT_DAYS = 14  # fires when completed more than this many days ago
CHANGE_ORDERS_MIN = 3
CHANGE_ORDER_WINDOW_DAYS = 180
OVERBOOKED_WEEKS = 4
ANOMALY_WINDOW_WEEKS = 8
LONG_DAY_HOURS = Decimal(12)  # a person-day above it on one project
WEEKEND_MAX_PERCENT = Decimal(20)  # fires above it
SEVERITY_WEIGHTS = {"high": 3, "medium": 1}

Severity = Literal["high", "medium"]
UserLike = User | AnonymousUser
PORTFOLIO_STATES = (Project.Status.ACTIVE, Project.Status.ON_HOLD)


@dataclass(frozen=True)
class RiskFlag:
    """One risk on one project: what it is, how bad, and the numbers that raised it."""

    code: str
    title: str
    severity: Severity
    explanation: str


@dataclass(frozen=True)
class ProjectRisk:
    """A project's health with its risk flags (high first) and score."""

    health: ProjectHealth
    flags: tuple[RiskFlag, ...]

    @property
    def project(self) -> Project:
        return self.health.project

    @property
    def score(self) -> int:
        return sum(SEVERITY_WEIGHTS[flag.severity] for flag in self.flags)

    @property
    def high_count(self) -> int:
        return sum(1 for flag in self.flags if flag.severity == "high")

    @property
    def medium_count(self) -> int:
        return sum(1 for flag in self.flags if flag.severity == "medium")


def _pct(value: Decimal) -> str:
    return f"{value:.1f} %"


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _plural(count: int, noun: str, plural: str = "") -> str:
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


# --- Flags read from the health figures alone -------------------------------------------

def burn_ahead(health: ProjectHealth) -> RiskFlag | None:
    burn, done = health.burn_percent, health.percent_complete
    if burn is None or done is None or burn - done < BURN_AHEAD_POINTS:
        return None
    basis = "budget hours" if health.burn_basis == "hours" else "budget cost"
    return RiskFlag(
        "burn_ahead", "Burn ahead of progress", "high",
        f"Burn {_pct(burn)} of {basis} against {_pct(done)} complete "
        f"({burn - done:.1f} points ahead; threshold {BURN_AHEAD_POINTS}). Percent complete: "
        f"{health.percent_complete_label}.")


def non_billable_high(health: ProjectHealth) -> RiskFlag | None:
    project, hours = health.project, health.actual_hours
    if project.is_internal or hours < NON_BILLABLE_MIN_HOURS:
        return None
    share = ratio_percent(health.non_billable_hours, hours)
    if share is None or share <= NON_BILLABLE_MAX_PERCENT:
        return None
    return RiskFlag(
        "non_billable_high", "High non-billable share", "medium",
        f"{health.non_billable_hours:.2f} of {hours:.2f} actual hours are non-billable "
        f"({_pct(share)}; threshold {NON_BILLABLE_MAX_PERCENT} % with at least "
        f"{NON_BILLABLE_MIN_HOURS} hours logged).")


# --- Flags that need their own grouped reads --------------------------------------------

def _realization(ids: list[int]) -> dict[int, dict[str, Decimal]]:
    """Per project: billed time amount (issued lines less issued credits) and agreed value."""
    issued_time_line = Q(kind=InvoiceLine.Kind.TIME, invoice__kind=Invoice.Kind.INVOICE,
                         invoice__status__in=Invoice.ISSUED_STATES)
    result: dict[int, dict[str, Decimal]] = defaultdict(
        lambda: {"billed": ZERO, "credited": ZERO, "agreed": ZERO})
    for row in (InvoiceLine.objects.filter(issued_time_line, project_id__in=ids).order_by()
                .values("project_id").annotate(total=Sum("amount"))):
        result[row["project_id"]]["billed"] += column_sum(row["total"])
    for row in (InvoiceLine.objects
                .filter(invoice__kind=Invoice.Kind.CREDIT_NOTE,
                        invoice__status__in=Invoice.ISSUED_STATES,
                        credited_line__in=InvoiceLine.objects.filter(
                            issued_time_line, project_id__in=ids))
                .order_by().values(key=F("credited_line__project_id"))
                .annotate(total=Sum("amount"))):
        result[row["key"]]["credited"] += column_sum(row["total"])
    for row in (BilledItem.objects
                .filter(is_live=True, time_entry__isnull=False, line__kind=InvoiceLine.Kind.TIME,
                        invoice__kind=Invoice.Kind.INVOICE,
                        invoice__status__in=Invoice.ISSUED_STATES, line__project_id__in=ids)
                .order_by().values(key=F("line__project_id"))
                .annotate(agreed=Sum(F("time_entry__hours") * F("time_entry__bill_rate"),
                                     output_field=EXACT_PRODUCT))):
        result[row["key"]]["agreed"] += column_sum(row["agreed"], 6)
    return result


def low_realization(health: ProjectHealth, figures: dict[str, Decimal] | None
                    ) -> RiskFlag | None:
    if not figures or not figures["agreed"]:
        return None
    currency = health.currency
    billed = figures["billed"] - figures["credited"]
    agreed = quantize(figures["agreed"], currency)
    percent = ratio_percent(billed, agreed)
    if percent is None or percent >= REALIZATION_MIN_PERCENT:
        return None
    credits = (f", after {_money(figures['credited'], currency)} of credit notes"
               if figures["credited"] else "")
    return RiskFlag(
        "low_realization", "Low realization", "high",
        f"Realization {_pct(percent)}: billed {_money(billed, currency)}{credits} for time "
        f"agreed at {_money(agreed, currency)} (threshold {REALIZATION_MIN_PERCENT} %).")


def _milestone_risks(ids: list[int], today: date) -> dict[int, dict]:
    waited_since = today - timedelta(days=ACCEPTANCE_WAIT_DAYS)
    late = Q(status=Milestone.Status.PLANNED, due_date__lt=today)
    waiting = Q(status=Milestone.Status.COMPLETED, requires_acceptance=True,
                completed_at__date__lt=waited_since)
    rows = (Milestone.objects.filter(project_id__in=ids).filter(late | waiting).order_by()
            .values("project_id")
            .annotate(late=Count("pk", filter=late), oldest_due=Min("due_date", filter=late),
                      waiting=Count("pk", filter=waiting),
                      oldest_completed=Min("completed_at", filter=waiting)))
    return {row["project_id"]: row for row in rows}


def milestone_flags(health: ProjectHealth, row: dict | None) -> list[RiskFlag]:
    if not row:
        return []
    flags, today = [], health.today
    if row["late"]:
        oldest = row["oldest_due"]
        flags.append(RiskFlag(
            "milestone_overdue", "Milestone overdue", "high",
            f"{_plural(row['late'], 'milestone')} past due and not completed; the oldest was "
            f"due {oldest:%Y-%m-%d} ({_plural((today - oldest).days, 'day')} ago)."))
    if row["waiting"]:
        completed = row["oldest_completed"].date()
        flags.append(RiskFlag(
            "acceptance_delayed", "Acceptance delayed", "medium",
            f"{_plural(row['waiting'], 'completed milestone')} not accepted; the oldest was "
            f"completed {completed:%Y-%m-%d}, {_plural((today - completed).days, 'day')} ago "
            f"(threshold {ACCEPTANCE_WAIT_DAYS} days)."))
    return flags


def _change_orders(contract_ids: set[int], today: date) -> dict[int, dict]:
    since = today - timedelta(days=CHANGE_ORDER_WINDOW_DAYS)
    counted = (ChangeOrder.Status.PENDING, ChangeOrder.Status.APPROVED)
    rows = (ChangeOrder.objects.filter(contract_id__in=contract_ids, status__in=counted,
                                       effective_date__gte=since).order_by()
            .values("contract_id")
            .annotate(total=Count("pk"),
                      pending=Count("pk", filter=Q(status=ChangeOrder.Status.PENDING))))
    return {row["contract_id"]: row for row in rows}


def repeated_change_orders(health: ProjectHealth, row: dict | None) -> RiskFlag | None:
    if not row or row["total"] < CHANGE_ORDERS_MIN:
        return None
    approved = row["total"] - row["pending"]
    return RiskFlag(
        "repeated_change_orders", "Repeated change orders", "medium",
        f"{_plural(row['total'], 'change order')} on contract {health.project.contract.code} "
        f"in the last {CHANGE_ORDER_WINDOW_DAYS} days ({approved} approved, {row['pending']} "
        f"pending; threshold {CHANGE_ORDERS_MIN}).")


def _overbooked(healths: list[ProjectHealth], today: date) -> dict[int, list[tuple]]:
    """Per person: (week, hard hours, capacity) for each overbooked week ahead."""
    people = {person.pk: person for h in healths for person in h.team}
    first = week_start(today)
    weeks = [first + timedelta(weeks=n) for n in range(OVERBOOKED_WEEKS)]
    capacity = weekly_capacity(people=list(people.values()), weeks=weeks)
    allocation = weekly_allocation(person_ids=list(people), start=first,
                                   end=weeks[-1] + timedelta(days=6))
    return {pk: over for pk in people
            if (over := [(week, allocation[pk][week].hard, capacity[pk][week]) for week in weeks
                         if allocation[pk][week].hard > capacity[pk][week]])}


def overbooked_team(health: ProjectHealth, overbooked: dict[int, list[tuple]]
                    ) -> RiskFlag | None:
    parts = []
    for person in health.team:
        weeks = overbooked.get(person.pk)
        if weeks:
            week, hard, capacity = max(weeks, key=lambda item: item[1] - item[2])
            parts.append(f"{person.full_name}: {hard:.2f} h hard-booked against {capacity:.2f} h "
                         f"capacity in the week of {week:%Y-%m-%d}"
                         + (f" (overbooked in {len(weeks)} weeks)" if len(weeks) > 1 else ""))
    if not parts:
        return None
    return RiskFlag(
        "overbooked_team", "Team overbooked", "medium",
        f"{_plural(len(parts), 'team member')} overbooked in the next {OVERBOOKED_WEEKS} weeks: "
        + "; ".join(parts) + ".")


def _anomalies(ids: list[int], today: date) -> dict[int, dict]:
    start = today - timedelta(weeks=ANOMALY_WINDOW_WEEKS)
    window = (TimeEntry.objects.filter(project_id__in=ids, work_date__gte=start,
                                       work_date__lte=today)
              .exclude(status=TimeEntry.Status.REJECTED).order_by())
    outside = Q(work_date__lt=F("project__start_date")) | Q(work_date__gt=F("project__end_date"))
    result: dict[int, dict] = {row["project_id"]: {**row, "long_days": 0, "longest": ZERO}
                               for row in window.values("project_id").annotate(
        total_hours=Sum("hours"), weekend=Sum("hours", filter=Q(work_date__week_day__in=(1, 7))),
        outside=Count("pk", filter=outside), outside_hours=Sum("hours", filter=outside))}
    # Only the person-days above the limit come back: a handful, whatever the data size.
    long_days = (window.values("project_id", "person_id", "work_date")
                 .annotate(total=Sum("hours")).filter(total__gt=LONG_DAY_HOURS))
    for row in long_days:
        figures = result[row["project_id"]]
        figures["long_days"] += 1
        figures["longest"] = max(figures["longest"], column_sum(row["total"]))
    return result


def time_anomalies(health: ProjectHealth, row: dict | None) -> RiskFlag | None:
    if not row:
        return None
    parts = []
    if row["long_days"]:
        parts.append(f"{_plural(row['long_days'], 'person-day')} over {LONG_DAY_HOURS} hours "
                     f"(longest {row['longest']:.2f} h)")
    if row["outside"]:
        project, hours_out = health.project, column_sum(row["outside_hours"])
        parts.append(f"{_plural(row['outside'], 'entry', 'entries')} ({hours_out:.2f} h) dated "
                     f"outside the project's dates {project.start_date:%Y-%m-%d} to "
                     f"{project.end_date:%Y-%m-%d}")
    hours, weekend = column_sum(row["total_hours"]), column_sum(row["weekend"])
    share = ratio_percent(weekend, hours)
    if share is not None and share > WEEKEND_MAX_PERCENT:
        parts.append(f"{weekend:.2f} of {hours:.2f} hours on weekends ({_pct(share)}; "
                     f"threshold {WEEKEND_MAX_PERCENT} %)")
    if not parts:
        return None
    return RiskFlag("time_anomalies", "Time anomalies", "medium",
                    f"In the last {ANOMALY_WINDOW_WEEKS} weeks: " + "; ".join(parts) + ".")


def project_risks_many(*, projects: QuerySet[Project], today: date,
                       with_burn_chart: bool = False) -> dict[int, ProjectRisk]:
    """Health and risk flags of each project, keyed by id; a fixed number of queries."""
    healths = list(project_health_many(projects=projects, today=today,
                                       with_burn_chart=with_burn_chart).values())
    ids = [health.project_id for health in healths]
    realization = _realization(ids)
    milestones = _milestone_risks(ids, today)
    change_orders = _change_orders({h.project.contract_id for h in healths
                                    if h.project.contract_id}, today)
    overbooked = _overbooked(healths, today)
    anomalies = _anomalies(ids, today)
    risks = {}
    for health in healths:
        pk = health.project_id
        found = [burn_ahead(health), low_realization(health, realization.get(pk)),
                 non_billable_high(health), *milestone_flags(health, milestones.get(pk)),
                 repeated_change_orders(health, change_orders.get(health.project.contract_id)),
                 overbooked_team(health, overbooked), time_anomalies(health, anomalies.get(pk))]
        flags = sorted((flag for flag in found if flag is not None),
                       key=lambda flag: -SEVERITY_WEIGHTS[flag.severity])
        risks[pk] = ProjectRisk(health=health, flags=tuple(flags))
    return risks


def project_risk(*, project: Project, today: date) -> ProjectRisk:
    """One project's health (with its burn chart) and risk flags."""
    return project_risks_many(projects=Project.objects.filter(pk=project.pk), today=today,
                              with_burn_chart=True)[project.pk]


def portfolio(*, actor: UserLike, today: date) -> list[ProjectRisk]:
    """Active and on-hold projects whose financials the actor may see, riskiest first: by
    score, then overdue milestones, then code."""
    projects = visible(Project.objects.filter(status__in=PORTFOLIO_STATES), actor,
                       "psa.view_project_financials")
    risks = project_risks_many(projects=projects, today=today).values()
    return sorted(risks, key=lambda r: (-r.score, -r.health.milestones_overdue, r.project.code))
