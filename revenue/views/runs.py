"""`/revenue/runs/<pk>/`: one recognition run (UI.md: long work shows progress): its status
and a progress bar that HTMX polls every second until the run is finished (then the page
reloads itself), the amounts posted per currency and every entry it posted with the
explanation of its figure and its journal entry."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views import View

from psa.common.permissions import RequiredPermsMixin
from revenue.models import RecognitionRun
from revenue.selectors.runs import recognition_run_get, run_amounts_by_currency, run_entries
from revenue.views.schedules import revenue_tabs

VIEW_PERM = "revenue.view_recognitionrun"
ENTRIES_PAGE_SIZE = 100


def _run_or_404(request: HttpRequest, pk: int) -> RecognitionRun:
    try:
        return recognition_run_get(actor=request.user, run_id=pk)
    except RecognitionRun.DoesNotExist as exc:
        raise Http404("No such recognition run.") from exc


def _is_htmx(request: HttpRequest) -> bool:
    return (request.headers.get("HX-Request") == "true"
            and not request.headers.get("HX-History-Restore-Request"))


def _started_by(run: RecognitionRun) -> str:
    user = run.started_by
    if user is None:
        return ""
    person = getattr(user, "person", None)
    return person.full_name if person else (user.get_full_name() or user.username)


def progress_context(run: RecognitionRun) -> dict[str, object]:
    """What the progress partial shows (also for pages of other areas that embed it)."""
    finished = run.status in RecognitionRun.FINISHED
    maximum = max(run.total_units, 1)  # the contracts in scope, or 1 before they are counted
    return {"run": run, "finished": finished, "progress_max": maximum,
            "progress_value": (maximum if run.status == RecognitionRun.Status.COMPLETED
                               else min(run.done_units, maximum)),
            "amounts": run_amounts_by_currency(run_ids=[run.pk])[run.pk],
            "progress_url": reverse("revenue:run-progress", args=[run.pk])}


class RunDetailView(RequiredPermsMixin, View):
    """GET: the run page; its entries are paged."""

    required_perms = {"get": VIEW_PERM}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = _run_or_404(request, pk)
        page = Paginator(run_entries(run=run), ENTRIES_PAGE_SIZE).get_page(
            request.GET.get("page"))
        started = _started_by(run)
        journals_url = None
        if request.user.has_perm("revenue.view_journalentry"):
            journals_url = (f"{reverse('revenue:journal-list')}?legal_entity="
                            f"{run.legal_entity_id}&period={run.period:%Y-%m}&source=recognition")
        context = {
            **progress_context(run),
            "title": f"Recognition run {run.pk}",
            "context_line": f"{run.period:%B %Y} · {run.legal_entity.code} "
                            f"{run.legal_entity.name}"
                            + (f" · started by {started}" if started else ""),
            "breadcrumbs": [("Revenue", reverse("revenue:schedule-list")),
                            (f"Run {run.pk}", None)],
            "tabs": revenue_tabs(request, ""),
            "entry_page": page,
            "entries": list(page.object_list),
            "journals_url": journals_url,
        }
        return render(request, "revenue/run_detail.html", context)


class RunProgressView(RequiredPermsMixin, View):
    """GET: the progress fragment HTMX polls; once the run is finished it stops polling and
    asks the browser to reload the page so the entries appear (HX-Refresh)."""

    required_perms = {"get": VIEW_PERM}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        context = progress_context(_run_or_404(request, pk))
        response = render(request, "revenue/partials/run_progress.html", context)
        if context["finished"] and _is_htmx(request) and request.GET.get("polling"):
            response["HX-Refresh"] = "true"
        patch_vary_headers(response, ["HX-Request"])
        return response
