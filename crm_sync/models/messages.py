"""Inbound webhook messages, stored raw before anything is done with them."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_sync.models.connections import Connection


class InboundMessage(models.Model):
    """One vendor event as it arrived, verified and deduplicated by the vendor's event id.

    Processing goes through the outbox (`inbound.received` → the connector's subscriber), so
    retries, dead letters and replays are the outbox's; `state` mirrors the outcome for the log.
    """

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE,
                                   related_name="inbound_messages")
    event_id = models.CharField(max_length=128)
    topic = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField()
    headers = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State, default=State.RECEIVED,
                             db_index=True)
    duplicates = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=300, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["connection", "event_id"],
                                               name="crm_sync_inbound_event_unique")]

    def __str__(self) -> str:
        return f"{self.connection.name}:{self.topic}:{self.event_id}"
