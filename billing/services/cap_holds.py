"""Amounts held over a cap: finance writes them off (DOMAIN.md: "finance writes the excess
off or a change order lifts the cap"; a lifted cap bills them on the next run)."""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billing.errors import BillingTermsError
from billing.models import CapHold
from psa.common.errors import StateConflictError
from psa.services.common import lock_for_change


@transaction.atomic
def cap_hold_write_off(*, hold: CapHold, actor: User, reason: str) -> CapHold:
    """Write a held amount off for good (it will never be billed); a reason is required."""
    hold = lock_for_change(hold)
    if not hold.can_transition_to(CapHold.Status.WRITTEN_OFF):
        raise StateConflictError(f"A {hold.get_status_display().lower()} amount cannot be "
                                 "written off.", attr="status")
    if not reason.strip():
        raise BillingTermsError("Say why the held amount is written off.", attr="reason")
    hold.status = CapHold.Status.WRITTEN_OFF
    hold.resolved_at, hold.resolved_by, hold.reason = timezone.now(), actor, reason.strip()
    hold.save(update_fields=["status", "resolved_at", "resolved_by", "reason", "updated_at"])
    return hold
