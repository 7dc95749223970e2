"""Utilization, bench and demand-versus-capacity figures (DOMAIN.md "Staffing" and "Measures").

Per person and week (weeks run Monday to Sunday; a report's range is widened to whole weeks):

- actual hours: approved, invoiced or written-off time entries (`ACTUAL_STATES`);
- billable hours: the actual hours flagged billable;
- client hours: the actual hours on client projects (`Project.is_internal` false);
- scheduled hours: each assignment's hours_per_week x overlapping weekdays ÷ 5, hard and soft
  apart (the same simple rule as the staffing board);
- capacity: `psa.selectors.calendar.capacity_by_week_for_people` (the per-day calendar's sum);
- target: the person's `utilization_target` percent of that capacity, in hours.

billable utilization = billable ÷ capacity; total utilization = client hours ÷ capacity;
scheduled utilization = (hard + soft) ÷ capacity. Groups (role, team, week, person) add the
hours up first and divide once, so a group's figure is capacity-weighted.

Set-based: time entries are aggregated in SQL (SUM with filters, grouped by person and week via
TruncWeek); people are read in batches of `BATCH_SIZE`, each batch costing one query for time,
one for assignments and one for time off, whatever the number of entries.
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncWeek

from psa.common.money import column_sum
from psa.models import Person, Role, TimeEntry
from psa.selectors.calendar import capacity_by_week_for_people
from resourcing.models import Assignment, ResourceRequest
from resourcing.selectors.capacity import week_start, weeks_between

ZERO = Decimal("0.00")
HOURS = Decimal("0.01")
BATCH_SIZE = 500
ACTUAL_STATES = (TimeEntry.Status.APPROVED, TimeEntry.Status.INVOICED,
                 TimeEntry.Status.WRITTEN_OFF)
GROUP_BYS = ("person", "role", "team", "week")
OPEN_REQUEST_STATES = (ResourceRequest.Status.OPEN, ResourceRequest.Status.PARTIALLY_FILLED)


def weekdays_between(first: date, last: date) -> int:
    """Monday-to-Friday days from `first` to `last` inclusive (0 when last < first)."""
    if last < first:
        return 0
    days = (last - first).days + 1
    full_weeks, rest = divmod(days, 7)
    count = full_weeks * 5
    for offset in range(rest):
        if (first.weekday() + offset) % 7 < 5:
            count += 1
    return count


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """part ÷ whole as a percent with 2 places; None when there is no capacity."""
    if not whole:
        return None
    return (part * 100 / whole).quantize(HOURS)


@dataclass
class Figures:
    """Summed hours of one person-week or one group; the ratios are computed from the sums."""

    capacity: Decimal = ZERO
    actual: Decimal = ZERO
    billable: Decimal = ZERO
    client: Decimal = ZERO
    scheduled_hard: Decimal = ZERO
    scheduled_soft: Decimal = ZERO
    target_hours: Decimal = ZERO

    def add(self, other: "Figures") -> None:
        for name in ("capacity", "actual", "billable", "client", "scheduled_hard",
                     "scheduled_soft", "target_hours"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def scheduled(self) -> Decimal:
        return self.scheduled_hard + self.scheduled_soft

    @property
    def billable_utilization(self) -> Decimal | None:
        return percent(self.billable, self.capacity)

    @property
    def total_utilization(self) -> Decimal | None:
        return percent(self.client, self.capacity)

    @property
    def scheduled_utilization(self) -> Decimal | None:
        return percent(self.scheduled, self.capacity)

    @property
    def target(self) -> Decimal | None:
        """The capacity-weighted target percent."""
        return percent(self.target_hours, self.capacity)


@dataclass
class UtilizationRow:
    """One line of the report: a person, role, team or week with its figures."""

    key: str
    label: str
    figures: Figures = field(default_factory=Figures)
    people: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, object]:
        f = self.figures
        return {
            "key": self.key, "label": self.label, "people": len(self.people),
            "capacity_hours": f.capacity.quantize(HOURS),
            "actual_hours": f.actual.quantize(HOURS),
            "billable_hours": f.billable.quantize(HOURS),
            "client_hours": f.client.quantize(HOURS),
            "scheduled_hard_hours": f.scheduled_hard.quantize(HOURS),
            "scheduled_soft_hours": f.scheduled_soft.quantize(HOURS),
            "target_percent": f.target,
            "billable_utilization": f.billable_utilization,
            "total_utilization": f.total_utilization,
            "scheduled_utilization": f.scheduled_utilization,
        }


EXPORT_COLUMNS = ("key", "label", "people", "capacity_hours", "actual_hours", "billable_hours",
                  "client_hours", "scheduled_hard_hours", "scheduled_soft_hours",
                  "target_percent", "billable_utilization", "total_utilization",
                  "scheduled_utilization")


def people_in_range(*, start: date, end: date, role_id: int | None = None,
                    manager_id: int | None = None) -> QuerySet[Person]:
    """People employed at some point of `start`..`end`, optionally of one role or team."""
    people = Person.objects.filter(
        Q(termination_date__isnull=True) | Q(termination_date__gte=start), hire_date__lte=end)
    if role_id:
        people = people.filter(role_id=role_id)
    if manager_id:
        people = people.filter(manager_id=manager_id)
    return people.select_related("role", "manager").order_by("id")


def _batches(people: QuerySet[Person] | Sequence[Person]) -> Iterator[list[Person]]:
    batch: list[Person] = []
    for person in people.iterator(chunk_size=BATCH_SIZE) if isinstance(people, QuerySet) \
            else people:
        batch.append(person)
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _weekly_capacity(people: Sequence[Person], start: date,
                     end: date) -> dict[int, dict[date, Decimal]]:
    """Capacity per person and Monday of the whole weeks `start`..`end` (one query)."""
    return capacity_by_week_for_people(people=people, weeks=weeks_between(start, end))


def _scheduled(assignments: list[tuple[int, date, date, Decimal, str]], start: date,
               end: date) -> dict[tuple[int, date], tuple[Decimal, Decimal]]:
    """(key, monday) -> (hard, soft) hours: hours_per_week x overlapping weekdays ÷ 5."""
    out: dict[tuple[int, date], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for key, first, last, hours_per_week, booking in assignments:
        first, last = max(first, start), min(last, end)
        for monday in weeks_between(first, last):
            days = weekdays_between(max(first, monday), min(last, monday + timedelta(days=6)))
            if days:
                hours = hours_per_week * days / 5
                out[(key, monday)][0 if booking == Assignment.Booking.HARD else 1] += hours
    return {k: (v[0], v[1]) for k, v in out.items()}


def person_week_figures(*, people: QuerySet[Person] | Sequence[Person], start: date,
                        end: date) -> dict[tuple[int, date], Figures]:
    """Figures per (person id, Monday) for the whole weeks covering `start`..`end`."""
    start, end = week_start(start), week_start(end) + timedelta(days=6)
    result: dict[tuple[int, date], Figures] = {}
    for batch in _batches(people):
        ids = [p.pk for p in batch]
        capacity = _weekly_capacity(batch, start, end)
        for person in batch:
            target = person.utilization_target / 100
            for monday, hours in capacity[person.pk].items():
                result[(person.pk, monday)] = Figures(capacity=hours,
                                                      target_hours=hours * target)
        actuals = (TimeEntry.objects
                   .filter(person_id__in=ids, status__in=ACTUAL_STATES,
                           work_date__gte=start, work_date__lte=end)
                   .annotate(week=TruncWeek("work_date")).order_by()
                   .values("person_id", "week")
                   .annotate(actual=Sum("hours"),
                             billable=Sum("hours", filter=Q(is_billable=True)),
                             client=Sum("hours", filter=Q(project__is_internal=False))))
        for row in actuals:
            monday = row["week"].date() if hasattr(row["week"], "date") else row["week"]
            figures = result.setdefault((row["person_id"], monday), Figures())
            figures.actual = column_sum(row["actual"])
            figures.billable = column_sum(row["billable"])
            figures.client = column_sum(row["client"])
        booked = list(Assignment.objects
                      .filter(person_id__in=ids, start_date__lte=end, end_date__gte=start)
                      .order_by()
                      .values_list("person_id", "start_date", "end_date", "hours_per_week",
                                   "booking"))
        for key, (hard, soft) in _scheduled(booked, start, end).items():
            figures = result.setdefault(key, Figures())
            figures.scheduled_hard, figures.scheduled_soft = hard, soft
    return result


def utilization_report(*, start: date, end: date, group_by: str = "person",
                       role_id: int | None = None,
                       manager_id: int | None = None) -> list[UtilizationRow]:
    """The report's rows grouped by person, role, team (manager's reports) or week."""
    if group_by not in GROUP_BYS:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BYS)}")
    people = list(people_in_range(start=start, end=end, role_id=role_id, manager_id=manager_id))
    by_id = {p.pk: p for p in people}
    rows: dict[object, UtilizationRow] = {}
    for (person_id, monday), figures in person_week_figures(people=people, start=start,
                                                            end=end).items():
        person = by_id[person_id]
        if group_by == "person":
            sort_key, key, label = ((person.last_name, person.first_name, person.pk),
                                    str(person.pk), person.full_name)
        elif group_by == "role":
            sort_key, key, label = ((person.role.level, person.role.name), str(person.role_id),
                                    person.role.name)
        elif group_by == "team":
            manager = person.manager
            sort_key = (manager is None, manager.full_name if manager else "")
            key = str(manager.pk) if manager else ""
            label = f"Team of {manager.full_name}" if manager else "No manager"
        else:
            sort_key, key, label = monday, monday.isoformat(), f"Week of {monday:%d %b %Y}"
        row = rows.get(sort_key)
        if row is None:
            row = rows[sort_key] = UtilizationRow(key=key, label=label)
        row.figures.add(figures)
        row.people.add(person_id)
    return [rows[k] for k in sorted(rows)]


def utilization_totals(rows: Sequence[UtilizationRow]) -> UtilizationRow:
    """The rows added up (the report's total line)."""
    total = UtilizationRow(key="", label="Total")
    for row in rows:
        total.figures.add(row.figures)
        total.people |= row.people
    return total


@dataclass(frozen=True)
class BenchEntry:
    """A person with low scheduled utilization over the coming weeks."""

    person: Person
    capacity: Decimal
    scheduled_hard: Decimal
    scheduled_soft: Decimal
    scheduled_utilization: Decimal
    free_hours: Decimal


def bench_list(*, start: date, weeks: int = 4,
               threshold: Decimal = Decimal("50")) -> list[BenchEntry]:
    """Active people whose scheduled (hard + soft) utilization over `weeks` weeks from the week
    of `start` is below `threshold` percent, least scheduled first. People without capacity in
    those weeks (leave, not yet hired) are left out."""
    first = week_start(start)
    last = first + timedelta(days=7 * weeks - 1)
    people = list(Person.objects.active().filter(hire_date__lte=last)
                  .filter(Q(termination_date__isnull=True) | Q(termination_date__gte=first))
                  .select_related("role", "manager").order_by("id"))
    totals: dict[int, Figures] = defaultdict(Figures)
    for (person_id, _monday), figures in person_week_figures(people=people, start=first,
                                                             end=last).items():
        totals[person_id].add(figures)
    entries = []
    for person in people:
        figures = totals[person.pk]
        utilization = figures.scheduled_utilization
        if utilization is None or utilization >= threshold:
            continue
        entries.append(BenchEntry(
            person=person, capacity=figures.capacity.quantize(HOURS),
            scheduled_hard=figures.scheduled_hard.quantize(HOURS),
            scheduled_soft=figures.scheduled_soft.quantize(HOURS),
            scheduled_utilization=utilization,
            free_hours=max(ZERO, figures.capacity - figures.scheduled).quantize(HOURS)))
    entries.sort(key=lambda e: (e.scheduled_utilization, e.person.last_name, e.person.pk))
    return entries


@dataclass
class DemandCell:
    """One role-week: capacity of active people, booked hours and open demand."""

    capacity: Decimal = ZERO
    booked: Decimal = ZERO
    demand: Decimal = ZERO
    pipeline: Decimal = ZERO  # tentative demand x probability ÷ 100

    @property
    def gap(self) -> Decimal:
        """Capacity left after bookings and all demand (negative: short of people)."""
        return (self.capacity - self.booked - self.demand - self.pipeline).quantize(HOURS)


@dataclass
class DemandRow:
    role: Role
    cells: dict[date, DemandCell]


def demand_vs_capacity(*, start: date, weeks: int = 12) -> tuple[list[date], list[DemandRow]]:
    """Per role and week for `weeks` weeks from the week of `start`: capacity of active people,
    their booked (hard + soft) hours, the open demand of real requests (what their assignments
    do not yet cover) and tentative pipeline demand weighted by probability ÷ 100."""
    first = week_start(start)
    last = first + timedelta(days=7 * weeks - 1)
    mondays = weeks_between(first, last)
    roles = {role.pk: role for role in Role.objects.all()}
    cells: dict[int, dict[date, DemandCell]] = defaultdict(
        lambda: {monday: DemandCell() for monday in mondays})
    people = (Person.objects.active().filter(hire_date__lte=last)
              .filter(Q(termination_date__isnull=True) | Q(termination_date__gte=first))
              .order_by("id"))
    role_of: dict[int, int] = {}
    for batch in _batches(people):
        role_of.update({p.pk: p.role_id for p in batch})
        for person_id, by_week in _weekly_capacity(batch, first, last).items():
            for monday, hours in by_week.items():
                cells[role_of[person_id]][monday].capacity += hours
    booked = list(Assignment.objects
                  .filter(person_id__in=people.values("id"), start_date__lte=last,
                          end_date__gte=first)
                  .order_by().values_list("person_id", "start_date", "end_date",
                                          "hours_per_week", "booking"))
    for (person_id, monday), (hard, soft) in _scheduled(booked, first, last).items():
        cells[role_of[person_id]][monday].booked += hard + soft
    requests = list(ResourceRequest.objects
                    .filter(status__in=OPEN_REQUEST_STATES, start_date__lte=last,
                            end_date__gte=first)
                    .order_by().values_list("id", "start_date", "end_date", "hours_per_week",
                                            "role_id", "is_tentative", "probability"))
    filled = _scheduled(list(Assignment.objects
                             .filter(request_id__in=[r[0] for r in requests],
                                     start_date__lte=last, end_date__gte=first)
                             .order_by().values_list("request_id", "start_date", "end_date",
                                                     "hours_per_week", "booking")),
                        first, last)
    wanted = _scheduled([(r[0], r[1], r[2], r[3], Assignment.Booking.HARD) for r in requests],
                        first, last)
    request_facts = {r[0]: (r[4], r[5], r[6]) for r in requests}
    for (request_id, monday), (hours, _soft) in wanted.items():
        role_id, tentative, probability = request_facts[request_id]
        covered = sum(filled.get((request_id, monday), (ZERO, ZERO)))
        open_hours = max(ZERO, hours - covered)
        if tentative:
            cells[role_id][monday].pipeline += open_hours * probability / 100
        else:
            cells[role_id][monday].demand += open_hours
    for by_week in cells.values():
        for cell in by_week.values():
            for name in ("capacity", "booked", "demand", "pipeline"):
                setattr(cell, name, getattr(cell, name).quantize(HOURS))
    rows = [DemandRow(role=roles[role_id], cells=cells[role_id]) for role_id in cells]
    rows.sort(key=lambda r: (r.role.level, r.role.name))
    return mondays, rows
