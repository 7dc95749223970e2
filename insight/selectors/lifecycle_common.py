"""What the lifecycle measures share: the scope's time bounds, month keys read back from
`TruncMonth`, durations rounded for display, and the filters as seen from an invoice."""

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from insight.selectors.scope import Scope, add_months

ONE_PLACE = Decimal("0.1")
HOURS_PER_DAY = Decimal(24)


def month_start_at(month: date) -> datetime:
    """The first instant of `month` (UTC, the time zone the database groups months in)."""
    return datetime.combine(month.replace(day=1), time.min, tzinfo=UTC)


def scope_bounds(scope: Scope) -> tuple[datetime, datetime]:
    """The scope's twelve months as a half-open datetime range [start, end)."""
    return month_start_at(scope.months[0]), month_start_at(add_months(scope.months[-1], 1))


def month_key(value: date | datetime | None) -> date | None:
    """The first day of the month `TruncMonth` returned (a date or a datetime by backend)."""
    if value is None:
        return None
    return date(value.year, value.month, 1)


def rounded(value: float | Decimal | None, *, scale: Decimal = Decimal(1)) -> Decimal | None:
    """A duration read from SQL (a float on SQLite) times `scale`, to one decimal place."""
    if value is None:
        return None
    return (Decimal(str(value)) * scale).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def series(scope: Scope, by_month: Mapping[date, Decimal | None]) -> tuple[Decimal | None, ...]:
    """One value per month of the scope, oldest first; None where the month has none."""
    return tuple(by_month.get(month) for month in scope.months)


