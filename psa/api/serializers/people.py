"""Serializers of people; cost rates go out only to users with `psa.view_costrate`."""

from decimal import Decimal

from django.contrib.auth.models import User
from rest_framework import serializers

from psa.api.serializers.common import (
    ExternalRefsField,
    ExternalRefsInput,
    OutputSerializer,
    RecordRelatedField,
    VisibleRelatedField,
)
from psa.api.serializers.org import TIMESTAMPS
from psa.models import CostRate, LegalEntity, Person, Role
from psa.selectors import legal_entity_list, person_list, role_list


class CostRateOutputSerializer(OutputSerializer):
    class Meta:
        model = CostRate
        fields = ("id", "hourly_cost", "currency", "effective_from")


class PersonOutputSerializer(OutputSerializer):
    """A person; `cost_rates` is present only for finance, administrators and services."""

    external_refs = ExternalRefsField()
    cost_rates = CostRateOutputSerializer(many=True, read_only=True, required=False,
                                          help_text="Only for users with psa.view_costrate.")

    class Meta:
        model = Person
        fields = ("id", "user", "employee_number", "first_name", "last_name", "email",
                  "legal_entity", "role", "manager", "country", "city", "time_zone",
                  "employment_status", "hire_date", "termination_date", "weekly_standard_hours",
                  "utilization_target", "cost_rates", "external_refs", *TIMESTAMPS)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if "request" in self.context and not self.user_has_perm("psa.view_costrate"):
            fields.pop("cost_rates")
        return fields


class PersonCreateInputSerializer(ExternalRefsInput):
    user = RecordRelatedField(queryset=User.objects.all(), required=False,
                              allow_null=True, help_text="Login account id.")
    employee_number = serializers.CharField(max_length=20)
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    email = serializers.EmailField()
    legal_entity = VisibleRelatedField(selector=legal_entity_list,
                                       queryset=LegalEntity.objects.all())
    role = VisibleRelatedField(selector=role_list, queryset=Role.objects.all())
    manager = VisibleRelatedField(selector=person_list, queryset=Person.objects.all(),
                                  required=False, allow_null=True)
    country = serializers.RegexField(r"^[A-Z]{2}$", help_text="ISO 3166 alpha-2.")
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    time_zone = serializers.CharField(max_length=64, required=False)
    employment_status = serializers.ChoiceField(choices=Person.EmploymentStatus.choices,
                                                required=False)
    hire_date = serializers.DateField()
    termination_date = serializers.DateField(required=False, allow_null=True,
                                             help_text="Last day (inclusive).")
    weekly_standard_hours = serializers.DecimalField(max_digits=5, decimal_places=2,
                                                     min_value=Decimal(0),
                                                     max_value=Decimal(168), required=False)
    utilization_target = serializers.DecimalField(max_digits=5, decimal_places=2,
                                                  min_value=Decimal(0), max_value=Decimal(100),
                                                  required=False)


class PersonUpdateInputSerializer(PersonCreateInputSerializer):
    pass
