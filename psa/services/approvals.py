"""Bulk approval and rejection of time and expenses, in one transaction (all or nothing).

Thin orchestration (STYLE.md §4): the ids are resolved within the approver's scope, then the
time-entry and expense services do the transitions, rate freezing and events. Any refusal
(an id outside the scope, the approver's own item, a missing rate, a closed period, a wrong
state) rolls back everything, so a mixed selection is never half approved.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Model

from psa.errors import ApprovalItemNotFoundError, DomainError, SelfApprovalError
from psa.models import Expense, TimeEntry
from psa.rules import visible
from psa.services.expenses import expenses_approve, expenses_reject
from psa.services.time_entries import time_entries_approve, time_entries_reject

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class ApprovalOutcome:
    """What one bulk action changed."""

    time_entries: list[TimeEntry]
    expenses: list[Expense]

    @property
    def count(self) -> int:
        return len(self.time_entries) + len(self.expenses)


class NothingSelectedError(DomainError):
    """A bulk action without any item."""

    code = "nothing_selected"


class ReasonRequiredError(DomainError):
    """A rejection without a reason."""

    code = "reason_required"


def _resolve(model: type[M], ids: Sequence[int], *, actor: User, perm: str,
             attr: str, noun: str) -> list[M]:
    """The rows for `ids` within the approver's scope (plus their own, refused later).

    Raises ApprovalItemNotFoundError naming every id that is unknown or outside the scope.
    """
    wanted = list(dict.fromkeys(int(pk) for pk in ids))
    if not wanted:
        return []
    rows = model.objects.filter(pk__in=wanted)
    in_scope = visible(rows, actor, perm) | rows.filter(person__user=actor)
    found = {row.pk: row for row in in_scope.select_related("person")}
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        listed = ", ".join(f"#{pk}" for pk in missing)
        raise ApprovalItemNotFoundError(
            f"No {noun} {listed} waits for your approval (unknown, or not on a project you "
            f"approve); nothing was changed.", attr=attr)
    for row in found.values():
        if row.person.user_id is not None and row.person.user_id == actor.pk:
            raise SelfApprovalError(
                f"{noun.capitalize()} #{row.pk} is your own; another approver must review it. "
                f"Nothing was changed.", attr=attr)
    return [found[pk] for pk in wanted]


def _selection(*, actor: User, time_entry_ids: Sequence[int],
               expense_ids: Sequence[int]) -> tuple[list[TimeEntry], list[Expense]]:
    if not time_entry_ids and not expense_ids:
        raise NothingSelectedError("Select at least one time entry or expense.", attr=None)
    entries = _resolve(TimeEntry, time_entry_ids, actor=actor, perm="psa.approve_timeentry",
                       attr="time_entries", noun="time entry")
    expenses = _resolve(Expense, expense_ids, actor=actor, perm="psa.approve_expense",
                        attr="expenses", noun="expense")
    return entries, expenses


@transaction.atomic
def approvals_approve(*, actor: User, time_entry_ids: Sequence[int],
                      expense_ids: Sequence[int]) -> ApprovalOutcome:
    """Approve the selected time entries and expenses together, or none of them.

    Raises ApprovalItemNotFoundError (404) for ids outside the approver's scope,
    SelfApprovalError (403) for the approver's own items, and whatever the time-entry and
    expense services raise (RateNotFoundError, PeriodClosedError, state errors).
    """
    entries, expenses = _selection(actor=actor, time_entry_ids=time_entry_ids,
                                   expense_ids=expense_ids)
    approved_entries = time_entries_approve(actor=actor, entries=entries) if entries else []
    approved_expenses = expenses_approve(actor=actor, expenses=expenses) if expenses else []
    return ApprovalOutcome(list(approved_entries), list(approved_expenses))


@transaction.atomic
def approvals_reject(*, actor: User, time_entry_ids: Sequence[int],
                     expense_ids: Sequence[int], reason: str) -> ApprovalOutcome:
    """Send the selected time entries and expenses back with one reason, or none of them.

    Raises ReasonRequiredError without a reason, then as `approvals_approve`.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequiredError("Give the reason for the rejection; the person sees it.",
                                  attr="reason")
    entries, expenses = _selection(actor=actor, time_entry_ids=time_entry_ids,
                                   expense_ids=expense_ids)
    rejected_entries = (time_entries_reject(actor=actor, entries=entries, reason=reason)
                        if entries else [])
    rejected_expenses = (expenses_reject(actor=actor, expenses=expenses, reason=reason)
                         if expenses else [])
    return ApprovalOutcome(list(rejected_entries), list(rejected_expenses))
