"""The pieces the money measures share: month boundaries, one conditional SUM per month,
reading SQL sums exactly, converting per currency, building a measure and linking rows.

A money figure is formed as `MoneyByMonth` forms it: SQL sums per (month, currency), each
currency's sum converted with the month's rate, the month rounded once. A rows table's total
is formed the same way from its rows' amounts per currency, so it equals the figure.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import DecimalField, Expression, F, Q, Sum
from django.urls import reverse
from django.utils import timezone

from insight.selectors.scope import MoneyByMonth, Scope, month_end
from insight.selectors.types import Column, Measure
from psa.common.money import ZERO, column_sum
from psa.models import Contract

# Contracts that never count as booked work (DOMAIN.md: bookings and backlog).
NOT_BOOKED = (Contract.Status.DRAFT, Contract.Status.CANCELLED)
MONEY = DecimalField(max_digits=16, decimal_places=2)
# hours (2 places) x rate (4 places) is exact at 6 places; rounded where the amount is formed.
PRODUCT_PLACES = 6


def booked(path: str = "") -> Q:
    """Contracts at `path` whose status counts for bookings and backlog."""
    return ~Q(**{f"{path}status__in": NOT_BOOKED})


def first_instant_after(day: date) -> datetime:
    """The first instant after `day` in the current time zone: "at `day`'s end" for a
    datetime column is `column < first_instant_after(day)` (billing compares `__date` in the
    same zone)."""
    return datetime.combine(day + timedelta(days=1), time.min,
                            tzinfo=timezone.get_current_timezone())


def as_month(value: date | datetime | str) -> date:
    """A month from a grouped column (TruncMonth gives a date or a datetime by backend and
    field type; a stored month is its first day), as the first day of the month."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value.replace(day=1)


def monthly_sums(expression: Expression | str, conditions: Sequence[Q], *, prefix: str = "m",
                 output_field: DecimalField = MONEY) -> dict[str, Sum]:
    """One conditional SUM per condition, named `<prefix><index>`: twelve months in one
    query, whatever the number of rows."""
    value = F(expression) if isinstance(expression, str) else expression
    return {f"{prefix}{index}": Sum(value, filter=condition, output_field=output_field)
            for index, condition in enumerate(conditions)}


def monthly_values(row: dict, count: int, *, prefix: str = "m",
                   places: int = 2) -> list[Decimal]:
    """The sums `monthly_sums` named, read exactly (SQLite returns floats for some sums)."""
    return [column_sum(row[f"{prefix}{index}"], places) for index in range(count)]


def month_ends(months: Sequence[date]) -> list[date]:
    return [month_end(month) for month in months]


def money_measure(*, key: str, label: str, scope: Scope, money: MoneyByMonth, definition: str,
                  higher_is_better: bool = True, note: str = "",
                  comparison: MoneyByMonth | None = None, comparison_label: str = ""
                  ) -> Measure:
    """A money measure: one converted, once-rounded figure per month of the scope."""
    return Measure(key=key, label=label, unit="money", months=scope.months,
                   values=money.series(), definition=definition,
                   comparison=comparison.series() if comparison is not None else None,
                   comparison_label=comparison_label, higher_is_better=higher_is_better,
                   note=note)


def convert_rounded(scope: Scope, amount: Decimal | None, currency: str,
                    month: date) -> Decimal | None:
    """One amount in the scope's currency, rounded; None when the month has no rate."""
    if amount is None:
        return None
    return scope.rates.convert_rounded(amount, currency, month)


class CurrencyTotals:
    """Amounts added up per currency, and their total in the scope's currency for a month:
    each currency's sum converted, the total rounded once (as `MoneyByMonth` does)."""

    def __init__(self) -> None:
        self.by_currency: dict[str, Decimal] = defaultdict(lambda: ZERO)

    def add(self, currency: str, amount: Decimal | None) -> None:
        if amount:
            self.by_currency[currency] += amount

    def converted(self, scope: Scope, month: date) -> Decimal:
        money = MoneyByMonth(scope)
        for currency, amount in self.by_currency.items():
            money.add(month, currency, amount)
        return money.month_total(month)

    def only_currency_total(self) -> Decimal | None:
        """The plain sum when every amount is in one currency (else None: not addable)."""
        if len(self.by_currency) > 1:
            return None
        return sum(self.by_currency.values(), ZERO)


def money_column(scope: Scope, key: str, label: str) -> Column:
    """A column of amounts converted into the scope's currency."""
    return Column(key, f"{label} ({scope.currency})", "money")


def contract_url(contract_id: int) -> str:
    return reverse("contract-detail", args=[contract_id])


def invoice_url(invoice_id: int) -> str:
    return reverse("billing:invoice-detail", args=[invoice_id])


