"""The month-end close (issue #6, DOMAIN.md: Periods): a legal entity's month closes only when
nothing on its checklist blocks (time and expenses approved, invoices issued, recognition
current, journals balanced); then psa's `period_close` locks it against every change dated in
it and publishes `period.closed`. Reopening is psa's `period_reopen`: privileged (callers
check `psa.reopen_period`), with a reason, audited.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from psa.common.errors import DomainError, StateConflictError
from psa.models import LegalEntity, Period
from psa.services.periods import period_close, period_reopen
from revenue.errors import MonthCloseBlockedError
from revenue.selectors.close import close_checklist

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def month_close(*, legal_entity: LegalEntity, month: date, actor: User) -> Period:
    """Close `legal_entity`'s `month` once its checklist is clear; returns the closed period.

    Raises MonthCloseBlockedError (409) naming every blocking item, DomainError for a month
    that has not started, StateConflictError when the month is closed already.
    """
    month = month.replace(day=1)
    if month > timezone.localdate().replace(day=1):
        raise DomainError(f"{month:%B %Y} has not started yet, so it cannot be closed.",
                          code="future_period", attr="month")
    checklist = close_checklist(legal_entity=legal_entity, month=month)
    if checklist.is_closed:
        raise StateConflictError(f"{month:%B %Y} is already closed for {legal_entity.code}.",
                                 attr="month")
    if checklist.blocking:
        reasons = " ".join(item.sentence for item in checklist.blocking)
        raise MonthCloseBlockedError(
            f"{month:%B %Y} cannot be closed for {legal_entity.code} yet. {reasons}",
            blocking=checklist.blocking)
    return period_close(legal_entity=legal_entity, month=month, actor=actor)


def month_reopen(*, period: Period, actor: User, reason: str) -> Period:
    """Reopen a closed month with a reason (psa's audited `period_reopen`); callers check
    `psa.reopen_period`. Raises DomainError without a reason, StateConflictError unless the
    month is closed."""
    return period_reopen(period=period, actor=actor, reason=reason)
