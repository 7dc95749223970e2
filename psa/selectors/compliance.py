"""Timesheet status per person and week, and the time compliance measure (DOMAIN.md).

Definitions (one week = Monday to Sunday, `week_start` is its Monday):

- **Deadline** of a week: the first `TIMESHEET_DEADLINE_WEEKDAY` (0 = Monday) after the week,
  at `TIMESHEET_DEADLINE_HOUR`:00 in the time zone of the person's legal entity. With the
  defaults (Monday, 12) the week of Mon 9 Nov is due on Mon 16 Nov at 12:00 local time.
- **Capacity** of a person in a week: the sum of `capacity_by_day` over its seven days
  (standard hours less public holidays and approved time off; zero outside employment).
- **Expected** timesheet: a person employed at some point of the week (hire date on or before
  its Sunday, no termination date or one on or after its Monday) with capacity > 0.
- **Submitted by the deadline**: an expected timesheet whose *on-time hours* reach its
  capacity, where on-time hours = the sum of `hours` of the person's entries dated in the week
  whose status is not `draft` and whose `submitted_at` is before the deadline (a later
  rejection does not undo an on-time submission; a later reopen to draft does).
- **Time compliance** = submitted by the deadline ÷ expected, per week and over the range
  (the total is the sum of the weekly numerators over the sum of the weekly denominators).

The reminder job (`psa.services.reminders`) reads the same `PersonWeek` rows, so the mails
and the measure never disagree.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from typing import Final
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from psa.models import Person, TimeEntry
from psa.rules import visible
from psa.selectors.calendar import capacity_by_day_for_people

ZERO: Final = Decimal("0.00")
BATCH: Final = 500
UNSUBMITTED: Final = (TimeEntry.Status.DRAFT, TimeEntry.Status.REJECTED)


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def timesheet_deadline(*, week_start: date, time_zone: str) -> datetime:
    """When the timesheet of the week starting `week_start` is due, as an aware datetime."""
    weekday = int(getattr(settings, "TIMESHEET_DEADLINE_WEEKDAY", 0))
    hour = int(getattr(settings, "TIMESHEET_DEADLINE_HOUR", 12))
    return datetime.combine(week_start + timedelta(days=7 + weekday), time(hour),
                            tzinfo=ZoneInfo(time_zone))


def last_due_week(*, now: datetime, time_zone: str) -> date:
    """The Monday of the latest week whose deadline has passed at `now` in that zone."""
    local_today = now.astimezone(ZoneInfo(time_zone)).date()
    week = week_start_of(local_today) - timedelta(days=7)
    while timesheet_deadline(week_start=week, time_zone=time_zone) > now:
        week -= timedelta(days=7)
    return week


@dataclass(frozen=True)
class PersonWeek:
    """One person's timesheet of one week, as the reminders and the measure see it."""

    person: Person
    week_start: date
    deadline: datetime
    capacity: Decimal
    hours: Decimal  # every entry of the week, whatever its status
    on_time_hours: Decimal  # entries submitted before the deadline and not back in draft
    unsubmitted_entries: int  # draft or rejected entries

    @property
    def is_expected(self) -> bool:
        return self.capacity > 0

    @property
    def is_on_time(self) -> bool:
        return self.is_expected and self.on_time_hours >= self.capacity

    @property
    def is_incomplete(self) -> bool:
        return self.hours < self.capacity

    @property
    def needs_reminder(self) -> bool:
        return self.is_expected and (self.is_incomplete or self.unsubmitted_entries > 0)


def _batches(people: Iterable[Person], size: int = BATCH) -> Iterator[list[Person]]:
    iterator = iter(people)
    while batch := list(islice(iterator, size)):
        yield batch


def person_weeks(*, people: Iterable[Person], start: date, end: date) -> Iterator[PersonWeek]:
    """Every (person, week) from the week of `start` to the week of `end`, batch by batch.

    `people` should be an iterator over a queryset with `legal_entity` selected; per batch of
    500 people this runs one query for their entries and one for their time off.
    """
    first = week_start_of(start)
    last = week_start_of(end) + timedelta(days=6)
    for batch in _batches(people):
        rows = (TimeEntry.objects.filter(person_id__in=[p.pk for p in batch],
                                         work_date__range=(first, last))
                .values_list("person_id", "work_date", "hours", "status", "submitted_at")
                .order_by())
        by_person: dict[int, list[tuple]] = defaultdict(list)
        for row in rows.iterator(chunk_size=2000):
            by_person[row[0]].append(row[1:])
        calendars = capacity_by_day_for_people(people=batch, start=first, end=last)
        for person in batch:
            zone = person.legal_entity.time_zone
            capacity: dict[date, Decimal] = defaultdict(lambda: ZERO)
            for day in calendars[person.pk]:
                capacity[week_start_of(day.day)] += day.capacity
            deadlines = {}
            hours: dict[date, Decimal] = defaultdict(lambda: ZERO)
            on_time: dict[date, Decimal] = defaultdict(lambda: ZERO)
            unsubmitted: dict[date, int] = defaultdict(int)
            for work_date, entry_hours, status, submitted_at in by_person.get(person.pk, ()):
                week = week_start_of(work_date)
                if week not in deadlines:
                    deadlines[week] = timesheet_deadline(week_start=week, time_zone=zone)
                hours[week] += entry_hours
                if status in UNSUBMITTED:
                    unsubmitted[week] += 1
                if (status != TimeEntry.Status.DRAFT and submitted_at is not None
                        and submitted_at < deadlines[week]):
                    on_time[week] += entry_hours
            week = first
            while week <= last:
                yield PersonWeek(
                    person=person, week_start=week,
                    deadline=deadlines.get(week) or timesheet_deadline(week_start=week,
                                                                       time_zone=zone),
                    capacity=capacity[week], hours=hours[week], on_time_hours=on_time[week],
                    unsubmitted_entries=unsubmitted[week])
                week += timedelta(days=7)


def employed_between(people: QuerySet[Person], start: date, end: date) -> QuerySet[Person]:
    """People employed on at least one day from `start` to `end` (inclusive)."""
    return people.filter(hire_date__lte=end).filter(
        Q(termination_date__isnull=True) | Q(termination_date__gte=start))


@dataclass(frozen=True)
class ComplianceWeek:
    week_start: date
    expected: int
    on_time: int

    @property
    def ratio(self) -> Decimal | None:
        """On time ÷ expected, as a fraction with 4 places; None when nobody was expected."""
        if not self.expected:
            return None
        return (Decimal(self.on_time) / Decimal(self.expected)).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class ComplianceReport:
    """Time compliance per week and over the whole range."""

    weeks: list[ComplianceWeek]
    expected: int
    on_time: int

    @property
    def ratio(self) -> Decimal | None:
        if not self.expected:
            return None
        return (Decimal(self.on_time) / Decimal(self.expected)).quantize(Decimal("0.0001"))


def time_compliance(*, actor: User, start: date, end: date) -> ComplianceReport:
    """Time compliance for the weeks from the week of `start` to the week of `end`.

    Covers the people the actor may see under `psa.view_time_compliance` (a manager: the
    people on the projects they manage). See the module docstring for the exact definition.
    """
    first = week_start_of(start)
    last = week_start_of(end) + timedelta(days=6)
    people = employed_between(visible(Person.objects.all(), actor, "psa.view_time_compliance"),
                              first, last)
    expected: dict[date, int] = defaultdict(int)
    on_time: dict[date, int] = defaultdict(int)
    stream = people.select_related("legal_entity").order_by("pk").iterator(chunk_size=BATCH)
    for week in person_weeks(people=stream, start=first, end=last):
        if week.is_expected:
            expected[week.week_start] += 1
            on_time[week.week_start] += week.is_on_time
    weeks = []
    week = first
    while week <= last:
        weeks.append(ComplianceWeek(week, expected[week], on_time[week]))
        week += timedelta(days=7)
    return ComplianceReport(weeks=weeks, expected=sum(expected.values()),
                            on_time=sum(on_time.values()))
