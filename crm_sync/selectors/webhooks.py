"""Outbound webhook subscriptions as the API lists them (no row scope: the permission is all)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from crm_sync.models import WebhookSubscription
from psa.rules import visible


def webhook_subscription_list(*, actor: User | AnonymousUser) -> QuerySet[WebhookSubscription]:
    return visible(WebhookSubscription.objects.all(), actor,
                   "crm_sync.view_webhooksubscription").order_by("pk")
