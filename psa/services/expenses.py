"""Expenses: create, change, delete, and the workflow draft → submitted → approved | rejected.

The rules (DOMAIN.md "Time and expenses", issue #3):

- an expense is booked by a person on the team (or the manager) of a project that is not
  closed, on a date within their employment and in an open period;
- the amount is positive, in the currency paid, with the exchange rate used (project currency
  per unit paid; 1 when the currency is the project's); the project-currency amount is
  `money.quantize(amount * rate)`;
- mileage is distance * the legal entity's mileage rate and per diem is days * its daily rate,
  both in the project currency (the amount is computed, never typed);
- a billable expense needs a billable contract: internal projects and contracts whose expenses
  are not billable force the flag off;
- above the category's `limit_amount` the expense is over policy and needs a justification;
  above `receipt_required_above` it needs a receipt before it can be submitted.

The policy that applies is the project's legal entity's `ExpensePolicy` for the category; its
amounts are read in the project currency.
"""

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any, Final

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from psa import events
from psa.common.errors import PeriodClosedError
from psa.common.money import MINOR_UNITS, quantize
from psa.errors import (
    ExpenseStateError,
    ExpenseValidationError,
    ReceiptError,
    SelfApprovalError,
)
from psa.models import Expense, ExpenseCategory, ExpensePolicy, Person, Project, ProjectMember
from psa.services.common import lock_for_change, pick, save_validated
from psa.services.periods import period_ensure_open
from psa.services.receipts import (
    receipt_delete_on_commit,
    receipt_sniff,
    receipt_store,
    receipts_discarded_on_error,
)

__all__ = [
    "expense_create",
    "expense_delete",
    "expense_reopen",
    "expense_update",
    "expenses_approve",
    "expenses_reject",
    "expenses_submit",
    "receipt_sniff",
]

ONE: Final = Decimal("1")
UNIT_CATEGORIES: Final = {
    ExpenseCategory.MILEAGE: "distance",
    ExpenseCategory.PER_DIEM: "days",
}
CREATE_FIELDS: Final = ("expense_date", "category", "merchant", "notes", "amount", "currency",
                        "exchange_rate", "quantity", "is_billable", "justification")
UPDATE_FIELDS: Final = (*CREATE_FIELDS, "project", "receipt_remove")
Status = Expense.Status


# --- Checks -------------------------------------------------------------------------------

def _ensure_open(project: Project, on: Any) -> None:
    try:
        period_ensure_open(legal_entity_id=project.legal_entity_id, on=on)
    except PeriodClosedError as exc:
        exc.attr = "expense_date"
        raise


def _ensure_bookable(person: Person, project: Project, expense_date: Any) -> None:
    """The person may book on the project (team or manager), on a day they are employed."""
    if project.status == Project.Status.CLOSED:
        raise ExpenseValidationError(
            f"{project.code} is closed and accepts no expenses.", attr="project")
    on_team = project.manager_id == person.pk or ProjectMember.objects.filter(
        project_id=project.pk, person_id=person.pk).exists()
    if not on_team:
        raise ExpenseValidationError(
            f"{person.full_name} is not on the team of {project.code}; ask its manager to add "
            f"them before booking expenses on it.", attr="project")
    if expense_date is None:
        raise ExpenseValidationError("Enter the date of the expense.", attr="expense_date")
    if not person.is_employed_on(expense_date):
        raise ExpenseValidationError(
            f"{expense_date:%d %b %Y} is outside {person.full_name}'s employment.",
            attr="expense_date")


def expense_policy_for(*, project: Project, category: str) -> ExpensePolicy | None:
    """The project's legal entity's policy for the category (None: no rule, no limit)."""
    return ExpensePolicy.objects.filter(legal_entity_id=project.legal_entity_id,
                                        category=category).first()


def _category_label(category: str) -> str:
    return ExpenseCategory(category).label.lower() if category in ExpenseCategory.values \
        else category


def _compute_amounts(expense: Expense, *, policy: ExpensePolicy | None,
                     given: Mapping[str, Any]) -> None:
    """Set amount (mileage, per diem), exchange rate and the project-currency amount."""
    project = expense.project
    if expense.category not in ExpenseCategory.values:
        raise ExpenseValidationError("Choose one of the expense categories.", attr="category")
    unit = UNIT_CATEGORIES.get(expense.category)
    if unit is not None:
        label = _category_label(expense.category)
        if expense.quantity is None or expense.quantity <= 0:
            raise ExpenseValidationError(
                f"Enter the {unit} ({'distance travelled' if unit == 'distance' else 'days'}) "
                f"as a number above zero.", attr="quantity")
        if policy is None or policy.unit_rate is None:
            raise ExpenseValidationError(
                f"No {label} rate is set for this project's legal entity; ask finance to set "
                f"one in the expense policy.", attr="category")
        if "currency" in given and given["currency"] and given["currency"] != project.currency:
            raise ExpenseValidationError(
                f"A {label} expense is paid in the project currency ({project.currency}).",
                attr="currency")
        expense.currency = project.currency
        expense.exchange_rate = ONE
        expense.unit_rate = policy.unit_rate
        expense.amount = quantize(expense.quantity * policy.unit_rate, project.currency)
        if expense.amount <= 0:
            raise ExpenseValidationError(f"The {label} amount comes to zero.", attr="quantity")
    else:
        expense.quantity = None
        expense.unit_rate = None
        if not expense.currency:
            expense.currency = project.currency
        if expense.amount is None:
            raise ExpenseValidationError("Enter the amount paid.", attr="amount")
        if expense.amount <= 0:
            raise ExpenseValidationError("The amount must be above zero.", attr="amount")
        places = MINOR_UNITS.get(expense.currency, 2)
        if quantize(expense.amount, expense.currency) != expense.amount:
            raise ExpenseValidationError(
                f"{expense.currency} amounts have {places} decimal places at most.",
                attr="amount")
        if expense.currency == project.currency:
            expense.exchange_rate = ONE
        else:
            currency_changed = "currency" in given and "exchange_rate" not in given
            rate = expense.exchange_rate
            if rate is None or rate <= 0 or (currency_changed and rate == ONE):
                raise ExpenseValidationError(
                    f"Enter the exchange rate used: {project.currency} per 1 {expense.currency} "
                    f"(above zero).", attr="exchange_rate")
    expense.project_currency = project.currency
    expense.project_amount = quantize(expense.amount * expense.exchange_rate, project.currency)


def _apply_billable(expense: Expense) -> None:
    project = expense.project
    if project.is_internal or (project.contract_id and not project.contract.expenses_billable):
        expense.is_billable = False


def _check_policy_limit(expense: Expense, policy: ExpensePolicy | None) -> None:
    """Flag an amount above the category's limit; refuse it without a justification."""
    limit = policy.limit_amount if policy is not None else None
    expense.is_over_policy = limit is not None and expense.project_amount > limit
    expense.justification = (expense.justification or "").strip()
    if expense.is_over_policy and not expense.justification:
        raise ExpenseValidationError(
            f"{expense.project_amount} {expense.project_currency} is above the "
            f"{_category_label(expense.category)} limit of {limit} {expense.project_currency}; "
            f"explain why in the justification.", attr="justification")


def _check_receipt_present(expense: Expense, policy: ExpensePolicy | None) -> None:
    if policy is None or expense.receipt:
        return
    if expense.project_amount > policy.receipt_required_above:
        threshold = policy.receipt_required_above
        raise ReceiptError(
            f"A receipt is required for {_category_label(expense.category)} expenses above "
            f"{threshold} {expense.project_currency}; attach it before submitting.",
            attr="receipt")


def _validate(expense: Expense, *, given: Mapping[str, Any]) -> ExpensePolicy | None:
    _ensure_bookable(expense.person, expense.project, expense.expense_date)
    policy = expense_policy_for(project=expense.project, category=expense.category) \
        if expense.category in ExpenseCategory.values else None
    _compute_amounts(expense, policy=policy, given=given)
    _apply_billable(expense)
    expense.merchant = (expense.merchant or "").strip()
    _check_policy_limit(expense, policy)
    return policy


def _lock_all(expenses: Iterable[Expense]) -> list[Expense]:
    """Lock the expenses (in id order, so two approvers never deadlock) with their rows."""
    ids = sorted({expense.pk for expense in expenses})
    if not ids:
        raise ExpenseValidationError("Choose at least one expense.", attr="expenses")
    locked = list(Expense.objects.select_for_update(of=("self",))
                  .select_related("person", "project").filter(pk__in=ids).order_by("pk"))
    if len(locked) != len(ids):
        raise ExpenseStateError("One of the expenses no longer exists; reload the page.",
                                attr="expenses")
    return locked


def _state_error(expense: Expense, doing: str) -> ExpenseStateError:
    return ExpenseStateError(
        f"Expense #{expense.pk} is {expense.get_status_display().lower()} and cannot be "
        f"{doing}.", attr="status")


def _payload(expense: Expense, **extra: object) -> dict[str, object]:
    return {"expense_id": expense.pk, "person_id": expense.person_id,
            "project_id": expense.project_id, "category": expense.category,
            "project_amount": str(expense.project_amount),
            "project_currency": expense.project_currency, **extra}


# --- Writes -------------------------------------------------------------------------------

@transaction.atomic
def expense_create(*, actor: User, person: Person, project: Project, data: Mapping[str, Any],
                   receipt: IO[bytes] | None = None) -> Expense:
    """Record a draft expense, with its receipt when one is given.

    `data` holds expense_date, category, merchant, notes, amount, currency, exchange_rate,
    quantity (distance or days), is_billable and justification. Raises ExpenseValidationError,
    ReceiptError or PeriodClosedError (each with `attr`); nothing is written on error.
    """
    values = pick(data, CREATE_FIELDS)
    with receipts_discarded_on_error():
        expense = Expense(person=person, project=project, **values)
        if expense.is_billable is None:
            expense.is_billable = True
        _validate(expense, given=values)
        _ensure_open(project, expense.expense_date)
        content_type = receipt_sniff(receipt) if receipt is not None else None
        if receipt is not None:
            receipt_store(expense=expense, upload=receipt, content_type=content_type)
        save_validated(expense)
    return expense


@transaction.atomic
def expense_update(*, actor: User, expense: Expense, data: Mapping[str, Any],
                   receipt: IO[bytes] | None = None,
                   expected_version: str | None = None) -> Expense:
    """Change a draft or rejected expense (and replace or remove its receipt).

    `data` takes the fields of `expense_create` plus `project` and `receipt_remove`. Raises
    ExpenseStateError (409) once submitted, StaleVersionError (412) on a stale
    `expected_version`, and the validation errors of `expense_create`.
    """
    values = pick(data, UPDATE_FIELDS)
    remove_receipt = bool(values.pop("receipt_remove", False))
    with receipts_discarded_on_error():
        expense = lock_for_change(expense, expected_version=expected_version)
        if not expense.is_editable:
            raise _state_error(expense, "changed; only draft and rejected expenses can")
        _ensure_open(expense.project, expense.expense_date)
        for name, value in values.items():
            setattr(expense, name, value)
        if expense.is_billable is None:
            expense.is_billable = True
        _validate(expense, given=values)
        _ensure_open(expense.project, expense.expense_date)
        content_type = receipt_sniff(receipt) if receipt is not None else None
        old_name = expense.receipt.name or ""
        if receipt is not None:
            receipt_store(expense=expense, upload=receipt, content_type=content_type)
            receipt_delete_on_commit(old_name)
        elif remove_receipt and old_name:
            expense.receipt = ""
            expense.receipt_content_type = ""
            receipt_delete_on_commit(old_name)
        save_validated(expense)
    return expense


@transaction.atomic
def expense_delete(*, actor: User, expense: Expense) -> None:
    """Delete a draft or rejected expense (its receipt file goes once this commits)."""
    expense = Expense.objects.select_for_update(of=("self",)).select_related("project") \
        .get(pk=expense.pk)
    if not expense.is_editable:
        raise _state_error(expense, "deleted; only draft and rejected expenses can")
    _ensure_open(expense.project, expense.expense_date)
    receipt_delete_on_commit(expense.receipt.name or "")
    expense.delete()


@transaction.atomic
def expenses_submit(*, actor: User, expenses: Sequence[Expense]) -> list[Expense]:
    """Submit draft and rejected expenses for approval, all or none; `expense.submitted` each.

    Each needs an open period, a justification when over policy and a receipt above its
    category's threshold (ReceiptError with attr `receipt` otherwise).
    """
    locked = _lock_all(expenses)
    for expense in locked:
        if not expense.can_transition_to(Status.SUBMITTED):
            raise _state_error(expense, "submitted")
        _ensure_open(expense.project, expense.expense_date)
        policy = expense_policy_for(project=expense.project, category=expense.category)
        _check_policy_limit(expense, policy)
        _check_receipt_present(expense, policy)
    now = timezone.now()
    for expense in locked:
        expense.status = Status.SUBMITTED
        expense.submitted_at = now
        expense.save(update_fields=["status", "submitted_at", "is_over_policy", "justification",
                                    "updated_at"])
        events.publish("expense.submitted", aggregate=expense, payload=_payload(expense))
    return locked


@transaction.atomic
def expenses_approve(*, actor: User, expenses: Sequence[Expense]) -> list[Expense]:
    """Approve submitted expenses, all or none; `expense.approved` each.

    Nobody approves their own expense, administrators included (SelfApprovalError, 403).
    """
    locked = _lock_all(expenses)
    for expense in locked:
        if expense.person.user_id is not None and expense.person.user_id == actor.pk:
            raise SelfApprovalError(
                f"Expense #{expense.pk} is your own; another approver must approve it.",
                attr="expenses")
        if not expense.can_transition_to(Status.APPROVED) \
                or expense.status != Status.SUBMITTED:
            raise _state_error(expense, "approved; only submitted expenses can")
        _ensure_open(expense.project, expense.expense_date)
    now = timezone.now()
    for expense in locked:
        expense.status = Status.APPROVED
        expense.approved_at, expense.approved_by = now, actor
        expense.save(update_fields=["status", "approved_at", "approved_by", "updated_at"])
        events.publish("expense.approved", aggregate=expense,
                       payload=_payload(expense, is_billable=expense.is_billable,
                                        approved_by_id=actor.pk))
    return locked


@transaction.atomic
def expenses_reject(*, actor: User, expenses: Sequence[Expense], reason: str) -> list[Expense]:
    """Send submitted expenses back to their owners with a reason; `expense.rejected` each."""
    reason = (reason or "").strip()
    if not reason:
        raise ExpenseValidationError("Give the reason for the rejection; the person sees it.",
                                     attr="reason")
    locked = _lock_all(expenses)
    for expense in locked:
        if expense.person.user_id is not None and expense.person.user_id == actor.pk:
            raise SelfApprovalError(
                f"Expense #{expense.pk} is your own; another approver must review it.",
                attr="expenses")
        if not expense.can_transition_to(Status.REJECTED):
            raise _state_error(expense, "rejected; only submitted expenses can")
        _ensure_open(expense.project, expense.expense_date)
    now = timezone.now()
    for expense in locked:
        expense.status = Status.REJECTED
        expense.rejected_at, expense.rejected_by = now, actor
        expense.rejection_reason = reason
        expense.save(update_fields=["status", "rejected_at", "rejected_by", "rejection_reason",
                                    "updated_at"])
        events.publish("expense.rejected", aggregate=expense,
                       payload=_payload(expense, reason=reason, rejected_by_id=actor.pk))
    return locked


@transaction.atomic
def expense_reopen(*, actor: User, expense: Expense, reason: str) -> Expense:
    """Finance's correction: an approved (not yet invoiced) expense goes back to draft.

    The reason is required and travels in the `expense.reopened` event (and the audit log).
    """
    reason = (reason or "").strip()
    if not reason:
        raise ExpenseValidationError("Give the reason for reopening the expense.",
                                     attr="reason")
    expense = Expense.objects.select_for_update(of=("self",)).select_related("project") \
        .get(pk=expense.pk)
    if expense.status != Status.APPROVED or not expense.can_transition_to(Status.DRAFT):
        raise _state_error(expense, "reopened; only approved expenses can")
    _ensure_open(expense.project, expense.expense_date)
    expense.status = Status.DRAFT
    expense.approved_at, expense.approved_by = None, None
    expense.submitted_at = None
    expense.save(update_fields=["status", "approved_at", "approved_by", "submitted_at",
                                "updated_at"])
    events.publish("expense.reopened", aggregate=expense,
                   payload=_payload(expense, reason=reason, reopened_by_id=actor.pk))
    return expense
