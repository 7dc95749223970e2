"""A person's working calendar: standard hours per day less public holidays and time off.

Capacity (DOMAIN.md, Staffing) = working days (Monday to Friday, less the public holidays of the
person's country) x weekly standard hours ÷ 5 - approved time off; zero outside employment.
The resourcing app builds its weekly capacity on `capacity_by_week_for_people`.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

import holidays

from psa.models import Person, TimeOff
from psa.selectors.people import for_people

ZERO_HOURS = Decimal("0.00")


@lru_cache(maxsize=64)
def _holidays_for(country: str, year: int) -> dict[date, str]:
    try:
        return dict(holidays.country_holidays(country, years=year))
    except NotImplementedError:  # a country the package does not know has no public holidays
        return {}


def public_holidays(*, country: str, start: date, end: date) -> dict[date, str]:
    """Public holidays of `country` between `start` and `end` inclusive, with their names."""
    found: dict[date, str] = {}
    for year in range(start.year, end.year + 1):
        found.update({day: name for day, name in _holidays_for(country, year).items()
                      if start <= day <= end})
    return found


@dataclass(frozen=True)
class CalendarDay:
    """One day of a person's calendar: capacity hours and why it is reduced, if it is."""

    day: date
    capacity: Decimal
    holiday: str = ""
    time_off: Decimal = ZERO_HOURS
    employed: bool = True

    @property
    def is_working_day(self) -> bool:
        return self.day.weekday() < 5 and self.employed and not self.holiday


def capacity_by_day(*, person: Person, start: date, end: date) -> list[CalendarDay]:
    """Capacity per day for `person` from `start` to `end` inclusive (one query)."""
    return capacity_by_day_for_people(people=[person], start=start, end=end)[person.pk]


def capacity_by_day_for_people(*, people: Sequence[Person], start: date,
                               end: date) -> dict[int, list[CalendarDay]]:
    """`capacity_by_day` for many people at once: one query for all their time off."""
    leave_by_person = _approved_leave(people, start, end)
    return {person.pk: _calendar(person, start, end, leave_by_person.get(person.pk, []))
            for person in people}


def _approved_leave(people: Sequence[Person], start: date,
                    end: date) -> dict[int, list[TimeOff]]:
    """Approved time off overlapping `start`..`end` of each of `people` (one query)."""
    ids = {person.pk for person in people}
    leave_by_person: dict[int, list[TimeOff]] = defaultdict(list)
    for item in for_people(TimeOff.objects.filter(status=TimeOff.Status.APPROVED,
                                                  start_date__lte=end, end_date__gte=start),
                           ids).order_by():
        if item.person_id in ids:
            leave_by_person[item.person_id].append(item)
    return leave_by_person


def _hours_off_by_day(leave: list[TimeOff], standard_day: Decimal, start: date,
                      end: date) -> dict[date, Decimal]:
    """Hours of time off per day within `start`..`end` (a whole day unless it says hours)."""
    off_by_day: dict[date, Decimal] = {}
    for item in leave:
        day = max(item.start_date, start)
        while day <= min(item.end_date, end):
            hours = item.hours_per_day if item.hours_per_day is not None else standard_day
            off_by_day[day] = off_by_day.get(day, ZERO_HOURS) + hours
            day += timedelta(days=1)
    return off_by_day


def _calendar(person: Person, start: date, end: date, leave: list[TimeOff]) -> list[CalendarDay]:
    standard_day = (person.weekly_standard_hours / 5).quantize(Decimal("0.01"))
    holiday_names = public_holidays(country=person.country, start=start, end=end)
    off_by_day = _hours_off_by_day(leave, standard_day, start, end)
    days = []
    day = start
    while day <= end:
        employed = person.is_employed_on(day)
        holiday = holiday_names.get(day, "")
        if not employed or day.weekday() >= 5 or holiday:
            capacity = ZERO_HOURS
        else:
            capacity = max(ZERO_HOURS, standard_day - off_by_day.get(day, ZERO_HOURS))
        days.append(CalendarDay(day=day, capacity=capacity, holiday=holiday,
                                time_off=off_by_day.get(day, ZERO_HOURS), employed=employed))
        day += timedelta(days=1)
    return days


def capacity_by_week_for_people(*, people: Sequence[Person], weeks: Iterable[date],
                                start: date | None = None, end: date | None = None
                                ) -> dict[int, dict[date, Decimal]]:
    """Capacity hours per person and week (weeks are Mondays): the sums of
    `capacity_by_day_for_people` over each week, computed without a per-day object for most.

    People employed throughout `start`..`end` get `working days x standard day`, the working
    days (weekdays less public holidays) counted once per (country, week); those without time
    off share one mapping per (country, standard day), so the result is READ-ONLY. Time off
    is taken off day by day as the calendar does; only people hired after `start` or leaving
    before `end` go through the per-day calendar. `start`/`end` clip the range (default: the
    whole weeks, Monday of the first to Sunday of the last); days outside it count zero.
    One query (approved time off) for any number of people. `people` need only `pk`,
    `country`, `hire_date`, `termination_date`, `weekly_standard_hours` and `is_employed_on`.
    """
    weeks = sorted(set(weeks))
    if not weeks or not people:
        return {person.pk: dict.fromkeys(weeks, ZERO_HOURS) for person in people}
    start = start or weeks[0]
    end = end or weeks[-1] + timedelta(days=6)
    leave_by_person = _approved_leave(people, start, end)
    working_days: dict[str, dict[date, int]] = {}
    shared: dict[tuple[str, Decimal], dict[date, Decimal]] = {}
    result: dict[int, dict[date, Decimal]] = {}
    for person in people:
        if person.hire_date > start or (person.termination_date is not None
                                        and person.termination_date < end):
            per_week = dict.fromkeys(weeks, ZERO_HOURS)
            for day in _calendar(person, start, end, leave_by_person.get(person.pk, [])):
                week = day.day - timedelta(days=day.day.weekday())
                if week in per_week:
                    per_week[week] += day.capacity
            result[person.pk] = per_week
            continue
        counts = working_days.get(person.country)
        if counts is None:
            counts = working_days[person.country] = _working_days_by_week(
                person.country, weeks, start, end)
        standard_day = (person.weekly_standard_hours / 5).quantize(Decimal("0.01"))
        leave = leave_by_person.get(person.pk)
        if not leave:  # the common case: one shared mapping per country and standard day
            key = (person.country, standard_day)
            if key not in shared:
                shared[key] = {week: standard_day * count for week, count in counts.items()}
            result[person.pk] = shared[key]
            continue
        per_week = {week: standard_day * count for week, count in counts.items()}
        holiday_names = public_holidays(country=person.country, start=start, end=end)
        for day, hours in _hours_off_by_day(leave, standard_day, start, end).items():
            week = day - timedelta(days=day.weekday())  # only the days off, as `_calendar` does
            if week in per_week and day.weekday() < 5 and day not in holiday_names:
                per_week[week] -= min(standard_day, hours)
        result[person.pk] = per_week
    return result


def _working_days_by_week(country: str, weeks: list[date], start: date,
                          end: date) -> dict[date, int]:
    """Weekdays less `country`'s public holidays per week, within `start`..`end`."""
    holiday_names = public_holidays(country=country, start=start, end=end)
    counts = {}
    for week in weeks:
        first, last = max(week, start), min(week + timedelta(days=4), end)
        counts[week] = sum(1 for offset in range(max(0, (last - first).days + 1))
                           if first + timedelta(days=offset) not in holiday_names)
    return counts
