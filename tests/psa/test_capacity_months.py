"""Monthly capacity of a population equals psa's per-day calendar summed by month."""

from calendar import monthrange
from datetime import date
from decimal import Decimal

import pytest

from psa.models import Person, TimeOff
from psa.selectors.calendar import capacity_by_day_for_people
from psa.selectors.capacity_months import capacity_by_month
from tests.psa.factories import LegalEntityFactory, PersonFactory, TimeOffFactory

pytestmark = pytest.mark.django_db
H = Decimal
# January to June 2026. US: MLK day 19 Jan, Presidents' day 16 Feb, Memorial day 25 May.
# GB: Good Friday 3 Apr, early May bank holiday 4 May, spring bank holiday 25 May.
MONTHS = [date(2026, month, 1) for month in range(1, 7)]
START, END = date(2026, 1, 1), date(2026, 6, 30)
HIRED = date(2024, 1, 1)


def from_days(people, months=MONTHS):
    """The reference: the per-day calendar summed by month, target = capacity x target %."""
    out = {month: (H("0"), H("0")) for month in months}
    last = months[-1].replace(day=monthrange(months[-1].year, months[-1].month)[1])
    people = list(people)
    calendars = capacity_by_day_for_people(people=people, start=months[0], end=last)
    for person in people:
        for day in calendars[person.pk]:
            month = day.day.replace(day=1)
            if month in out:
                capacity, target = out[month]
                out[month] = (capacity + day.capacity,
                              target + day.capacity * person.utilization_target / 100)
    return out


def seed(copies=1):
    """Every kind of person and leave, `copies` times over, in two legal entities."""
    us = LegalEntityFactory(code="US", country="US")
    gb = LegalEntityFactory(code="GB", country="GB", base_currency="GBP")
    for _ in range(copies):
        PersonFactory(legal_entity=us, hire_date=HIRED)
        PersonFactory(legal_entity=gb, hire_date=HIRED, utilization_target=H("75.00"))
        PersonFactory(legal_entity=gb, hire_date=HIRED, weekly_standard_hours=H("30.00"),
                      utilization_target=H("70.00"))
        # 37.47 ÷ 5 = 7.494: the standard day rounds to 7.49 as the calendar rounds it.
        PersonFactory(legal_entity=us, hire_date=HIRED, weekly_standard_hours=H("37.47"),
                      utilization_target=H("65.50"))
        on_leave = PersonFactory(legal_entity=us, hire_date=HIRED)
        # Whole days across a weekend and a month end; a half day; two items on one day.
        TimeOffFactory(person=on_leave, start_date=date(2026, 1, 29), end_date=date(2026, 2, 3))
        TimeOffFactory(person=on_leave, start_date=date(2026, 3, 3), end_date=date(2026, 3, 3),
                       hours_per_day=H("4.00"))
        TimeOffFactory(person=on_leave, start_date=date(2026, 3, 5), end_date=date(2026, 3, 5),
                       hours_per_day=H("5.00"))
        TimeOffFactory(person=on_leave, start_date=date(2026, 3, 5), end_date=date(2026, 3, 6),
                       hours_per_day=H("6.00"))
        # Leave on a public holiday takes nothing off; leave from before the window is clipped.
        TimeOffFactory(person=on_leave, start_date=date(2026, 5, 22), end_date=date(2026, 5, 26))
        TimeOffFactory(person=on_leave, start_date=date(2025, 12, 22), end_date=date(2026, 1, 2))
        TimeOffFactory(person=on_leave, start_date=date(2026, 4, 7), end_date=date(2026, 4, 9),
                       status=TimeOff.Status.REQUESTED)
        TimeOffFactory(person=on_leave, start_date=date(2026, 4, 13), end_date=date(2026, 4, 13),
                       status=TimeOff.Status.CANCELLED)
        gb_leave = PersonFactory(legal_entity=gb, hire_date=HIRED,
                                 weekly_standard_hours=H("35.00"))
        TimeOffFactory(person=gb_leave, start_date=date(2026, 4, 2), end_date=date(2026, 4, 7))
        TimeOffFactory(person=gb_leave, start_date=date(2026, 6, 10), end_date=date(2026, 6, 10),
                       hours_per_day=H("3.50"))
        # Hired and leaving inside the window, with leave of their own.
        hired = PersonFactory(legal_entity=us, hire_date=date(2026, 2, 11))
        TimeOffFactory(person=hired, start_date=date(2026, 2, 9), end_date=date(2026, 2, 13))
        PersonFactory(legal_entity=gb, hire_date=HIRED, termination_date=date(2026, 3, 4))
        leaver = PersonFactory(legal_entity=gb, hire_date=date(2026, 1, 20),
                               termination_date=date(2026, 5, 29),
                               weekly_standard_hours=H("20.00"))
        TimeOffFactory(person=leaver, start_date=date(2026, 5, 20), end_date=date(2026, 6, 5))
        # Not employed in the window at all.
        PersonFactory(legal_entity=us, hire_date=date(2026, 7, 1))
        PersonFactory(legal_entity=gb, hire_date=HIRED, termination_date=date(2025, 12, 31))
    return us, gb


class TestCapacityByMonth:
    def test_equals_the_per_day_calendar_summed_by_month(self):
        seed()

        result = capacity_by_month(people=Person.objects.all(), months=MONTHS)

        assert result == from_days(Person.objects.all())
        assert list(result) == MONTHS
        # The figures are not trivially equal: holidays, leave and movers all show.
        assert result[date(2026, 1, 1)][0] < 12 * H("8.00") * 22

    @pytest.mark.parametrize("entity_code", ["US", "GB"])
    def test_narrowed_people_count_only_themselves(self, entity_code):
        seed()
        people = Person.objects.filter(legal_entity__code=entity_code)

        assert capacity_by_month(people=people, months=MONTHS) == from_days(people)

    def test_holidays_of_each_country_and_leave_on_them(self):
        us, gb = seed()
        us_person = PersonFactory(legal_entity=us, hire_date=HIRED)
        gb_person = PersonFactory(legal_entity=gb, hire_date=HIRED)
        TimeOffFactory(person=gb_person, start_date=date(2026, 5, 25), end_date=date(2026, 5, 25))

        us_may = capacity_by_month(people=Person.objects.filter(pk=us_person.pk),
                                   months=[date(2026, 5, 1)])
        gb_may = capacity_by_month(people=Person.objects.filter(pk=gb_person.pk),
                                   months=[date(2026, 5, 1)])

        # May 2026 has 21 weekdays: the US loses Memorial day, GB two bank holidays (the
        # leave on 25 May falls on one and takes nothing more).
        assert us_may == {date(2026, 5, 1): (H("160.00"), H("128.0000"))}
        assert gb_may == {date(2026, 5, 1): (H("152.00"), H("121.6000"))}

    def test_months_in_any_order_gaps_and_nothing_to_count(self):
        seed()
        months = [date(2026, 4, 1), date(2026, 1, 1), date(2026, 4, 1)]

        result = capacity_by_month(people=Person.objects.all(), months=months)

        full = from_days(Person.objects.all())
        assert result == {date(2026, 1, 1): full[date(2026, 1, 1)],
                          date(2026, 4, 1): full[date(2026, 4, 1)]}
        assert capacity_by_month(people=Person.objects.all(), months=[]) == {}
        assert capacity_by_month(people=Person.objects.none(), months=MONTHS) == {
            month: (H("0.00"), H("0.00")) for month in MONTHS}

    @pytest.mark.parametrize("copies", [1, 5])
    def test_a_fixed_number_of_queries(self, copies, django_assert_num_queries):
        seed(copies)

        with django_assert_num_queries(4):
            result = capacity_by_month(people=Person.objects.all(), months=MONTHS)

        assert result == from_days(Person.objects.all())
