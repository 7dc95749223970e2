"""Serializers of the integration hub's API: outbound webhook subscriptions, the outbox's
events with their deliveries, and deliveries (API.md)."""

from __future__ import annotations

from rest_framework import serializers

from crm_sync.models import WebhookSubscription
from crm_sync.services.webhook_subscriptions import ALL_TYPES, EVENT_TYPES
from psa.api.serializers.common import OutputSerializer
from psa.api.serializers.org import TIMESTAMPS
from psa.models import Delivery, OutboxEvent

EVENT_TYPE_HELP = (f'Event types to receive, or ["{ALL_TYPES}"] for all of them. Known types: '
                   f"{', '.join(EVENT_TYPES)}.")

# --- Webhook subscriptions ------------------------------------------------------------------


class WebhookSubscriptionOutputSerializer(OutputSerializer):
    """A subscription as anyone may read it: never its secret."""

    event_types = serializers.ListField(child=serializers.CharField(), read_only=True,
                                        help_text=EVENT_TYPE_HELP)

    class Meta:
        model = WebhookSubscription
        fields = ("id", "url", "event_types", "description", "active", "created_by",
                  *TIMESTAMPS)
        read_only_fields = fields


class WebhookSubscriptionCreatedOutputSerializer(WebhookSubscriptionOutputSerializer):
    """The answer to a create: the subscription and, this once, its signing secret."""

    secret = serializers.CharField(
        read_only=True,
        help_text="The HMAC-SHA256 key of `X-PSA-Signature`. Shown only in this response: "
                  "store it now.")

    class Meta(WebhookSubscriptionOutputSerializer.Meta):
        fields = (*WebhookSubscriptionOutputSerializer.Meta.fields, "secret")
        read_only_fields = fields


class WebhookSubscriptionCreateInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500,
                                help_text="Where to POST each event: an absolute http(s) URL.")
    event_types = serializers.ListField(child=serializers.CharField(max_length=64),
                                        allow_empty=False, max_length=len(EVENT_TYPES) + 1,
                                        help_text=EVENT_TYPE_HELP)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                        default="")


# --- The outbox -----------------------------------------------------------------------------


STATE_HELP = f"One of: {', '.join(Delivery.State.values)}."


class DeliveryStateSerializer(serializers.ModelSerializer):
    """One subscriber's progress with an event."""

    # A plain string, not an enum: the schema's shared `state` enum names belong to others.
    state = serializers.CharField(read_only=True, help_text=STATE_HELP)

    class Meta:
        model = Delivery
        fields = ("id", "subscriber", "state", "attempts", "max_attempts", "next_attempt_at",
                  "last_error", "succeeded_at", "updated_at")
        read_only_fields = fields


class EventOutputSerializer(serializers.ModelSerializer):
    """An outbox event with the state of its delivery to each subscriber."""

    deliveries = DeliveryStateSerializer(many=True, read_only=True)

    class Meta:
        model = OutboxEvent
        fields = ("id", "event_id", "type", "aggregate_type", "aggregate_id", "payload",
                  "correlation_id", "created_at", "deliveries")
        read_only_fields = fields


class EventSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = OutboxEvent
        fields = ("id", "event_id", "type", "aggregate_type", "aggregate_id", "payload",
                  "correlation_id", "created_at")
        read_only_fields = fields


class DeliveryOutputSerializer(serializers.ModelSerializer):
    """A delivery with its event and the full context of its last error (`history` keeps
    earlier errors, `replayed_by` who sent it round again)."""

    event = EventSummarySerializer(read_only=True)
    state = serializers.CharField(read_only=True, help_text=STATE_HELP)

    class Meta:
        model = Delivery
        fields = ("id", "event", "subscriber", "state", "attempts", "max_attempts",
                  "next_attempt_at", "last_error", "last_error_context", "succeeded_at",
                  "created_at", "updated_at")
        read_only_fields = fields
