"""`/integrations/backlog/<kind>/`: the rows behind each business figure of the health page,
paged, with a CSV export (`?format=csv`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from crm_sync.selectors.backlog import (
    changes_unpropagated,
    deals_won_unprojected,
    erp_connection,
    invoices_not_in_erp,
    time_approved_unbilled,
)
from crm_sync.views.common import HEALTH_PERM, tabs
from psa.common.export import csv_response
from psa.common.permissions import RequiredPermsMixin

PAGE_SIZE = 50
CSV_CHUNK = 2000


@dataclass(frozen=True)
class Backlog:
    """One kind of stuck work: its rows, and how a row reads in the table and the CSV."""

    title: str
    noun: str
    nouns: str
    empty: str
    header: Sequence[str]
    rows: Callable[[], QuerySet | None]
    cells: Callable[[object], Sequence[object]]


def _deal_cells(deal: object) -> Sequence[object]:
    return (deal.name, deal.connection.name, deal.external_id, deal.stage, deal.amount,
            deal.currency, deal.won_at, deal.client.name if deal.client else "",
            deal.correlation_id, deal.last_error)


def _time_cells(entry: object) -> Sequence[object]:
    return (entry.work_date, entry.person.full_name, entry.project.code, entry.hours,
            entry.approved_at, entry.pk)


def _invoice_cells(invoice: object) -> Sequence[object]:
    return (invoice.number, invoice.get_kind_display(), invoice.client.name,
            invoice.legal_entity.code, invoice.total, invoice.currency, invoice.issue_date,
            invoice.issued_at, invoice.get_status_display())


def _change_cells(delivery: object) -> Sequence[object]:
    event = delivery.event
    return (delivery.pk, event.type, f"{event.aggregate_type}:{event.aggregate_id}",
            delivery.subscriber, delivery.get_state_display(), delivery.attempts,
            delivery.created_at, event.correlation_id, delivery.last_error[:300])


def _invoices() -> QuerySet | None:
    erp = erp_connection()
    return invoices_not_in_erp(system=erp.name) if erp is not None else None


BACKLOGS: dict[str, Backlog] = {
    "deals": Backlog(
        "Deals won, not yet projects", "deal", "deals",
        "Every won deal has its project. A deal won in the CRM appears here until its "
        "client, contract and project exist.",
        ("Deal", "Connection", "CRM id", "Stage", "Amount", "Currency", "Won at", "Client",
         "Correlation id", "Last error"),
        deals_won_unprojected, _deal_cells),
    "time": Backlog(
        "Approved time not billed", "time entry", "time entries",
        "All approved billable time on time-billed contracts is on an invoice (or held back "
        "by finance on purpose).",
        ("Work date", "Person", "Project", "Hours", "Approved at", "Entry id"),
        time_approved_unbilled, _time_cells),
    "invoices": Backlog(
        "Invoices not in the ERP", "invoice", "invoices",
        "Every issued invoice and credit note has its ERP id.",
        ("Number", "Kind", "Client", "Legal entity", "Total", "Currency", "Issue date",
         "Issued at", "Status"),
        _invoices, _invoice_cells),
    "changes": Backlog(
        "Contract changes not propagated", "delivery", "deliveries",
        "Every contract, change order and client change reached the connected systems.",
        ("Delivery", "Event", "Object", "Subscriber", "State", "Attempts", "Created at",
         "Correlation id", "Last error"),
        changes_unpropagated, _change_cells),
}


def display_cells(header: Sequence[str], values: Sequence[object]) -> list[dict[str, object]]:
    """The cells of one table row: label (the card layout's), text, and whether numeric."""
    cells = []
    for label, value in zip(header, values, strict=True):
        numeric = isinstance(value, Decimal | int) and not isinstance(value, bool)
        if isinstance(value, datetime):
            text = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        elif isinstance(value, date):
            text = value.isoformat()
        elif isinstance(value, Decimal):
            text = f"{value:,.2f}"
        else:
            text = "" if value is None else str(value)
        cells.append({"label": label, "text": text, "numeric": numeric})
    return cells


def _csv_rows(backlog: Backlog, rows: QuerySet) -> Iterable[Sequence[object]]:
    for row in rows.iterator(chunk_size=CSV_CHUNK):
        yield backlog.cells(row)


class BacklogListView(RequiredPermsMixin, View):
    """GET: one business figure's rows; `?format=csv` downloads all of them."""

    required_perms = {"get": HEALTH_PERM}

    def get(self, request: HttpRequest, kind: str) -> HttpResponse:
        backlog = BACKLOGS.get(kind)
        if backlog is None:
            raise Http404("No such list.")
        rows = backlog.rows()
        if rows is not None and request.GET.get("format") == "csv":
            return csv_response(filename=f"integrations-{kind}.csv", header=backlog.header,
                                rows=_csv_rows(backlog, rows))
        page = Paginator(rows if rows is not None else [], PAGE_SIZE).get_page(
            request.GET.get("page"))
        rows_shown = [display_cells(backlog.header, backlog.cells(row))
                      for row in page.object_list]
        return render(request, "crm_sync/backlog.html", {
            "title": backlog.title,
            "breadcrumbs": [("Integrations", reverse("crm_sync:health")),
                            (backlog.title, None)],
            "tabs": tabs(request, ""),
            "backlog": backlog, "kind": kind, "no_erp": rows is None,
            "header": backlog.header, "page_obj": page, "count": page.paginator.count,
            "rows": rows_shown,
        })
