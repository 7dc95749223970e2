"""Period locks: nothing may be created, changed or deleted dated in a closed month; and the
only writes to a period, closing and reopening it (audited, with their events)."""

from copy import copy
from datetime import date

from auditlog.context import disable_auditlog
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from psa import events
from psa.common.errors import DomainError, PeriodClosedError, StateConflictError
from psa.models import LegalEntity, Period


def period_ensure_open(*, legal_entity_id: int, on: date) -> None:
    """Raise PeriodClosedError when the month of `on` is closed for the legal entity.

    A month with no Period row is open: periods are created as the calendar reaches them.
    """
    month = on.replace(day=1)
    if Period.objects.filter(legal_entity_id=legal_entity_id, month=month,
                             status=Period.Status.CLOSED).exists():
        raise PeriodClosedError(
            f"{on:%B %Y} is closed for this legal entity: nothing dated in it can be created, "
            f"changed or deleted. Ask finance to reopen the period if a correction is needed.",
            attr="date")


def period_lock_open(*, legal_entity_id: int, on: date, attr: str = "date") -> Period:
    """Lock the month of `on` (its Period row, created open if missing) for the rest of the
    transaction and raise PeriodClosedError when it is closed: a write that must not land in a
    month being closed holds this lock, and `period_close` waits for it (or it for the close)."""
    period = _period_locked(legal_entity_id=legal_entity_id, month=on.replace(day=1))
    if period.status == Period.Status.CLOSED:
        raise PeriodClosedError(
            f"{on:%B %Y} is closed for this legal entity: nothing dated in it can be created, "
            f"changed or deleted. Ask finance to reopen the period if a correction is needed.",
            attr=attr)
    return period


def closed_months(*, legal_entity_id: int, start: date, end: date) -> set[date]:
    """The first days of the closed months between `start` and `end` (one query)."""
    return set(Period.objects.filter(
        legal_entity_id=legal_entity_id, status=Period.Status.CLOSED,
        month__gte=start.replace(day=1), month__lte=end).values_list("month", flat=True))


# --- Closing and reopening (issue #6: the month-end close) ------------------------------------

PERIOD_AUDITED_FIELDS = ("status", "closed_at", "closed_by")


def _period_locked(*, legal_entity_id: int, month: date) -> Period:
    """The legal entity's Period row for `month`, created open if the calendar has not yet,
    re-read under a row lock."""
    period, _ = Period.objects.get_or_create(legal_entity_id=legal_entity_id, month=month)
    return Period.objects.select_for_update(of=("self",)).get(pk=period.pk)


def _period_save_audited(period: Period, *, before: Period, actor: User,
                         reason: str = "") -> None:
    """Save the period's status change and write its one audit entry by `actor` (with the
    reason, when there is one): the request's middleware is not there in a task or a test,
    so the actor is set here rather than left to the audit library's signal."""
    with disable_auditlog():
        period.save(update_fields=[*PERIOD_AUDITED_FIELDS, "updated_at"])
    changes = model_instance_diff(before, period, fields_to_check=PERIOD_AUDITED_FIELDS,
                                  use_json_for_changes=settings.AUDITLOG_STORE_JSON_CHANGES)
    LogEntry.objects.log_create(
        period, action=LogEntry.Action.UPDATE, changes=changes or {}, force_log=True,
        actor=actor, actor_email=actor.email or None,
        additional_data={"reason": reason} if reason else None)


def _period_payload(period: Period, **extra: object) -> dict[str, object]:
    return {"period_id": period.pk, "legal_entity_id": period.legal_entity_id,
            "month": period.month.isoformat(), **extra}


@transaction.atomic
def period_close(*, legal_entity: LegalEntity, month: date, actor: User) -> Period:
    """Close the legal entity's month: from now on nothing dated in it can be created,
    changed or deleted. Audited (who and when), publishes `period.closed`.

    The caller decides whether the month may be closed (revenue's month-end checklist);
    this service owns the write. Raises StateConflictError when it is closed already.
    """
    period = _period_locked(legal_entity_id=legal_entity.pk, month=month.replace(day=1))
    if not period.can_transition_to(Period.Status.CLOSED):
        raise StateConflictError(f"{period.month:%B %Y} is already closed for "
                                 f"{legal_entity.code}.", attr="month")
    before = copy(period)
    period.status = Period.Status.CLOSED
    period.closed_at, period.closed_by = timezone.now(), actor
    _period_save_audited(period, before=before, actor=actor)
    events.publish("period.closed", aggregate=period, payload=_period_payload(
        period, closed_by=actor.pk, closed_at=period.closed_at.isoformat()))
    return period


@transaction.atomic
def period_reopen(*, period: Period, actor: User, reason: str) -> Period:
    """Reopen a closed month (a privileged move: callers check `psa.reopen_period`). The
    audit trail keeps who reopened it, when and why; publishes `period.reopened`.

    Raises DomainError without a reason, StateConflictError unless the month is closed.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the period is reopened: the reason is kept in the audit "
                          "trail.", code="reason_required", attr="reason")
    period = Period.objects.select_for_update(of=("self",)).select_related(
        "legal_entity").get(pk=period.pk)
    if not period.can_transition_to(Period.Status.OPEN):
        raise StateConflictError(f"{period.month:%B %Y} is not closed for "
                                 f"{period.legal_entity.code}, so it cannot be reopened.",
                                 attr="status")
    before = copy(period)
    period.status = Period.Status.OPEN
    period.closed_at, period.closed_by = None, None
    _period_save_audited(period, before=before, actor=actor, reason=reason)
    events.publish("period.reopened", aggregate=period, payload=_period_payload(
        period, reopened_by=actor.pk, reason=reason))
    return period
