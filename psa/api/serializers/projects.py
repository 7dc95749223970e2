"""Serializers of projects, their financials, tasks and milestones."""

from typing import Any

from rest_framework import serializers

from psa.api.serializers.common import (
    ExternalRefsField,
    ExternalRefsInput,
    OutputSerializer,
    RecordRelatedField,
    VisibleRelatedField,
    hours,
    money,
)
from psa.api.serializers.org import TIMESTAMPS
from psa.common.money import CURRENCY_CHOICES
from psa.models import Client, Contract, LegalEntity, Milestone, Person, Project, Task
from psa.selectors import (
    legal_entity_list,
    person_list,
    project_list,
    task_list,
)

BUDGET_AMOUNTS = ("budget_cost_amount", "budget_revenue_amount")


class ProjectOutputSerializer(OutputSerializer):
    """A project; budget amounts only for users who may see project financials."""

    external_refs = ExternalRefsField()

    class Meta:
        model = Project
        fields = ("id", "code", "name", "contract", "client", "legal_entity", "is_internal",
                  "manager", "status", "start_date", "end_date", "currency", "budget_hours",
                  *BUDGET_AMOUNTS, "service_line", "cost_center", "requires_time_notes",
                  "external_refs", *TIMESTAMPS)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if "request" in self.context and not self.user_has_perm("psa.view_project_financials"):
            for name in BUDGET_AMOUNTS:
                fields.pop(name)
        return fields

    def to_representation(self, instance: Project) -> dict:
        """Budget amounts only on the projects whose financials the user may see: a manager
        sees their own projects' but not those of a project they are only on the team of."""
        data = super().to_representation(instance)
        if "request" in self.context and BUDGET_AMOUNTS[0] in data:
            allowed = getattr(instance, "can_see_financials", None)
            if allowed is None:
                allowed = self.context["request"].user.has_perm("psa.view_project_financials",
                                                                instance)
            if not allowed:
                for name in BUDGET_AMOUNTS:
                    data.pop(name, None)
        return data


class ProjectCreateInputSerializer(ExternalRefsInput):
    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=200)
    # Any contract: a manager may start a project (add_project is ALL) on a contract it does
    # not manage yet, which its view scope would hide.
    contract = RecordRelatedField(queryset=Contract.objects.all(),
                                  required=False, allow_null=True)
    client = RecordRelatedField(queryset=Client.objects.all(), required=False,
                                allow_null=True)
    legal_entity = VisibleRelatedField(selector=legal_entity_list,
                                       queryset=LegalEntity.objects.all(), required=False)
    is_internal = serializers.BooleanField(required=False)
    manager = VisibleRelatedField(selector=person_list, queryset=Person.objects.all())
    status = serializers.ChoiceField(choices=Project.Status.choices, required=False)
    start_date = serializers.DateField(help_text="Inclusive.")
    end_date = serializers.DateField(help_text="Inclusive.")
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)
    budget_hours = hours(required=False)
    budget_cost_amount = money(required=False)
    budget_revenue_amount = money(required=False)
    service_line = serializers.CharField(max_length=64, required=False, allow_blank=True)
    cost_center = serializers.CharField(max_length=32, required=False, allow_blank=True)
    requires_time_notes = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not self.partial and not attrs.get("contract") and not attrs.get("legal_entity"):
            raise serializers.ValidationError(
                {"legal_entity": "An internal project without a contract needs its legal "
                                 "entity."})
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and end < start:
            raise serializers.ValidationError({"end_date": "The end date is before the start "
                                                           "date."})
        return attrs


class ProjectUpdateInputSerializer(ProjectCreateInputSerializer):
    pass


class ProjectFinancialsOutputSerializer(serializers.Serializer):
    """Budget against actuals; money with 2 places in `currency`, percentages with 2."""

    project_id = serializers.IntegerField()
    currency = serializers.CharField()
    budget_hours = hours()
    budget_cost_amount = money()
    budget_revenue_amount = money()
    actual_hours = hours()
    actual_cost_amount = money()
    burn_hours_percent = serializers.DecimalField(max_digits=9, decimal_places=2,
                                                  allow_null=True)
    burn_cost_percent = serializers.DecimalField(max_digits=9, decimal_places=2,
                                                 allow_null=True)
    eac_hours = hours()
    eac_cost_amount = money()
    revenue_amount = money()
    cost_amount = money()
    margin_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    margin_percent = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    billed_amount = money()
    unbilled_amount = money()
    other_currency_costs = serializers.DictField(
        child=serializers.DecimalField(max_digits=14, decimal_places=2),
        help_text="Cost frozen in currencies other than the project's, per currency code.")


class TaskOutputSerializer(OutputSerializer):
    class Meta:
        model = Task
        fields = ("id", "project", "parent", "wbs_code", "name", "is_billable", "is_open",
                  "budget_hours", "start_date", "end_date", "position", *TIMESTAMPS)


class TaskCreateInputSerializer(serializers.Serializer):
    project = VisibleRelatedField(selector=project_list, queryset=Project.objects.all())
    parent = VisibleRelatedField(selector=task_list, queryset=Task.objects.all(),
                                 required=False, allow_null=True)
    wbs_code = serializers.CharField(max_length=40, help_text="Outline number, e.g. 1.2.3.")
    name = serializers.CharField(max_length=200)
    is_billable = serializers.BooleanField(required=False)
    is_open = serializers.BooleanField(required=False)
    budget_hours = hours(required=False)
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)
    position = serializers.IntegerField(min_value=0, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        parent, project = attrs.get("parent"), attrs.get("project")
        if parent is not None and project is not None and parent.project_id != project.pk:
            raise serializers.ValidationError(
                {"parent": "The parent task belongs to another project."})
        return attrs


class TaskUpdateInputSerializer(TaskCreateInputSerializer):
    project = None  # a task stays in its project


class MilestoneOutputSerializer(OutputSerializer):
    class Meta:
        model = Milestone
        fields = ("id", "project", "name", "due_date", "amount", "currency",
                  "requires_acceptance", "status", "completed_at", "completed_by",
                  "accepted_at", "accepted_by", *TIMESTAMPS)


class MilestoneCreateInputSerializer(serializers.Serializer):
    project = VisibleRelatedField(selector=project_list, queryset=Project.objects.all())
    name = serializers.CharField(max_length=200)
    due_date = serializers.DateField()
    amount = money()
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)
    requires_acceptance = serializers.BooleanField(required=False)


class MilestoneUpdateInputSerializer(MilestoneCreateInputSerializer):
    project = None  # a milestone stays in its project
