"""Serializers of legal entities, job roles and rate cards."""

from rest_framework import serializers

from psa.api.serializers.common import OutputSerializer, VisibleRelatedField, rate
from psa.common.money import CURRENCY_CHOICES
from psa.models import Client, LegalEntity, Person, RateCard, RateCardLine, RateCardOverride, Role
from psa.selectors import client_list, person_list, role_list

TIMESTAMPS = ("created_at", "updated_at", "version")


class LegalEntityOutputSerializer(OutputSerializer):
    class Meta:
        model = LegalEntity
        fields = ("id", "code", "name", "country", "base_currency", "time_zone", "invoice_prefix",
                  "tax_registration", "address", "is_active", *TIMESTAMPS)


class LegalEntityCreateInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=10)
    name = serializers.CharField(max_length=200)
    country = serializers.RegexField(r"^[A-Z]{2}$", help_text="ISO 3166 alpha-2.")
    base_currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
    time_zone = serializers.CharField(max_length=64, required=False)
    invoice_prefix = serializers.CharField(max_length=10)
    tax_registration = serializers.CharField(max_length=64, required=False, allow_blank=True)
    address = serializers.CharField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class LegalEntityUpdateInputSerializer(LegalEntityCreateInputSerializer):
    pass


class RoleOutputSerializer(OutputSerializer):
    class Meta:
        model = Role
        fields = ("id", "code", "name", "level", "description", *TIMESTAMPS)


class RoleCreateInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=100)
    level = serializers.IntegerField(min_value=1, max_value=32767)
    description = serializers.CharField(required=False, allow_blank=True)


class RoleUpdateInputSerializer(RoleCreateInputSerializer):
    pass


class RateCardLineOutputSerializer(OutputSerializer):
    class Meta:
        model = RateCardLine
        fields = ("id", "role", "hourly_rate", "effective_from")


class RateCardOverrideOutputSerializer(OutputSerializer):
    class Meta:
        model = RateCardOverride
        fields = ("id", "person", "hourly_rate", "effective_from")


class RateCardOutputSerializer(OutputSerializer):
    lines = RateCardLineOutputSerializer(many=True, read_only=True)
    overrides = RateCardOverrideOutputSerializer(many=True, read_only=True)

    class Meta:
        model = RateCard
        fields = ("id", "code", "name", "kind", "currency", "client", "is_active", "lines",
                  "overrides", *TIMESTAMPS)


class RateCardLineInputSerializer(serializers.Serializer):
    role = VisibleRelatedField(selector=role_list, queryset=Role.objects.all())
    hourly_rate = rate()
    effective_from = serializers.DateField()


class RateCardOverrideInputSerializer(serializers.Serializer):
    person = VisibleRelatedField(selector=person_list, queryset=Person.objects.all())
    hourly_rate = rate()
    effective_from = serializers.DateField()


class RateCardCreateInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=RateCard.Kind.choices, required=False)
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
    client = VisibleRelatedField(selector=client_list, queryset=Client.objects.all(),
                                 required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False)
    lines = RateCardLineInputSerializer(many=True, required=False)
    overrides = RateCardOverrideInputSerializer(many=True, required=False)

    def _no_duplicates(self, items: list[dict], key: str) -> list[dict]:
        seen = set()
        for item in items:
            pair = (item[key].pk, item["effective_from"])
            if pair in seen:
                raise serializers.ValidationError(
                    f"Two rates for the same {key} from {item['effective_from']:%Y-%m-%d}.")
            seen.add(pair)
        return items

    def validate_lines(self, value: list[dict]) -> list[dict]:
        return self._no_duplicates(value, "role")

    def validate_overrides(self, value: list[dict]) -> list[dict]:
        return self._no_duplicates(value, "person")


class RateCardUpdateInputSerializer(RateCardCreateInputSerializer):
    pass
