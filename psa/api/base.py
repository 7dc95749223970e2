"""The base of every API viewset: permissions map, idempotent POSTs, ETags, external ids."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model
from drf_spectacular.utils import OpenApiParameter
from drf_standardized_errors.openapi import AutoSchema
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

import psa.api.schema  # noqa: F401  (registers the bearer-token OpenAPI extension)
from psa.common.etag import etag_of, expected_version_from
from psa.common.idempotency import HEADER as IDEMPOTENCY_HEADER
from psa.common.idempotency import IdempotentPostMixin
from psa.selectors import external_refs_attach

M = TypeVar("M", bound=Model)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER, required=False,
    description="Repeat-safe POST: the same key with the same body replays the first response; "
                "with another body it is 422. Kept at least 24 hours.")
IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, required=False,
    description="The ETag of the version being changed; a stale one is 412.")


class PsaAutoSchema(AutoSchema):
    """drf-standardized-errors' error responses plus our Idempotency-Key and If-Match headers."""

    def get_override_parameters(self) -> list[OpenApiParameter]:
        params = list(super().get_override_parameters())
        if self.method == "POST":
            params.append(IDEMPOTENCY_PARAMETER)
        elif self.method in ("PATCH", "PUT"):
            params.append(IF_MATCH_PARAMETER)
        return params


class ApiViewSet(IdempotentPostMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """List and retrieve with the output serializer; writes are methods calling one service.

    Subclasses set `required_perms` (action → role-matrix permission), `output_serializer`,
    `filterset_class`, and `get_queryset()` calling a selector scoped to the user.
    """

    schema = PsaAutoSchema()
    output_serializer: type[serializers.Serializer]
    has_external_refs = False
    lookup_value_regex = r"[0-9]+"

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return self.output_serializer

    def paginate_queryset(self, queryset: Any) -> list | None:
        page = super().paginate_queryset(queryset)
        if page is not None and self.has_external_refs:
            external_refs_attach(page)
        return page

    def retrieve(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        return self.detail_response(self.get_object())

    def detail_response(self, obj: Model, status_code: int = 200) -> Response:
        """The output representation of one row, with its ETag."""
        if self.has_external_refs:
            external_refs_attach([obj])
        data = self.output_serializer(obj, context=self.get_serializer_context()).data
        return Response(data, status=status_code, headers={"ETag": etag_of(obj)})

    def validated(self, serializer_class: type[serializers.Serializer], *,
                  partial: bool = False) -> dict[str, Any]:
        """The request body validated by an input serializer (400 in the error shape if not)."""
        serializer = serializer_class(data=self.request.data, partial=partial,
                                      context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @property
    def expected_version(self) -> str | None:
        """The version named by `If-Match`, for the service to compare under its row lock."""
        return expected_version_from(self.request.headers.get("If-Match"))

    def create_checked(self, create: Callable[[], M]) -> M:
        """Run a create service, then check the action's permission on the new row.

        A role with OWN scope (a manager adding a task) may only create rows it will own; the
        check needs the row, so it runs inside the transaction and a refusal rolls it back.
        """
        with transaction.atomic():
            obj = create()
            if not self.request.user.has_perm(self.required_perms[self.action], obj):
                raise PermissionDenied("You may not create this row (it is outside your scope).")
        return obj
