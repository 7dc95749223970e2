"""Weekly capacity and allocation: holidays in two countries, leave, part-time, hire, leaving."""

from datetime import date
from decimal import Decimal

import pytest

from resourcing.models import Assignment
from resourcing.selectors.capacity import (
    capacity_report,
    weekly_allocation,
    weekly_capacity,
    weeks_between,
)
from tests.psa.factories import LegalEntityFactory, PersonFactory, TimeOffFactory
from tests.resourcing.factories import AssignmentFactory

pytestmark = pytest.mark.django_db

GOOD_FRIDAY_WEEK = date(2026, 3, 30)   # Friday 3 April 2026: a GB holiday, not a US one
MAY_DAY_WEEK = date(2026, 5, 4)        # Monday 4 May 2026: GB early May bank holiday
MEMORIAL_WEEK = date(2026, 5, 25)      # Monday 25 May 2026: US Memorial Day and GB Spring
PLAIN_WEEK = date(2026, 3, 16)


def _person(country: str, **kwargs):
    entity = LegalEntityFactory(country=country, code=f"LE-{country}",
                                base_currency="USD" if country == "US" else "GBP")
    return PersonFactory(legal_entity=entity, **kwargs)


def test_holidays_follow_each_persons_country():
    us, gb = _person("US"), _person("GB")
    weeks = [PLAIN_WEEK, GOOD_FRIDAY_WEEK, MAY_DAY_WEEK, MEMORIAL_WEEK]
    capacity = weekly_capacity(people=[us, gb], weeks=weeks)
    assert capacity[us.pk] == {PLAIN_WEEK: Decimal("40.00"), GOOD_FRIDAY_WEEK: Decimal("40.00"),
                               MAY_DAY_WEEK: Decimal("40.00"), MEMORIAL_WEEK: Decimal("32.00")}
    assert capacity[gb.pk] == {PLAIN_WEEK: Decimal("40.00"), GOOD_FRIDAY_WEEK: Decimal("32.00"),
                               MAY_DAY_WEEK: Decimal("32.00"), MEMORIAL_WEEK: Decimal("32.00")}


def test_leave_part_time_hire_mid_week_and_termination():
    on_leave = _person("US")
    TimeOffFactory(person=on_leave, start_date=date(2026, 3, 17), end_date=date(2026, 3, 18),
                   status="approved")
    half_day_leave = _person("US")
    TimeOffFactory(person=half_day_leave, start_date=date(2026, 3, 16),
                   end_date=date(2026, 3, 16), hours_per_day=Decimal("4.00"), status="approved")
    part_time = _person("US", weekly_standard_hours=Decimal("24.00"))
    hired = _person("US", hire_date=date(2026, 3, 18))          # a Wednesday
    leaving = _person("US", termination_date=date(2026, 3, 17))  # a Tuesday
    capacity = weekly_capacity(people=[on_leave, half_day_leave, part_time, hired, leaving],
                               weeks=[date(2026, 3, 9), PLAIN_WEEK, date(2026, 3, 23)])
    assert capacity[on_leave.pk][PLAIN_WEEK] == Decimal("24.00")
    assert capacity[half_day_leave.pk][PLAIN_WEEK] == Decimal("36.00")
    assert capacity[part_time.pk][PLAIN_WEEK] == Decimal("24.00")
    assert capacity[hired.pk] == {date(2026, 3, 9): Decimal("0.00"),
                                  PLAIN_WEEK: Decimal("24.00"),
                                  date(2026, 3, 23): Decimal("40.00")}
    assert capacity[leaving.pk] == {date(2026, 3, 9): Decimal("40.00"),
                                    PLAIN_WEEK: Decimal("16.00"),
                                    date(2026, 3, 23): Decimal("0.00")}


def test_capacity_takes_fixed_queries_for_many_people(django_assert_num_queries):
    people = [_person("US") for _ in range(3)] + [_person("GB") for _ in range(3)]
    weeks = weeks_between(date(2026, 1, 5), date(2026, 6, 28))
    with django_assert_num_queries(1):
        capacity = weekly_capacity(people=people, weeks=weeks)
    assert len(capacity) == 6 and all(len(per_week) == len(weeks) for per_week in
                                      capacity.values())
    with django_assert_num_queries(1):
        weekly_allocation(person_ids=[p.pk for p in people], start=weeks[0], end=weeks[-1])


@pytest.mark.parametrize("id_list_limit", [300, 0], ids=["ids-in-sql", "ids-in-python"])
def test_allocation_prorates_partial_weeks_and_separates_hard_and_soft(monkeypatch,
                                                                         id_list_limit):
    # Above the limit assignments are read for the date range and narrowed in Python.
    monkeypatch.setattr("psa.selectors.people.ID_LIST_LIMIT", id_list_limit)
    AssignmentFactory(person=_person("US"), start_date=date(2026, 3, 16),  # someone not asked
                      end_date=date(2026, 3, 27), hours_per_week=Decimal("40.00"),
                      booking=Assignment.Booking.HARD)
    person = _person("US")
    # Wednesday 18 March to Tuesday 24 March: 3 weekdays then 2.
    AssignmentFactory(person=person, start_date=date(2026, 3, 18), end_date=date(2026, 3, 24),
                      hours_per_week=Decimal("20.00"), booking=Assignment.Booking.HARD)
    AssignmentFactory(person=person, start_date=date(2026, 3, 16), end_date=date(2026, 3, 27),
                      hours_per_week=Decimal("10.00"), booking=Assignment.Booking.SOFT)
    other = _person("US")
    allocation = weekly_allocation(person_ids=[person.pk, other.pk], start=date(2026, 3, 16),
                                   end=date(2026, 3, 29))
    first, second = allocation[person.pk][PLAIN_WEEK], allocation[person.pk][date(2026, 3, 23)]
    assert (first.hard, first.soft) == (Decimal("12.00"), Decimal("10.00"))
    assert (second.hard, second.soft) == (Decimal("8.00"), Decimal("10.00"))
    assert allocation[other.pk][PLAIN_WEEK].hard == Decimal("0.00")
    assert set(allocation) == {person.pk, other.pk}


def test_capacity_report_rows_show_available_and_overbooked():
    person = _person("GB")
    AssignmentFactory(person=person, start_date=GOOD_FRIDAY_WEEK, end_date=date(2026, 4, 3),
                      hours_per_week=Decimal("36.00"), booking=Assignment.Booking.HARD)
    (row,) = capacity_report(people=[person], start=GOOD_FRIDAY_WEEK, end=date(2026, 4, 3))
    assert (row.capacity, row.hard, row.available, row.overbooked) == (
        Decimal("32.00"), Decimal("36.00"), Decimal("-4.00"), True)
