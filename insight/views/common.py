"""What the insight pages share: the dashboard's permission and the section's tabs."""

from django.http import HttpRequest
from django.urls import reverse

from insight.charts import sparkline
from insight.selectors.types import Measure

PERM = "insight.view_dashboard"


def insight_tabs(request: HttpRequest, current: str) -> list[dict[str, object]]:
    """Dashboard · Portfolio · Lifecycle, those the user may open."""
    tabs = [("Dashboard", "insight:dashboard", PERM),
            ("Portfolio by risk", "insight:portfolio", "insight.view_portfolio"),
            ("Lifecycle", "insight:lifecycle", "insight.view_lifecycle")]
    return [{"label": label, "url": reverse(name), "current": name == current}
            for label, name, perm in tabs if request.user.has_perm(perm)]


def measure_tile(measure: Measure, url: str = "") -> dict[str, object]:
    """A tile: the measure, its sparkline (with the comparison line), whether the change is
    good news, where it links, and its latest month with a value when the last month has none
    (a month without invoices, say)."""
    change = measure.change
    improving = None if not change else (change > 0) == measure.higher_is_better
    latest = None
    if measure.current is None:
        latest = next(((month, value) for month, value in
                       zip(reversed(measure.months), reversed(measure.values), strict=True)
                       if value is not None), None)
    return {"measure": measure, "spark": sparkline(measure.values, measure.comparison),
            "improving": improving, "latest": latest, "url": url}
