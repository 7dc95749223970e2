"""Estimates at completion of percent-complete contracts, kept as history.

The project manager (or finance) revises the estimate of total cost or total hours from a
month on; recognition uses the latest estimate effective in the month it recognises
(`targets._estimates`), so a revision is a cumulative catch-up in the first open month it
applies to. An estimate is never changed or deleted: a revision is a new row, which keeps
the history the auditors ask for.
"""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import User
from django.db import transaction

from psa import events
from psa.common.errors import DomainError, PeriodClosedError
from psa.common.money import quantize
from psa.models import Contract, Period
from revenue.models import ContractEstimate

Method = Contract.RevenueMethod
PERCENT_COMPLETE = (Method.PERCENT_COMPLETE_COST, Method.PERCENT_COMPLETE_HOURS)
HOURS_PLACES = Decimal("0.01")


def _positive(value: Decimal | None, attr: str, what: str) -> None:
    if value is not None and value <= 0:
        raise DomainError(f"The estimated {what} must be more than zero.", code="not_positive",
                          attr=attr)


@transaction.atomic
def contract_estimate_add(*, contract: Contract, actor: User, effective_month: date,
                          total_cost_amount: Decimal | None = None,
                          total_hours: Decimal | None = None,
                          note: str = "") -> ContractEstimate:
    """Add an estimate at completion effective from `effective_month` (its first day) and
    publish `contract.estimate_changed`.

    Raises DomainError unless the contract is recognised by percent complete, unless the
    figure its method needs is given and every figure given is positive; PeriodClosedError
    when the effective month is closed for the contract's legal entity.
    """
    # The contract's row serialises two revisions at once, so their order is the history's.
    contract = Contract.objects.select_for_update(of=("self",)).get(pk=contract.pk)
    if contract.revenue_method not in PERCENT_COMPLETE:
        raise DomainError(
            f"Estimates at completion apply to percent-complete contracts; {contract.code} "
            f"is recognised {contract.get_revenue_method_display().lower()}.",
            code="not_percent_complete")
    month = effective_month.replace(day=1)
    if total_cost_amount is not None:
        total_cost_amount = quantize(total_cost_amount, contract.currency)
    if total_hours is not None:
        total_hours = total_hours.quantize(HOURS_PLACES, rounding=ROUND_HALF_UP)
    _positive(total_cost_amount, "total_cost_amount", "total cost")
    _positive(total_hours, "total_hours", "total hours")
    if contract.revenue_method == Method.PERCENT_COMPLETE_COST and total_cost_amount is None:
        raise DomainError("Give the estimated total cost: this contract is recognised by "
                          "percent complete on cost.", code="required",
                          attr="total_cost_amount")
    if contract.revenue_method == Method.PERCENT_COMPLETE_HOURS and total_hours is None:
        raise DomainError("Give the estimated total hours: this contract is recognised by "
                          "percent complete on hours.", code="required", attr="total_hours")
    if Period.objects.filter(legal_entity_id=contract.legal_entity_id, month=month,
                             status=Period.Status.CLOSED).exists():
        raise PeriodClosedError(
            f"{month:%B %Y} is closed: an estimate cannot take effect in a closed period. "
            "Choose the first open month.", attr="effective_month")

    estimate = ContractEstimate(contract=contract, effective_month=month,
                                total_cost_amount=total_cost_amount, total_hours=total_hours,
                                note=note.strip(), created_by=actor)
    estimate.full_clean()
    estimate.save()
    events.publish("contract.estimate_changed", aggregate=contract, payload={
        "contract_id": contract.pk, "estimate_id": estimate.pk,
        "effective_month": month.isoformat(),
        "total_cost_amount": None if total_cost_amount is None else str(total_cost_amount),
        "total_hours": None if total_hours is None else str(total_hours),
        "currency": contract.currency})
    return estimate
