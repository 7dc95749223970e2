"""The writes of the invoice review page, each a POST that calls one billing service.

Line edits (description, write-down/up) answer an HTMX request with the line's fragment and
the new totals, so the page stays where it is; without HTMX they redirect back. Every other
action redirects back to the invoice (or to the new credit note, or to the workbench after a
draft is deleted). A refused action is 403; a domain error re-renders the page with the
sentence beside the field it names and the typed values kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from billing.documents import format_percent
from billing.forms import (
    CreditNoteForm,
    EmptyForm,
    HoldForm,
    IssueForm,
    NotesForm,
    PaymentForm,
    VoidForm,
    show_error,
)
from billing.models import BilledItem, Invoice, InvoiceLine
from billing.selectors.invoices import invoice_lines
from billing.services.credit_notes import credit_note_create
from billing.services.drafts import (
    draft_delete,
    invoice_notes_update,
    item_hold,
    line_adjust,
    line_describe,
)
from billing.services.issue import invoice_approve, invoice_issue, invoice_unapprove, invoice_void
from billing.services.payments import payment_record
from billing.views.common import invoice_for, is_htmx, require
from billing.views.invoices import invoice_page, invoice_permissions, line_forms
from psa.common.errors import DomainError
from psa.common.permissions import RequiredPermsMixin

Outcome = tuple[str, Any]  # (message, where to go: a model with get_absolute_url or a url)


@dataclass(frozen=True)
class Action:
    """One button of the review page: the permission it needs, its form and what it does."""

    perm: str
    form: type[forms.Form]
    prefix: str
    run: Callable[[Invoice, Any, dict[str, Any]], Outcome]


def _approve(invoice: Invoice, actor: Any, data: dict[str, Any]) -> Outcome:
    invoice = invoice_approve(invoice=invoice, actor=actor)
    return f"Approved {invoice}: it can be issued now.", invoice


def _unapprove(invoice: Invoice, actor: Any, data: dict[str, Any]) -> Outcome:
    invoice = invoice_unapprove(invoice=invoice, actor=actor)
    return f"{invoice} is a draft again.", invoice


def _issue(invoice: Invoice, actor: Any, data: dict[str, Any]) -> Outcome:
    invoice = invoice_issue(invoice=invoice, actor=actor, issue_date=data.get("issue_date"))
    return (f"Issued {invoice} on {invoice.issue_date:%d %b %Y}, due "
            f"{invoice.due_date:%d %b %Y}."), invoice


def _void(invoice: Invoice, actor: Any, data: dict[str, Any]) -> Outcome:
    invoice = invoice_void(invoice=invoice, actor=actor, reason=data["reason"])
    return f"Voided {invoice}; its items can be billed again.", invoice


def _delete(invoice: Invoice, actor: Any, data: dict[str, Any]) -> Outcome:
    name = str(invoice)
    draft_delete(invoice=invoice, actor=actor)
    return f"Deleted {name}; its items are released for the next run.", "billing:workbench"


def _notes(invoice: Invoice, actor: Any, data: dict[str, Any]) -> Outcome:
    invoice = invoice_notes_update(invoice=invoice, actor=actor, notes=data["notes"])
    return "Saved the notes.", invoice


def _credit(invoice: Invoice, actor: Any, data: dict[str, Any]) -> Outcome:
    note = credit_note_create(invoice=invoice, actor=actor, reason=data["reason"],
                              lines=data["credits"], release_items=data["release_items"])
    return (f"Drafted a credit note of {note.total:,.2f} {note.currency} against {invoice}; "
            "approve and issue it to apply it."), note


def _payment(invoice: Invoice, actor: Any, data: dict[str, Any]) -> Outcome:
    payment = payment_record(invoice=invoice, actor=actor, amount=data["amount"],
                             received_date=data["received_date"],
                             reference=data["reference"])
    return (f"Recorded {payment.amount:,.2f} {payment.currency} received "
            f"{payment.received_date:%d %b %Y}."), invoice


ACTIONS: dict[str, Action] = {
    "approve": Action("billing.approve_invoice", EmptyForm, "approve", _approve),
    "unapprove": Action("billing.approve_invoice", EmptyForm, "unapprove", _unapprove),
    "issue": Action("billing.issue_invoice", IssueForm, "issue", _issue),
    "void": Action("billing.void_invoice", VoidForm, "void", _void),
    "delete": Action("billing.delete_invoice", EmptyForm, "delete", _delete),
    "notes": Action("billing.change_invoice", NotesForm, "notes", _notes),
    "credit-note": Action("billing.add_creditnote", CreditNoteForm, "credit", _credit),
    "payment": Action("billing.add_payment", PaymentForm, "payment", _payment),
}


class InvoiceActionView(RequiredPermsMixin, View):
    """POST `/billing/invoices/<pk>/<action>/`: one of ACTIONS on the invoice."""

    required_perms = {"post": "billing.view_invoice"}

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        spec = ACTIONS.get(action)
        if spec is None:
            raise Http404("No such action.")
        invoice = invoice_for(request.user, pk)
        require(request.user, spec.perm, invoice)
        kwargs: dict[str, Any] = {"prefix": spec.prefix}
        if spec.form is CreditNoteForm:
            kwargs["lines"] = invoice_lines(invoice=invoice)
        form = spec.form(request.POST, **kwargs)
        status = 400
        if form.is_valid():
            try:
                message, target = spec.run(invoice, request.user, form.cleaned_data)
            except DomainError as exc:
                show_error(form, exc)
                status = exc.http_status
            else:
                messages.success(request, message)
                return redirect(target)
        # The page is shown as it is now (a failed service call changed nothing).
        return invoice_page(request, invoice_for(request.user, pk),
                            action_bound=(action, form), status=status)


def _line_for(request: HttpRequest, pk: int) -> InvoiceLine:
    line = get_object_or_404(InvoiceLine, pk=pk)
    line.invoice = invoice_for(request.user, line.invoice_id)
    require(request.user, "billing.change_invoice", line.invoice)
    return line


def _line_fragment(request: HttpRequest, invoice: Invoice, line_pk: int,
                   describe: forms.Form | None = None, adjust: forms.Form | None = None,
                   status: int = 200) -> HttpResponse:
    """The line's `<tbody>` (open) and, out of band, the invoice's totals."""
    line = invoice_lines(invoice=invoice).get(pk=line_pk)
    if describe is None or adjust is None:
        describe, adjust = line_forms(line)
    context = {**invoice_permissions(request.user, invoice), "invoice": invoice,
               "tax_percent": format_percent(invoice.tax_rate),
               "row": {"line": line, "describe_form": describe, "adjust_form": adjust,
                       "open": True},
               "oob": True}
    return render(request, "billing/partials/_line_response.html", context, status=status)


class LineEditView(RequiredPermsMixin, View):
    """POST `/billing/lines/<pk>/describe/` or `.../adjust/`: change a draft line."""

    required_perms = {"post": "billing.change_invoice"}

    def post(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if action not in ("describe", "adjust"):
            raise Http404("No such action.")
        line = _line_for(request, pk)
        describe, adjust = line_forms(line, request.POST)
        form = describe if action == "describe" else adjust
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                if action == "describe":
                    line_describe(line=line, actor=request.user,
                                  description=data["description"])
                    message = "Saved the description."
                else:
                    line_adjust(line=line, actor=request.user, adjustment=data["adjustment"],
                                reason=data["adjustment_reason"], note=data["note"])
                    message = "Saved the adjustment."
            except DomainError as exc:
                show_error(form, exc)
                status = exc.http_status
            else:
                invoice = invoice_for(request.user, line.invoice_id)
                if is_htmx(request):
                    return _line_fragment(request, invoice, line.pk)
                messages.success(request, message)
                return redirect(f"{invoice.get_absolute_url()}#line-{line.pk}")
        # Show only the form that was posted as bound; the other keeps the line's values.
        fresh_describe, fresh_adjust = line_forms(line)
        if action == "describe":
            adjust = fresh_adjust
        else:
            describe = fresh_describe
        invoice = invoice_for(request.user, line.invoice_id)
        if is_htmx(request):
            # 422 so the fragment is swapped in (billing.js lets these through).
            return _line_fragment(request, invoice, line.pk, describe, adjust, status=422)
        return invoice_page(request, invoice, line_bound=(line.pk, describe, adjust),
                            status=status)


class ItemHoldView(RequiredPermsMixin, View):
    """POST `/billing/items/<pk>/hold/`: take a time entry or expense off the draft and hold
    it back from later runs until released on the workbench."""

    required_perms = {"post": "billing.hold_item"}

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = get_object_or_404(BilledItem, pk=pk)
        invoice = item.invoice = invoice_for(request.user, item.invoice_id)
        require(request.user, "billing.hold_item", invoice)
        form = HoldForm(request.POST, prefix=f"item{item.pk}")
        if form.is_valid():
            try:
                item_hold(item=item, actor=request.user, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                messages.error(request, exc.detail)
            else:
                messages.success(request, "Held the item back: it stays off invoices until "
                                          "it is released on the billing workbench.")
        return redirect(invoice)
