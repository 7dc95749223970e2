"""`/revenue/forecast/`: revenue for the next months by source, with a stacked bar chart drawn
server-side as SVG (as resourcing's utilization page does), a grouping switch and CSV / XLSX
exports (`?format=csv|xlsx`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_CEILING, Decimal

from django import forms
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from psa.common.export import csv_response, xlsx_response
from psa.common.money import CURRENCY_CHOICES
from psa.common.permissions import RequiredPermsMixin
from psa.models import LegalEntity
from psa.selectors.org import legal_entity_list
from revenue.selectors.forecast import (
    GROUP_CHOICES,
    SERIES,
    Forecast,
    ForecastCell,
    forecast_export_header,
    forecast_export_rows,
    revenue_forecast,
)
from revenue.views.schedules import (
    MONTH_FORMATS,
    MONTH_INPUT,
    legal_entity_choices,
    revenue_tabs,
)

PERM = "revenue.view_forecast"
MONTHS = 12
# Chart geometry (px): a y axis with its labels, then one slot per month.
AXIS_WIDTH = 64
SLOT_WIDTH = 56
BAR_WIDTH = 36
PLOT_HEIGHT = 220
TOP_PAD = 12
LABEL_HEIGHT = 28
TICKS = 4
COLOURS = {"schedule": "#2f6fb0", "tm": "#5a9e6f", "pipeline": "#d9a441"}


class ForecastFilterForm(forms.Form):
    """The forecast's first month, legal entity, grouping and currency (kept in the URL)."""

    start = forms.DateField(required=False, label="From month", widget=MONTH_INPUT,
                            input_formats=MONTH_FORMATS)
    legal_entity = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                          label="Legal entity")
    group_by = forms.ChoiceField(required=False, label="Group by", choices=GROUP_CHOICES)
    currency = forms.ChoiceField(required=False, label="Currency",
                                 choices=[("", "Default"), *CURRENCY_CHOICES])

    def __init__(self, *args: object, legal_entities: Sequence[tuple[str, str]] = (),
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["legal_entity"].choices = [("", "All legal entities"), *legal_entities]

    def clean_start(self) -> date:
        return (self.cleaned_data.get("start") or timezone.localdate()).replace(day=1)

    def clean_group_by(self) -> str:
        return self.cleaned_data.get("group_by") or "month"


def with_defaults(request: HttpRequest, **defaults: object) -> QueryDict:
    """The query string with defaults for the parameters it lacks, so the form shows them
    (a date as its month, YYYY-MM)."""
    query = request.GET.copy()
    for name, value in defaults.items():
        if not query.get(name):
            query[name] = f"{value:%Y-%m}" if isinstance(value, date) else str(value)
    return query


def _nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 x a power of ten that is at least `value` (> 0)."""
    magnitude = Decimal(10) ** (value.adjusted())
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _short(amount: Decimal) -> str:
    """An axis label: 250k, 1.5M."""
    if amount >= 1_000_000:
        return f"{(amount / 1_000_000).normalize():f}M"
    if amount >= 1_000:
        return f"{(amount / 1_000).normalize():f}k"
    return f"{amount.normalize():f}"


def _px(amount: Decimal, scale: Decimal) -> int:
    return int((amount * PLOT_HEIGHT / scale).to_integral_value(rounding=ROUND_CEILING))


def forecast_chart(months: Sequence[date], totals: Sequence[ForecastCell]) -> dict[str, object]:
    """Geometry of the stacked bars (schedule at the bottom, then T&M, then pipeline)."""
    peak = max((cell.total for cell in totals), default=Decimal(0))
    scale = _nice_ceiling(peak) if peak > 0 else Decimal(1)
    base = TOP_PAD + PLOT_HEIGHT
    ticks = [{"y": base - PLOT_HEIGHT * i // TICKS, "label": _short(scale * i / TICKS)}
             for i in range(TICKS + 1)]
    bars = []
    for index, (month, cell) in enumerate(zip(months, totals, strict=True)):
        x = AXIS_WIDTH + index * SLOT_WIDTH + (SLOT_WIDTH - BAR_WIDTH) // 2
        top, segments = base, []
        for series, label in SERIES:
            amount = getattr(cell, series)
            height = _px(amount, scale) if amount > 0 else 0
            if height:
                top -= height
                segments.append({"series": series, "label": label, "amount": amount,
                                 "y": top, "height": height, "colour": COLOURS[series]})
        bars.append({"x": x, "label_x": x + BAR_WIDTH // 2, "month": month,
                     "total": cell.total, "segments": segments})
    return {"bars": bars, "ticks": ticks, "bar_width": BAR_WIDTH,
            "width": AXIS_WIDTH + SLOT_WIDTH * len(months), "axis_x": AXIS_WIDTH,
            "height": base + LABEL_HEIGHT, "base": base, "label_y": base + 18,
            "legend": [{"label": label, "colour": COLOURS[series]} for series, label in SERIES]}


def _export(forecast: Forecast, export: str) -> HttpResponse:
    header = forecast_export_header(forecast)
    rows = forecast_export_rows(forecast)
    name = (f"revenue-forecast-{forecast.start_month:%Y-%m}-{forecast.group_by}-"
            f"{forecast.currency}")
    if export == "csv":
        return csv_response(filename=f"{name}.csv", header=header, rows=rows)
    return xlsx_response(sheet="Forecast", filename=f"{name}.xlsx", header=header, rows=rows)


class ForecastView(RequiredPermsMixin, View):
    """`/revenue/forecast/`: 12 months of revenue by source, grouped by month, client or
    service line, with the chart and the exports."""

    required_perms = {"get": PERM}

    def get(self, request: HttpRequest) -> HttpResponse:
        entities = legal_entity_list(actor=request.user).order_by("code")
        form = ForecastFilterForm(with_defaults(request, start=timezone.localdate(),
                                                group_by="month"),
                                  legal_entities=legal_entity_choices(request.user))
        if not form.is_valid():
            return render(request, "revenue/forecast.html",
                          {"title": "Revenue forecast", "form": form, "forecast": None,
                           "tabs": revenue_tabs(request, "revenue:forecast")},
                          status=400)
        params = form.cleaned_data
        entity: LegalEntity | None = (entities.filter(pk=params["legal_entity"]).first()
                                      if params.get("legal_entity") else None)
        forecast = revenue_forecast(start_month=params["start"], months=MONTHS,
                                    legal_entity=entity, group_by=params["group_by"],
                                    currency=params.get("currency") or None)
        export = request.GET.get("format")
        if export in ("csv", "xlsx"):
            return _export(forecast, export)
        query = request.GET.copy()
        query.pop("format", None)
        group_links = []
        for value, label in GROUP_CHOICES:
            link = query.copy()
            link["group_by"] = value
            group_links.append({"label": label, "url": f"?{link.urlencode()}",
                                "current": value == forecast.group_by})
        last = forecast.months[-1]
        context = {
            "title": "Revenue forecast", "form": form, "forecast": forecast,
            "tabs": revenue_tabs(request, "revenue:forecast"),
            "chart": forecast_chart(forecast.months, forecast.month_totals),
            "series": SERIES, "group_links": group_links, "query": query.urlencode(),
            "group_label": dict(GROUP_CHOICES)[forecast.group_by],
            "context_line": (f"{forecast.start_month:%b %Y} to {last:%b %Y} · "
                             f"{forecast.currency} · "
                             + (entity.code if entity else "all legal entities")),
        }
        return render(request, "revenue/forecast.html", context)
