"""`/dashboard/`: the executive dashboard (a tile per measure with its change and sparkline, the
revenue and utilization charts), the rows behind each figure, the exports and the PDF snapshot.
"""

from datetime import date

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views import View

from insight.charts import Series, trend_chart
from insight.forms import InsightFilterForm, filter_query, last_complete_month
from insight.selectors.dashboard import ROWS, Dashboard, build_scope, dashboard, measure_rows
from insight.selectors.scope import Scope
from insight.selectors.types import Measure
from insight.views.common import PERM, insight_tabs, measure_tile
from psa.common.export import table_export
from psa.common.permissions import RequiredPermsMixin

PAGE_SIZE = 50


def scope_from(form: InsightFilterForm) -> Scope:
    data = form.cleaned_data
    return build_scope(end_month=data["month"], legal_entity=data.get("legal_entity"),
                       client=data.get("client"), service_line=data.get("service_line") or "",
                       currency=data.get("currency") or None)


def _context_line(board: Dashboard) -> str:
    scope = board.scope
    parts = [f"{scope.months[0]:%b %Y} to {scope.months[-1]:%b %Y}",
             board.legal_entity.code if board.legal_entity else "all legal entities"]
    if board.client:
        parts.append(board.client.name)
    if scope.service_line:
        parts.append(scope.service_line)
    parts.append(f"amounts in {scope.currency}")
    return " · ".join(parts)


def _charts(board: Dashboard) -> dict[str, dict[str, object]]:
    by_key, months = board.by_key, board.scope.months
    revenue = by_key["revenue"]
    billable, total = by_key["billable_utilization"], by_key["total_utilization"]
    return {
        "revenue": trend_chart(months, [
            Series("Recognised", revenue.values, "#2f6fb0"),
            Series(revenue.comparison_label or "Plan", revenue.comparison or (), "#d9a441",
                   dashed=True)]),
        "utilization": trend_chart(months, [
            Series("Billable", billable.values, "#2f6fb0"),
            Series("Total", total.values, "#5a9e6f"),
            Series("Target", billable.comparison or (), "#c0392b", dashed=True)]),
    }


def _rows_url(measure: Measure, query: str) -> str:
    return f"{reverse('insight:measure-rows', args=[measure.key])}?{query}"


def export_header(board: Dashboard) -> list[str]:
    return ["measure", "unit", *(f"{month:%Y-%m}" for month in board.scope.months)]


def export_rows(board: Dashboard) -> list[list[object]]:
    return [[f"{m.label} ({board.scope.currency})" if m.unit in ("money", "rate") else m.label,
             m.unit, *m.values] for m in board.measures]


class DashboardView(RequiredPermsMixin, View):
    """Tiles, charts and the measures table; `?format=csv|xlsx` exports the table."""

    required_perms = {"get": PERM}

    def get(self, request: HttpRequest) -> HttpResponse:
        form = InsightFilterForm(request.GET or None)
        if request.GET and not form.is_valid():
            return render(request, "insight/dashboard.html",
                          {"title": "Dashboard", "form": form, "board": None,
                           "tabs": insight_tabs(request, "insight:dashboard")}, status=400)
        if not request.GET:
            form = InsightFilterForm({"month": f"{last_complete_month():%Y-%m}"})
            form.is_valid()
        board = dashboard(scope=scope_from(form), legal_entity=form.cleaned_data["legal_entity"],
                          client=form.cleaned_data["client"])
        exported = table_export(
            kind=request.GET.get("format"), sheet="Dashboard", header=export_header(board),
            name=f"dashboard-{board.scope.months[-1]:%Y-%m}-{board.scope.currency}",
            rows=export_rows(board))
        if exported is not None:
            return exported
        query = filter_query(request.GET)
        context = {
            "title": "Dashboard", "form": form, "board": board,
            "tabs": insight_tabs(request, "insight:dashboard"),
            "tiles": [measure_tile(measure, _rows_url(measure, query))
                      for measure in board.measures],
            "charts": _charts(board), "query": query,
            "context_line": _context_line(board),
        }
        return render(request, "insight/dashboard.html", context)


class DashboardPdfView(RequiredPermsMixin, View):
    """The dashboard as printed: tiles, charts and the twelve-month table in one PDF."""

    required_perms = {"get": PERM}

    def get(self, request: HttpRequest) -> HttpResponse:
        from weasyprint import HTML

        form = InsightFilterForm(request.GET or {"month": f"{last_complete_month():%Y-%m}"})
        if not form.is_valid():
            return render(request, "insight/dashboard.html",
                          {"title": "Dashboard", "form": form, "board": None,
                           "tabs": insight_tabs(request, "insight:dashboard")}, status=400)
        board = dashboard(scope=scope_from(form), legal_entity=form.cleaned_data["legal_entity"],
                          client=form.cleaned_data["client"])
        html = render_to_string("insight/dashboard_pdf.html", {
            "board": board, "tiles": [measure_tile(measure) for measure in board.measures],
            "charts": _charts(board), "context_line": _context_line(board),
            "generated_at": timezone.localtime(), "generated_by": request.user})
        # No base URL: the template is self-contained and fetches nothing.
        response = HttpResponse(HTML(string=html).write_pdf(), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="dashboard-{board.scope.months[-1]:%Y-%m}.pdf"')
        return response


def _month_param(value: str | None, scope: Scope) -> date:
    """The month whose rows are shown: `?at=YYYY-MM` within the scope, else its last month."""
    if value:
        try:
            year, month = (int(part) for part in value.split("-")[:2])
            chosen = date(year, month, 1)
        except ValueError as exc:
            raise Http404("No such month.") from exc
        if chosen in scope.months:
            return chosen
    return scope.months[-1]


class MeasureRowsView(RequiredPermsMixin, View):
    """The rows behind one figure for one month, with their total, paged; CSV and XLSX."""

    required_perms = {"get": PERM}

    def get(self, request: HttpRequest, key: str) -> HttpResponse:
        if key not in ROWS:
            raise Http404("No such measure.")
        form = InsightFilterForm(request.GET or {"month": f"{last_complete_month():%Y-%m}"})
        if not form.is_valid():
            return render(request, "insight/measure_rows.html",
                          {"title": "Rows behind a figure", "form": form, "table": None,
                           "tabs": insight_tabs(request, "insight:dashboard")}, status=400)
        scope = scope_from(form)
        month = _month_param(request.GET.get("at"), scope)
        table = measure_rows(key=key, scope=scope, month=month)
        exported = table_export(
            kind=request.GET.get("format"), name=f"{key}-{month:%Y-%m}", sheet=key[:31],
            header=[column.label for column in table.columns],
            rows=([row.get(column.key) for column in table.columns] for row in table.rows))
        if exported is not None:
            return exported
        page = Paginator(table.rows, PAGE_SIZE).get_page(request.GET.get("page"))
        query = filter_query(request.GET)
        month_links = [{"month": m, "current": m == month,
                        "url": f"?{filter_query(request.GET, at=m)}"} for m in scope.months]
        context = {
            "title": table.title, "form": form, "table": table, "page": page, "month": month,
            "key": key, "query": filter_query(request.GET, at=month),
            "month_links": month_links,
            "tabs": insight_tabs(request, "insight:dashboard"),
            "breadcrumbs": [("Dashboard", f"{reverse('insight:dashboard')}?{query}"),
                            (table.title, None)],
            "context_line": f"{month:%B %Y} · amounts in {scope.currency}",
            "cells": [[(column, row.get(column.key)) for column in table.columns]
                      for row in page.object_list],
            "row_urls": [row.get("url") for row in page.object_list],
        }
        return render(request, "insight/measure_rows.html", context)
