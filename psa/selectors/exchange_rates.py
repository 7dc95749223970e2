"""Converting amounts between currencies with the stored monthly rates."""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q

from psa.common.money import quantize
from psa.models import ExchangeRate

ONE = Decimal(1)


@dataclass
class RateTable:
    """The rates into one target currency, by source currency, as (month, rate) in month order.

    `convert` uses the latest rate of a month on or before the amount's month; it returns None
    when there is none, and remembers the pair so a report can say which rate is missing.
    """

    target: str
    rates: dict[str, list[tuple[date, Decimal]]] = field(default_factory=dict)
    missing: set[tuple[str, date]] = field(default_factory=set)

    def rate(self, currency: str, month: date) -> Decimal | None:
        if currency == self.target:
            return ONE
        history = self.rates.get(currency, [])
        index = bisect_right(history, (month, Decimal("Infinity"))) - 1
        if index < 0:
            self.missing.add((currency, month))
            return None
        return history[index][1]

    def convert(self, amount: Decimal, currency: str, month: date) -> Decimal | None:
        """`amount` of `currency` in the target currency (exact; round the total, not parts)."""
        rate = self.rate(currency, month)
        return None if rate is None else amount * rate

    def convert_rounded(self, amount: Decimal, currency: str, month: date) -> Decimal | None:
        converted = self.convert(amount, currency, month)
        return None if converted is None else quantize(converted, self.target)

    @property
    def missing_pairs(self) -> list[str]:
        """`"EUR→USD"` for each source currency lacking a rate for some month, sorted."""
        return sorted({f"{currency}→{self.target}" for currency, _ in self.missing})


def rate_table(*, target: str, through: date, currencies: Iterable[str] | None = None
               ) -> RateTable:
    """Every stored rate into `target` (or out of it, inverted) up to month `through`: one query.

    A direct rate wins over an inverted one for the same month.
    """
    wanted = None if currencies is None else {c for c in currencies if c != target}
    rows = ExchangeRate.objects.filter(Q(to_currency=target) | Q(from_currency=target),
                                       month__lte=through)
    if wanted is not None:
        rows = rows.filter(Q(from_currency__in=wanted) | Q(to_currency__in=wanted))
    direct: dict[str, dict[date, Decimal]] = defaultdict(dict)
    inverted: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for from_currency, to_currency, month, rate in rows.order_by().values_list(
            "from_currency", "to_currency", "month", "rate"):
        if to_currency == target:
            direct[from_currency][month] = rate
        else:
            inverted[to_currency][month] = ONE / rate
    table = RateTable(target=target)
    for currency in set(direct) | set(inverted):
        by_month = {**inverted[currency], **direct[currency]}
        table.rates[currency] = sorted(by_month.items())
    return table
