"""Revenue's domain errors (rendered in the API's one error shape by psa's handler)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psa.common.errors import DomainError, StateConflictError

if TYPE_CHECKING:
    from revenue.selectors.close import ChecklistItem


class UnbalancedJournalError(DomainError):
    """Debits and credits of a journal entry differ (never posted)."""

    code = "unbalanced_journal"


class MonthCloseBlockedError(StateConflictError):
    """The month's checklist still has blocking items; `blocking` lists them."""

    code = "close_blocked"

    def __init__(self, detail: str, *, blocking: list[ChecklistItem]) -> None:
        super().__init__(detail, attr="month")
        self.blocking = blocking
