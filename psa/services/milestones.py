"""Writes on milestones: plan, change, complete and accept (Milestone.TRANSITIONS)."""

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from psa import events
from psa.common.errors import DomainError, StateConflictError
from psa.models import Milestone
from psa.services.common import apply_changes, lock_for_change, pick, save_validated

MILESTONE_FIELDS = ("project", "name", "due_date", "amount", "currency", "requires_acceptance")


def _payload(milestone: Milestone) -> dict[str, Any]:
    return {"milestone_id": milestone.pk, "project_id": milestone.project_id,
            "amount": str(milestone.amount), "currency": milestone.currency}


@transaction.atomic
def milestone_create(*, actor: User, data: Mapping[str, Any]) -> Milestone:
    """Plan a milestone; its currency is the project's (defaulted, and checked)."""
    values = pick(data, MILESTONE_FIELDS)
    project = values["project"]
    values.setdefault("currency", project.currency)
    if values["currency"] != project.currency:
        raise DomainError("A milestone is in its project's currency.", attr="currency")
    milestone = Milestone(**values)
    save_validated(milestone)
    return milestone


@transaction.atomic
def milestone_update(*, milestone: Milestone, actor: User, data: Mapping[str, Any],
                     expected_version: str | None = None) -> Milestone:
    """Change a milestone that is not invoiced yet.

    Raises StateConflictError once invoiced, StaleVersionError on a stale `expected_version`.
    """
    milestone = lock_for_change(milestone, expected_version=expected_version)
    if milestone.status == Milestone.Status.INVOICED:
        raise StateConflictError("An invoiced milestone cannot be changed.")
    changed = apply_changes(milestone, data,
                            allowed=tuple(f for f in MILESTONE_FIELDS if f != "project"))
    if milestone.currency != milestone.project.currency:
        raise DomainError("A milestone is in its project's currency.", attr="currency")
    if changed:
        save_validated(milestone, update_fields=changed)
    return milestone


@transaction.atomic
def milestone_complete(*, milestone: Milestone, actor: User) -> Milestone:
    """Mark a planned milestone completed and publish `milestone.completed`.

    Raises StateConflictError unless the milestone is planned.
    """
    milestone = lock_for_change(milestone)
    if not milestone.can_transition_to(Milestone.Status.COMPLETED):
        raise StateConflictError(f"A {milestone.status} milestone cannot be completed.",
                                 attr="status")
    milestone.status = Milestone.Status.COMPLETED
    milestone.completed_at, milestone.completed_by = timezone.now(), actor
    milestone.save(update_fields=["status", "completed_at", "completed_by", "updated_at"])
    events.publish("milestone.completed", aggregate=milestone, payload=_payload(milestone))
    return milestone


@transaction.atomic
def milestone_accept(*, milestone: Milestone, actor: User) -> Milestone:
    """Record the client's acceptance of a completed milestone; publishes `milestone.accepted`.

    Raises StateConflictError unless it is completed and requires acceptance.
    """
    milestone = lock_for_change(milestone)
    if not milestone.requires_acceptance:
        raise StateConflictError("This milestone does not require acceptance.", attr="status")
    if milestone.status != Milestone.Status.COMPLETED \
            or not milestone.can_transition_to(Milestone.Status.ACCEPTED):
        raise StateConflictError(f"A {milestone.status} milestone cannot be accepted; "
                                 "complete it first.", attr="status")
    milestone.status = Milestone.Status.ACCEPTED
    milestone.accepted_at, milestone.accepted_by = timezone.now(), actor
    milestone.save(update_fields=["status", "accepted_at", "accepted_by", "updated_at"])
    events.publish("milestone.accepted", aggregate=milestone, payload=_payload(milestone))
    return milestone
