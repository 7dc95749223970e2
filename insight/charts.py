"""Server-drawn SVG geometry for the dashboard's sparklines and trend charts (no scripts,
no external assets: the templates draw what these functions measure)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 120, 32, 3
CHART_WIDTH, CHART_HEIGHT = 640, 220
AXIS_X, TOP, BOTTOM = 56, 12, 28
TICKS = 4


def _bounds(*series: Sequence[Decimal | None]) -> tuple[Decimal, Decimal]:
    values = [v for line in series for v in line if v is not None]
    if not values:
        return Decimal(0), Decimal(1)
    low, high = min(min(values), Decimal(0)), max(values)
    if high == low:
        high = low + 1
    return low, high


def _points(values: Sequence[Decimal | None], *, left: float, width: float, top: float,
            height: float, low: Decimal, high: Decimal) -> list[tuple[float, float] | None]:
    step = width / max(len(values) - 1, 1)
    span = float(high - low)
    return [None if value is None else
            (round(left + index * step, 1),
             round(top + height - float(value - low) / span * height, 1))
            for index, value in enumerate(values)]


def _path(points: list[tuple[float, float] | None]) -> str:
    """An SVG path through the points; a missing value breaks the line."""
    parts, pen_down = [], False
    for point in points:
        if point is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{point[0]},{point[1]}")
        pen_down = True
    return " ".join(parts)


def sparkline(values: Sequence[Decimal | None],
              comparison: Sequence[Decimal | None] | None = None) -> dict[str, object]:
    """A small trend line (and the dashed comparison line, if any) for a tile."""
    low, high = _bounds(values, comparison or [])
    box = {"left": SPARK_PAD, "width": SPARK_WIDTH - 2 * SPARK_PAD, "top": SPARK_PAD,
           "height": SPARK_HEIGHT - 2 * SPARK_PAD, "low": low, "high": high}
    points = _points(values, **box)
    last = next((p for p in reversed(points) if p is not None), None)
    return {"width": SPARK_WIDTH, "height": SPARK_HEIGHT, "path": _path(points),
            "comparison_path": _path(_points(comparison, **box)) if comparison else "",
            "last": last}


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Decimal | None]
    colour: str
    dashed: bool = False


def _short(amount: Decimal, step: Decimal) -> str:
    """An axis label: 250k, 1.5M, 42, or 0.25 when the ticks are that close."""
    sign, amount = ("-" if amount < 0 else ""), abs(amount)
    for size, suffix in ((Decimal(1_000_000), "M"), (Decimal(1_000), "k")):
        if amount >= size:
            return f"{sign}{(amount / size).quantize(Decimal('0.1')).normalize():f}{suffix}"
    places = Decimal("1") if step >= 1 else Decimal("0.01")
    return f"{sign}{amount.quantize(places).normalize():f}"


def trend_chart(months: Sequence[date], series: Sequence[Series]) -> dict[str, object]:
    """A line chart of several series over the months, with y ticks and month labels."""
    low, high = _bounds(*(s.values for s in series))
    plot_w, plot_h = CHART_WIDTH - AXIS_X - 12, CHART_HEIGHT - TOP - BOTTOM
    box = {"left": AXIS_X, "width": plot_w, "top": TOP, "height": plot_h, "low": low,
           "high": high}
    ticks, step = [], (high - low) / TICKS
    for i in range(TICKS + 1):
        ticks.append({"y": round(TOP + plot_h - plot_h * i / TICKS, 1),
                      "label": _short(low + step * i, step)})
    step = plot_w / max(len(months) - 1, 1)
    labels = [{"x": round(AXIS_X + i * step, 1), "month": month} for i, month in
              enumerate(months)]
    lines = []
    for s in series:
        points = _points(s.values, **box)
        lines.append({"label": s.label, "colour": s.colour, "dashed": s.dashed,
                      "path": _path(points),
                      "dots": [{"x": p[0], "y": p[1], "month": m, "value": v}
                               for p, m, v in zip(points, months, s.values, strict=True)
                               if p is not None]})
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "axis_x": AXIS_X,
            "base_y": TOP + plot_h, "label_y": CHART_HEIGHT - 8, "ticks": ticks,
            "labels": labels, "lines": lines}
