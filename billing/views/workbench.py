"""`/billing/`: finance's workbench (UI.md, Billing): what is ready to invoice per contract,
the "Run invoicing" form, drafts to review, recent runs, items held back and amounts held
over a cap. Writes go through billing's services; every action checks the role matrix."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from billing.forms import RunStartForm, WriteOffForm, show_error
from billing.models import CapHold, HeldItem, Invoice
from billing.selectors.invoices import cap_holds, held_items, invoice_list, run_list
from billing.selectors.unbilled import ReadyRow, invoice_ready_by_contract
from billing.services.cap_holds import cap_hold_write_off
from billing.services.drafts import hold_release
from billing.services.runs import invoice_run_start
from billing.views.common import billing_tabs, legal_entity_choices, require
from psa.common.errors import DomainError
from psa.common.export import csv_response
from psa.common.permissions import RequiredPermsMixin
from psa.selectors.org import legal_entity_list

READY_PAGE_SIZE = 50
DRAFTS_SHOWN = 50
RUNS_SHOWN = 10
HOLDS_SHOWN = 100
READY_CSV_HEADER = (
    "Contract", "Contract name", "Client", "Billing model", "Currency", "Unbilled hours",
    "Time amount", "Expenses", "Milestones", "Milestone amount", "Installments",
    "Installment amount", "Retainer months", "Retainer amount", "Ready total",
    "Held items", "Held over cap", "Oldest item", "Age (days)")


def ready_csv_rows(rows: Iterable[ReadyRow]) -> Iterable[Sequence[object]]:
    for r in rows:
        yield (r.contract_code, r.contract_name, r.client_name, r.billing_model, r.currency,
               r.time_hours, r.time_amount, r.expense_amount, r.milestone_count,
               r.milestone_amount, r.installment_count, r.installment_amount,
               r.retainer_months, r.retainer_amount, r.total_amount, r.held_items,
               r.held_over_cap, r.oldest_item_date, r.age_days)


def totals_by_currency(rows: Iterable[ReadyRow]) -> list[tuple[str, Decimal, Decimal]]:
    """(currency, ready total, held over cap) for the totals line: currencies never mix."""
    ready: dict[str, Decimal] = defaultdict(Decimal)
    held: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        ready[row.currency] += row.total_amount
        held[row.currency] += row.held_over_cap
    return [(currency, ready[currency], held[currency]) for currency in sorted(ready)]


class WorkbenchView(RequiredPermsMixin, View):
    """GET: the workbench for a cut-off and legal entity taken from the URL (`?format=csv`
    exports the ready-to-invoice rows)."""

    required_perms = {"get": "billing.view_invoicerun"}

    def get(self, request: HttpRequest) -> HttpResponse:
        form = RunStartForm(request.GET or None,
                            legal_entities=legal_entity_choices(request.user))
        return workbench_response(request, form)


def _scope(request: HttpRequest, form: RunStartForm) -> tuple[date, object]:
    """The cut-off and legal entity the ready table shows (the form's, else today and all)."""
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    cut_off = data.get("cut_off") or form.initial["cut_off"]
    entity = None
    if data.get("legal_entity"):
        entity = legal_entity_list(actor=request.user).filter(pk=data["legal_entity"]).first()
    return cut_off, entity


def workbench_response(request: HttpRequest, form: RunStartForm, *,
                       write_off: tuple[int, WriteOffForm] | None = None,
                       status: int = 200) -> HttpResponse:
    user = request.user
    cut_off, entity = _scope(request, form)
    ready = invoice_ready_by_contract(cut_off=cut_off, legal_entity=entity, actor=user)
    if request.GET.get("format") == "csv":
        return csv_response(filename=f"ready-to-invoice-{cut_off}.csv",
                            header=READY_CSV_HEADER, rows=ready_csv_rows(ready))
    page = Paginator(ready, READY_PAGE_SIZE).get_page(request.GET.get("page"))
    drafts = invoice_list(actor=user, filters={"status": Invoice.Status.DRAFT,
                                               "kind": Invoice.Kind.INVOICE})
    may_write_off = user.has_perm("billing.resolve_caphold")
    holds_over_cap = list(cap_holds(actor=user)[:HOLDS_SHOWN])
    write_off_forms = {hold.pk: WriteOffForm(prefix=f"hold{hold.pk}") for hold in
                       holds_over_cap} if may_write_off else {}
    if write_off is not None:
        write_off_forms[write_off[0]] = write_off[1]
    query = request.GET.copy()
    query.pop("page", None)
    query["format"] = "csv"
    context = {
        "title": "Billing",
        "context_line": f"Ready to invoice up to {cut_off:%d %b %Y}"
                        + (f" · {entity.code}" if entity else " · all legal entities"),
        "tabs": billing_tabs(request, "billing:workbench"),
        "form": form,
        "may_run": user.has_perm("billing.add_invoicerun"),
        "cut_off": cut_off,
        "ready_page": page,
        "ready_rows": list(page.object_list),
        "ready_count": len(ready),
        "ready_totals": totals_by_currency(ready),
        "export_url": f"?{query.urlencode()}",
        "drafts": list(drafts[:DRAFTS_SHOWN]),
        "draft_count": drafts.count(),
        "runs": list(run_list(actor=user)[:RUNS_SHOWN]),
        "held": list(held_items(actor=user)[:HOLDS_SHOWN]),
        "may_release": user.has_perm("billing.hold_item"),
        "cap_holds": [(hold, write_off_forms.get(hold.pk)) for hold in holds_over_cap],
        "open_write_off": write_off[0] if write_off else None,
    }
    return render(request, "billing/workbench.html", context, status=status)


class RunStartView(RequiredPermsMixin, View):
    """POST: start an invoice run and go to its page (its progress updates there)."""

    required_perms = {"post": "billing.add_invoicerun"}

    def post(self, request: HttpRequest) -> HttpResponse:
        form = RunStartForm(request.POST, legal_entities=legal_entity_choices(request.user))
        if form.is_valid():
            entity_id = form.cleaned_data["legal_entity"]
            entity = (legal_entity_list(actor=request.user).get(pk=entity_id)
                      if entity_id else None)
            try:
                run = invoice_run_start(actor=request.user, cut_off=form.cleaned_data["cut_off"],
                                        legal_entity=entity)
            except DomainError as exc:
                show_error(form, exc)
            else:
                messages.success(request, f"Started invoice run {run.pk} up to "
                                          f"{run.cut_off:%d %b %Y}.")
                return redirect(run)
        return workbench_response(request, form, status=400)


class HoldReleaseView(RequiredPermsMixin, View):
    """POST: release an item finance held back; the next run bills it."""

    required_perms = {"post": "billing.hold_item"}

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        held = get_object_or_404(HeldItem.objects.select_related("time_entry", "expense"),
                                 pk=pk)
        require(request.user, "billing.hold_item", held)
        hold_release(held=held, actor=request.user)
        messages.success(request, "Released the item: the next invoice run bills it.")
        return redirect("billing:workbench")


class CapHoldWriteOffView(RequiredPermsMixin, View):
    """POST: write off an amount held over a cap, with a reason."""

    required_perms = {"post": "billing.resolve_caphold"}

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        hold = get_object_or_404(CapHold.objects.select_related("contract"), pk=pk)
        require(request.user, "billing.resolve_caphold", hold)
        form = WriteOffForm(request.POST, prefix=f"hold{hold.pk}")
        if form.is_valid():
            try:
                cap_hold_write_off(hold=hold, actor=request.user,
                                   reason=form.cleaned_data["reason"])
            except DomainError as exc:
                show_error(form, exc)
            else:
                messages.success(request, f"Wrote off {hold.amount:,.2f} {hold.currency} held "
                                          f"over the cap of {hold.contract.code}.")
                return redirect("billing:workbench")
        run_form = RunStartForm(legal_entities=legal_entity_choices(request.user))
        return workbench_response(request, run_form, write_off=(hold.pk, form), status=400)
