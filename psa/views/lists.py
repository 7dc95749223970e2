"""The list pages' shared machinery: filters in the URL, whitelisted sort, pages, CSV export."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views import View

from psa.common.export import csv_response
from psa.common.permissions import RequiredPermsMixin
from psa.forms import ListFilterForm

RESULTS_TARGET = "results"  # id of the element an HTMX filter request replaces


@dataclass(frozen=True)
class Column:
    """A list column: `key` is its `?sort=` value (None: not sortable)."""

    label: str
    key: str | None = None
    numeric: bool = False


def is_partial_request(request: HttpRequest) -> bool:
    """An HTMX request that replaces only the results (filters, sorting, paging)."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-Target") == RESULTS_TARGET
            and not request.headers.get("HX-History-Restore-Request"))


def render_page(request: HttpRequest, template: str, partial: str | None,
                context: dict[str, object]) -> HttpResponse:
    """Render the whole page, or only its results partial for an HTMX request."""
    name = partial if partial and is_partial_request(request) else template
    response = render(request, name, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def query_without(params: QueryDict, *names: str, **replace: str) -> str:
    """The query string with `names` dropped and `replace` set, starting with "?"."""
    query = params.copy()
    for name in names:
        query.pop(name, None)
    for name, value in replace.items():
        query[name] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


def sort_headers(params: QueryDict, columns: Sequence[Column], current: str) -> list[dict]:
    """Header cells with the link that sorts by them (again: reversed) and their aria-sort."""
    cells = []
    for column in columns:
        cell: dict[str, object] = {"label": column.label, "numeric": column.numeric,
                                   "url": None, "aria_sort": None}
        if column.key:
            if current == column.key:
                cell["aria_sort"], following = "ascending", f"-{column.key}"
            elif current == f"-{column.key}":
                cell["aria_sort"], following = "descending", column.key
            else:
                following = column.key
            cell["url"] = query_without(params, "page", "format", sort=following)
        cells.append(cell)
    return cells


class ListPage(RequiredPermsMixin, View):
    """A filterable, sortable, paginated list that also exports the filtered rows as CSV."""

    template_name: ClassVar[str]
    partial_template_name: ClassVar[str]
    form_class: ClassVar[type[ListFilterForm]]
    columns: ClassVar[Sequence[Column]]
    default_sort: ClassVar[str]
    export_filename: ClassVar[str]
    page_size: ClassVar[int] = 50
    title: ClassVar[str]
    context_line: ClassVar[str] = ""

    def form_options(self) -> dict[str, object]:
        """Choices for the filter form (read once, before rendering)."""
        return {}

    def get_queryset(self, **filters: object) -> QuerySet:
        raise NotImplementedError

    def csv_header(self) -> Sequence[str]:
        raise NotImplementedError

    def csv_rows(self, queryset: QuerySet) -> Iterable[Sequence[object]]:
        raise NotImplementedError

    def get(self, request: HttpRequest, *, export: bool = False) -> HttpResponse:
        form = self.form_class(request.GET or None, **self.form_options())
        filters = form.filters()
        sort = str(filters.pop("sort", "") or self.default_sort)
        queryset = self.get_queryset(sort=sort, **filters)
        if export or request.GET.get("format") == "csv":
            return csv_response(filename=self.export_filename, header=self.csv_header(),
                                rows=self.csv_rows(queryset))
        page = Paginator(queryset, self.page_size).get_page(request.GET.get("page"))
        context = {
            "title": self.title,
            "context_line": self.context_line,
            "form": form,
            "page_obj": page,
            "rows": list(page.object_list),
            "count": page.paginator.count,
            "is_filtered": bool(filters),
            "headers": sort_headers(request.GET, self.columns, sort),
            "export_url": query_without(request.GET, "page", format="csv"),
            "results_target": RESULTS_TARGET,
            "partial_template": self.partial_template_name,
        }
        return render_page(request, self.template_name, self.partial_template_name, context)
