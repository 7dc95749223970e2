"""Money and rate columns, rounding and splitting: the house rules of DOMAIN.md."""

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from django.db import models

MINOR_UNITS: Final = {"JPY": 0, "KRW": 0}  # every other currency we accept has 2
CURRENCIES: Final = ("USD", "GBP", "EUR", "CAD", "AUD", "CHF", "JPY")
CURRENCY_CHOICES: Final = [(code, code) for code in CURRENCIES]
ZERO: Final = Decimal("0.00")


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


def money_field(**kwargs: object) -> models.DecimalField:
    """A currency amount column: 14 digits, 2 places."""
    kwargs.setdefault("default", ZERO)
    return models.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def rate_field(**kwargs: object) -> models.DecimalField:
    """A rate or exchange-rate column: 4 places."""
    return models.DecimalField(max_digits=14, decimal_places=4, **kwargs)


def hours_field(**kwargs: object) -> models.DecimalField:
    """Effort in hours, in steps of 0.25 (checked by the owning model)."""
    kwargs.setdefault("default", Decimal("0.00"))
    return models.DecimalField(max_digits=9, decimal_places=2, **kwargs)


def currency_field(**kwargs: object) -> models.CharField:
    return models.CharField(max_length=3, choices=CURRENCY_CHOICES, **kwargs)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (the house rule in DOMAIN.md)."""
    exponent = Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def column_sum(value: Decimal | float | int | None, places: int = 2) -> Decimal:
    """A SUM read from the database, exact to its column's places. SQLite adds decimals as
    floats (2.01 + -1.91 comes back as 0.0999999999999999); PostgreSQL is exact already."""
    if value is None:
        return Decimal(0).scaleb(-places)
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def quantize_rate(rate: Decimal) -> Decimal:
    """Round a rate half-up to the 4 places rates are stored with."""
    return rate.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def split(total: Decimal, weights: Sequence[Decimal | int], currency: str) -> list[Decimal]:
    """Split by weights; each part is rounded and the last part takes the residual.

    split(Decimal("10000.00"), [31, 28, 31], "USD") -> 3444.44, 3111.11, 3444.45 (DOMAIN.md).
    """
    if not weights:
        raise ValueError("split needs at least one weight")
    weight_sum = sum(Decimal(w) for w in weights)
    if weight_sum <= 0:
        raise ValueError("split needs a positive total weight")
    parts = [quantize(total * Decimal(w) / weight_sum, currency) for w in weights[:-1]]
    residual = total - sum(parts, Decimal(0))
    if total >= 0 and residual < 0:
        # A tiny total over many parts: rounding each part up left the last one negative.
        # Differences of rounded running totals add up to the whole and are never negative.
        running, done, parts = Decimal(0), Decimal(0), []
        for weight in weights[:-1]:
            running += Decimal(weight)
            upto = quantize(total * running / weight_sum, currency)
            parts.append(upto - done)
            done = upto
        residual = total - done
    return [*parts, residual]


def ensure_same_currency(*currencies: str) -> str:
    """Return the one currency shared by all arguments; raise CurrencyMismatch otherwise."""
    distinct = set(currencies)
    if len(distinct) != 1:
        raise CurrencyMismatch(f"Cannot combine amounts in {', '.join(sorted(distinct))}")
    return distinct.pop()
