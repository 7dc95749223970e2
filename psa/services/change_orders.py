"""Deciding change orders: approval applies the change to the contract and its budget.

Callers check `psa.approve_changeorder` (the role matrix); these services enforce what the
state allows: only a pending change order is decided, and never by the person who raised it.
"""

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from psa import events
from psa.common.errors import DomainError, StateConflictError
from psa.errors import SelfApprovalError
from psa.models import ChangeOrder, Contract, Project
from psa.services.common import lock_for_change

DECISION_FIELDS = ["status", "decided_at", "decided_by", "decision_reason", "updated_at"]


def _lock_pending(change_order: ChangeOrder, *, actor: User, target: str,
                  expected_version: str | None) -> ChangeOrder:
    """Re-read the change order under a lock; it must be pending and not the actor's own."""
    locked = lock_for_change(change_order, expected_version=expected_version)
    if not locked.can_transition_to(target):
        raise StateConflictError(
            f"Change order {locked.reference} is {locked.get_status_display().lower()}: only a "
            f"pending change order can be {target}.", attr="status")
    if locked.created_by_id is not None and locked.created_by_id == actor.pk:
        raise SelfApprovalError(
            f"You raised change order {locked.reference}; someone else must decide it.",
            attr="change_order")
    return locked


def _budget_project(contract: Contract) -> Project | None:
    """The project whose budget carries the hours change: the contract's only project, or
    the first by code when it has several (locked, as it is about to change)."""
    return (Project.objects.select_for_update(of=("self",)).filter(contract=contract)
            .order_by("code").first())


def _apply(change_order: ChangeOrder, contract: Contract) -> Project | None:
    """Add the value, cap and budget hours changes to the contract (and its project).

    Raises DomainError when a figure would go negative, when the cap changes on a contract
    without one, or when hours change on a contract without a project.
    """
    new_value = contract.value_amount + change_order.value_change_amount
    if new_value < 0:
        raise DomainError(
            f"The change would take the contract value to {new_value} {contract.currency}.",
            attr="value_change_amount")
    fields = ["value_amount"]
    if change_order.cap_change_amount:
        if contract.cap_amount is None:
            raise DomainError(f"Contract {contract.code} has no cap to change.",
                              attr="cap_change_amount")
        contract.cap_amount += change_order.cap_change_amount
        if contract.cap_amount < 0:
            raise DomainError(f"The change would take the cap to {contract.cap_amount} "
                              f"{contract.currency}.", attr="cap_change_amount")
        fields.append("cap_amount")
    contract.value_amount = new_value
    # `save` (not `update`) so the audit trail records the contract's before and after.
    contract.save(update_fields=[*fields, "updated_at"])

    if not change_order.budget_hours_change:
        return None
    project = _budget_project(contract)
    if project is None:
        raise DomainError(f"Contract {contract.code} has no project to carry the budget hours.",
                          attr="budget_hours_change")
    project.budget_hours += change_order.budget_hours_change
    if project.budget_hours < 0:
        raise DomainError(f"The change would take project {project.code}'s budget to "
                          f"{project.budget_hours} h.", attr="budget_hours_change")
    project.save(update_fields=["budget_hours", "updated_at"])
    return project


def _decide(change_order: ChangeOrder, *, actor: User, status: str, reason: str) -> None:
    change_order.status = status
    change_order.decided_at, change_order.decided_by = timezone.now(), actor
    change_order.decision_reason = reason
    change_order.save(update_fields=DECISION_FIELDS)


def _payload(change_order: ChangeOrder, contract: Contract, **extra: object) -> dict[str, Any]:
    def text(amount: Decimal | None) -> str | None:
        return None if amount is None else str(amount)

    return {"change_order_id": change_order.pk, "contract_id": contract.pk,
            "reference": change_order.reference,
            "effective_date": change_order.effective_date.isoformat(),
            "currency": contract.currency,
            "value_change_amount": str(change_order.value_change_amount),
            "cap_change_amount": str(change_order.cap_change_amount),
            "budget_hours_change": str(change_order.budget_hours_change),
            "new_value_amount": str(contract.value_amount),
            "new_cap_amount": text(contract.cap_amount),
            "decided_by_id": change_order.decided_by_id, **extra}


@transaction.atomic
def change_order_approve(*, change_order: ChangeOrder, actor: User, reason: str = "",
                         expected_version: str | None = None) -> ChangeOrder:
    """Approve a pending change order and apply it; publishes `change_order.approved`.

    The contract's value moves by `value_change_amount` and its cap by `cap_change_amount`;
    the budget hours change goes to the contract's project (the first by code when it has
    several). Contract and project saves go through the audit trail.

    Raises StateConflictError unless pending, SelfApprovalError when the actor raised it,
    DomainError when the change would make a figure negative or has nothing to apply to,
    StaleVersionError on a stale `expected_version`.
    """
    change_order = _lock_pending(change_order, actor=actor, target=ChangeOrder.Status.APPROVED,
                                 expected_version=expected_version)
    contract = Contract.objects.select_for_update(of=("self",)).get(pk=change_order.contract_id)
    project = _apply(change_order, contract)
    _decide(change_order, actor=actor, status=ChangeOrder.Status.APPROVED,
            reason=(reason or "").strip())
    change_order.contract = contract
    events.publish("change_order.approved", aggregate=change_order, payload=_payload(
        change_order, contract, project_id=project.pk if project else None,
        new_budget_hours=str(project.budget_hours) if project else None))
    return change_order


@transaction.atomic
def change_order_reject(*, change_order: ChangeOrder, actor: User, reason: str,
                        expected_version: str | None = None) -> ChangeOrder:
    """Reject a pending change order with a reason; the contract is left as it is.

    Publishes `change_order.rejected`. Raises DomainError without a reason,
    StateConflictError unless pending, SelfApprovalError when the actor raised it.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the change order is rejected.", attr="reason")
    change_order = _lock_pending(change_order, actor=actor, target=ChangeOrder.Status.REJECTED,
                                 expected_version=expected_version)
    _decide(change_order, actor=actor, status=ChangeOrder.Status.REJECTED, reason=reason)
    contract = change_order.contract
    events.publish("change_order.rejected", aggregate=change_order,
                   payload=_payload(change_order, contract, reason=reason))
    return change_order
