"""django-filter filtersets of revenue's API lists (API.md: filters, `updated_since`)."""

from datetime import datetime

import django_filters
from django.db.models import QuerySet

from psa.api.filters import BaseFilter, IdFilter, TimestampFilter
from psa.models import Contract
from revenue.models import JournalEntry, RecognitionRun, RevenueSchedule
from revenue.selectors.schedules import schedules_changed_since


class RevenueScheduleFilter(BaseFilter):
    """Schedules by contract, client, legal entity or method; `updated_since` also finds a
    schedule whose months changed (a plan refresh or a recognition run)."""

    updated_since = TimestampFilter(
        method="filter_updated_since",
        help_text="Only schedules whose row or months changed at or after this ISO 8601 "
                  "timestamp.")
    client = IdFilter(field_name="contract__client", help_text="The client's id.")
    legal_entity = IdFilter(field_name="contract__legal_entity",
                            help_text="The legal entity's id.")
    method = django_filters.ChoiceFilter(choices=Contract.RevenueMethod.choices,
                                         help_text="The revenue method.")

    class Meta:
        model = RevenueSchedule
        fields = ["contract", "currency"]

    def filter_updated_since(self, queryset: QuerySet, name: str,
                             value: datetime | None) -> QuerySet:
        return schedules_changed_since(queryset, value) if value else queryset


class RecognitionRunFilter(BaseFilter):
    class Meta:
        model = RecognitionRun
        fields = ["legal_entity", "period", "status"]


class JournalEntryFilter(BaseFilter):
    """Journal entries by legal entity, period (a month's first day), source and contract."""

    entry_after = django_filters.DateFilter(field_name="entry_date", lookup_expr="gte",
                                            help_text="Entry date on or after (inclusive).")
    entry_before = django_filters.DateFilter(field_name="entry_date", lookup_expr="lte",
                                             help_text="Entry date on or before (inclusive).")

    class Meta:
        model = JournalEntry
        fields = ["legal_entity", "period", "source", "source_id", "contract", "currency"]
