"""django-filter filtersets of billing's API lists (API.md: filters, `updated_since`)."""

import django_filters
from django.db.models import QuerySet

from billing.models import Invoice, InvoiceRun, Payment, RunOutcome
from psa.api.filters import BaseFilter, ExternalRefFilter, IdFilter, StrictBooleanFilter


class InvoiceFilter(ExternalRefFilter):
    """Invoices and credit notes; `external_ref=system:id` finds one by an ERP's id."""

    issued_after = django_filters.DateFilter(field_name="issue_date", lookup_expr="gte",
                                             help_text="Issue date on or after (inclusive).")
    issued_before = django_filters.DateFilter(field_name="issue_date", lookup_expr="lte",
                                              help_text="Issue date on or before (inclusive).")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte",
                                           help_text="Due on or before (inclusive).")

    class Meta:
        model = Invoice
        fields = ["status", "kind", "client", "contract", "legal_entity", "run",
                  "credited_invoice", "currency", "number"]


class CreditNoteFilter(InvoiceFilter):
    """Credit notes only: the same filters without `kind`."""

    class Meta(InvoiceFilter.Meta):
        fields = ["status", "client", "contract", "legal_entity", "credited_invoice",
                  "currency", "number"]


class InvoiceRunFilter(BaseFilter):
    class Meta:
        model = InvoiceRun
        fields = ["status", "legal_entity", "cut_off"]


class RunOutcomeFilter(django_filters.FilterSet):
    """A run's outcomes: `reason` (e.g. `over_cap`) and `contract`; `exceptions_only=true`
    keeps what finance must look at."""

    exceptions_only = StrictBooleanFilter(method="filter_exceptions",
                                          help_text="Only the exception reasons.")

    class Meta:
        model = RunOutcome
        fields = ["reason", "contract"]

    def filter_exceptions(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value:
            return queryset.filter(reason__in=RunOutcome.EXCEPTIONS)
        return queryset


class PaymentFilter(BaseFilter):
    client = IdFilter(field_name="invoice__client",
                      help_text="The paying client's id.")
    received_after = django_filters.DateFilter(field_name="received_date", lookup_expr="gte",
                                               help_text="Received on or after (inclusive).")
    received_before = django_filters.DateFilter(field_name="received_date", lookup_expr="lte",
                                                help_text="Received on or before (inclusive).")

    class Meta:
        model = Payment
        fields = ["invoice", "currency", "reference"]
