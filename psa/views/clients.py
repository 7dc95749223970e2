"""Client and contract pages."""

from collections.abc import Iterable, Sequence

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from psa.common.permissions import RequiredPermsMixin
from psa.forms import ClientFilterForm
from psa.models import Client, Contract
from psa.selectors.pages import (
    CLIENT_CSV_HEADER,
    client_csv_rows,
    client_filter_options,
    client_list,
    client_page,
    contract_page,
)
from psa.views.lists import Column, ListPage


class ClientListView(ListPage):
    """Clients the user may see, with the number of their projects the user may see."""

    required_perms = {"get": "psa.view_client"}
    template_name = "psa/client_list.html"
    partial_template_name = "psa/partials/_client_results.html"
    form_class = ClientFilterForm
    default_sort = "name"
    export_filename = "clients.csv"
    title = "Clients"
    context_line = "Customers of the firm and the entity that invoices them."
    columns = (
        Column("Code", "code"), Column("Name", "name"),
        Column("Legal entity", "legal_entity"), Column("Currency", "currency"),
        Column("Country", "country"), Column("Status"),
        Column("Projects", "projects", numeric=True),
    )

    def form_options(self) -> dict[str, object]:
        return {"legal_entities": client_filter_options(actor=self.request.user).legal_entities}

    def get_queryset(self, **filters: object) -> QuerySet[Client]:
        return client_list(actor=self.request.user, **filters)

    def csv_header(self) -> Sequence[str]:
        return CLIENT_CSV_HEADER

    def csv_rows(self, queryset: QuerySet[Client]) -> Iterable[Sequence[object]]:
        return client_csv_rows(queryset)


class ClientDetailView(RequiredPermsMixin, View):
    """A client with the contracts and projects the user may see."""

    required_perms = {"get": "psa.view_client"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            page = client_page(actor=request.user, pk=pk)
        except Client.DoesNotExist as exc:
            raise Http404("No such client.") from exc
        context = {
            "title": page.client.name,
            "page": page,
            "client": page.client,
            "breadcrumbs": [("Clients", reverse("client-list")), (page.client.code, None)],
        }
        return render(request, "psa/client_detail.html", context)


class ContractDetailView(RequiredPermsMixin, View):
    """A contract's terms, its projects and change orders."""

    required_perms = {"get": "psa.view_contract"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            page = contract_page(actor=request.user, pk=pk)
        except Contract.DoesNotExist as exc:
            raise Http404("No such contract.") from exc
        contract = page.contract
        crumbs = [(contract.code, None)]
        if request.user.has_perm("psa.view_client"):
            crumbs = [("Clients", reverse("client-list")),
                      (contract.client.name, contract.client.get_absolute_url()), *crumbs]
        context = {"title": f"{contract.code} {contract.name}", "page": page,
                   "contract": contract, "breadcrumbs": crumbs}
        return render(request, "psa/contract_detail.html", context)
