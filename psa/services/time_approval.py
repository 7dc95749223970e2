"""Approving, rejecting and reopening time entries; approval freezes the bill and cost rates.

Import these from `psa.services.time_entries` (the issue #3 contract's module).
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from psa import events
from psa.common.money import quantize
from psa.errors import (
    RateNotFoundError,
    SelfApprovalError,
    TimeEntryStateError,
    TimeEntryValidationError,
)
from psa.models import ProjectMember, TimeEntry
from psa.services.periods import closed_months
from psa.services.rates_resolution import bill_rate_resolve, cost_rate_resolve
from psa.services.time_rules import period_closed_error

FROZEN = ("bill_rate", "bill_currency", "rate_source", "cost_rate", "cost_currency")


def _describe(entry: TimeEntry) -> str:
    return (f"{entry.person.full_name}'s {entry.hours} h on {entry.project.code} on "
            f"{entry.work_date:%Y-%m-%d}")


def _lock(entries: Iterable[TimeEntry]) -> list[TimeEntry]:
    """Lock the entries' rows (in id order, so two approvers never deadlock)."""
    ids = sorted({entry.pk for entry in entries})
    locked = list(TimeEntry.objects.select_for_update(of=("self",))
                  .select_related("person__user", "project__contract__client", "task")
                  .filter(pk__in=ids).order_by("pk"))
    if len(locked) != len(ids):
        raise TimeEntryValidationError("Some of these time entries no longer exist.",
                                       attr="time_entries")
    return locked


def _ensure(entries: Sequence[TimeEntry], *, actor: User, status: str, verb: str) -> None:
    """Each entry must be in `status`, not the actor's own, and in an open period."""
    for entry in entries:
        if entry.status != status:
            raise TimeEntryStateError(
                f"{_describe(entry)} is {entry.get_status_display().lower()}: only "
                f"{status} entries can be {verb}.", attr="status")
        if entry.person.user_id is not None and entry.person.user_id == actor.pk:
            raise SelfApprovalError(f"Nobody approves or rejects their own time: "
                                    f"{_describe(entry)} is yours.", attr="time_entries")
    for entity_id in {entry.project.legal_entity_id for entry in entries}:
        mine = [e for e in entries if e.project.legal_entity_id == entity_id]
        closed = closed_months(legal_entity_id=entity_id, start=min(e.work_date for e in mine),
                               end=max(e.work_date for e in mine))
        for entry in mine:
            if entry.work_date.replace(day=1) in closed:
                raise period_closed_error(entry.work_date)


def _payload(entry: TimeEntry, **extra: Any) -> dict[str, Any]:
    def amount(rate: Any, currency: str) -> str | None:
        return None if rate is None else str(quantize(entry.hours * rate, currency))

    return {"time_entry_id": entry.pk, "person_id": entry.person_id,
            "project_id": entry.project_id, "task_id": entry.task_id,
            "work_date": entry.work_date.isoformat(), "hours": str(entry.hours),
            "is_billable": entry.is_billable,
            "bill_rate": None if entry.bill_rate is None else str(entry.bill_rate),
            "bill_currency": entry.bill_currency,
            "bill_amount": amount(entry.bill_rate, entry.bill_currency),
            "cost_rate": None if entry.cost_rate is None else str(entry.cost_rate),
            "cost_currency": entry.cost_currency,
            "cost_amount": amount(entry.cost_rate, entry.cost_currency),
            **extra}


def _freeze_rates(entry: TimeEntry, role_by_member: dict[tuple[int, int], Any]) -> None:
    """Store the bill rate (billable work on a contract) and the cost rate in force."""
    try:
        if entry.is_billable:
            contract = entry.project.contract
            if contract is None:
                raise RateNotFoundError(f"project {entry.project.code} has no contract to "
                                        f"price billable time.", attr="rate")
            resolved = bill_rate_resolve(
                contract=contract, person=entry.person, work_date=entry.work_date,
                role=role_by_member.get((entry.project_id, entry.person_id)))
            entry.bill_rate, entry.bill_currency = resolved.hourly_rate, resolved.currency
            entry.rate_source = resolved.source
        else:
            entry.bill_rate, entry.bill_currency, entry.rate_source = None, "", ""
        cost = cost_rate_resolve(person=entry.person, work_date=entry.work_date)
    except RateNotFoundError as exc:
        raise RateNotFoundError(f"{_describe(entry)} cannot be approved: {exc.detail}",
                                attr=exc.attr) from exc
    entry.cost_rate, entry.cost_currency = cost.hourly_cost, cost.currency


@transaction.atomic
def time_entries_approve(*, actor: User, entries: Iterable[TimeEntry]) -> list[TimeEntry]:
    """Approve submitted entries, all or nothing, freezing their bill and cost rates.

    Publishes `time_entry.approved` per entry. Raises TimeEntryStateError (not submitted),
    SelfApprovalError (the actor's own entry, administrators included), RateNotFoundError
    naming the entry that has no rate, PeriodClosedError.
    """
    locked = _lock(entries)
    _ensure(locked, actor=actor, status=TimeEntry.Status.SUBMITTED, verb="approved")
    roles = dict(
        ((m.project_id, m.person_id), m.role) for m in ProjectMember.objects.filter(
            project_id__in={e.project_id for e in locked},
            person_id__in={e.person_id for e in locked},
            role__isnull=False).select_related("role"))
    now = timezone.now()
    for entry in locked:
        _freeze_rates(entry, roles)
        entry.status, entry.approved_at, entry.approved_by = TimeEntry.Status.APPROVED, now, actor
        entry.save(update_fields=[*FROZEN, "status", "approved_at", "approved_by",
                                  "updated_at"])
        events.publish("time_entry.approved", aggregate=entry, payload=_payload(
            entry, approved_by_id=actor.pk))
    return locked


@transaction.atomic
def time_entries_reject(*, actor: User, entries: Iterable[TimeEntry],
                        reason: str) -> list[TimeEntry]:
    """Send submitted entries back to their person with a reason; `time_entry.rejected` each.

    Raises TimeEntryValidationError without a reason, TimeEntryStateError (not submitted),
    SelfApprovalError (the actor's own entry).
    """
    reason = (reason or "").strip()
    if not reason:
        raise TimeEntryValidationError("Say why the time is rejected.", attr="reason")
    locked = _lock(entries)
    _ensure(locked, actor=actor, status=TimeEntry.Status.SUBMITTED, verb="rejected")
    now = timezone.now()
    for entry in locked:
        entry.status, entry.rejected_at, entry.rejected_by = TimeEntry.Status.REJECTED, now, actor
        entry.rejection_reason = reason
        entry.save(update_fields=["status", "rejected_at", "rejected_by", "rejection_reason",
                                  "updated_at"])
        events.publish("time_entry.rejected", aggregate=entry, payload=_payload(
            entry, reason=reason, rejected_by_id=actor.pk))
    return locked


@transaction.atomic
def time_entry_reopen(*, actor: User, entry: TimeEntry, reason: str) -> TimeEntry:
    """Finance: reopen an approved entry as a draft, clearing its frozen rates and approval.

    The audit trail records the change; the reason travels in `time_entry.reopened`.
    Raises TimeEntryValidationError without a reason, TimeEntryStateError unless approved,
    PeriodClosedError in a closed period.
    """
    reason = (reason or "").strip()
    if not reason:
        raise TimeEntryValidationError("Say why the entry is reopened.", attr="reason")
    (entry,) = _lock([entry])
    if entry.status != TimeEntry.Status.APPROVED:
        raise TimeEntryStateError(
            f"{_describe(entry)} is {entry.get_status_display().lower()}: only approved "
            f"entries can be reopened.", attr="status")
    if closed_months(legal_entity_id=entry.project.legal_entity_id, start=entry.work_date,
                     end=entry.work_date):
        raise period_closed_error(entry.work_date)
    before = _payload(entry)
    entry.status = TimeEntry.Status.DRAFT
    entry.bill_rate, entry.bill_currency, entry.rate_source = None, "", ""
    entry.cost_rate, entry.cost_currency = None, ""
    entry.approved_at = entry.approved_by = entry.submitted_at = None
    entry.save(update_fields=[*FROZEN, "status", "approved_at", "approved_by", "submitted_at",
                              "updated_at"])
    events.publish("time_entry.reopened", aggregate=entry, payload={
        **before, "reason": reason, "reopened_by_id": actor.pk})
    return entry
