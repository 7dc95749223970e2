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

from psa.api.schema import ClientErrorResponseSerializer  # also registers the bearer scheme
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


# Error statuses our handler adds to drf-standardized-errors' (psa/common/errors.py), by the
# methods that can meet them: a state conflict or closed period, a stale If-Match, an
# Idempotency-Key reused with another body.
CLIENT_ERROR_STATUSES = {"409": ("POST", "PUT", "PATCH", "DELETE"),
                         "412": ("PUT", "PATCH", "DELETE"), "422": ("POST",)}


class PsaAutoSchema(AutoSchema):
    """drf-standardized-errors' error responses plus our Idempotency-Key and If-Match headers.

    The library documents errors only for views using its own exception handler; ours wraps it
    (domain errors), so the decision is made here: every operation may answer 400 (a body or
    a query parameter that does not validate), the library's rules for the others, and the
    statuses of CLIENT_ERROR_STATUSES. 400 and ours share one open schema, since domain rules
    name their own codes.
    """

    def _get_allowed_error_status_codes(self) -> list[str]:
        return [*super()._get_allowed_error_status_codes(), *CLIENT_ERROR_STATUSES]

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code in responses:
            return False
        if status_code == "400":
            return True
        if status_code in CLIENT_ERROR_STATUSES:
            return self.method in CLIENT_ERROR_STATUSES[status_code]
        return getattr(self, f"_should_add_http{status_code}_error_response")()

    def _get_error_response_serializer(self, status_code: str) -> Any:
        if status_code == "400" or status_code in CLIENT_ERROR_STATUSES:
            return ClientErrorResponseSerializer
        return super()._get_error_response_serializer(status_code)

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
    # At most 18 digits: every BIGINT id fits, and a longer number is an unrouted 404 rather
    # than an overflow in the database.
    lookup_value_regex = r"[0-9]{1,18}"

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
