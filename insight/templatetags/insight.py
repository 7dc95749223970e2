"""Formatting a measure's value by its unit, the same on pages, tiles and the PDF."""

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()

SUFFIX = {"percent": " %", "days": " days", "hours": " h"}
NO_VALUE = "\u2013"  # an en dash
MINUS = "\u2212"


def _grouped(value: Decimal, places: int) -> str:
    """Rounded half-up (DOMAIN.md), then grouped: 1,234.50."""
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return intcomma(f"{rounded:f}")


@register.filter
def measure_value(value: Decimal | None, unit: str) -> str:
    """`1,234,567.89` for money, `72.5 %`, `12.3 days`; an en dash when there is no value."""
    if value is None:
        return NO_VALUE
    value = Decimal(value)
    if unit == "money":
        return _grouped(value, 0 if abs(value) >= 100_000 else 2)
    if unit == "rate":
        return _grouped(value, 2)
    return f"{_grouped(value, 1)}{SUFFIX.get(unit, '')}"


@register.filter
def measure_change(value: Decimal | None, unit: str) -> str:
    """The change against the previous month with its sign (points for percents)."""
    if value is None:
        return "no previous month"
    sign = "+" if value > 0 else (MINUS if value < 0 else "±")
    magnitude = abs(Decimal(value))
    if unit == "percent":
        return f"{sign}{_grouped(magnitude, 1)} pts"
    return f"{sign}{measure_value(magnitude, unit)}"


@register.filter
def cell_value(value: object, kind: str) -> str:
    """A rows-table cell: numbers by their column kind, the rest as text."""
    if value is None or value == "":
        return NO_VALUE if kind not in ("text", "link") else ""
    if kind == "money":
        return _grouped(Decimal(value), 2)
    if kind == "hours":
        return _grouped(Decimal(value), 2)
    if kind == "percent":
        return f"{_grouped(Decimal(value), 2)} %"
    if kind == "days":
        return f"{_grouped(Decimal(value), 1)}"
    if kind == "date":
        return f"{value:%d %b %Y}"
    return str(value)


@register.filter
def slice_at(items: object, index: int) -> object:
    """`items[index]`: the month of a table column from the loop's counter."""
    return items[index]


@register.filter
def get_item(mapping: dict | None, key: str) -> object:
    """`mapping[key]` (None when absent): a totals row's cell."""
    return None if mapping is None else mapping.get(key)
