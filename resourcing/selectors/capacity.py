"""Capacity and allocation per person and week (DOMAIN.md, Staffing).

Weeks are identified by their Monday. Capacity comes from psa's calendar (standard hours less
public holidays of the person's country, approved time off and days outside employment).
Allocation counts an assignment's hours in a week as
`hours_per_week x (its weekdays, Monday to Friday, falling in that week) ÷ 5`, so an assignment
starting on a Wednesday books 3/5 of its weekly hours in its first week. Holidays and leave do
not reduce allocation; they reduce capacity, which is how they show up as overbooking.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from psa.models import Person
from psa.selectors.calendar import capacity_by_week_for_people
from psa.selectors.people import for_people
from resourcing.models import Assignment

ZERO = Decimal("0.00")
HOURS = Decimal("0.01")


@dataclass(frozen=True)
class Allocation:
    """Booked hours of one person in one week, hard and soft apart."""

    hard: Decimal = ZERO
    soft: Decimal = ZERO


@dataclass(frozen=True)
class WeekCapacity:
    """One row of the capacity report: capacity, allocation and what is left, for one week."""

    person_id: int
    week_start: date
    capacity: Decimal
    hard: Decimal
    soft: Decimal

    @property
    def available(self) -> Decimal:
        """Capacity less hard bookings (soft ones are pencilled in); negative when overbooked."""
        return self.capacity - self.hard

    @property
    def overbooked(self) -> bool:
        return self.hard > self.capacity


def week_start(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


def weeks_between(start: date, end: date) -> list[date]:
    """The Mondays of every week touching `start`..`end` inclusive."""
    weeks, week = [], week_start(start)
    while week <= end:
        weeks.append(week)
        week += timedelta(days=7)
    return weeks


def weekdays_in_week(week: date, start: date, end: date) -> int:
    """How many of the week's Monday-to-Friday fall within `start`..`end` inclusive."""
    first, last = max(week, start), min(week + timedelta(days=4), end)
    return max(0, (last - first).days + 1)


def hours_in_week(hours_per_week: Decimal, week: date, start: date, end: date) -> Decimal:
    """The hours a booking of `hours_per_week` from `start` to `end` takes in `week`."""
    days = weekdays_in_week(week, start, end)
    return (hours_per_week * days / 5).quantize(HOURS) if days else ZERO


def weekly_capacity(*, people: Sequence[Person],
                    weeks: Iterable[date]) -> dict[int, dict[date, Decimal]]:
    """Capacity hours per person and week (weeks are Mondays); one query for any number.

    psa's `capacity_by_week_for_people`: the per-day calendar's figures, computed per (country,
    week) for people without leave or a hire/termination date in the range.
    """
    return capacity_by_week_for_people(people=people, weeks=weeks)


def weekly_allocation(*, person_ids: Collection[int], start: date, end: date,
                      exclude_ids: Collection[int] = ()
                      ) -> dict[int, dict[date, Allocation]]:
    """Hard and soft booked hours per person for every week touching `start`..`end`.

    One query over assignments; every requested person and week is present (zero if free).
    `exclude_ids` leaves assignments out (the one being changed, when checking a change).
    """
    weeks = weeks_between(start, end)
    hard: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    soft: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    if weeks and person_ids:
        wanted = set(person_ids)
        rows = (for_people(Assignment.objects.filter(start_date__lte=weeks[-1] + timedelta(6),
                                                     end_date__gte=weeks[0]), wanted)
                .exclude(pk__in=list(exclude_ids)).order_by()
                .values_list("person_id", "start_date", "end_date", "hours_per_week", "booking"))
        for person_id, a_start, a_end, per_week, booking in rows:
            if person_id not in wanted:
                continue
            target = hard if booking == Assignment.Booking.HARD else soft
            for week in weeks_between(max(a_start, weeks[0]), min(a_end, weeks[-1] + timedelta(6))):
                target[person_id][week] += hours_in_week(per_week, week, a_start, a_end)
    # People with no booking share one all-free mapping (read-only, like every result here):
    # thousands of free people cost no per-week objects.
    free = dict.fromkeys(weeks, Allocation())
    return {pid: {week: Allocation(hard=hard[pid][week], soft=soft[pid][week]) for week in weeks}
            if pid in hard or pid in soft else free for pid in person_ids}


def capacity_report(*, people: Sequence[Person], start: date, end: date) -> list[WeekCapacity]:
    """Capacity, hard and soft allocation and availability per person and week (two queries)."""
    weeks = weeks_between(start, end)
    capacity = weekly_capacity(people=people, weeks=weeks)
    allocation = weekly_allocation(person_ids=[p.pk for p in people], start=start, end=end)
    return [WeekCapacity(person_id=p.pk, week_start=week, capacity=capacity[p.pk][week],
                         hard=allocation[p.pk][week].hard, soft=allocation[p.pk][week].soft)
            for p in people for week in weeks]
