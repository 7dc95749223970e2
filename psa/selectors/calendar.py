"""A person's working calendar: standard hours per day less public holidays and time off.

Capacity (DOMAIN.md, Staffing) = working days (Monday to Friday, less the public holidays of the
person's country) x weekly standard hours ÷ 5 - approved time off; zero outside employment.
The resourcing app builds its weekly capacity on `capacity_by_day`.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

import holidays

from psa.models import Person, TimeOff

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
    leave_by_person: dict[int, list[TimeOff]] = defaultdict(list)
    for item in TimeOff.objects.filter(person_id__in=[p.pk for p in people],
                                       status=TimeOff.Status.APPROVED,
                                       start_date__lte=end, end_date__gte=start).order_by():
        leave_by_person[item.person_id].append(item)
    return {person.pk: _calendar(person, start, end, leave_by_person.get(person.pk, []))
            for person in people}


def _calendar(person: Person, start: date, end: date, leave: list[TimeOff]) -> list[CalendarDay]:
    standard_day = (person.weekly_standard_hours / 5).quantize(Decimal("0.01"))
    holiday_names = public_holidays(country=person.country, start=start, end=end)
    off_by_day: dict[date, Decimal] = {}
    for item in leave:
        day = max(item.start_date, start)
        while day <= min(item.end_date, end):
            hours = item.hours_per_day if item.hours_per_day is not None else standard_day
            off_by_day[day] = off_by_day.get(day, ZERO_HOURS) + hours
            day += timedelta(days=1)
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
