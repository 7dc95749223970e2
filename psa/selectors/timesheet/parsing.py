"""Reading what a person types in the grid: hours and weeks."""

import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")

# --- Input -----------------------------------------------------------------------------------

class HoursParseError(ValueError):
    """What a person typed in a cell is not a number of hours."""


_CLOCK = re.compile(r"^(\d{1,2})\s*[:h]\s*(\d{1,2})?\s*(?:m|min)?$")
_DECIMAL = re.compile(r"^\d{0,3}(?:\.\d+)?\s*h?$")


def parse_hours(text: str | None) -> Decimal | None:
    """Hours typed in a cell as a Decimal; None for empty or zero (which clears the cell).

    `7.5`, `7,5`, `7:30`, `7h30` and `7.5h` all mean 7.50 hours. Raises HoursParseError for
    anything else (negative numbers, letters, minutes of 60 or more).
    """
    raw = (text or "").strip().lower().replace(",", ".").replace(" ", "")
    if not raw:
        return None
    if raw.startswith("-"):
        raise HoursParseError("Hours cannot be negative.")
    clock = _CLOCK.match(raw)
    if clock:
        hours, minutes = int(clock.group(1)), int(clock.group(2) or 0)
        if minutes >= 60:
            raise HoursParseError("Minutes must be below 60, as in 7:30.")
        value = Decimal(hours) + Decimal(minutes) / Decimal(60)
    elif _DECIMAL.match(raw) and raw.rstrip("h") not in ("", "."):
        try:
            value = Decimal(raw.rstrip("h"))
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
            raise HoursParseError("Type hours like 7.5, 7:30 or 7h30.") from exc
    else:
        raise HoursParseError("Type hours like 7.5, 7:30 or 7h30.")
    value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return value if value > 0 else None


def week_start_of(day: date) -> date:
    """The Monday of the week `day` falls in."""
    return day - timedelta(days=day.weekday())


def parse_week(text: str | None, *, today: date) -> date:
    """The Monday of the week of an ISO date from `?week=`; this week for a missing/bad value."""
    try:
        return week_start_of(date.fromisoformat((text or "").strip()))
    except ValueError:
        return week_start_of(today)


def format_hours(hours: Decimal | None) -> str:
    return "" if hours is None else f"{hours:.2f}"


def day_label(day: date) -> str:
    """`Tue 17 Nov`: how a column and a cell's label name a day."""
    return f"{day:%a} {day.day} {day:%b}"


# --- The grid ----------------------------------------------------------------------------------
