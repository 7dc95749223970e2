"""Period locks (psa.services.periods) and a person's working calendar (psa.selectors.calendar)."""

from datetime import date
from decimal import Decimal

import pytest

from psa.common.errors import PeriodClosedError
from psa.models import Period, TimeOff
from psa.selectors.calendar import (
    capacity_by_day,
    capacity_by_day_for_people,
    capacity_by_week_for_people,
    public_holidays,
)
from psa.services.periods import closed_months, period_ensure_open
from tests.psa.factories import (
    LegalEntityFactory,
    PeriodFactory,
    PersonFactory,
    TimeOffFactory,
)

pytestmark = pytest.mark.django_db
H = Decimal


def capacities(person, start, end):
    return {day.day: day.capacity for day in capacity_by_day(person=person, start=start, end=end)}


# --- Periods ---------------------------------------------------------------------------------


def test_a_month_without_a_period_row_is_open():
    entity = LegalEntityFactory()

    period_ensure_open(legal_entity_id=entity.pk, on=date(2026, 3, 31))


def test_a_closed_month_refuses_with_a_sentence_and_other_entities_stay_open():
    us, gb = LegalEntityFactory(code="US"), LegalEntityFactory(code="GB", country="GB")
    PeriodFactory(legal_entity=us, month=date(2026, 3, 1), status=Period.Status.CLOSED)
    PeriodFactory(legal_entity=us, month=date(2026, 4, 1))  # open

    with pytest.raises(PeriodClosedError, match="March 2026 is closed") as caught:
        period_ensure_open(legal_entity_id=us.pk, on=date(2026, 3, 31))
    assert caught.value.http_status == 409
    period_ensure_open(legal_entity_id=us.pk, on=date(2026, 4, 1))
    period_ensure_open(legal_entity_id=gb.pk, on=date(2026, 3, 15))


def test_closed_months_lists_the_closed_ones_in_range():
    entity = LegalEntityFactory()
    for month in (1, 2, 5):
        PeriodFactory(legal_entity=entity, month=date(2026, month, 1),
                      status=Period.Status.CLOSED)
    PeriodFactory(legal_entity=entity, month=date(2026, 3, 1))

    found = closed_months(legal_entity_id=entity.pk, start=date(2026, 2, 10),
                          end=date(2026, 4, 30))

    assert found == {date(2026, 2, 1)}


# --- Calendar --------------------------------------------------------------------------------


def test_weekends_have_no_capacity_and_weekdays_a_fifth_of_the_week():
    person = PersonFactory(weekly_standard_hours=H("40.00"))

    week = capacities(person, date(2026, 3, 9), date(2026, 3, 15))

    assert list(week.values()) == [H("8.00")] * 5 + [H("0.00")] * 2


def test_public_holidays_follow_the_persons_country():
    us = PersonFactory(legal_entity=LegalEntityFactory(code="US"), country="US")
    gb = PersonFactory(legal_entity=LegalEntityFactory(code="GB", country="GB"), country="GB")

    assert capacities(us, date(2026, 1, 19), date(2026, 1, 19)) == {date(2026, 1, 19): H("0")}
    assert capacities(gb, date(2026, 1, 19), date(2026, 1, 19)) == {date(2026, 1, 19): H("8")}
    assert capacities(gb, date(2026, 4, 3), date(2026, 4, 3)) == {date(2026, 4, 3): H("0")}
    assert capacities(us, date(2026, 4, 3), date(2026, 4, 3)) == {date(2026, 4, 3): H("8")}
    day = capacity_by_day(person=us, start=date(2026, 7, 3), end=date(2026, 7, 3))[0]
    assert (day.holiday, day.is_working_day) == ("Independence Day (observed)", False)
    assert public_holidays(country="GB", start=date(2026, 12, 24), end=date(2026, 12, 31)) == {
        date(2026, 12, 25): "Christmas Day", date(2026, 12, 26): "Boxing Day",
        date(2026, 12, 28): "Boxing Day (observed)"}


def test_an_unknown_country_has_no_holidays():
    assert public_holidays(country="ZZ", start=date(2026, 1, 1), end=date(2026, 12, 31)) == {}


def test_time_off_full_and_partial_days_and_only_approved():
    person = PersonFactory()
    TimeOffFactory(person=person, start_date=date(2026, 3, 9), end_date=date(2026, 3, 10))
    TimeOffFactory(person=person, start_date=date(2026, 3, 11), end_date=date(2026, 3, 11),
                   hours_per_day=H("3.00"))
    TimeOffFactory(person=person, start_date=date(2026, 3, 12), end_date=date(2026, 3, 12),
                   status=TimeOff.Status.REQUESTED)

    week = capacities(person, date(2026, 3, 9), date(2026, 3, 13))

    assert list(week.values()) == [H("0"), H("0"), H("5.00"), H("8.00"), H("8.00")]
    days = capacity_by_day(person=person, start=date(2026, 3, 11), end=date(2026, 3, 11))
    assert days[0].time_off == H("3.00")


def test_part_time_hours():
    person = PersonFactory(weekly_standard_hours=H("30.00"))

    assert set(capacities(person, date(2026, 3, 9), date(2026, 3, 13)).values()) == {H("6.00")}


def test_hire_mid_week_and_termination():
    person = PersonFactory(hire_date=date(2026, 3, 11), termination_date=date(2026, 3, 17))

    days = capacity_by_day(person=person, start=date(2026, 3, 9), end=date(2026, 3, 18))

    assert [(d.day.day, d.capacity, d.employed) for d in days] == [
        (9, H("0"), False), (10, H("0"), False), (11, H("8.00"), True), (12, H("8.00"), True),
        (13, H("8.00"), True), (14, H("0"), True), (15, H("0"), True), (16, H("8.00"), True),
        (17, H("8.00"), True), (18, H("0"), False)]


# --- Weekly capacity without per-day objects ---------------------------------------------------

# 14 weeks from Monday 5 January 2026: US holidays (MLK day, Presidents' day) and GB's Good
# Friday (3 April; Easter Monday is not a holiday in every part of the UK).
WEEKS = [date.fromordinal(date(2026, 1, 5).toordinal() + 7 * n) for n in range(14)]
FIRST, LAST = WEEKS[0], date.fromordinal(WEEKS[-1].toordinal() + 6)


def weekly_from_days(people, start=FIRST, end=LAST, weeks=WEEKS):
    """The reference: psa's per-day calendar summed per Monday."""
    out = {}
    for person_id, days in capacity_by_day_for_people(people=people, start=start,
                                                      end=end).items():
        per_week = dict.fromkeys(weeks, H("0"))
        for day in days:
            monday = date.fromordinal(day.day.toordinal() - day.day.weekday())
            if monday in per_week:
                per_week[monday] += day.capacity
        out[person_id] = per_week
    return out


@pytest.mark.parametrize("id_list_limit", [300, 0], ids=["ids-in-sql", "ids-in-python"])
def test_weekly_capacity_equals_the_daily_calendar_for_every_kind_of_person(
        django_assert_num_queries, monkeypatch, id_list_limit):
    # Above the limit the time off is read for the date range and narrowed in Python.
    monkeypatch.setattr("psa.selectors.people.ID_LIST_LIMIT", id_list_limit)
    hired = date(2025, 1, 1)
    us = PersonFactory(country="US", hire_date=hired)
    gb = PersonFactory(country="GB", hire_date=hired)
    part_time = PersonFactory(country="GB", hire_date=hired, weekly_standard_hours=H("30.00"))
    on_leave = PersonFactory(country="US", hire_date=hired)
    TimeOffFactory(person=on_leave, start_date=date(2026, 2, 11), end_date=date(2026, 2, 17))
    TimeOffFactory(person=on_leave, start_date=date(2026, 3, 3), end_date=date(2026, 3, 3),
                   hours_per_day=H("3.00"))
    TimeOffFactory(person=on_leave, start_date=date(2026, 3, 4), end_date=date(2026, 3, 4),
                   status=TimeOff.Status.REQUESTED)
    hired_mid_week = PersonFactory(country="US", hire_date=date(2026, 2, 11))
    leaving = PersonFactory(country="GB", hire_date=hired, termination_date=date(2026, 3, 4))
    people = [us, gb, part_time, on_leave, hired_mid_week, leaving]
    TimeOffFactory(person=PersonFactory(country="US", hire_date=hired),  # someone not asked for
                   start_date=date(2026, 1, 19), end_date=date(2026, 3, 27))

    with django_assert_num_queries(1):
        weekly = capacity_by_week_for_people(people=people, weeks=reversed(WEEKS))

    assert weekly == weekly_from_days(people)
    # The holidays really are in there: MLK day (19 Jan) in the US, not in GB.
    assert weekly[us.pk][date(2026, 1, 19)] == H("32.00")
    assert weekly[gb.pk][date(2026, 1, 19)] == H("40.00")
    assert weekly[part_time.pk][date(2026, 1, 19)] == H("30.00")
    assert weekly[gb.pk][date(2026, 3, 30)] == H("32.00")
    assert weekly[gb.pk][date(2026, 4, 6)] == H("40.00")
    assert weekly[us.pk][date(2026, 3, 30)] == H("40.00")
    assert weekly[on_leave.pk][date(2026, 2, 9)] == H("16.00")  # Wed-Fri off
    assert weekly[hired_mid_week.pk][date(2026, 2, 9)] == H("24.00")
    assert weekly[leaving.pk][date(2026, 3, 2)] == H("24.00")
    assert weekly[leaving.pk][date(2026, 3, 9)] == H("0")


def test_weekly_capacity_clipped_to_a_range_and_for_no_one():
    us = PersonFactory(country="US", hire_date=date(2025, 1, 1))
    start, end = date(2026, 1, 14), date(2026, 2, 10)  # Wednesday to Tuesday
    weeks = WEEKS[1:6]

    weekly = capacity_by_week_for_people(people=[us], weeks=weeks, start=start, end=end)

    assert weekly == weekly_from_days([us], start, end, weeks)
    assert weekly[us.pk][WEEKS[1]] == H("24.00")  # Wed-Fri of the week of 12 January
    assert capacity_by_week_for_people(people=[], weeks=WEEKS) == {}
    assert capacity_by_week_for_people(people=[us], weeks=[]) == {us.pk: {}}
