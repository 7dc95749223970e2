"""Shared serializer pieces: external ids, money and rate fields, user-scoped foreign keys."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from psa.selectors import external_refs_of

ZERO = Decimal("0")


def money(**kwargs: Any) -> serializers.DecimalField:
    """A non-negative currency amount in, 2 places (string out)."""
    kwargs.setdefault("min_value", ZERO)
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def signed_money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def rate(**kwargs: Any) -> serializers.DecimalField:
    """A non-negative rate or percentage in, 4 places."""
    kwargs.setdefault("min_value", ZERO)
    return serializers.DecimalField(max_digits=14, decimal_places=4, **kwargs)


def hours(**kwargs: Any) -> serializers.DecimalField:
    kwargs.setdefault("min_value", ZERO)
    return serializers.DecimalField(max_digits=9, decimal_places=2, **kwargs)


class ExternalRefSerializer(serializers.Serializer):
    """One id another system gives the row: `{"system": "hubspot", "id": "123"}`."""

    system = serializers.RegexField(r"^[a-z0-9_-]{1,32}$", max_length=32,
                                    help_text="e.g. hubspot, bamboohr, quickbooks")
    id = serializers.CharField(max_length=128)


@extend_schema_field(ExternalRefSerializer(many=True))
class ExternalRefsField(serializers.Field):
    """Read-only: the row's external ids (attached per page by the viewset)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, value: Model) -> list[dict[str, str]]:
        return [{"system": ref.system, "id": ref.external_id} for ref in external_refs_of(value)]


class ExternalRefsInput(serializers.Serializer):
    """Mixin for input serializers of rows with writable external ids (one per system)."""

    external_refs = ExternalRefSerializer(many=True, required=False)

    def validate_external_refs(self, value: list[dict[str, str]]) -> list[dict[str, str]]:
        systems = [ref["system"] for ref in value]
        if len(systems) != len(set(systems)):
            raise serializers.ValidationError("Give at most one id per system.")
        return value


# Ids are BIGINT: a larger number never names a row, and handed to the database it is an
# overflow error (a 500) rather than "not found".
RECORD_ID_MAX = 2**63 - 1


def is_record_id(value: Any) -> bool:
    """True for an int (or a string of digits) that could be a row's id."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):
            return False
        value = int(value)
    return isinstance(value, int) and 1 <= value <= RECORD_ID_MAX


def record_id_field(**kwargs: Any) -> serializers.IntegerField:
    """An input id: a whole number a row could have (1 to 2**63 - 1)."""
    return serializers.IntegerField(min_value=1, max_value=RECORD_ID_MAX, **kwargs)


class RecordRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key id; a number no row can have reads as unknown (`does_not_exist`)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, (int, str)) and not isinstance(data, bool) and str(data).lstrip(
                "-").isdigit() and not is_record_id(data):
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class VisibleRelatedField(RecordRelatedField):
    """A foreign key id that must exist among the rows the requesting user may see.

    An id outside the user's scope reads as unknown (400 `does_not_exist`), never as 403.
    """

    def __init__(self, *, selector: Callable[..., QuerySet], queryset: QuerySet,
                 **kwargs: Any) -> None:
        self.selector = selector
        super().__init__(queryset=queryset, **kwargs)

    def get_queryset(self) -> QuerySet:
        request = self.context.get("request")
        if request is None:
            return super().get_queryset()
        return self.selector(actor=request.user)


class OutputSerializer(serializers.ModelSerializer):
    """Read-only model output; `version` is the row's ETag value for If-Match."""

    version = serializers.CharField(read_only=True)

    def user_has_perm(self, perm: str) -> bool:
        request = self.context.get("request")
        return bool(request and request.user.has_perm(perm))
