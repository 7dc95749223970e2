"""Resourcing's domain errors (rendered in the API's one error shape by psa's handler)."""

from datetime import date
from decimal import Decimal

from rest_framework import status

from psa.common.errors import DomainError, StateConflictError


class OverbookingError(StateConflictError):
    """A hard booking would put the person's hard allocation above capacity in some weeks.

    `weeks` lists (week_start, capacity, hard_allocated) with the new booking counted; the
    booker may confirm (`confirm_overbooking=True`) and book anyway, never silently.
    """

    code = "overbooked"

    def __init__(self, weeks: list[tuple[date, Decimal, Decimal]]) -> None:
        self.weeks = weeks
        listed = "; ".join(f"week of {week.isoformat()}: {hard} h booked hard against "
                           f"{capacity} h capacity" for week, capacity, hard in weeks)
        super().__init__(f"This booking overbooks the person in {len(weeks)} "
                         f"week{'s' if len(weeks) != 1 else ''} ({listed}). Confirm the "
                         f"overbooking to book anyway.", attr="confirm_overbooking")


class TerminationError(DomainError):
    """An assignment reaches beyond the person's employment (after termination or before hire)."""

    code = "beyond_employment"


class NotAllowedError(DomainError):
    """The actor may not do this to this row (e.g. confirm their own skill)."""

    code = "permission_denied"
    http_status = status.HTTP_403_FORBIDDEN
