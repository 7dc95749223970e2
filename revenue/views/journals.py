"""`/revenue/journals/`: the journal entries of invoices, credit notes and recognition, each
with its balanced lines one click away; filters in the URL (legal entity, period, source,
contract or description) and a CSV export with one row per line, as an ERP import wants."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from psa.forms import ANY, Choice, ListFilterForm
from psa.views.lists import Column, ListPage
from revenue.models import JournalEntry
from revenue.selectors.journals import EXPORT_HEADER, journal_entry_list, journal_lines_export
from revenue.views.schedules import MONTH_FORMATS, MONTH_INPUT, legal_entity_choices, revenue_tabs

SORTS = {"date": "entry_date", "period": "period", "source": "source",
         "amount": "total_debit", "contract": "contract__code"}


class JournalFilterForm(ListFilterForm):
    """The journal list's filters."""

    legal_entity = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                          label="Legal entity")
    period = forms.DateField(required=False, label="Period", widget=MONTH_INPUT,
                             input_formats=MONTH_FORMATS)
    source = forms.ChoiceField(required=False, choices=[ANY, *JournalEntry.Source.choices])

    def __init__(self, *args: object, legal_entities: Sequence[Choice] = (),
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].label = "Contract or description"
        self.fields["legal_entity"].choices = [ANY, *legal_entities]

    def clean_period(self) -> object:
        period = self.cleaned_data.get("period")
        return period.replace(day=1) if period else period


def _ordering(sort: str) -> list[str]:
    field = SORTS.get(sort.lstrip("-"), "entry_date")
    prefix = "-" if sort.startswith("-") else ""
    return [f"{prefix}{field}", f"{prefix}pk"]


class JournalListView(ListPage):
    """Journal entries (finance, executives): each row expands to its debit and credit lines."""

    required_perms = {"get": "revenue.view_journalentry"}
    template_name = "revenue/journals.html"
    partial_template_name = "revenue/partials/journal_results.html"
    form_class = JournalFilterForm
    default_sort = "-date"
    export_filename = "journal-entries.csv"
    title = "Journal entries"
    context_line = "Balanced entries of issued invoices, credit notes and recognised revenue."
    columns = (
        Column("Date", "date"), Column("Period", "period"), Column("Source", "source"),
        Column("Contract", "contract"), Column("Description"),
        Column("Debit", "amount", numeric=True), Column("Credit", numeric=True),
    )

    def get(self, request: HttpRequest, *, export: bool = False) -> HttpResponse:
        request.revenue_tabs = revenue_tabs(request, "revenue:journal-list")
        return super().get(request, export=export)

    def form_options(self) -> dict[str, object]:
        return {"legal_entities": legal_entity_choices(self.request.user)}

    def get_queryset(self, **filters: object) -> QuerySet[JournalEntry]:
        sort = str(filters.pop("sort", self.default_sort))
        return journal_entry_list(actor=self.request.user, filters=filters).order_by(
            *_ordering(sort))

    def csv_header(self) -> Sequence[str]:
        return EXPORT_HEADER

    def csv_rows(self, queryset: QuerySet[JournalEntry]) -> Iterable[Sequence[object]]:
        return journal_lines_export(queryset)
