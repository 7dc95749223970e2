"""django-filter filtersets of the delivery core's API lists (API.md: filters)."""

from datetime import UTC, datetime

import django_filters
from django import forms
from django.db import models
from django.db.models import QuerySet
from django_filters.filterset import FILTER_FOR_DBFIELD_DEFAULTS
from rest_framework.exceptions import ValidationError

from psa.api.serializers.common import RECORD_ID_MAX, is_record_id
from psa.models import (
    ChangeOrder,
    Client,
    Contract,
    LegalEntity,
    Milestone,
    Person,
    Project,
    RateCard,
    Role,
    Task,
)
from psa.selectors import filter_by_external_ref

TRUE_WORDS, FALSE_WORDS = {"true", "1"}, {"false", "0"}


class StrictBooleanField(forms.Field):
    """`true`/`false` (or 1/0); django-filter's own treats any other word as "no filter",
    which would hand a caller who typed `is_active=yes` every row."""

    def to_python(self, value: str | None) -> bool | None:
        if value in (None, ""):
            return None
        word = str(value).strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise forms.ValidationError("Use true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class RecordChoiceField(django_filters.fields.ModelChoiceField):
    """A row id; a number no row can have is an invalid choice before any query (handed to
    the database it would overflow BIGINT: a 500)."""

    def to_python(self, value: object) -> object:
        if value not in self.empty_values and not is_record_id(value):
            raise forms.ValidationError(self.error_messages["invalid_choice"],
                                        code="invalid_choice")
        return super().to_python(value)


class RecordChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = RecordChoiceField


class RecordIdFormField(forms.IntegerField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(min_value=1, max_value=RECORD_ID_MAX, **kwargs)


class IdFilter(django_filters.NumberFilter):
    """A row id through a relation (`invoice__client`): a whole number a row could have."""

    field_class = RecordIdFormField


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 timestamp, handed on in UTC: PostgreSQL refuses offsets past ±15:59 that
    ISO allows (a 500), and the same instant in UTC compares the same."""

    def to_python(self, value: object) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # year 1 at +14:00, say: before the first UTC instant
            raise forms.ValidationError("Give a date and time from the year 1 to 9999.",
                                        code="invalid") from None


class TimestampFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class BaseFilter(django_filters.FilterSet):
    """Every list accepts `updated_since` (ISO 8601 timestamp) for incremental sync.

    Stricter than django-filter's defaults, so a caller's mistake is a 400 and never a
    silently unfiltered list: booleans must be true or false, and a typed parameter given
    with no value (`?status=`) is refused — leave it out to not filter.
    """

    FILTER_DEFAULTS = {
        **FILTER_FOR_DBFIELD_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
        models.DateTimeField: {"filter_class": TimestampFilter},
        **{field: {**FILTER_FOR_DBFIELD_DEFAULTS[field], "filter_class": RecordChoiceFilter}
           for field in (models.ForeignKey, models.OneToOneField)},
    }

    updated_since = TimestampFilter(
        field_name="updated_at", lookup_expr="gte",
        help_text="Only rows changed at or after this ISO 8601 timestamp.")

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name, filter_ in self.filters.items():
            if (name in self.data and self.data.get(name) == ""
                    and not isinstance(filter_, django_filters.CharFilter)):
                self.form.add_error(name, forms.ValidationError(
                    "Give a value, or leave the parameter out.", code="blank"))
                valid = False
        return valid


class ExternalRefFilter(BaseFilter):
    """Adds `external_ref=system:id`, finding a row by the id another system gave it."""

    external_ref = django_filters.CharFilter(
        method="filter_external_ref", help_text="`system:id`, e.g. `hubspot:123`.")

    def filter_external_ref(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        system, sep, external_id = value.partition(":")
        if not sep or not system or not external_id:
            raise ValidationError({"external_ref": ["Use the form system:id, e.g. hubspot:123."]})
        return filter_by_external_ref(queryset, system=system, external_id=external_id)


class LegalEntityFilter(BaseFilter):
    class Meta:
        model = LegalEntity
        fields = ["code", "country", "is_active"]


class RoleFilter(BaseFilter):
    class Meta:
        model = Role
        fields = ["code", "level"]


class RateCardFilter(BaseFilter):
    class Meta:
        model = RateCard
        fields = ["kind", "currency", "client", "is_active"]


class ClientFilter(ExternalRefFilter):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Client
        fields = ["code", "legal_entity", "currency", "is_active"]


class ContractFilter(ExternalRefFilter):
    class Meta:
        model = Contract
        fields = ["client", "legal_entity", "status", "billing_model", "revenue_method"]


class ChangeOrderFilter(BaseFilter):
    class Meta:
        model = ChangeOrder
        fields = ["contract", "status"]


class ProjectFilter(ExternalRefFilter):
    class Meta:
        model = Project
        fields = ["client", "contract", "legal_entity", "manager", "status", "is_internal",
                  "service_line"]


class TaskFilter(BaseFilter):
    class Meta:
        model = Task
        fields = ["project", "parent", "is_open", "is_billable"]


class MilestoneFilter(BaseFilter):
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")

    class Meta:
        model = Milestone
        fields = ["project", "status"]


class PersonFilter(ExternalRefFilter):
    class Meta:
        model = Person
        fields = ["legal_entity", "role", "manager", "employment_status", "email",
                  "employee_number"]
