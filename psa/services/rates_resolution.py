"""Rate resolution (DOMAIN.md): which bill rate and cost rate apply to a person's work."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from psa.common.errors import RateNotFoundError
from psa.models import Contract, CostRate, Person, RateCard, RateCardLine, RateCardOverride, Role


@dataclass(frozen=True)
class ResolvedRate:
    """A bill rate and where it came from, so an approver can see why it applies."""

    hourly_rate: Decimal
    currency: str
    source: str  # contract_override | contract_card | client_card | standard_card
    rate_card_id: int


def _line_on(card: RateCard | None, role: Role, on: date) -> RateCardLine | None:
    if card is None or not card.is_active:
        return None
    return (
        RateCardLine.objects.filter(rate_card=card, role=role, effective_from__lte=on)
        .order_by("-effective_from")
        .first()
    )


def _standard_card(currency: str) -> RateCard | None:
    return RateCard.objects.filter(
        kind=RateCard.Kind.STANDARD, currency=currency, is_active=True
    ).first()


def bill_rate_resolve(
    *, contract: Contract, person: Person, work_date: date, role: Role | None = None
) -> ResolvedRate:
    """The bill rate for `person` working on `contract` on `work_date`; first match wins:

    1. the person's override on the contract's card; 2. the role's line on the contract's card;
    3. the role's line on the client's card; 4. the role's line on the firm's standard card
    in the contract's currency. Each by the line effective on the work date.

    Raises RateNotFoundError when no level has a rate (never a silent zero).
    """
    role = role or person.role
    contract_card = contract.rate_card
    if contract_card is not None and contract_card.is_active:
        override = (
            RateCardOverride.objects.filter(
                rate_card=contract_card, person=person, effective_from__lte=work_date
            )
            .order_by("-effective_from")
            .first()
        )
        if override is not None:
            return ResolvedRate(
                override.hourly_rate, contract_card.currency, "contract_override", contract_card.pk
            )
    candidates = (
        ("contract_card", contract_card),
        ("client_card", contract.client.rate_card),
        ("standard_card", _standard_card(contract.currency)),
    )
    for source, card in candidates:
        if card is not None and card.currency != contract.currency:
            continue  # a card in another currency can never price this contract
        line = _line_on(card, role, work_date)
        if line is not None:
            return ResolvedRate(line.hourly_rate, card.currency, source, card.pk)
    raise RateNotFoundError(
        f"No bill rate for {person.full_name} ({role.name}) on contract {contract.code} "
        f"on {work_date:%Y-%m-%d}: add a {role.name} line to the contract, client or standard "
        f"{contract.currency} rate card.",
        attr="rate",
    )


def cost_rate_resolve(*, person: Person, work_date: date) -> CostRate:
    """The person's hourly cost in force on `work_date`.

    Raises RateNotFoundError when the person has no cost rate starting on or before that date.
    """
    rate = (
        CostRate.objects.filter(person=person, effective_from__lte=work_date)
        .order_by("-effective_from")
        .first()
    )
    if rate is None:
        raise RateNotFoundError(
            f"No cost rate for {person.full_name} on {work_date:%Y-%m-%d}.", attr="cost_rate"
        )
    return rate
