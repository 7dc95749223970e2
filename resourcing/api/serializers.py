"""Serializers of skills, people's skills, resource requests, assignments and capacity."""

from typing import Any

from rest_framework import serializers

from psa.api.serializers.common import (
    OutputSerializer,
    RecordRelatedField,
    VisibleRelatedField,
    hours,
    is_record_id,
    rate,
)
from psa.api.serializers.org import TIMESTAMPS
from psa.common.money import CURRENCY_CHOICES
from psa.models import Person, Project, Role
from psa.selectors import person_list, project_list
from resourcing.models import Assignment, PersonSkill, RequestSkill, ResourceRequest, Skill


def _dates_in_order(attrs: dict[str, Any]) -> None:
    start, end = attrs.get("start_date"), attrs.get("end_date")
    if start and end and end < start:
        raise serializers.ValidationError({"end_date": "The end date is before the start date."})


class SkillOutputSerializer(OutputSerializer):
    category = serializers.CharField(source="category.name", read_only=True)

    class Meta:
        model = Skill
        fields = ("id", "category", "name", "description", "is_active", *TIMESTAMPS)


class SkillCreateInputSerializer(serializers.Serializer):
    category = serializers.CharField(max_length=100, help_text="Created if new.")
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True)


class PersonSkillOutputSerializer(OutputSerializer):
    skill_name = serializers.CharField(source="skill.name", read_only=True)

    class Meta:
        model = PersonSkill
        fields = ("id", "person", "skill", "skill_name", "level", "status", "confirmed_at",
                  "confirmed_by", *TIMESTAMPS)


class PersonSkillCreateInputSerializer(serializers.Serializer):
    person = VisibleRelatedField(selector=person_list, queryset=Person.objects.all())
    skill = RecordRelatedField(queryset=Skill.objects.all())
    level = serializers.IntegerField(min_value=1, max_value=5)


class PersonSkillUpdateInputSerializer(serializers.Serializer):
    level = serializers.IntegerField(min_value=1, max_value=5)


class RequestSkillSerializer(serializers.ModelSerializer):
    skill = RecordRelatedField(queryset=Skill.objects.all())
    min_level = serializers.IntegerField(min_value=1, max_value=5, default=1)
    requires_certification = serializers.BooleanField(default=False)

    class Meta:
        model = RequestSkill
        fields = ("skill", "min_level", "requires_certification")


class ResourceRequestOutputSerializer(OutputSerializer):
    skills = RequestSkillSerializer(source="required_skills", many=True, read_only=True)

    class Meta:
        model = ResourceRequest
        fields = ("id", "project", "deal_name", "deal_ref", "is_tentative", "probability",
                  "role", "hours_per_week", "start_date", "end_date", "country", "remote_ok",
                  "priority", "bill_rate", "currency", "status", "notes", "requested_by",
                  "skills", *TIMESTAMPS)


class ResourceRequestInputSerializer(serializers.Serializer):
    """A request is for a `project` or a pipeline deal (`deal_name`, then it is tentative)."""

    project = VisibleRelatedField(selector=project_list, queryset=Project.objects.all(),
                                  required=False, allow_null=True)
    deal_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    deal_ref = serializers.CharField(max_length=100, required=False, allow_blank=True)
    is_tentative = serializers.BooleanField(required=False)
    probability = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0,
                                           max_value=100, required=False)
    role = RecordRelatedField(queryset=Role.objects.all())
    hours_per_week = hours(max_value=168)
    start_date = serializers.DateField(help_text="Inclusive.")
    end_date = serializers.DateField(help_text="Inclusive.")
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    remote_ok = serializers.BooleanField(required=False)
    priority = serializers.ChoiceField(choices=ResourceRequest.Priority.choices, required=False)
    bill_rate = rate(required=False, allow_null=True)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False,
                                       allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    skills = RequestSkillSerializer(many=True, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _dates_in_order(attrs)
        return attrs


class AssignmentOutputSerializer(OutputSerializer):
    class Meta:
        model = Assignment
        fields = ("id", "person", "project", "role", "request", "start_date", "end_date",
                  "hours_per_week", "booking", "overbooking_confirmed", "created_by",
                  *TIMESTAMPS)


class AssignmentCreateInputSerializer(serializers.Serializer):
    person = RecordRelatedField(queryset=Person.objects.all())
    project = RecordRelatedField(queryset=Project.objects.all())
    role = RecordRelatedField(queryset=Role.objects.all(), required=False,
                              help_text="Defaults to the person's role.")
    request = RecordRelatedField(queryset=ResourceRequest.objects.all(),
                                 required=False, allow_null=True)
    start_date = serializers.DateField(help_text="Inclusive.")
    end_date = serializers.DateField(help_text="Inclusive.")
    hours_per_week = hours(max_value=168)
    booking = serializers.ChoiceField(choices=Assignment.Booking.choices,
                                      default=Assignment.Booking.SOFT)
    confirm_overbooking = serializers.BooleanField(
        default=False, help_text="Book a hard assignment even though it overbooks some weeks "
                                 "(without it: 409 listing the weeks).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _dates_in_order(attrs)
        return attrs


class AssignmentUpdateInputSerializer(serializers.Serializer):
    role = RecordRelatedField(queryset=Role.objects.all(), required=False)
    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)
    hours_per_week = hours(max_value=168, required=False)
    booking = serializers.ChoiceField(choices=Assignment.Booking.choices, required=False)
    confirm_overbooking = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _dates_in_order(attrs)
        return attrs


class CapacityQuerySerializer(serializers.Serializer):
    person = serializers.CharField(help_text="A person's id, or several separated by commas "
                                             "(at most 200).")
    start = serializers.DateField()
    end = serializers.DateField()

    def validate_person(self, value: str) -> list[int]:
        try:
            ids = sorted({int(part) for part in value.split(",") if part.strip()})
        except ValueError:
            raise serializers.ValidationError("Give person ids separated by commas.") from None
        if not ids or len(ids) > 200:
            raise serializers.ValidationError("Give from 1 to 200 person ids.")
        if not all(is_record_id(person_id) for person_id in ids):
            raise serializers.ValidationError("Unknown person id.")
        return ids

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "The end is before the start."})
        if (attrs["end"] - attrs["start"]).days > 371:
            raise serializers.ValidationError({"end": "Ask for at most 53 weeks at a time."})
        return attrs


class CapacityWeekOutputSerializer(serializers.Serializer):
    person = serializers.IntegerField(source="person_id")
    week_start = serializers.DateField()
    capacity = hours()
    hard = hours(help_text="Hard-booked hours.")
    soft = hours(help_text="Soft-booked (pencilled) hours.")
    available = serializers.DecimalField(max_digits=9, decimal_places=2,
                                         help_text="Capacity less hard bookings.")
    overbooked = serializers.BooleanField()
