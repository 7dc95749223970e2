"""Time compliance by month with the definition of `psa.selectors.compliance` (its docstring
says it exactly), in a fixed number of queries whatever the number of people.

`time_compliance` reads every entry of every person, 500 people at a time; here the database
sums each person's on-time hours per week (the deadline of each week and legal-entity time
zone is a CASE), and the capacity comes from `capacity_by_week_for_people` (one query for
all the time off). Three queries: the people, their time off, the on-time hours. A week
belongs to the month of its Monday; weeks whose deadline has not passed yet are not counted.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Case, DateTimeField, F, Q, Sum, Value, When
from django.db.models.functions import TruncWeek

from insight.selectors.scope import Scope
from insight.selectors.types import Measure, ratio_percent
from psa.common.money import column_sum
from psa.models import Person, TimeEntry
from psa.selectors.calendar import capacity_by_week_for_people
from psa.selectors.compliance import employed_between, timesheet_deadline, week_start_of

DEFINITION = ("Timesheets submitted by the deadline ÷ timesheets expected (a person-week with "
              "capacity), weeks counted in the month of their Monday once due.")


def _weeks(scope: Scope) -> list[date]:
    """The Mondays that fall in the scope's months."""
    monday = week_start_of(scope.first_day)
    if monday < scope.first_day:
        monday += timedelta(days=7)
    weeks = []
    while monday <= scope.last_day:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def _deadline_case(weeks: Sequence[date], zones: Sequence[str]) -> Case:
    """The deadline of an entry's week in its person's legal-entity zone (entries dated
    from the first Monday to the last Sunday)."""
    by_zone = []
    for zone in zones:
        by_week = [When(work_date__lt=week + timedelta(days=7),
                        then=Value(timesheet_deadline(week_start=week, time_zone=zone)))
                   for week in weeks]
        by_zone.append(When(person__legal_entity__time_zone=zone,
                            then=Case(*by_week, output_field=DateTimeField())))
    return Case(*by_zone, output_field=DateTimeField())


def _on_time_hours(scope: Scope, weeks: Sequence[date],
                   zones: Sequence[str]) -> dict[tuple[int, date], Decimal]:
    """On-time hours per (person, week): entries not in draft submitted before the deadline."""
    entries = TimeEntry.objects.filter(work_date__range=(weeks[0], weeks[-1] + timedelta(6)),
                                       submitted_at__isnull=False)
    if scope.legal_entity_id:
        entries = entries.filter(person__legal_entity_id=scope.legal_entity_id)
    rows = (entries.exclude(status=TimeEntry.Status.DRAFT)
            .alias(deadline=_deadline_case(weeks, zones))
            .filter(submitted_at__lt=F("deadline"))
            .order_by().values("person_id", week=TruncWeek("work_date"))
            .annotate(hours=Sum("hours")))
    result = {}
    for row in rows:
        week = row["week"]
        result[(row["person_id"], date(week.year, week.month, week.day))] = column_sum(
            row["hours"])
    return result


def compliance_counts(*, scope: Scope, now: datetime) -> dict[date, tuple[int, int]]:
    """{month: (expected timesheets, submitted by the deadline)} for the scope's months."""
    weeks = _weeks(scope)
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    if not weeks:
        return {}
    people = Person.objects.filter(Q(legal_entity_id=scope.legal_entity_id)
                                   if scope.legal_entity_id else Q())
    people = list(employed_between(people, weeks[0], weeks[-1] + timedelta(days=6))
                  .select_related("legal_entity").order_by("pk"))
    if not people:
        return {}
    zones = sorted({person.legal_entity.time_zone for person in people})
    on_time = _on_time_hours(scope, weeks, zones)
    capacity = capacity_by_week_for_people(people=people, weeks=weeks)
    deadlines = {(zone, week): timesheet_deadline(week_start=week, time_zone=zone)
                 for zone in zones for week in weeks}
    for person in people:
        zone = person.legal_entity.time_zone
        for week in weeks:
            if deadlines[(zone, week)] > now or capacity[person.pk][week] <= 0:
                continue
            month = counts[week.replace(day=1)]
            month[0] += 1
            month[1] += on_time.get((person.pk, week), Decimal(0)) >= capacity[person.pk][week]
    return {month: (expected, done) for month, (expected, done) in counts.items()}


def time_compliance_measure(*, scope: Scope, now: datetime) -> Measure:
    """Time compliance per month (percent), as `psa.selectors.compliance` defines it."""
    counts = compliance_counts(scope=scope, now=now)
    values = tuple(ratio_percent(Decimal(counts[month][1]), Decimal(counts[month][0]))
                   if month in counts else None for month in scope.months)
    return Measure(key="time_compliance", label="Time compliance", unit="percent",
                   months=scope.months, values=values, definition=DEFINITION,
                   note="Not narrowed by client or service line." if scope.narrows_work else "")
