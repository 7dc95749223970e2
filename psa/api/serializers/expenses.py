"""Serializers of expenses: JSON or multipart input (with a `receipt` file), and the output."""

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from psa.api.serializers.common import (
    OutputSerializer,
    VisibleRelatedField,
    rate,
    signed_money,
)
from psa.api.serializers.org import TIMESTAMPS
from psa.common.money import CURRENCY_CHOICES
from psa.models import Expense, ExpenseCategory, Person, Project
from psa.selectors import person_list, project_list


class OptionalBooleanField(serializers.BooleanField):
    """A boolean that stays absent when a multipart form leaves it out (DRF reads False)."""

    default_empty_html = empty


def _quantity() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=9, decimal_places=2, required=False, allow_null=True,
        help_text="Distance for mileage, days for per diem (the amount is then computed).")


class ExpenseCreateInputSerializer(serializers.Serializer):
    """A new draft expense. Send JSON, or multipart/form-data to attach the `receipt` file."""

    person = VisibleRelatedField(
        selector=person_list, queryset=Person.objects.all(), required=False,
        help_text="Whose expense; defaults to the caller's own person.")
    project = VisibleRelatedField(selector=project_list, queryset=Project.objects.all())
    expense_date = serializers.DateField()
    category = serializers.ChoiceField(choices=ExpenseCategory.choices)
    merchant = serializers.CharField(max_length=200, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    amount = signed_money(
        required=False, help_text="In the currency paid; computed for mileage and per diem.")
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False,
                                       help_text="The currency paid; defaults to the project's.")
    exchange_rate = rate(
        required=False,
        help_text="Project currency per 1 unit paid; required when the currencies differ.")
    quantity = _quantity()
    is_billable = OptionalBooleanField(
        required=False, help_text="Forced false on internal projects and non-billable contracts.")
    justification = serializers.CharField(
        required=False, allow_blank=True, help_text="Required when over the policy limit.")
    receipt = serializers.FileField(
        required=False, write_only=True,
        help_text="PDF, JPEG or PNG (checked from the content), at most 10 MB.")


class ExpenseUpdateInputSerializer(serializers.Serializer):
    """Changes to a draft or rejected expense; `receipt` replaces, `receipt_remove` removes."""

    project = VisibleRelatedField(selector=project_list, queryset=Project.objects.all(),
                                  required=False)
    expense_date = serializers.DateField(required=False)
    category = serializers.ChoiceField(choices=ExpenseCategory.choices, required=False)
    merchant = serializers.CharField(max_length=200, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    amount = signed_money(required=False)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)
    exchange_rate = rate(required=False)
    quantity = _quantity()
    is_billable = OptionalBooleanField(required=False)
    justification = serializers.CharField(required=False, allow_blank=True)
    receipt = serializers.FileField(required=False, write_only=True)
    receipt_remove = OptionalBooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("receipt") is not None and attrs.get("receipt_remove"):
            raise serializers.ValidationError(
                {"receipt_remove": "Either send a new receipt or remove the old one, not both."})
        return attrs


class ExpenseOutputSerializer(OutputSerializer):
    """An expense; the receipt is downloaded from `receipt_url` by those who may see it."""

    has_receipt = serializers.SerializerMethodField()
    receipt_url = serializers.SerializerMethodField()

    class Meta:
        model = Expense
        fields = ("id", "person", "project", "expense_date", "category", "merchant", "notes",
                  "amount", "currency", "exchange_rate", "project_amount", "project_currency",
                  "quantity", "unit_rate", "is_billable", "is_over_policy", "justification",
                  "has_receipt", "receipt_content_type", "receipt_url", "status",
                  "submitted_at", "approved_at", "approved_by", "rejected_at", "rejected_by",
                  "rejection_reason", *TIMESTAMPS)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_has_receipt(self, expense: Expense) -> bool:
        return bool(expense.receipt)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_receipt_url(self, expense: Expense) -> str | None:
        if not expense.receipt:
            return None
        return reverse("api:expense-receipt", args=[expense.pk])
