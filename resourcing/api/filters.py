"""django-filter filtersets of resourcing's API lists."""

import django_filters

from psa.api.filters import BaseFilter
from resourcing.models import Assignment, PersonSkill, ResourceRequest, Skill


class SkillFilter(BaseFilter):
    name = django_filters.CharFilter(lookup_expr="icontains")
    category = django_filters.CharFilter(field_name="category__name", lookup_expr="iexact")

    class Meta:
        model = Skill
        fields = ["is_active"]


class PersonSkillFilter(BaseFilter):
    min_level = django_filters.NumberFilter(field_name="level", lookup_expr="gte")

    class Meta:
        model = PersonSkill
        fields = ["person", "skill", "status"]


class ResourceRequestFilter(BaseFilter):
    starts_before = django_filters.DateFilter(field_name="start_date", lookup_expr="lte")
    ends_after = django_filters.DateFilter(field_name="end_date", lookup_expr="gte")

    class Meta:
        model = ResourceRequest
        fields = ["project", "status", "is_tentative", "role", "deal_ref", "priority"]


class AssignmentFilter(BaseFilter):
    starts_before = django_filters.DateFilter(field_name="start_date", lookup_expr="lte")
    ends_after = django_filters.DateFilter(field_name="end_date", lookup_expr="gte")

    class Meta:
        model = Assignment
        fields = ["person", "project", "request", "booking", "role"]
