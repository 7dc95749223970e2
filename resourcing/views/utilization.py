"""Utilization pages: the report with its chart and exports, the bench and demand vs capacity."""

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from psa.common.export import csv_response, xlsx_response
from psa.common.permissions import RequiredPermsMixin
from psa.models import Role
from resourcing.selectors.utilization import (
    EXPORT_COLUMNS,
    UtilizationRow,
    bench_list,
    demand_vs_capacity,
    utilization_report,
    utilization_totals,
    week_start,
)

PERM = "resourcing.view_utilization"
MAX_RANGE = timedelta(days=366)
CHART_ROWS = 40  # the chart shows the first rows; the table and the exports have them all
CHART_WIDTH = 480  # px for 100 %
BAR_HEIGHT = 14
ROW_HEIGHT = 40


class UtilizationFilterForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    group_by = forms.ChoiceField(choices=[("person", "Person"), ("role", "Role"),
                                          ("team", "Team"), ("week", "Week")], required=False)
    role = forms.ModelChoiceField(queryset=Role.objects.all(), required=False,
                                  empty_label="All roles")

    def clean(self) -> dict:
        data = super().clean()
        today = timezone.localdate()
        data["start"] = data.get("start") or week_start(today) - timedelta(weeks=4)
        data["end"] = data.get("end") or week_start(today) + timedelta(days=6)
        data["group_by"] = data.get("group_by") or "person"
        if data["end"] < data["start"]:
            self.add_error("end", "The end is before the start.")
        elif data["end"] - data["start"] > MAX_RANGE:
            self.add_error("end", "The range is longer than a year.")
        return data


def _chart(rows: list[UtilizationRow]) -> dict[str, object]:
    """Bar geometry for the inline SVG: billable and total utilization with the target mark."""
    bars = []
    for index, row in enumerate(rows[:CHART_ROWS]):
        figures = row.figures
        y = index * ROW_HEIGHT

        def width(value: Decimal | None) -> int:
            return int(min(Decimal(150), value or Decimal(0)) * CHART_WIDTH / 100)

        bars.append({
            "label": row.label, "y": y, "text_y": y + 11, "y2": y + BAR_HEIGHT + 2,
            "billable": figures.billable_utilization, "total": figures.total_utilization,
            "target": figures.target,
            "billable_w": width(figures.billable_utilization),
            "total_w": width(figures.total_utilization),
            "target_x": width(figures.target) if figures.target is not None else None,
            "target_y2": y + 2 * BAR_HEIGHT + 4,
        })
    return {"bars": bars, "height": max(ROW_HEIGHT, len(bars) * ROW_HEIGHT),
            "width": CHART_WIDTH * 3 // 2, "hundred_x": CHART_WIDTH,
            "truncated": len(rows) > CHART_ROWS}


class UtilizationView(RequiredPermsMixin, View):
    """`/utilization/`: the report grouped by person, role, team or week; `?format=csv|xlsx`."""

    required_perms = {"get": PERM}

    def get(self, request: HttpRequest) -> HttpResponse:
        form = UtilizationFilterForm(request.GET)
        if not form.is_valid():
            return render(request, "resourcing/utilization.html",
                          {"title": "Utilization", "form": form, "rows": [], "total": None},
                          status=400)
        params = form.cleaned_data
        role = params.get("role")
        rows = utilization_report(start=params["start"], end=params["end"],
                                  group_by=params["group_by"],
                                  role_id=role.pk if role else None)
        export = request.GET.get("format")
        if export in ("csv", "xlsx"):
            header = list(EXPORT_COLUMNS)
            table = [[row.as_dict()[c] for c in EXPORT_COLUMNS] for row in rows]
            name = f"utilization-{params['group_by']}-{params['start']}-{params['end']}"
            if export == "csv":
                return csv_response(filename=f"{name}.csv", header=header, rows=table)
            return xlsx_response(sheet="Utilization", filename=f"{name}.xlsx", header=header,
                                 rows=table)
        total = utilization_totals(rows)
        query = request.GET.copy()
        query.pop("format", None)
        context = {
            "title": "Utilization", "form": form, "rows": rows, "total": total,
            "chart": _chart(rows), "params": params, "query": query.urlencode(),
            "context_line": f"{params['start']:%d %b %Y} to {params['end']:%d %b %Y} · "
                            f"by {params['group_by']}",
        }
        return render(request, "resourcing/utilization.html", context)


class BenchView(RequiredPermsMixin, View):
    """`/utilization/bench/`: people scheduled below a threshold over the next weeks."""

    required_perms = {"get": PERM}

    def get(self, request: HttpRequest) -> HttpResponse:
        weeks = _int_param(request, "weeks", 4, 1, 26)
        threshold = Decimal(_int_param(request, "threshold", 50, 0, 100))
        start = week_start(timezone.localdate())
        entries = bench_list(start=start, weeks=weeks, threshold=threshold)
        return render(request, "resourcing/utilization_bench.html", {
            "title": "Bench", "entries": entries, "weeks": weeks, "threshold": threshold,
            "start": start,
            "context_line": f"{len(entries)} people below {threshold} % scheduled over "
                            f"{weeks} weeks from {start:%d %b %Y}",
        })


class DemandView(RequiredPermsMixin, View):
    """`/utilization/demand/`: capacity vs demand by role for the next 12 weeks."""

    required_perms = {"get": PERM}

    def get(self, request: HttpRequest) -> HttpResponse:
        start = week_start(timezone.localdate())
        mondays, rows = demand_vs_capacity(start=start, weeks=12)
        table = [{"role": row.role, "cells": [row.cells[m] for m in mondays]} for row in rows]
        return render(request, "resourcing/utilization_demand.html", {
            "title": "Demand vs capacity", "mondays": mondays, "rows": table,
            "context_line": f"12 weeks from {start:%d %b %Y}; pipeline weighted by probability",
        })


def _int_param(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(request.GET.get(name, default))
    except ValueError:
        return default
    return max(low, min(high, value))
