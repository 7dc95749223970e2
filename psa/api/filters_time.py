"""django-filter filterset of the time entries list (API.md: filters)."""

import django_filters

from psa.api.filters import BaseFilter
from psa.models import TimeEntry


class TimeEntryFilter(BaseFilter):
    date_after = django_filters.DateFilter(field_name="work_date", lookup_expr="gte",
                                           help_text="Work date on or after (YYYY-MM-DD).")
    date_before = django_filters.DateFilter(field_name="work_date", lookup_expr="lte",
                                            help_text="Work date on or before (YYYY-MM-DD).")

    class Meta:
        model = TimeEntry
        fields = ["project", "person", "task", "status", "is_billable"]
