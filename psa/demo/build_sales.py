"""Writes clients with their negotiated cards, and contracts with cards and change orders."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

from psa import models
from psa.common.money import quantize_rate
from psa.demo.bulk import ids_by, insert, missing
from psa.demo.sales import ClientPlan, ContractPlan
from psa.demo.tables import BILL_RATES


def _discounted(currency: str, level: int, discount: Decimal) -> Decimal:
    return quantize_rate(BILL_RATES[currency][level] * (1 - discount))


def at(day: date, hour: int = 15) -> datetime:
    """An aware moment on a business date (UTC), for decided/completed/accepted stamps."""
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


def ensure_clients(clients: list[ClientPlan], *, entity_ids: dict[str, int],
                   role_ids: dict[int, int], card_from: date) -> dict[int, int]:
    """Every planned client, and a negotiated card for some of them, {plan index: id}."""
    insert(models.Client, (models.Client(
        code=c.code, name=c.name, legal_entity_id=entity_ids[c.entity], currency=c.currency,
        billing_address=c.billing_address, country=c.country,
        payment_terms_days=c.payment_terms_days, tax_rate=c.tax_rate,
        tax_jurisdiction=c.tax_jurisdiction, billing_contact_name=c.contact_name,
        billing_contact_email=c.contact_email, consolidated_invoicing=c.consolidated)
        for c in clients))
    by_code = ids_by(models.Client, "code", [c.code for c in clients])
    ids = {c.index: by_code[c.code] for c in clients}

    carded = [c for c in clients if c.card_discount is not None]
    new = missing(models.RateCard, "code", [f"CLI-{c.code}" for c in carded])
    insert(models.RateCard, (models.RateCard(
        code=f"CLI-{c.code}", name=f"{c.short_name} negotiated rates",
        kind=models.RateCard.Kind.CLIENT, currency=c.currency, client_id=ids[c.index])
        for c in carded))
    card_ids = ids_by(models.RateCard, "code", [f"CLI-{c.code}" for c in carded])
    insert(models.RateCardLine, (models.RateCardLine(
        rate_card_id=card_ids[f"CLI-{c.code}"], role_id=role_ids[level],
        hourly_rate=_discounted(c.currency, level, c.card_discount), effective_from=card_from)
        for c in carded if f"CLI-{c.code}" in new for level in BILL_RATES[c.currency]))
    for c in carded:
        # Only clients still without a card: a second run updates nothing.
        models.Client.objects.filter(pk=ids[c.index], rate_card__isnull=True).update(
            rate_card_id=card_ids[f"CLI-{c.code}"])
    return ids


def ensure_contract_cards(plans: list[tuple[ContractPlan, list[int]]], *,
                          client_ids: dict[int, int], role_ids: dict[int, int],
                          person_ids: dict[int, int], levels: dict[int, int]) -> dict[str, int]:
    """Contract-specific cards with role lines and person overrides, {contract code: card id}."""
    carded = [(c, people) for c, people in plans if c.card_discount is not None]
    new = missing(models.RateCard, "code", [c.card_code for c, _ in carded])
    insert(models.RateCard, (models.RateCard(
        code=c.card_code, name=f"{c.name} rates", kind=models.RateCard.Kind.CONTRACT,
        currency=c.currency, client_id=client_ids[c.client.index]) for c, _ in carded))
    card_ids = ids_by(models.RateCard, "code", [c.card_code for c, _ in carded])
    insert(models.RateCardLine, (models.RateCardLine(
        rate_card_id=card_ids[c.card_code], role_id=role_ids[level],
        hourly_rate=_discounted(c.currency, level, c.card_discount), effective_from=c.start)
        for c, _ in carded if c.card_code in new for level in BILL_RATES[c.currency]))
    insert(models.RateCardOverride, (models.RateCardOverride(
        rate_card_id=card_ids[c.card_code], person_id=person_ids[index],
        hourly_rate=_discounted(c.currency, levels[index], c.card_discount + Decimal("0.05")),
        effective_from=c.start)
        for c, people in carded if c.card_code in new for index in people))
    return {c.code: card_ids[c.card_code] for c, _ in carded}


def ensure_contracts(plans: list[ContractPlan], *, entity_ids: dict[str, int],
                     client_ids: dict[int, int], card_ids: dict[str, int],
                     user_ids: dict[str, int]) -> dict[str, int]:
    """The contracts of one batch and, for new ones, their change orders, {code: id}."""
    new = missing(models.Contract, "code", [c.code for c in plans])
    insert(models.Contract, (models.Contract(
        code=c.code, name=c.name, client_id=client_ids[c.client.index],
        legal_entity_id=entity_ids[c.entity], currency=c.currency,
        billing_model=c.billing_model, revenue_method=c.revenue_method, status=c.status,
        value_amount=c.value, cap_amount=c.cap, start_date=c.start, end_date=c.end,
        signed_date=c.signed, rate_card_id=card_ids.get(c.code),
        expense_markup_percent=c.markup, retainer_amount=c.retainer_amount,
        retainer_included_hours=c.retainer_hours, po_number=c.po_number) for c in plans))
    ids = ids_by(models.Contract, "code", [c.code for c in plans])
    finance, manager = user_ids["finance"], user_ids["manager"]
    insert(models.ChangeOrder, (models.ChangeOrder(
        contract_id=ids[c.code], reference=co.reference, description=co.description,
        value_change_amount=co.value_change, cap_change_amount=co.cap_change,
        budget_hours_change=co.hours_change, effective_date=co.effective_date, status=co.status,
        decided_at=None if co.status == "pending" else at(co.effective_date),
        decided_by_id=None if co.status == "pending" else finance,
        decision_reason="Declined by the client's steering committee"
        if co.status == "rejected" else "",
        created_by_id=manager) for c in plans if c.code in new for co in c.change_orders))
    return ids
