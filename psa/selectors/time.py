"""Reads of time entries for the API: the scoped list and one person's week with its totals."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from psa.models import Person, TimeEntry
from psa.rules import visible
from psa.selectors.calendar import capacity_by_day

UserLike = User | AnonymousUser
ZERO = Decimal("0.00")


def time_entry_list(*, actor: UserLike) -> QuerySet[TimeEntry]:
    """Entries the actor may see: their own, those on projects they manage, or all."""
    return visible(TimeEntry.objects.all(), actor, "psa.view_timeentry").order_by(
        "work_date", "id")


@dataclass(frozen=True)
class TimesheetDay:
    day: date
    hours: Decimal
    capacity: Decimal
    holiday: str
    time_off: Decimal


@dataclass(frozen=True)
class Timesheet:
    """A person's Monday-based week: entries, totals per day and week, capacity, statuses."""

    person_id: int
    week_start: date
    week_end: date
    entries: list[TimeEntry]
    days: list[TimesheetDay]
    total_hours: Decimal
    capacity_hours: Decimal
    status_counts: dict[str, int]
    status: str  # empty | draft | rejected | submitted | approved | mixed


def _week_status(counts: Counter) -> str:
    if not counts:
        return "empty"
    if len(counts) == 1:
        return next(iter(counts))
    for status in (TimeEntry.Status.REJECTED, TimeEntry.Status.DRAFT):
        if counts.get(status):
            return str(status)  # something still needs the person's attention
    return "mixed"


def timesheet_week(*, actor: UserLike, person: Person, week_start: date) -> Timesheet:
    """The week of `person` starting on Monday `week_start`, with the entries `actor` may see.

    Three queries: the entries, and the person's approved time off (capacity).
    """
    week_end = week_start + timedelta(days=6)
    entries = list(time_entry_list(actor=actor).filter(
        person=person, work_date__range=(week_start, week_end)).order_by("work_date", "task_id"))
    hours_by_day: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        hours_by_day[entry.work_date] += entry.hours
    days = [TimesheetDay(day=d.day, hours=hours_by_day[d.day], capacity=d.capacity,
                         holiday=d.holiday, time_off=d.time_off)
            for d in capacity_by_day(person=person, start=week_start, end=week_end)]
    counts = Counter(str(entry.status) for entry in entries)
    return Timesheet(
        person_id=person.pk, week_start=week_start, week_end=week_end, entries=entries,
        days=days, total_hours=sum((d.hours for d in days), ZERO),
        capacity_hours=sum((d.capacity for d in days), ZERO),
        status_counts=dict(counts), status=_week_status(counts))
