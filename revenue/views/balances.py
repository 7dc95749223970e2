"""`/revenue/balances/`: billed and recognised to date, unbilled receivable and deferred
revenue per contract and in total at a period end, with the ledger check and a CSV export
(`?format=csv`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from psa.common.export import csv_response
from psa.common.permissions import RequiredPermsMixin
from psa.models import LegalEntity
from psa.selectors.org import legal_entity_list
from revenue.selectors.balances import BalanceRow, contract_balances_at
from revenue.services.targets import month_end
from revenue.views.forecast import with_defaults
from revenue.views.schedules import (
    MONTH_FORMATS,
    MONTH_INPUT,
    legal_entity_choices,
    revenue_tabs,
)

PERM = "revenue.view_balances"
CSV_HEADER = ("Legal entity", "Client", "Contract", "Contract name", "Currency",
              "Billed to date", "Recognised to date", "Unbilled receivable",
              "Deferred revenue", "Ledger unbilled", "Ledger deferred", "Ledger agrees")


class BalancesFilterForm(forms.Form):
    """The period (a month; its last day is the period end) and the legal entity."""

    period = forms.DateField(required=False, label="Period (month end)", widget=MONTH_INPUT,
                             input_formats=MONTH_FORMATS)
    legal_entity = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                          label="Legal entity")

    def __init__(self, *args: object, legal_entities: Sequence[tuple[str, str]] = (),
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["legal_entity"].choices = [("", "All legal entities"), *legal_entities]

    def clean_period(self) -> date:
        """The last day of the chosen month (the current month by default)."""
        return month_end((self.cleaned_data.get("period") or timezone.localdate()).replace(day=1))


def _agrees(row: BalanceRow) -> str:
    if row.ledger_matches is None:
        return ""
    return "yes" if row.ledger_matches else "no"


def balances_csv_rows(rows: Iterable[BalanceRow]) -> Iterable[Sequence[object]]:
    for row in rows:
        yield (row.legal_entity_code, row.client_name, row.contract_code, row.contract_name,
               row.currency, row.billed, row.recognised, row.unbilled, row.deferred,
               row.journal_unbilled, row.journal_deferred, _agrees(row))


class BalancesView(RequiredPermsMixin, View):
    """`/revenue/balances/`: contract balances at the end of the chosen month."""

    required_perms = {"get": PERM}

    def get(self, request: HttpRequest) -> HttpResponse:
        entities = legal_entity_list(actor=request.user).order_by("code")
        form = BalancesFilterForm(with_defaults(request, period=timezone.localdate()),
                                  legal_entities=legal_entity_choices(request.user))
        if not form.is_valid():
            return render(request, "revenue/balances.html",
                          {"title": "Contract balances", "form": form, "rows": [],
                           "totals": [], "tabs": revenue_tabs(request, "revenue:balances")},
                          status=400)
        period_end = form.cleaned_data["period"]
        entity_id = form.cleaned_data.get("legal_entity")
        entity: LegalEntity | None = (entities.filter(pk=entity_id).first()
                                      if entity_id else None)
        rows = contract_balances_at(period_end=period_end, legal_entity=entity)
        if request.GET.get("format") == "csv":
            return csv_response(filename=f"contract-balances-{period_end}.csv",
                                header=CSV_HEADER, rows=balances_csv_rows(rows))
        query = request.GET.copy()
        query["format"] = "csv"
        contracts = [row for row in rows if not row.is_total]
        context = {
            "title": "Contract balances", "form": form, "period_end": period_end,
            "tabs": revenue_tabs(request, "revenue:balances"),
            "rows": contracts, "totals": [row for row in rows if row.is_total],
            "mismatches": sum(1 for row in contracts if row.ledger_matches is False),
            "export_url": f"?{query.urlencode()}",
            "context_line": f"At {period_end:%d %b %Y} · "
                            + (entity.code if entity else "all legal entities")
                            + f" · {len(contracts)} contracts",
        }
        return render(request, "revenue/balances.html", context)
