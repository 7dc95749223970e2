"""The delivery core's domain errors (STYLE.md §14): each carries a sentence for a person."""

from rest_framework import status

from psa.common.errors import (
    DomainError,
    PeriodClosedError,
    RateNotFoundError,
    StaleVersionError,
    StateConflictError,
)

__all__ = [
    "ApprovalItemNotFoundError",
    "DomainError",
    "ExpenseStateError",
    "ExpenseValidationError",
    "PeriodClosedError",
    "RateNotFoundError",
    "ReceiptError",
    "SelfApprovalError",
    "StaleVersionError",
    "StateConflictError",
    "TimeEntryStateError",
    "TimeEntryValidationError",
]


class TimeEntryValidationError(DomainError):
    """A time entry breaks a rule of DOMAIN.md (hours, dates, task, project, notes)."""

    code = "invalid_time_entry"


class TimeEntryStateError(StateConflictError):
    """The entry's status does not allow the change (e.g. editing a submitted entry)."""

    code = "time_entry_state"


class ExpenseValidationError(DomainError):
    """An expense breaks a rule (amount, category, policy, dates)."""

    code = "invalid_expense"


class ExpenseStateError(StateConflictError):
    """The expense's status does not allow the change."""

    code = "expense_state"


class ReceiptError(DomainError):
    """A receipt upload is missing, too large or not a PDF, JPEG or PNG by its content."""

    code = "invalid_receipt"


class SelfApprovalError(DomainError):
    """Nobody approves their own time or expenses."""

    code = "self_approval"
    http_status = status.HTTP_403_FORBIDDEN


class ApprovalItemNotFoundError(DomainError):
    """Ids given for approval that are not waiting in the approver's scope (404, nothing done)."""

    code = "not_found"
    http_status = status.HTTP_404_NOT_FOUND
