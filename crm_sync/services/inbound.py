"""Inbound changes: verified webhooks and polled changes, stored raw, processed through the
outbox (so retries, backoff, dead letters and replays are the outbox's)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from crm_sync.connectors import connector_for
from crm_sync.connectors.base import InboundRequest, WebhookEvent
from crm_sync.models import Connection, InboundMessage
from psa import events

logger = logging.getLogger(__name__)

INBOUND_EVENT = "inbound.received"
INBOUND_SUBSCRIBER = "crm_sync.inbound"
RESULT_MAX_CHARS = 300


@dataclass(frozen=True)
class Received:
    stored: int
    duplicates: int


def webhook_receive(*, connection: Connection, request: InboundRequest) -> Received:
    """Verify `request` with the connection's scheme, then store each event once.

    Raises WebhookRejectedError (401) when the signature is missing, wrong or too old; nothing
    is stored then.
    """
    with connector_for(connection) as connector:
        webhook_events = connector.verify_webhook(request)
    headers = {k: v for k, v in request.headers.items() if k.startswith(("x-", "intuit"))}
    return inbound_store(connection=connection, items=webhook_events, headers=headers)


def inbound_store(*, connection: Connection, items: list[WebhookEvent],
                  headers: dict[str, str] | None = None) -> Received:
    """Store each event unless its id was seen before; publish `inbound.received` for new ones.

    Duplicates (the vendor's retries, our own polls of a change a webhook already brought) only
    count up `duplicates` on the first copy.
    """
    stored = duplicates = 0
    for item in items:
        try:
            with transaction.atomic():
                message = InboundMessage.objects.create(
                    connection=connection, event_id=item.event_id[:128], topic=item.topic[:100],
                    object_id=str(item.object_id)[:64], payload=item.payload,
                    headers=headers or {}, correlation_id=uuid.uuid4().hex)
                events.publish(INBOUND_EVENT, aggregate=message,
                               payload={"connection": connection.name, "topic": message.topic,
                                        "object_id": message.object_id},
                               correlation_id=message.correlation_id)
        except IntegrityError:
            InboundMessage.objects.filter(connection=connection,
                                          event_id=item.event_id[:128]).update(
                duplicates=F("duplicates") + 1)
            duplicates += 1
            continue
        stored += 1
    if duplicates:
        logger.info("%s: %s duplicate inbound event(s) ignored", connection.name, duplicates)
    return Received(stored=stored, duplicates=duplicates)


def inbound_process(message_id: int) -> None:
    """Apply one stored message with its connector (the outbox subscriber's body).

    Idempotent: connectors upsert by external id and re-read the vendor's current state, so a
    message processed twice, or two messages about one object, end in the same rows.
    """
    message = InboundMessage.objects.select_related("connection").get(pk=message_id)
    connection = message.connection
    if not connection.enabled:
        _finish(message, InboundMessage.State.IGNORED, "connection disabled")
        return
    try:
        with connector_for(connection) as connector:
            result = connector.handle_inbound(message)
    except Exception as exc:
        _finish(message, InboundMessage.State.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    state = (InboundMessage.State.IGNORED if result.startswith("ignored")
             else InboundMessage.State.PROCESSED)
    _finish(message, state, result)


def _finish(message: InboundMessage, state: str, result: str) -> None:
    InboundMessage.objects.filter(pk=message.pk).update(
        state=state, result=result[:RESULT_MAX_CHARS], processed_at=timezone.now())
