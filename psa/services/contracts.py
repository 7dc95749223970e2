"""Writes on contracts and change orders (approval comes with the change-order issue)."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from psa import events
from psa.models import ChangeOrder, Contract
from psa.services.common import apply_changes, lock_for_change, pick, save_validated
from psa.services.external_refs import external_refs_set

CONTRACT_FIELDS = ("code", "name", "client", "legal_entity", "currency", "billing_model",
                   "revenue_method", "status", "value_amount", "cap_amount", "start_date",
                   "end_date", "signed_date", "rate_card", "expenses_billable",
                   "expense_markup_percent", "retainer_amount", "retainer_included_hours",
                   "po_number")
CHANGE_ORDER_FIELDS = ("contract", "reference", "description", "value_change_amount",
                       "cap_change_amount", "budget_hours_change", "effective_date")


def _date_signing(contract: Contract) -> bool:
    """A contract becoming active without a signed date is taken as signed today, so bookings
    and backlog count it (they go by the signed date). True when the date was set."""
    if contract.status == Contract.Status.ACTIVE and contract.signed_date is None:
        contract.signed_date = timezone.localdate()
        return True
    return False


@transaction.atomic
def contract_create(*, actor: User, data: Mapping[str, Any],
                    external_refs: Sequence[Mapping[str, str]] = ()) -> Contract:
    """Create a contract and publish `contract.created`.

    Legal entity and currency default to the client's. The model's rules apply: a cap for
    `tm_cap`, a monthly amount for a retainer, the client's currency, the rate card's currency.
    Raises ValidationError otherwise.
    """
    values = pick(data, CONTRACT_FIELDS)
    client = values["client"]
    values.setdefault("legal_entity", client.legal_entity)
    values.setdefault("currency", client.currency)
    contract = Contract(**values)
    _date_signing(contract)
    save_validated(contract)
    external_refs_set(target=contract, refs=external_refs, actor=actor)
    events.publish("contract.created", aggregate=contract,
                   payload={"contract_id": contract.pk, "client_id": contract.client_id,
                            "code": contract.code, "value_amount": str(contract.value_amount),
                            "currency": contract.currency})
    return contract


@transaction.atomic
def contract_update(*, contract: Contract, actor: User, data: Mapping[str, Any],
                    external_refs: Sequence[Mapping[str, str]] | None = None,
                    expected_version: str | None = None) -> Contract:
    """Change a contract's terms and publish `contract.changed` with the changed fields.

    A status change must follow Contract.TRANSITIONS (StateConflictError otherwise);
    raises StaleVersionError on a stale `expected_version`.
    """
    from psa.common.errors import StateConflictError

    contract = lock_for_change(contract, expected_version=expected_version)
    target_status = data.get("status")
    if target_status and target_status != contract.status \
            and not contract.can_transition_to(target_status):
        raise StateConflictError(f"A {contract.status} contract cannot become {target_status}.",
                                 attr="status")
    changed = apply_changes(contract, data, allowed=CONTRACT_FIELDS)
    if "status" in changed and _date_signing(contract):
        changed.append("signed_date")
    if changed or external_refs:
        save_validated(contract, update_fields=changed)
    if external_refs:
        external_refs_set(target=contract, refs=external_refs, actor=actor)
    if changed:
        events.publish("contract.changed", aggregate=contract,
                       payload={"contract_id": contract.pk, "fields": sorted(changed)})
    return contract


@transaction.atomic
def change_order_create(*, actor: User, data: Mapping[str, Any]) -> ChangeOrder:
    """Record a pending change order on a contract and publish `change_order.created`."""
    change_order = ChangeOrder(**pick(data, CHANGE_ORDER_FIELDS), created_by=actor,
                               status=ChangeOrder.Status.PENDING)
    save_validated(change_order)
    events.publish("change_order.created", aggregate=change_order,
                   payload={"change_order_id": change_order.pk,
                            "contract_id": change_order.contract_id,
                            "reference": change_order.reference,
                            "value_change_amount": str(change_order.value_change_amount)})
    return change_order
