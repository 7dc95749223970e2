"""API views of the integration hub (API.md): outbound webhook subscriptions, the outbox's
events with each delivery's state, and deliveries with their replay. Writes call one service;
lists call a selector scoped to the user; every action is mapped to the role matrix."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm_sync.api import serializers as s
from crm_sync.models import WebhookSubscription
from crm_sync.selectors.deliveries import delivery_list, event_list
from crm_sync.selectors.webhooks import webhook_subscription_list
from crm_sync.services.webhook_subscriptions import (
    webhook_subscription_create,
    webhook_subscription_delete,
)
from psa import events
from psa.api.base import ApiViewSet
from psa.api.filters import BaseFilter, TimestampFilter
from psa.common.etag import etag_of
from psa.models import Delivery, OutboxEvent

VIEW_OUTBOX = "psa.view_outboxevent"

# --- Filters --------------------------------------------------------------------------------


class WebhookSubscriptionFilter(BaseFilter):
    class Meta:
        model = WebhookSubscription
        fields = ["active"]


class EventFilter(django_filters.FilterSet):
    """Events by type, correlation id, aggregate and time. Events never change, so
    `updated_since` finds those created, or with a delivery that changed, since then."""

    created_after = TimestampFilter(
        field_name="created_at", lookup_expr="gte",
        help_text="Only events created at or after this ISO 8601 timestamp.")
    updated_since = TimestampFilter(
        method="filter_updated_since",
        help_text="Events created, or with a delivery that changed, at or after this ISO 8601 "
                  "timestamp.")

    class Meta:
        model = OutboxEvent
        fields = ["type", "correlation_id", "aggregate_type", "aggregate_id"]

    def filter_updated_since(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        changed = Delivery.objects.filter(event=OuterRef("pk"), updated_at__gte=value)
        return queryset.filter(Q(created_at__gte=value) | Exists(changed))


class DeliveryFilter(BaseFilter):
    """Deliveries by state (`?state=dead`), subscriber, event type and correlation id."""

    state = django_filters.ChoiceFilter(choices=Delivery.State.choices,
                                        help_text="pending, failed, succeeded or dead.")
    event_type = django_filters.CharFilter(field_name="event__type",
                                           help_text="The event's type, e.g. invoice.issued.")
    correlation_id = django_filters.CharFilter(field_name="event__correlation_id",
                                               help_text="The event's correlation id.")

    class Meta:
        model = Delivery
        fields = ["state", "subscriber"]


# --- Views ----------------------------------------------------------------------------------


class UnversionedDetailMixin:
    """Rows without a `version` (outbox rows) answer without an ETag."""

    def detail_response(self, obj: Model, status_code: int = 200) -> Response:
        data = self.output_serializer(obj, context=self.get_serializer_context()).data
        headers = {"ETag": etag_of(obj)} if hasattr(obj, "version") else None
        return Response(data, status=status_code, headers=headers)


@extend_schema_view(
    create=extend_schema(request=s.WebhookSubscriptionCreateInputSerializer,
                         responses={201: s.WebhookSubscriptionCreatedOutputSerializer}),
    destroy=extend_schema(responses={204: None}),
)
class WebhookSubscriptionViewSet(ApiViewSet):
    """Outbound webhook subscriptions: each event a subscription wants is POSTed to its URL,
    signed with its secret (API.md: Outbound webhooks)."""

    output_serializer = s.WebhookSubscriptionOutputSerializer
    filterset_class = WebhookSubscriptionFilter
    required_perms = {"list": "crm_sync.view_webhooksubscription",
                      "retrieve": "crm_sync.view_webhooksubscription",
                      "create": "crm_sync.add_webhooksubscription",
                      "destroy": "crm_sync.delete_webhooksubscription"}

    def get_queryset(self) -> QuerySet:
        return webhook_subscription_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        """Subscribe a URL to event types; 201 with the signing `secret`, returned this once
        (400 for a URL that is not absolute http(s) or an unknown event type)."""
        data = self.validated(s.WebhookSubscriptionCreateInputSerializer)
        created = webhook_subscription_create(actor=request.user, url=data["url"],
                                              event_types=data["event_types"],
                                              description=data["description"])
        subscription = created.subscription
        body = dict(self.output_serializer(subscription,
                                           context=self.get_serializer_context()).data)
        body["secret"] = created.secret
        return Response(body, status=status.HTTP_201_CREATED,
                        headers={"ETag": etag_of(subscription)})

    def destroy(self, request: Request, pk: str) -> Response:
        """Delete a subscription: nothing more is sent to it."""
        webhook_subscription_delete(actor=request.user, subscription=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventViewSet(UnversionedDetailMixin, ApiViewSet):
    """The outbox: every event published, with the state of its delivery to each subscriber
    (one correlation id follows a piece of work from deal to ERP posting)."""

    output_serializer = s.EventOutputSerializer
    filterset_class = EventFilter
    required_perms = {"list": VIEW_OUTBOX, "retrieve": VIEW_OUTBOX}

    def get_queryset(self) -> QuerySet:
        return event_list(actor=self.request.user)


class DeliveryViewSet(UnversionedDetailMixin, ApiViewSet):
    """Deliveries of events to subscribers: `?state=dead` lists the dead letters, and
    `POST …/{id}/replay/` sends one round again."""

    output_serializer = s.DeliveryOutputSerializer
    filterset_class = DeliveryFilter
    required_perms = {"list": VIEW_OUTBOX, "retrieve": VIEW_OUTBOX,
                      "replay": "psa.replay_delivery"}

    def get_queryset(self) -> QuerySet:
        return delivery_list(actor=self.request.user)

    @extend_schema(request=None, responses={200: s.DeliveryOutputSerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str) -> Response:
        """Send a dead or failed delivery round again from attempt one, keeping its error
        history (409 for a delivery that succeeded, is pending or is being attempted)."""
        delivery = events.delivery_replay(delivery=self.get_object(), actor=request.user)
        return self.detail_response(self.get_queryset().get(pk=delivery.pk))
