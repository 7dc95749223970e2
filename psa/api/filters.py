"""django-filter filtersets of the delivery core's API lists (API.md: filters)."""

import django_filters
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

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


class BaseFilter(django_filters.FilterSet):
    """Every list accepts `updated_since` (ISO 8601 timestamp) for incremental sync."""

    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte",
        help_text="Only rows changed at or after this ISO 8601 timestamp.")


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
