"""The transactional outbox: events and their per-subscriber deliveries (ARCHITECTURE.md)."""

import uuid
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OutboxEvent(models.Model):
    """Something that happened, written in the same transaction as the change it describes."""

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=64, db_index=True)
    aggregate_type = models.CharField(max_length=64)
    aggregate_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    correlation_id = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["aggregate_type", "aggregate_id"])]

    def __str__(self) -> str:
        return f"{self.type} {self.aggregate_type}:{self.aggregate_id}"


class Delivery(models.Model):
    """One event on its way to one subscriber: its state, attempts and last error."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        FAILED = "failed", _("Failed, will retry")
        SUCCEEDED = "succeeded", _("Succeeded")
        DEAD = "dead", _("Dead letter")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        State.PENDING: frozenset({State.SUCCEEDED, State.FAILED, State.DEAD}),
        State.FAILED: frozenset({State.SUCCEEDED, State.FAILED, State.DEAD}),
        State.SUCCEEDED: frozenset(),
        State.DEAD: frozenset({State.PENDING}),  # replay
    }
    OPEN_STATES: ClassVar[tuple[str, ...]] = (State.PENDING, State.FAILED)

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.CharField(max_length=100)
    state = models.CharField(max_length=10, choices=State, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=8)
    next_attempt_at = models.DateTimeField(db_index=True)
    leased_until = models.DateTimeField(
        null=True, blank=True, help_text=_("A worker holds the delivery until then.")
    )
    last_error = models.TextField(blank=True)
    last_error_context = models.JSONField(default=dict, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscriber"], name="psa_delivery_event_subscriber_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "failed"]),
                name="psa_delivery_due_idx",
            ),
            # The sync health page groups by subscriber and state, and by recent updates.
            models.Index(fields=["subscriber", "state"], name="psa_delivery_sub_state_idx"),
            models.Index(fields=["state", "updated_at"], name="psa_delivery_state_upd_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscriber} ({self.state})"

    def can_transition_to(self, target: str) -> bool:
        return target in self.TRANSITIONS[self.state]
