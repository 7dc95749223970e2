"""Serializers of clients, contracts and change orders."""

from rest_framework import serializers

from psa.api.serializers.common import (
    ExternalRefsField,
    ExternalRefsInput,
    OutputSerializer,
    VisibleRelatedField,
    hours,
    money,
    rate,
    signed_money,
)
from psa.api.serializers.org import TIMESTAMPS
from psa.common.money import CURRENCY_CHOICES
from psa.models import ChangeOrder, Client, Contract, LegalEntity, RateCard
from psa.selectors import client_list, contract_list, legal_entity_list, rate_card_list


class ClientOutputSerializer(OutputSerializer):
    external_refs = ExternalRefsField()

    class Meta:
        model = Client
        fields = ("id", "code", "name", "legal_entity", "currency", "billing_address", "country",
                  "payment_terms_days", "tax_rate", "tax_jurisdiction", "billing_contact_name",
                  "billing_contact_email", "rate_card", "consolidated_invoicing", "is_active",
                  "external_refs", *TIMESTAMPS)


class ClientCreateInputSerializer(ExternalRefsInput):
    code = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=200)
    legal_entity = VisibleRelatedField(selector=legal_entity_list,
                                       queryset=LegalEntity.objects.all())
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)
    billing_address = serializers.CharField(required=False, allow_blank=True)
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False, allow_blank=True)
    payment_terms_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    tax_rate = rate(max_value=100, required=False)
    tax_jurisdiction = serializers.CharField(max_length=64, required=False, allow_blank=True)
    billing_contact_name = serializers.CharField(max_length=200, required=False,
                                                 allow_blank=True)
    billing_contact_email = serializers.EmailField(required=False, allow_blank=True)
    rate_card = VisibleRelatedField(selector=rate_card_list, queryset=RateCard.objects.all(),
                                    required=False, allow_null=True)
    consolidated_invoicing = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class ClientUpdateInputSerializer(ClientCreateInputSerializer):
    pass


class ContractOutputSerializer(OutputSerializer):
    external_refs = ExternalRefsField()

    class Meta:
        model = Contract
        fields = ("id", "code", "name", "client", "legal_entity", "currency", "billing_model",
                  "revenue_method", "status", "value_amount", "cap_amount", "start_date",
                  "end_date", "signed_date", "rate_card", "expenses_billable",
                  "expense_markup_percent", "retainer_amount", "retainer_included_hours",
                  "po_number", "external_refs", *TIMESTAMPS)


class ContractCreateInputSerializer(ExternalRefsInput):
    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=200)
    client = VisibleRelatedField(selector=client_list, queryset=Client.objects.all())
    legal_entity = VisibleRelatedField(selector=legal_entity_list,
                                       queryset=LegalEntity.objects.all(), required=False)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)
    billing_model = serializers.ChoiceField(choices=Contract.BillingModel.choices)
    revenue_method = serializers.ChoiceField(choices=Contract.RevenueMethod.choices)
    status = serializers.ChoiceField(choices=Contract.Status.choices, required=False)
    value_amount = money()
    cap_amount = money(required=False, allow_null=True)
    start_date = serializers.DateField(help_text="First day of service (inclusive).")
    end_date = serializers.DateField(help_text="Last day of service (inclusive).")
    signed_date = serializers.DateField(required=False, allow_null=True)
    rate_card = VisibleRelatedField(selector=rate_card_list, queryset=RateCard.objects.all(),
                                    required=False, allow_null=True)
    expenses_billable = serializers.BooleanField(required=False)
    expense_markup_percent = rate(required=False)
    retainer_amount = money(required=False, allow_null=True)
    retainer_included_hours = hours(required=False, allow_null=True)
    po_number = serializers.CharField(max_length=64, required=False, allow_blank=True)

    def validate(self, attrs: dict) -> dict:
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and end < start:
            raise serializers.ValidationError({"end_date": "The end date is before the start "
                                                           "date."})
        return attrs


class ContractUpdateInputSerializer(ContractCreateInputSerializer):
    pass


class ChangeOrderOutputSerializer(OutputSerializer):
    class Meta:
        model = ChangeOrder
        fields = ("id", "contract", "reference", "description", "value_change_amount",
                  "cap_change_amount", "budget_hours_change", "effective_date", "status",
                  "decided_at", "decided_by", "decision_reason", "created_by", *TIMESTAMPS)


class ChangeOrderCreateInputSerializer(serializers.Serializer):
    contract = VisibleRelatedField(selector=contract_list, queryset=Contract.objects.all())
    reference = serializers.CharField(max_length=30)
    description = serializers.CharField(required=False, allow_blank=True)
    value_change_amount = signed_money(help_text="May be negative.")
    cap_change_amount = signed_money(required=False, help_text="May be negative.")
    budget_hours_change = serializers.DecimalField(max_digits=9, decimal_places=2,
                                                   required=False)
    effective_date = serializers.DateField()


class ChangeOrderApproveInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                   default="", help_text="Optional note kept with the decision.")


class ChangeOrderRejectInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why the change is rejected.")
