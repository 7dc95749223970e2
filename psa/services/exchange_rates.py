"""Writes on stored exchange rates (finance keeps one rate per currency pair and month)."""

from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction

from psa.common.errors import DomainError
from psa.models import ExchangeRate


@transaction.atomic
def exchange_rate_set(*, actor: User, from_currency: str, to_currency: str, month: date,
                      rate: Decimal) -> ExchangeRate:
    """Store the rate of a pair for a month, replacing that month's rate if there is one.

    Raises DomainError for one currency twice or a rate that is not above zero. The audit
    trail keeps the replaced rate.
    """
    if from_currency == to_currency:
        raise DomainError("Choose two different currencies.", attr="to_currency")
    if rate is None or rate <= 0:
        raise DomainError("The rate must be above zero.", attr="rate")
    month = month.replace(day=1)
    existing = (ExchangeRate.objects.select_for_update()
                .filter(from_currency=from_currency, to_currency=to_currency, month=month)
                .first())
    if existing is not None:
        if existing.rate != rate:
            existing.rate = rate
            existing.created_by = actor
            existing.save(update_fields=["rate", "created_by", "updated_at"])
        return existing
    stored = ExchangeRate(from_currency=from_currency, to_currency=to_currency, month=month,
                          rate=rate, created_by=actor)
    stored.full_clean()
    stored.save()
    return stored
