"""OpenAPI extensions: how the schema describes our bearer tokens and our error bodies."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import serializers


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <token>` (psa.common.tokens)."""

    target_class = "psa.common.tokens.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: object) -> dict:
        return build_bearer_security_scheme_object(header_name="Authorization",
                                                   token_prefix="Bearer")


class ErrorItemSerializer(serializers.Serializer):
    """One error of the shape: a code a program can branch on, a sentence, and the field."""

    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ClientErrorResponseSerializer(serializers.Serializer):
    """The error shape of API.md for a refused request: invalid fields (`validation_error`) or
    a business rule, a state conflict, a stale version or a reused idempotency key
    (`client_error`). Codes are open-ended strings, named in each rule's message."""

    type = serializers.ChoiceField(choices=["validation_error", "client_error"])
    errors = ErrorItemSerializer(many=True)
