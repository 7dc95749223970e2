"""Outbound webhook subscriptions (API.md: Outbound webhooks) and what each received."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from psa.models.base import BaseModel


class WebhookSubscription(BaseModel):
    """A receiver of our events: its URL, the event types it wants ("*" for all) and a secret."""

    url = models.URLField(max_length=500)
    event_types = models.JSONField(default=list)
    secret_encrypted = models.TextField()
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    @property
    def secret(self) -> str:
        from crm_sync.crypto import decrypt_text

        return decrypt_text(self.secret_encrypted)

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


class WebhookReceipt(models.Model):
    """A subscription acknowledged an event (2xx): never send it that event again."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE,
                                     related_name="receipts")
    event = models.ForeignKey("psa.OutboxEvent", on_delete=models.CASCADE, related_name="+")
    status_code = models.PositiveSmallIntegerField()
    delivered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subscription", "event"],
                                               name="crm_sync_webhookreceipt_unique")]

    def __str__(self) -> str:
        return f"{self.subscription_id}:{self.event_id}"
