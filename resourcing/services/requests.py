"""Writes on resource requests: the demand for a role on a project or a pipeline deal.

A request names a project, or a deal (`deal_name`, optionally the CRM's `deal_ref`) when no
project exists yet; a deal's request is tentative and weighted by its probability. Its status
follows the hours booked against it (`request_status_refresh`), or it is cancelled.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from psa import events
from psa.common.errors import DomainError, StateConflictError
from psa.services.common import apply_changes, lock_for_change, pick, save_validated
from resourcing.models import Assignment, RequestSkill, ResourceRequest
from resourcing.selectors.capacity import hours_in_week, weeks_between

REQUEST_FIELDS = ("project", "deal_name", "deal_ref", "is_tentative", "probability", "role",
                  "hours_per_week", "start_date", "end_date", "country", "remote_ok",
                  "priority", "bill_rate", "currency", "notes")
HUNDRED = Decimal("100")


def _validate(request: ResourceRequest) -> None:
    """The rules of a request, each a sentence naming its field."""
    if request.project_id is None and not request.deal_name.strip():
        raise DomainError("A request is for a project or for a pipeline deal: give one.",
                          attr="project")
    if request.project_id is None:
        request.is_tentative = True  # a deal without a project is pipeline demand
    if request.end_date < request.start_date:
        raise DomainError("The end date is before the start date.", attr="end_date")
    if not Decimal("0") < request.hours_per_week <= Decimal("168"):
        raise DomainError("Hours per week are more than 0 and at most 168.",
                          attr="hours_per_week")
    if not Decimal("0") <= request.probability <= HUNDRED:
        raise DomainError("The probability is a percentage from 0 to 100.", attr="probability")
    if not request.is_tentative and request.probability != HUNDRED:
        raise DomainError("Only a tentative (pipeline) request has a probability below 100.",
                          attr="probability")
    if request.bill_rate is not None and not request.currency:
        if request.project_id is None:
            raise DomainError("Give the bill rate's currency.", attr="currency")
        request.currency = request.project.currency
    if request.project_id is not None and request.project.end_date \
            and request.start_date > request.project.end_date:
        raise DomainError("The request starts after the project ends.", attr="start_date")


def _skills_set(request: ResourceRequest, skills: Sequence[Mapping[str, Any]]) -> None:
    """Replace the request's required skills with `skills` ({skill, min_level, …})."""
    seen = set()
    rows = []
    for item in skills:
        skill = item["skill"]
        level = int(item.get("min_level", 1))
        if skill.pk in seen:
            raise DomainError(f"{skill.name} is listed twice.", attr="skills")
        if not 1 <= level <= 5:
            raise DomainError(f"The minimum level of {skill.name} is from 1 to 5.",
                              attr="skills")
        if not skill.is_active:
            raise DomainError(f"{skill.name} is no longer in use.", attr="skills")
        seen.add(skill.pk)
        rows.append(RequestSkill(request=request, skill=skill, min_level=level,
                                 requires_certification=bool(
                                     item.get("requires_certification", False))))
    RequestSkill.objects.filter(request=request).delete()
    RequestSkill.objects.bulk_create(rows)


@transaction.atomic
def request_create(*, actor: User, data: Mapping[str, Any],
                   skills: Sequence[Mapping[str, Any]] = ()) -> ResourceRequest:
    """Open a request with its required skills and publish `resource_request.created`.

    Raises DomainError naming the field that breaks a rule.
    """
    request = ResourceRequest(**pick(data, REQUEST_FIELDS), requested_by=actor)
    _validate(request)
    save_validated(request)
    _skills_set(request, skills)
    events.publish("resource_request.created", aggregate=request,
                   payload={"request_id": request.pk, "project_id": request.project_id,
                            "deal_ref": request.deal_ref, "is_tentative": request.is_tentative})
    return request


@transaction.atomic
def request_update(*, actor: User, request: ResourceRequest, data: Mapping[str, Any],
                   skills: Sequence[Mapping[str, Any]] | None = None,
                   expected_version: str | None = None) -> ResourceRequest:
    """Change a request (and replace its skills when given); its status follows bookings.

    A cancelled request cannot be changed (StateConflictError); StaleVersionError on a stale
    `expected_version`.
    """
    request = lock_for_change(request, expected_version=expected_version)
    if request.status == ResourceRequest.Status.CANCELLED:
        raise StateConflictError("A cancelled request cannot be changed.", attr="status")
    changed = apply_changes(request, data, allowed=REQUEST_FIELDS)
    _validate(request)
    if changed:
        save_validated(request, update_fields=[*changed, "is_tentative", "currency"])
    if skills is not None:
        _skills_set(request, skills)
    request_status_refresh(request=request)
    if changed or skills is not None:
        events.publish("resource_request.changed", aggregate=request,
                       payload={"request_id": request.pk,
                                "fields": sorted({*changed, *(["skills"] if skills else [])})})
    return request


@transaction.atomic
def request_cancel(*, actor: User, request: ResourceRequest,
                   expected_version: str | None = None) -> ResourceRequest:
    """Cancel a request (a lost deal, a change of plan); its assignments stay as they are."""
    request = lock_for_change(request, expected_version=expected_version)
    if not request.can_transition_to(ResourceRequest.Status.CANCELLED):
        raise StateConflictError("This request is already cancelled.", attr="status")
    request.status = ResourceRequest.Status.CANCELLED
    save_validated(request, update_fields=["status"])
    events.publish("resource_request.cancelled", aggregate=request,
                   payload={"request_id": request.pk})
    return request


def _request_hours(hours_per_week: Decimal, start: Any, end: Any, *, within: tuple) -> Decimal:
    lo, hi = within
    first, last = max(start, lo), min(end, hi)
    if last < first:
        return Decimal("0")
    return sum((hours_in_week(hours_per_week, week, first, last)
                for week in weeks_between(first, last)), Decimal("0"))


def request_status_refresh(*, request: ResourceRequest) -> ResourceRequest:
    """Set a live request's status from its booked hours within its dates.

    Open with nothing booked, filled when the assignments linked to it cover the requested
    hours (hours per week over its weekdays), partially filled in between. A cancelled request
    keeps its status. The caller holds the transaction.
    """
    if request.status == ResourceRequest.Status.CANCELLED:
        return request
    window = (request.start_date, request.end_date)
    needed = _request_hours(request.hours_per_week, *window, within=window)
    booked = sum((_request_hours(per_week, start, end, within=window)
                  for start, end, per_week in Assignment.objects.filter(request=request)
                  .values_list("start_date", "end_date", "hours_per_week")), Decimal("0"))
    if booked <= 0:
        status = ResourceRequest.Status.OPEN
    elif booked >= needed:
        status = ResourceRequest.Status.FILLED
    else:
        status = ResourceRequest.Status.PARTIALLY_FILLED
    if status != request.status:
        request.status = status
        request.save(update_fields=["status", "updated_at"])
    return request


__all__ = ["request_cancel", "request_create", "request_status_refresh", "request_update"]
