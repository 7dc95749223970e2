"""`/billing/runs/<pk>/`: one invoice run as a reviewable batch (UI.md: long work shows
progress): its status and a progress bar that HTMX polls every second until the run is
finished, the invoices it created, every contract's outcome, the exception queue and the
difference against the previous run of the same contracts."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from billing.models import InvoiceRun, RunOutcome
from billing.selectors.invoices import invoice_list, run_diff, run_list, run_outcomes
from billing.views.common import billing_tabs, is_htmx, vary_on_htmx
from psa.common.permissions import RequiredPermsMixin

OUTCOMES_PAGE_SIZE = 100
EXCEPTIONS_SHOWN = 500
REASONS = dict(RunOutcome.Reason.choices)


def _run(user: User, pk: int) -> InvoiceRun:
    return get_object_or_404(run_list(actor=user).select_related("started_by__person"), pk=pk)


def _started_by(run: InvoiceRun) -> str:
    user = run.started_by
    person = getattr(user, "person", None)
    return person.full_name if person else (user.get_full_name() or user.username)


def progress_context(run: InvoiceRun) -> dict[str, object]:
    finished = run.status in InvoiceRun.FINISHED
    return {"run": run, "finished": finished,
            # The bar's maximum: the contracts in scope, or 1 before they are counted.
            "progress_max": max(run.total_units, 1),
            "progress_value": (max(run.total_units, 1)
                               if run.status == InvoiceRun.Status.COMPLETED
                               else min(run.done_units, max(run.total_units, 1))),
            "progress_url": reverse("billing:run-progress", args=[run.pk])}


class RunDetailView(RequiredPermsMixin, View):
    """GET: the run page; outcomes are paged, exceptions and the diff shown in full."""

    required_perms = {"get": "billing.view_invoicerun"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = _run(request.user, pk)
        outcomes = run_outcomes(run=run)
        page = Paginator(outcomes, OUTCOMES_PAGE_SIZE).get_page(request.GET.get("page"))
        exceptions = outcomes.filter(reason__in=RunOutcome.EXCEPTIONS)
        scope = run.legal_entity.code if run.legal_entity_id else "all legal entities"
        diff = run_diff(run=run)
        changed = [row for row in diff if row.delta or row.reason != row.previous_reason]
        context = {
            **progress_context(run),
            "title": f"Invoice run {run.pk}",
            "context_line": f"Cut-off {run.cut_off:%d %b %Y} · {scope}"
                            + (f" · started by {_started_by(run)}" if run.started_by_id else ""),
            "breadcrumbs": [("Billing", reverse("billing:workbench")),
                            (f"Run {run.pk}", None)],
            "tabs": billing_tabs(request, "billing:workbench"),
            "invoices": list(invoice_list(actor=request.user).filter(run=run)
                             .order_by("client__name", "pk")),
            "outcome_page": page,
            "outcomes": list(page.object_list),
            "exceptions": list(exceptions[:EXCEPTIONS_SHOWN]),
            "exception_count": exceptions.count(),
            "diff": [{"row": row, "label": REASONS.get(row.reason, row.reason),
                      "previous_label": REASONS.get(row.previous_reason or "", "")}
                     for row in changed],
            "unchanged_count": len(diff) - len(changed),
            "has_previous": any(row.previous_reason is not None for row in diff),
        }
        return render(request, "billing/run_detail.html", context)


class RunProgressView(RequiredPermsMixin, View):
    """GET: the progress fragment HTMX polls; it stops polling once the run is finished and
    then asks the browser to reload the page so the results appear (HX-Refresh)."""

    required_perms = {"get": "billing.view_invoicerun"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = _run(request.user, pk)
        context = progress_context(run)
        response = render(request, "billing/partials/_run_progress.html", context)
        if context["finished"] and is_htmx(request) and request.GET.get("polling"):
            response["HX-Refresh"] = "true"
        return vary_on_htmx(response)
