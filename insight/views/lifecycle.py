"""`/dashboard/lifecycle/`: the lifecycle measures, a tile each with its change and a twelve-month
sparkline, the months-by-measures table (CSV and XLSX) and the approved-time aging buckets."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from insight.forms import InsightFilterForm, filter_query
from insight.selectors.dashboard import build_scope
from insight.selectors.lifecycle import Lifecycle, lifecycle
from insight.views.common import insight_tabs, measure_tile
from psa.common.export import table_export
from psa.common.permissions import RequiredPermsMixin

PERM = "insight.view_lifecycle"
TEMPLATE = "insight/lifecycle.html"


class LifecycleFilterForm(InsightFilterForm):
    """The last month shown and the legal entity (the lifecycle page has no other filter)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, with_work_filters=False, **kwargs)
        del self.fields["currency"]


def export_header(board: Lifecycle) -> list[str]:
    return ["measure", "unit", *(f"{month:%Y-%m}" for month in board.scope.months)]


def export_rows(board: Lifecycle) -> list[list[object]]:
    return [[measure.label, measure.unit, *measure.values] for measure in board.measures]


def _context_line(board: Lifecycle, form: LifecycleFilterForm) -> str:
    scope, entity = board.scope, form.cleaned_data.get("legal_entity")
    return " · ".join([f"{scope.months[0]:%b %Y} to {scope.months[-1]:%b %Y}",
                       entity.code if entity else "all legal entities",
                       f"amounts in {scope.currency}"])


class LifecycleView(RequiredPermsMixin, View):
    """Tiles, the twelve-month table and the aging buckets; `?format=csv|xlsx` exports the
    table. A bad filter is shown beside its field (400)."""

    required_perms = {"get": PERM}

    def get(self, request: HttpRequest) -> HttpResponse:
        data = request.GET.copy()
        if not data.get("month"):  # the running month: its aging is measured as of now
            data["month"] = f"{timezone.localdate():%Y-%m}"
        form = LifecycleFilterForm(data)
        tabs = insight_tabs(request, "insight:lifecycle")
        if not form.is_valid():
            return render(request, TEMPLATE, {"title": "Lifecycle", "form": form,
                                              "board": None, "tabs": tabs}, status=400)
        scope = build_scope(end_month=form.cleaned_data["month"],
                            legal_entity=form.cleaned_data.get("legal_entity"))
        board = lifecycle(scope=scope)
        exported = table_export(kind=request.GET.get("format"), sheet="Lifecycle",
                                name=f"lifecycle-{scope.months[-1]:%Y-%m}",
                                header=export_header(board), rows=export_rows(board))
        if exported is not None:
            return exported
        context = {
            "title": "Lifecycle", "form": form, "board": board, "tabs": tabs,
            "tiles": [measure_tile(measure) for measure in board.measures],
            "query": filter_query(request.GET), "context_line": _context_line(board, form),
        }
        return render(request, TEMPLATE, context)
