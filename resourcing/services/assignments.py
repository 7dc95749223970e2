"""Writes on assignments: booking a person on a project, soft or hard.

Overbooked = hard allocation above capacity in a week (DOMAIN.md). A hard booking that
overbooks any of its weeks raises OverbookingError listing the weeks, unless the booker
confirms (`confirm_overbooking=True`); it is then stored with `overbooking_confirmed`.
Nobody is booked outside their employment (TerminationError). The person joins the project's
team, and a linked request's status follows its booked hours.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from psa import events
from psa.common.errors import DomainError, StateConflictError
from psa.models import Person, Project, Role
from psa.services.common import apply_changes, lock_for_change, save_validated
from psa.services.projects import project_member_ensure
from resourcing.errors import OverbookingError, TerminationError
from resourcing.models import Assignment, ResourceRequest
from resourcing.selectors.capacity import (
    hours_in_week,
    weekly_allocation,
    weekly_capacity,
    weeks_between,
)
from resourcing.services.requests import request_status_refresh

UPDATABLE = ("role", "start_date", "end_date", "hours_per_week", "booking")


def _lock_person(person_id: int) -> Person:
    """Lock the person: two bookings of the same person are checked one after the other."""
    return Person.objects.select_for_update(of=("self",)).get(pk=person_id)


def _validate(assignment: Assignment, person: Person) -> None:
    if assignment.end_date < assignment.start_date:
        raise DomainError("The end date is before the start date.", attr="end_date")
    if not Decimal("0") < assignment.hours_per_week <= Decimal("168"):
        raise DomainError("Hours per week are more than 0 and at most 168.",
                          attr="hours_per_week")
    if person.termination_date is not None and assignment.end_date > person.termination_date:
        raise TerminationError(
            f"{person} leaves on {person.termination_date.isoformat()}; the assignment cannot "
            f"end after that.", attr="end_date")
    if assignment.start_date < person.hire_date:
        raise TerminationError(
            f"{person} starts on {person.hire_date.isoformat()}; the assignment cannot start "
            f"before that.", attr="start_date")
    request = assignment.request
    if request is not None:
        if request.status == ResourceRequest.Status.CANCELLED:
            raise StateConflictError("The request is cancelled.", attr="request")
        if request.project_id is not None and request.project_id != assignment.project_id:
            raise DomainError("The request is for another project.", attr="request")


def overbooked_weeks(*, assignment: Assignment,
                     person: Person) -> list[tuple[date, Decimal, Decimal]]:
    """The weeks `assignment` (hard) overbooks: (week, capacity, hard hours with it counted).

    Only weeks the assignment books hours in are listed. Two queries.
    """
    if assignment.booking != Assignment.Booking.HARD:
        return []
    weeks = weeks_between(assignment.start_date, assignment.end_date)
    capacity = weekly_capacity(people=[person], weeks=weeks)[person.pk]
    others = weekly_allocation(person_ids=[person.pk], start=assignment.start_date,
                               end=assignment.end_date,
                               exclude_ids=[assignment.pk] if assignment.pk else [])[person.pk]
    found = []
    for week in weeks:
        own = hours_in_week(assignment.hours_per_week, week, assignment.start_date,
                            assignment.end_date)
        hard = others[week].hard + own
        if own > 0 and hard > capacity[week]:
            found.append((week, capacity[week], hard))
    return found


def _check_overbooking(assignment: Assignment, person: Person, confirm: bool) -> None:
    weeks = overbooked_weeks(assignment=assignment, person=person)
    if weeks and not confirm:
        raise OverbookingError(weeks)
    assignment.overbooking_confirmed = bool(weeks)


def _payload(assignment: Assignment) -> dict[str, Any]:
    return {"assignment_id": assignment.pk, "person_id": assignment.person_id,
            "project_id": assignment.project_id, "request_id": assignment.request_id,
            "start_date": assignment.start_date.isoformat(),
            "end_date": assignment.end_date.isoformat(),
            "hours_per_week": str(assignment.hours_per_week), "booking": assignment.booking}


@transaction.atomic
def assignment_create(*, actor: User, person: Person, project: Project, role: Role,
                      start_date: date, end_date: date, hours_per_week: Decimal,
                      booking: str, request: ResourceRequest | None = None,
                      confirm_overbooking: bool = False) -> Assignment:
    """Book `person` on `project` and publish `assignment.created`.

    Raises OverbookingError (409, the weeks listed) for an unconfirmed hard overbooking,
    TerminationError beyond the person's employment, DomainError on bad dates or hours.
    """
    person = _lock_person(person.pk)
    if request is not None:
        request = ResourceRequest.objects.select_for_update(of=("self",)).get(pk=request.pk)
    assignment = Assignment(person=person, project=project, role=role, request=request,
                            start_date=start_date, end_date=end_date,
                            hours_per_week=hours_per_week, booking=booking, created_by=actor)
    _validate(assignment, person)
    _check_overbooking(assignment, person, confirm_overbooking)
    save_validated(assignment)
    project_member_ensure(project=project, person=person, role=role)
    if request is not None:
        request_status_refresh(request=request)
    events.publish("assignment.created", aggregate=assignment, payload=_payload(assignment))
    return assignment


@transaction.atomic
def assignment_update(*, actor: User, assignment: Assignment, data: Mapping[str, Any],
                      confirm_overbooking: bool = False,
                      expected_version: str | None = None) -> Assignment:
    """Change dates, hours, booking or role; re-checks employment and overbooking.

    Publishes `assignment.changed` with the changed fields; StaleVersionError on a stale
    `expected_version`.
    """
    person = _lock_person(assignment.person_id)
    assignment = lock_for_change(assignment, expected_version=expected_version)
    changed = apply_changes(assignment, data, allowed=UPDATABLE)
    if not changed:
        return assignment
    _validate(assignment, person)
    _check_overbooking(assignment, person, confirm_overbooking)
    save_validated(assignment, update_fields=[*changed, "overbooking_confirmed"])
    if assignment.request_id is not None:
        request_status_refresh(request=ResourceRequest.objects.select_for_update(
            of=("self",)).get(pk=assignment.request_id))
    events.publish("assignment.changed", aggregate=assignment,
                   payload={**_payload(assignment), "fields": sorted(changed)})
    return assignment


@transaction.atomic
def assignment_end(*, actor: User, assignment: Assignment, end_date: date | None = None,
                   expected_version: str | None = None) -> Assignment | None:
    """End an assignment on `end_date` (default today) and publish `assignment.ended`.

    An assignment that would end before it starts is deleted (returns None); one already
    ending earlier is left as it is.
    """
    assignment = lock_for_change(assignment, expected_version=expected_version)
    end_date = end_date or timezone.localdate()
    request_id = assignment.request_id
    deleted = end_date < assignment.start_date
    if not deleted and end_date < assignment.end_date:
        assignment.end_date = end_date
        save_validated(assignment, update_fields=["end_date"])
    # Published before a delete, so the event still names the row.
    events.publish("assignment.ended", aggregate=assignment,
                   payload={**_payload(assignment), "deleted": deleted})
    if deleted:
        assignment.delete()
    if request_id is not None:
        request_status_refresh(request=ResourceRequest.objects.select_for_update(
            of=("self",)).get(pk=request_id))
    return None if deleted else assignment
