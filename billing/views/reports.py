"""Finance's reports: receivables (AR aging by client and DSO), realization and the
reconciliation check, each a simple table with a CSV export (`?format=csv`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from billing.forms import REALIZATION_GROUPS, AsOfForm, RealizationForm, ReconciliationForm
from billing.models import InvoiceLine
from billing.selectors.realization import RealizationRow, realization
from billing.selectors.receivables import BUCKETS, AgingRow, ar_aging, dso
from billing.selectors.reconciliation import ReconRow, reconciliation
from billing.views.common import billing_tabs, legal_entity_choices
from psa.common.export import csv_response
from psa.common.money import quantize
from psa.common.permissions import RequiredPermsMixin
from psa.forms import Choice
from psa.models import LegalEntity
from psa.selectors.org import contract_list, legal_entity_list

BUCKET_LABELS = ("Current", "1-30 days", "31-60 days", "61-90 days", "Over 90 days")
AGING_CSV_HEADER = ("Client", "Currency", *BUCKET_LABELS, "Total")


def export_query(request: HttpRequest) -> str:
    """The page's query string with `format=csv`, for the export link."""
    query = request.GET.copy()
    query["format"] = "csv"
    return f"?{query.urlencode()}"


def _with_defaults(request: HttpRequest, **defaults: object) -> QueryDict:
    """The query string with defaults for the parameters it lacks, so the form shows them."""
    query = request.GET.copy()
    for name, value in defaults.items():
        if not query.get(name):
            query[name] = value.isoformat() if isinstance(value, date) else str(value)
    return query


def chosen_entity(request: HttpRequest, entity_id: int | None) -> LegalEntity | None:
    if not entity_id:
        return None
    return legal_entity_list(actor=request.user).filter(pk=entity_id).first()


def _amount(row: AgingRow, name: str) -> Decimal:
    """A bucket or total in the currency's places (SQLite's sums may come back as 1299)."""
    return quantize(getattr(row, name), row.currency)


def aging_cells(row: AgingRow) -> dict[str, object]:
    """A row for the template: its bucket amounts in column order."""
    return {"client_id": row.client_id, "client_name": row.client_name,
            "currency": row.currency,
            "cells": [(label, _amount(row, bucket))
                      for label, bucket in zip(BUCKET_LABELS, BUCKETS, strict=True)],
            "total": _amount(row, "total")}


def aging_csv_rows(rows: Iterable[AgingRow]) -> Iterable[Sequence[object]]:
    for row in rows:
        yield (row.client_name, row.currency, *(_amount(row, b) for b in BUCKETS),
               _amount(row, "total"))


class ReceivablesView(RequiredPermsMixin, View):
    """`/billing/receivables/`: open balances by client and days past due, and DSO per
    currency, as of a day (today by default) for one legal entity or all."""

    required_perms = {"get": "billing.view_receivables"}

    def get(self, request: HttpRequest) -> HttpResponse:
        entities: list[Choice] = legal_entity_choices(request.user)
        form = AsOfForm(_with_defaults(request, as_of=timezone.localdate()),
                        legal_entities=entities)
        form.is_valid()
        data = form.cleaned_data
        as_of = data["as_of"]
        entity = chosen_entity(request, data.get("legal_entity"))
        rows = ar_aging(as_of=as_of, legal_entity=entity, actor=request.user)
        if request.GET.get("format") == "csv":
            return csv_response(filename=f"receivables-{as_of}.csv", header=AGING_CSV_HEADER,
                                rows=aging_csv_rows(rows))
        totals = [row for row in rows if row.is_total]
        dso_by_currency: list[tuple[str, Decimal | None]] = [
            (row.currency, dso(as_of=as_of, legal_entity=entity, currency=row.currency))
            for row in totals]
        context = {
            "title": "Receivables",
            "context_line": f"Open balances as of {as_of:%d %b %Y}"
                            + (f" · {entity.code}" if entity else " · all legal entities"),
            "tabs": billing_tabs(request, "billing:receivables"),
            "form": form,
            "rows": [aging_cells(row) for row in rows if not row.is_total],
            "totals": [aging_cells(row) for row in totals],
            "bucket_labels": BUCKET_LABELS,
            "dso": dso_by_currency,
            "export_url": export_query(request),
        }
        return render(request, "billing/receivables.html", context)


ADJUSTMENT_REASONS = InvoiceLine.AdjustmentReason
REALIZATION_CSV_HEADER = (
    "Group", "Currency", "Hours", "Unpriced hours", "Standard value", "Agreed value",
    "Billed hours", "Billed base", *(f"Adjustment: {label}" for label in ADJUSTMENT_REASONS.labels),
    "Credited", "Billed", "Collected", "Realization %")


def realization_csv_rows(rows: Iterable[RealizationRow]) -> Iterable[Sequence[object]]:
    for r in rows:
        yield (r.label, r.currency, r.hours, r.unpriced_hours, r.standard_value,
               r.agreed_value, r.billed_hours, r.billed_base,
               *(r.adjustments.get(reason) for reason in ADJUSTMENT_REASONS.values),
               r.credited, r.billed, r.collected, r.realization_percent)


def realization_cells(row: RealizationRow) -> dict[str, object]:
    """A row for the template: the adjustments as one total with its reasons spelled out."""
    labels = dict(ADJUSTMENT_REASONS.choices)
    return {"row": row, "adjustment_total": sum(row.adjustments.values(), Decimal("0.00")),
            "adjustment_reasons": ", ".join(f"{labels.get(reason, reason)} {amount:,.2f}"
                                            for reason, amount in row.adjustments.items())}


class RealizationView(RequiredPermsMixin, View):
    """`/billing/realization/`: from standard value to collected for the T&M work dated in a
    range, by contract, client or person (DOMAIN.md, Measures)."""

    required_perms = {"get": "billing.view_billing_reports"}

    def get(self, request: HttpRequest) -> HttpResponse:
        today = timezone.localdate()
        form = RealizationForm(_with_defaults(request, start=date(today.year, 1, 1), end=today,
                                              group_by=REALIZATION_GROUPS[0][0]))
        if not form.is_valid():
            return render(request, "billing/realization.html", {
                "title": "Realization", "tabs": billing_tabs(request, "billing:realization"),
                "form": form, "rows": []}, status=400)
        data = form.cleaned_data
        rows = realization(start=data["start"], end=data["end"], group_by=data["group_by"],
                           actor=request.user)
        if request.GET.get("format") == "csv":
            return csv_response(
                filename=f"realization-{data['group_by']}-{data['start']}-{data['end']}.csv",
                header=REALIZATION_CSV_HEADER, rows=realization_csv_rows(rows))
        return render(request, "billing/realization.html", {
            "title": "Realization",
            "context_line": f"T&M work dated {data['start']:%d %b %Y} to {data['end']:%d %b %Y}"
                            f" · by {data['group_by']}",
            "tabs": billing_tabs(request, "billing:realization"),
            "form": form, "rows": [realization_cells(row) for row in rows],
            "group_label": dict(REALIZATION_GROUPS)[data["group_by"]],
            "export_url": export_query(request),
        })


RECONCILIATION_CSV_HEADER = (
    "Contract", "Currency", "Approved", "Hours rounding", "Billed items", "Cap adjustments",
    "Previously held billed", "Billed", "Unbilled", "Written off", "Held over cap",
    "Difference", "Balanced")


def reconciliation_csv_rows(rows: Iterable[ReconRow]) -> Iterable[Sequence[object]]:
    for r in rows:
        yield (r.contract_code, r.currency, r.approved, r.hours_rounding, r.billed_items,
               r.cap_adjustments, r.previously_held_billed, r.billed, r.unbilled,
               r.written_off, r.held_over_cap, r.difference, r.is_balanced)


class ReconciliationView(RequiredPermsMixin, View):
    """`/billing/reconciliation/`: per T&M contract, approved billable value = billed +
    unbilled + written off + held over cap, and the difference where it does not hold."""

    required_perms = {"get": "billing.view_billing_reports"}

    def get(self, request: HttpRequest) -> HttpResponse:
        form = ReconciliationForm(request.GET, legal_entities=legal_entity_choices(request.user))
        rows: list[ReconRow] = []
        status = 200
        if form.is_valid():
            data = form.cleaned_data
            contract = None
            if data["contract"]:
                contract = (contract_list(actor=request.user)
                            .filter(code__iexact=data["contract"].strip()).first())
                if contract is None:
                    form.add_error("contract", "No contract has this code.")
            if not form.errors:
                rows = reconciliation(legal_entity=chosen_entity(request, data["legal_entity"]),
                                      contract=contract)
                if data["differences"]:
                    rows = [row for row in rows if not row.is_balanced]
        if form.errors:
            status = 400
        if request.GET.get("format") == "csv" and status == 200:
            return csv_response(filename="reconciliation.csv",
                                header=RECONCILIATION_CSV_HEADER,
                                rows=reconciliation_csv_rows(rows))
        unbalanced = sum(1 for row in rows if not row.is_balanced)
        return render(request, "billing/reconciliation.html", {
            "title": "Reconciliation",
            "context_line": "Approved billable value = billed + unbilled + written off + held "
                            "over cap, per T&M contract.",
            "tabs": billing_tabs(request, "billing:reconciliation"),
            "form": form, "rows": rows, "unbalanced": unbalanced,
            "is_filtered": bool(request.GET.get("contract") or request.GET.get("differences")
                                or request.GET.get("legal_entity")),
            "export_url": export_query(request),
        }, status=status)
