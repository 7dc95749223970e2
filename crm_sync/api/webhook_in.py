"""`POST /api/v1/integrations/{connection}/webhook/`: vendors' webhooks, verified by signature.

No session or token: the vendor's signature is the authentication. The request is verified,
each event stored once, and `202` returned at once; the work happens in the outbox's worker.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_sync.connectors.base import InboundRequest
from crm_sync.models import Connection
from crm_sync.services.inbound import webhook_receive


def public_url(request: Request) -> str:
    """The URL the vendor signed: PSA_BASE_URL's origin when set (behind a proxy), else ours."""
    base = settings.PSA_BASE_URL.rstrip("/")
    return f"{base}{request.get_full_path()}" if base else request.build_absolute_uri()


class InboundWebhookView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="integrations_webhook_receive",
        request={"application/json": dict},
        responses={202: inline_serializer("WebhookReceived", {
            "received": serializers.IntegerField(), "duplicates": serializers.IntegerField()}),
            401: OpenApiResponse(description="Signature missing, wrong or too old."),
            404: OpenApiResponse(description="No enabled connection of that name.")},
        auth=[],
        tags=["integrations"],
    )
    def post(self, request: Request, connection: str) -> Response:
        found = Connection.objects.filter(name=connection, enabled=True).first()
        if found is None:
            raise NotFound(f"No enabled connection named {connection!r}.")
        inbound = InboundRequest(
            method=request.method, url=public_url(request),
            headers={k.lower(): v for k, v in request.headers.items()}, body=request.body)
        received = webhook_receive(connection=found, request=inbound)
        return Response({"received": received.stored, "duplicates": received.duplicates},
                        status=status.HTTP_202_ACCEPTED)
