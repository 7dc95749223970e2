"""The shapes every measure and every "rows behind a figure" table share."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Unit = Literal["money", "percent", "rate", "days", "hours"]
HUNDRED = Decimal(100)
PERCENT = Decimal("0.01")


def ratio_percent(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    """part ÷ whole as a percent with 2 places; None when there is nothing to divide by."""
    if part is None or not whole:
        return None
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(PERCENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Measure:
    """One dashboard figure: its value for each month of the scope (oldest first).

    `comparison` is a second line drawn with it (target utilization, forecast revenue);
    `higher_is_better` colours the change; `definition` is DOMAIN.md's formula in words;
    `note` says what the figure leaves out under the current filters.
    """

    key: str
    label: str
    unit: Unit
    months: tuple[date, ...]
    values: tuple[Decimal | None, ...]
    definition: str
    comparison: tuple[Decimal | None, ...] | None = None
    comparison_label: str = ""
    higher_is_better: bool = True
    note: str = ""

    @property
    def current(self) -> Decimal | None:
        return self.values[-1] if self.values else None

    @property
    def previous(self) -> Decimal | None:
        return self.values[-2] if len(self.values) > 1 else None

    @property
    def change(self) -> Decimal | None:
        """Current less previous month (percentage points for percents)."""
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def current_comparison(self) -> Decimal | None:
        return self.comparison[-1] if self.comparison else None


@dataclass(frozen=True)
class Column:
    """A column of a rows table: `key` in each row's dict, its heading and how to show it."""

    key: str
    label: str
    kind: Literal["text", "money", "hours", "percent", "date", "days", "number", "link"] = "text"


@dataclass(frozen=True)
class RowTable:
    """The rows behind one figure for one month, with the total that equals the figure.

    `rows` is a list or a sliceable queryset of dicts (paged by the page, streamed by the
    exports); a row's "url" key, when present, is the page its first cell links to; `total`
    holds the totals row (same keys) or None.
    """

    title: str
    columns: tuple[Column, ...]
    rows: Sequence[dict]
    total: dict | None = None
    currency: str = ""
    explanation: str = ""
