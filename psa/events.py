"""The transactional outbox (ARCHITECTURE.md: Events).

Minimal first cut: `publish` writes the event row in the caller's transaction.
The dispatcher (deliveries, retries, dead letter, replay, sweeper) is built on top.
"""

import uuid
from typing import Any

from django.db import models, transaction

from psa.models import OutboxEvent


def publish(event_type: str, *, aggregate: models.Model, payload: dict[str, Any] | None = None,
            correlation_id: str | None = None) -> OutboxEvent:
    """Record `event_type` for `aggregate` in the current transaction (it rolls back with it)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events.publish must run inside the transaction of the change")
    return OutboxEvent.objects.create(
        type=event_type,
        aggregate_type=aggregate._meta.label_lower,
        aggregate_id=str(aggregate.pk),
        payload=payload or {},
        correlation_id=correlation_id or uuid.uuid4().hex,
    )
