"""People pages: the directory and a person's page."""

from collections.abc import Iterable, Sequence

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from psa.common.permissions import RequiredPermsMixin
from psa.forms import PersonFilterForm
from psa.models import Person
from psa.selectors.pages import (
    PERSON_CSV_HEADER,
    person_csv_rows,
    person_filter_options,
    person_list,
    person_page,
)
from psa.views.lists import Column, ListPage


class PersonListView(ListPage):
    """The people the user may see (a consultant: themselves and their reports)."""

    required_perms = {"get": "psa.view_person"}
    template_name = "psa/person_list.html"
    partial_template_name = "psa/partials/_person_results.html"
    form_class = PersonFilterForm
    default_sort = "name"
    export_filename = "people.csv"
    title = "People"
    context_line = "Everyone who works for the firm, as mastered in the HR system."
    columns = (
        Column("Employee no.", "employee_number"), Column("Name", "name"),
        Column("Role", "role"), Column("Legal entity", "legal_entity"),
        Column("Location", "city"), Column("Status", "status"),
        Column("Weekly hours", numeric=True),
    )

    def form_options(self) -> dict[str, object]:
        options = person_filter_options(actor=self.request.user)
        return {"roles": options.roles, "legal_entities": options.legal_entities}

    def get_queryset(self, **filters: object) -> QuerySet[Person]:
        return person_list(actor=self.request.user, **filters)

    def csv_header(self) -> Sequence[str]:
        return PERSON_CSV_HEADER

    def csv_rows(self, queryset: QuerySet[Person]) -> Iterable[Sequence[object]]:
        return person_csv_rows(queryset)


class PersonDetailView(RequiredPermsMixin, View):
    """A person, their projects and reports; cost rates only with psa.view_costrate."""

    required_perms = {"get": "psa.view_person"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            page = person_page(actor=request.user, pk=pk)
        except Person.DoesNotExist as exc:
            raise Http404("No such person.") from exc
        person = page.person
        context = {"title": person.full_name, "page": page, "person": person,
                   "breadcrumbs": [("People", reverse("person-list")), (person.full_name, None)]}
        return render(request, "psa/person_detail.html", context)
