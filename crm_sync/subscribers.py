"""The hub's outbox subscribers, registered in CrmSyncConfig.ready().

- `crm_sync.inbound` processes each stored inbound message (webhook or poll);
- `<vendor>.<event type>` pushes one of our events to that vendor (only when a connection of
  the vendor is enabled; otherwise the delivery succeeds with nothing to do, and the sync
  health page lists what never reached the system once it is connected);
- `webhooks.outbound` posts every event to the outbound webhook subscriptions that want it.
"""

from __future__ import annotations

from functools import partial

from crm_sync.connectors import (
    CONNECTOR_CLASSES,
    connector_class,
    connector_for,
    enabled_connection,
)
from crm_sync.services.inbound import INBOUND_EVENT, INBOUND_SUBSCRIBER, inbound_process
from psa import events
from psa.models import OutboxEvent


def _on_inbound(event: OutboxEvent) -> None:
    inbound_process(int(event.aggregate_id))


def _push(vendor: str, event: OutboxEvent) -> None:
    connection = enabled_connection(vendor)
    if connection is None:
        return
    with connector_for(connection) as connector:
        connector.handle_event(event)


def _outbound_webhooks(event: OutboxEvent) -> None:
    from crm_sync.services.webhooks_out import webhooks_send

    webhooks_send(event)


def register() -> None:
    events.subscribe(INBOUND_EVENT, INBOUND_SUBSCRIBER, _on_inbound)
    for vendor in CONNECTOR_CLASSES:
        for event_type in connector_class(vendor).EVENT_HANDLERS:
            events.subscribe(event_type, f"{vendor}.{event_type}", partial(_push, vendor))
    events.subscribe(events.ALL_EVENTS, "webhooks.outbound", _outbound_webhooks)
