"""Capacity and target hours per month for a whole population, without a row per person.

The figures equal `psa.selectors.calendar.capacity_by_day_for_people` summed over each month's
days (weekdays less the country's public holidays, less approved time off, zero outside
employment, a standard day of weekly_standard_hours ÷ 5 rounded to 0.01); the target is each
day's capacity x the person's `utilization_target` ÷ 100. Instead of a calendar per person:

- people employed throughout the window are counted in SQL per (country, weekly standard
  hours, utilization target) and multiplied by the working days of (country, month), counted
  once per country;
- approved time off of those people is read in one query joined to their country, standard
  hours and target, and taken off day by day as the calendar does (only weekdays that are not
  public holidays, at most a standard day however many items overlap);
- only people hired or leaving inside the window go through the per-day calendar.

Four queries at most whatever the number of people.
"""

from calendar import monthrange
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet

from psa.models import Person, TimeOff
from psa.selectors.calendar import capacity_by_day_for_people, public_holidays

ZERO_HOURS = Decimal("0.00")
HUNDRED = Decimal(100)


def _month_end(month: date) -> date:
    return month.replace(day=monthrange(month.year, month.month)[1])


def _standard_day(weekly_standard_hours: Decimal) -> Decimal:
    """A fifth of the week rounded exactly as `psa.selectors.calendar` rounds it."""
    return (weekly_standard_hours / 5).quantize(Decimal("0.01"))


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range(max(0, (last - first).days + 1))]


class _WorkingDays:
    """Weekdays that are not public holidays, per country, for the months of the window."""

    def __init__(self, months: Sequence[date], start: date, end: date) -> None:
        self.months, self.start, self.end = months, start, end
        self.holidays: dict[str, dict[date, str]] = {}
        self.counts: dict[str, dict[date, int]] = {}

    def holidays_of(self, country: str) -> dict[date, str]:
        if country not in self.holidays:
            self.holidays[country] = public_holidays(country=country, start=self.start,
                                                     end=self.end)
        return self.holidays[country]

    def count(self, country: str, month: date) -> int:
        if country not in self.counts:
            holiday_names = self.holidays_of(country)
            self.counts[country] = {
                m: sum(1 for day in _days(m, _month_end(m))
                       if day.weekday() < 5 and day not in holiday_names)
                for m in self.months}
        return self.counts[country][month]

    def is_working_day(self, country: str, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays_of(country)


def capacity_by_month(*, people: QuerySet[Person], months: Sequence[date]
                      ) -> dict[date, tuple[Decimal, Decimal]]:
    """(capacity hours, target hours) per month (first days) summed over `people`.

    Equal to the per-day calendar summed by month; the target hours are exact (round where
    shown). Months need not be contiguous; the window runs from the first to the last. At most
    four queries for any number of people.
    """
    months = sorted({month.replace(day=1) for month in months})
    if not months:
        return {}
    start, end = months[0], _month_end(months[-1])
    asked = set(months)
    capacity: dict[date, Decimal] = dict.fromkeys(months, ZERO_HOURS)
    target: dict[date, Decimal] = dict.fromkeys(months, ZERO_HOURS)
    working_days = _WorkingDays(months, start, end)

    employed = people.order_by().filter(hire_date__lte=end).filter(
        Q(termination_date__isnull=True) | Q(termination_date__gte=start))
    steady = employed.filter(hire_date__lte=start).filter(
        Q(termination_date__isnull=True) | Q(termination_date__gte=end))
    for group in steady.values("country", "weekly_standard_hours", "utilization_target") \
            .annotate(headcount=Count("pk")):
        standard_day = _standard_day(group["weekly_standard_hours"])
        share = group["utilization_target"] / HUNDRED
        for month in months:
            hours = standard_day * working_days.count(group["country"], month) \
                * group["headcount"]
            capacity[month] += hours
            target[month] += hours * share

    # Time off of the steady people, taken off day by day as the calendar does.
    off_by_person: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    facts: dict[int, tuple[str, Decimal, Decimal]] = {}
    leave = (TimeOff.objects.filter(status=TimeOff.Status.APPROVED, start_date__lte=end,
                                    end_date__gte=start, person__in=steady.values("pk"))
             .order_by()
             .values_list("person_id", "start_date", "end_date", "hours_per_day",
                          "person__country", "person__weekly_standard_hours",
                          "person__utilization_target"))
    for person_id, first, last, hours_per_day, country, weekly, share in leave:
        standard_day = _standard_day(weekly)
        facts[person_id] = (country, standard_day, share / HUNDRED)
        off = hours_per_day if hours_per_day is not None else standard_day
        for day in _days(max(first, start), min(last, end)):
            off_by_person[person_id][day] += off
    for person_id, off_by_day in off_by_person.items():
        country, standard_day, share = facts[person_id]
        for day, off in off_by_day.items():
            month = day.replace(day=1)
            if month in asked and working_days.is_working_day(country, day):
                taken = min(standard_day, off)
                capacity[month] -= taken
                target[month] -= taken * share

    # People hired or leaving inside the window: the per-day calendar, they are few.
    movers = list(employed.filter(Q(hire_date__gt=start) | Q(termination_date__lt=end))
                  .only("pk", "country", "hire_date", "termination_date",
                        "weekly_standard_hours", "utilization_target"))
    if movers:
        calendars = capacity_by_day_for_people(people=movers, start=start, end=end)
        for person in movers:
            share = person.utilization_target / HUNDRED
            for day in calendars[person.pk]:
                month = day.day.replace(day=1)
                if month in asked and day.capacity:
                    capacity[month] += day.capacity
                    target[month] += day.capacity * share
    return {month: (capacity[month], target[month]) for month in months}
