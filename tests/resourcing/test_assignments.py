"""Booking people: overbooking flagged with its weeks, employment limits, team, request status."""

from datetime import date
from decimal import Decimal

import pytest

from psa.models import OutboxEvent, ProjectMember
from resourcing.errors import OverbookingError, TerminationError
from resourcing.models import Assignment, ResourceRequest
from resourcing.services import assignment_create, assignment_end, assignment_update
from tests.psa.factories import PersonFactory, ProjectFactory, TimeOffFactory, UserFactory
from tests.resourcing.factories import AssignmentFactory, ResourceRequestFactory

pytestmark = pytest.mark.django_db

HARD, SOFT = Assignment.Booking.HARD, Assignment.Booking.SOFT


@pytest.fixture
def booker():
    return UserFactory(role="resource_manager")


def _book(booker, person, project, **kwargs):
    values = {"start_date": date(2026, 3, 16), "end_date": date(2026, 3, 27),
              "hours_per_week": Decimal("30.00"), "booking": HARD}
    values.update(kwargs)
    return assignment_create(actor=booker, person=person, project=project, role=person.role,
                             **values)


def test_create_joins_the_team_and_publishes(booker):
    person, project = PersonFactory(), ProjectFactory()
    assignment = _book(booker, person, project)
    assert assignment.overbooking_confirmed is False
    assert ProjectMember.objects.filter(project=project, person=person).exists()
    event = OutboxEvent.objects.get(type="assignment.created")
    assert event.payload["assignment_id"] == assignment.pk
    _book(booker, person, project, start_date=date(2026, 4, 6), end_date=date(2026, 4, 10))
    assert ProjectMember.objects.filter(project=project, person=person).count() == 1


def test_hard_overbooking_lists_the_weeks_and_writes_nothing(booker):
    person, project = PersonFactory(), ProjectFactory()
    AssignmentFactory(person=person, start_date=date(2026, 3, 16), end_date=date(2026, 3, 27),
                      hours_per_week=Decimal("20.00"), booking=HARD)
    TimeOffFactory(person=person, start_date=date(2026, 3, 23), end_date=date(2026, 3, 23),
                   status="approved")
    with pytest.raises(OverbookingError) as caught:
        _book(booker, person, project, hours_per_week=Decimal("24.00"))
    assert caught.value.weeks == [
        (date(2026, 3, 16), Decimal("40.00"), Decimal("44.00")),
        (date(2026, 3, 23), Decimal("32.00"), Decimal("44.00")),
    ]
    assert "week of 2026-03-16" in caught.value.detail
    assert "week of 2026-03-23" in caught.value.detail
    assert Assignment.objects.count() == 1
    assert not OutboxEvent.objects.filter(type="assignment.created").exists()
    assert not ProjectMember.objects.filter(project=project, person=person).exists()


def test_confirmed_overbooking_is_stored_flagged(booker):
    person, project = PersonFactory(), ProjectFactory()
    AssignmentFactory(person=person, hours_per_week=Decimal("30.00"), booking=HARD,
                      start_date=date(2026, 3, 16), end_date=date(2026, 3, 20))
    assignment = _book(booker, person, project, confirm_overbooking=True)
    assert assignment.overbooking_confirmed is True


def test_soft_bookings_never_overbook_and_a_fit_is_not_flagged(booker):
    person, project = PersonFactory(), ProjectFactory()
    AssignmentFactory(person=person, hours_per_week=Decimal("30.00"), booking=SOFT,
                      start_date=date(2026, 3, 16), end_date=date(2026, 3, 27))
    soft = _book(booker, person, project, hours_per_week=Decimal("40.00"), booking=SOFT)
    assert soft.overbooking_confirmed is False
    exact = _book(booker, person, ProjectFactory(), hours_per_week=Decimal("40.00"))
    assert exact.overbooking_confirmed is False


def test_beyond_termination_or_before_hire_is_refused(booker):
    person = PersonFactory(termination_date=date(2026, 3, 20))
    with pytest.raises(TerminationError) as caught:
        _book(booker, person, ProjectFactory(), confirm_overbooking=True)
    assert caught.value.attr == "end_date"
    newcomer = PersonFactory(hire_date=date(2026, 3, 18))
    with pytest.raises(TerminationError):
        _book(booker, newcomer, ProjectFactory())
    assert not Assignment.objects.exists()


def test_update_rechecks_overbooking_and_publishes_changed(booker):
    person, project = PersonFactory(), ProjectFactory()
    AssignmentFactory(person=person, hours_per_week=Decimal("20.00"), booking=HARD,
                      start_date=date(2026, 3, 16), end_date=date(2026, 3, 20))
    assignment = _book(booker, person, project, hours_per_week=Decimal("20.00"))
    with pytest.raises(OverbookingError) as caught:
        assignment_update(actor=booker, assignment=assignment,
                          data={"hours_per_week": Decimal("25.00")})
    assert [week for week, _, _ in caught.value.weeks] == [date(2026, 3, 16)]
    assignment.refresh_from_db()
    assert assignment.hours_per_week == Decimal("20.00")
    changed = assignment_update(actor=booker, assignment=assignment,
                                data={"hours_per_week": Decimal("25.00")},
                                confirm_overbooking=True)
    assert changed.overbooking_confirmed is True
    event = OutboxEvent.objects.get(type="assignment.changed")
    assert event.payload["fields"] == ["hours_per_week"]
    with pytest.raises(TerminationError):
        person.termination_date = date(2026, 3, 25)
        person.save()
        assignment_update(actor=booker, assignment=changed,
                          data={"end_date": date(2026, 3, 31)}, confirm_overbooking=True)


def test_request_status_follows_booked_hours(booker):
    project = ProjectFactory()
    request = ResourceRequestFactory(project=project, hours_per_week=Decimal("40.00"),
                                     start_date=date(2026, 3, 16), end_date=date(2026, 3, 27))
    first = _book(booker, PersonFactory(), project, hours_per_week=Decimal("20.00"),
                  request=request)
    request.refresh_from_db()
    assert request.status == ResourceRequest.Status.PARTIALLY_FILLED
    second = _book(booker, PersonFactory(), project, hours_per_week=Decimal("20.00"),
                   request=request)
    request.refresh_from_db()
    assert request.status == ResourceRequest.Status.FILLED
    assert assignment_end(actor=booker, assignment=second, end_date=date(2026, 3, 20)) == second
    request.refresh_from_db()
    assert request.status == ResourceRequest.Status.PARTIALLY_FILLED
    assert assignment_end(actor=booker, assignment=first, end_date=date(2026, 3, 1)) is None
    assert not Assignment.objects.filter(pk=first.pk).exists()
    assert OutboxEvent.objects.filter(type="assignment.ended").count() == 2
    assert assignment_end(actor=booker, assignment=second, end_date=date(2026, 3, 15)) is None
    request.refresh_from_db()
    assert request.status == ResourceRequest.Status.OPEN
