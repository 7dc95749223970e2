"""Invoice pages: the list (filters in the URL, sorting, paging, CSV) and the review page of
one invoice or credit note, whose lines expand to their source items; and the PDF download.

The review page is rendered by `invoice_page`, also when a form posted from it fails: the
failed form comes back bound, its error beside the field and the typed values kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from billing.documents import format_percent, invoice_pdf_bytes
from billing.forms import (
    CreditNoteForm,
    InvoiceFilterForm,
    IssueForm,
    LineAdjustForm,
    LineDescribeForm,
    NotesForm,
    PaymentForm,
    VoidForm,
)
from billing.models import Invoice, InvoiceLine
from billing.selectors.invoices import (
    invoice_credit_notes,
    invoice_lines,
    invoice_list,
    invoice_payments,
)
from billing.views.common import billing_tabs, invoice_for
from psa.common.permissions import RequiredPermsMixin
from psa.views.lists import Column, ListPage

SORTS = {"number": "number", "client": "client__name", "status": "status",
         "issue_date": "issue_date", "due_date": "due_date", "total": "total",
         "created": "created_at"}
INVOICE_CSV_HEADER = ("Number", "Kind", "Status", "Client", "Contract", "Legal entity",
                      "Currency", "Cut-off", "Issue date", "Due date", "Subtotal", "Tax",
                      "Total", "Paid", "Credited", "Balance", "Credited invoice")
LINE_PREFIX = "line{}"
# The permission flag under which each action's form is on the page.
PANELS = {"approve": "may_approve", "unapprove": "may_unapprove", "issue": "may_issue",
          "void": "may_void", "delete": "may_delete", "notes": "may_change",
          "credit-note": "may_credit", "payment": "may_pay"}


def _ordering(sort: str) -> list[str]:
    field = SORTS.get(sort.lstrip("-"), "created_at")
    prefix = "-" if sort.startswith("-") else ""
    return [f"{prefix}{field}", f"{prefix}pk"]


class InvoiceListView(ListPage):
    """Invoices and credit notes the user may see: status, kind and client search."""

    required_perms = {"get": "billing.view_invoice"}
    template_name = "billing/invoice_list.html"
    partial_template_name = "billing/partials/_invoice_results.html"
    form_class = InvoiceFilterForm
    default_sort = "-created"
    export_filename = "invoices.csv"
    title = "Invoices"
    context_line = "Drafts, approved and issued invoices and credit notes you may see."
    columns = (
        Column("Number", "number"), Column("Client", "client"), Column("Contract"),
        Column("Status", "status"), Column("Issued", "issue_date"), Column("Due", "due_date"),
        Column("Total", "total", numeric=True), Column("Balance", numeric=True),
    )

    def get(self, request: HttpRequest, *, export: bool = False) -> HttpResponse:
        # ListPage builds the context; the template reads the section tabs from the request.
        request.billing_tabs = billing_tabs(request, "billing:invoice-list")
        return super().get(request, export=export)

    def get_queryset(self, **filters: object) -> QuerySet[Invoice]:
        sort = str(filters.pop("sort", self.default_sort))
        selector_filters = {"status": filters.get("status"), "kind": filters.get("kind"),
                            "search": filters.get("q")}
        return invoice_list(actor=self.request.user,
                            filters=selector_filters).order_by(*_ordering(sort))

    def csv_header(self) -> Sequence[str]:
        return INVOICE_CSV_HEADER

    def csv_rows(self, queryset: QuerySet[Invoice]) -> Iterable[Sequence[object]]:
        for invoice in queryset.iterator(chunk_size=2000):
            yield (invoice.number or f"Draft {invoice.pk}", invoice.get_kind_display(),
                   invoice.get_status_display(), invoice.client.name,
                   invoice.contract.code if invoice.contract_id else "",
                   invoice.legal_entity.code, invoice.currency, invoice.cut_off,
                   invoice.issue_date, invoice.due_date, invoice.subtotal, invoice.tax_amount,
                   invoice.total, invoice.amount_paid, invoice.credited_total, invoice.balance,
                   str(invoice.credited_invoice) if invoice.credited_invoice_id else "")


def line_forms(line: InvoiceLine, data: Any = None) -> tuple[forms.Form, forms.Form]:
    """The describe and write-down/up forms of one line (prefixed, so ids stay unique)."""
    prefix = LINE_PREFIX.format(line.pk)
    describe = LineDescribeForm(data, prefix=prefix, initial={"description": line.description})
    adjust = LineAdjustForm(data, prefix=prefix, initial={
        "adjustment": line.adjustment if line.adjustment else None,
        "adjustment_reason": line.adjustment_reason, "note": line.adjustment_note})
    return describe, adjust


def invoice_permissions(user: Any, invoice: Invoice) -> dict[str, bool]:
    """What the user may do to the invoice in its current status (the role matrix and the
    state map; the services check the state again)."""
    status, kind = invoice.status, invoice.kind
    is_invoice = kind == Invoice.Kind.INVOICE
    draft = status == Invoice.Status.DRAFT

    def may(perm: str) -> bool:
        return user.has_perm(perm, invoice)

    return {
        "may_change": draft and may("billing.change_invoice"),
        "may_hold": draft and is_invoice and may("billing.hold_item"),
        "may_approve": draft and may("billing.approve_invoice"),
        "may_unapprove": status == Invoice.Status.APPROVED and may("billing.approve_invoice"),
        "may_issue": status == Invoice.Status.APPROVED and may("billing.issue_invoice"),
        "may_void": status in (Invoice.Status.DRAFT, Invoice.Status.APPROVED)
                    and may("billing.void_invoice"),
        "may_delete": draft and may("billing.delete_invoice"),
        "may_download": status in Invoice.ISSUED_STATES,
        "may_credit": is_invoice and status in Invoice.ISSUED_STATES
                      and may("billing.add_creditnote"),
        "may_pay": is_invoice and status in Invoice.OPEN_STATES and may("billing.add_payment"),
        "may_see_payments": user.has_perm("billing.view_payment"),
    }


def invoice_page(request: HttpRequest, invoice: Invoice, *,
                 line_bound: tuple[int, forms.Form, forms.Form] | None = None,
                 action_bound: tuple[str, forms.Form] | None = None,
                 status: int = 200) -> HttpResponse:
    """The review page; a failed form from it comes back bound (`line_bound` for a line's
    forms, `action_bound` for an action's) and its panel open."""
    user = request.user
    perms = invoice_permissions(user, invoice)
    lines = list(invoice_lines(invoice=invoice))
    line_rows = []
    for line in lines:
        if line_bound and line_bound[0] == line.pk:
            describe, adjust = line_bound[1], line_bound[2]
        else:
            describe, adjust = line_forms(line)
        line_rows.append({"line": line, "describe_form": describe, "adjust_form": adjust,
                          "open": bool(line_bound and line_bound[0] == line.pk)})
    action_forms: dict[str, forms.Form] = {
        "notes": NotesForm(prefix="notes", initial={"notes": invoice.notes}),
        "issue": IssueForm(prefix="issue"),
        "void": VoidForm(prefix="void"),
        "payment": PaymentForm(prefix="payment"),
    }
    if perms["may_credit"]:
        action_forms["credit-note"] = CreditNoteForm(prefix="credit", lines=lines)
    top_errors: list[str] = []
    if action_bound:
        name, bound = action_bound
        action_forms[name] = bound
        if not perms.get(PANELS.get(name, ""), False):
            # The action's form is not on the page (the state moved on): say why up top.
            top_errors = [str(error) for errors in bound.errors.values() for error in errors]
    payments = (list(invoice_payments(invoice=invoice))
                if perms["may_see_payments"] and invoice.kind == Invoice.Kind.INVOICE else [])
    credit_notes = (list(invoice_credit_notes(invoice=invoice))
                    if invoice.kind == Invoice.Kind.INVOICE else [])
    title = (f"{invoice.get_kind_display()} {invoice.number}" if invoice.number
             else f"Draft {invoice.get_kind_display().lower()} {invoice.pk}")
    context = {
        **perms,
        "title": title,
        "context_line": f"{invoice.client.name}"
                        + (f" · {invoice.contract.code} {invoice.contract.name}"
                           if invoice.contract_id else " · consolidated")
                        + f" · {invoice.currency}",
        "breadcrumbs": [("Billing", reverse("billing:workbench")),
                        ("Invoices", reverse("billing:invoice-list")), (title, None)],
        "tabs": billing_tabs(request, "billing:invoice-list"),
        "invoice": invoice,
        "tax_percent": format_percent(invoice.tax_rate),
        "line_rows": line_rows,
        "forms": action_forms,
        "credit_form": action_forms.get("credit-note"),
        "open_action": action_bound[0] if action_bound else None,
        "top_errors": top_errors,
        "payments": payments,
        "credit_notes": credit_notes,
        "adjusted_total": sum((line.adjustment for line in lines), invoice.subtotal * 0),
    }
    return render(request, "billing/invoice_detail.html", context, status=status)


class InvoiceDetailView(RequiredPermsMixin, View):
    """GET: the review page of an invoice or credit note; 404 outside the user's scope."""

    required_perms = {"get": "billing.view_invoice"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return invoice_page(request, invoice_for(request.user, pk))


class InvoicePdfView(RequiredPermsMixin, View):
    """GET: the issued document as a PDF download: the stored file, or rendered now while the
    delivery task has not stored it yet. Drafts and approved invoices have no PDF (404)."""

    required_perms = {"get": "billing.view_invoice"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = invoice_for(request.user, pk)
        if invoice.status not in Invoice.ISSUED_STATES:
            raise Http404("Only issued invoices have a PDF.")
        response = HttpResponse(invoice_pdf_bytes(invoice=invoice),
                                content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response
