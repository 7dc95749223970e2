"""Fixtures of the integration hub: emulators on loopback, connections, draining the outbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

from crm_sync.models import Connection
from crm_sync.sandbox.server import Emulator, RunningEmulator
from psa import events
from psa.models import Delivery


@pytest.fixture(autouse=True)
def _short_http_timeouts(settings):
    """Emulated timeouts last 3 s; the client gives up after 1 s so tests stay quick."""
    settings.SYNC_HTTP_TIMEOUT_SECONDS = 1.0


@pytest.fixture
def run_emulator() -> Iterator[Callable[..., RunningEmulator]]:
    """`run_emulator(HubSpotEmulator, seed=1)` serves it on a free loopback port until the end."""
    running: list[RunningEmulator] = []

    def start(cls: type[Emulator], **kwargs: Any) -> RunningEmulator:
        server = RunningEmulator(cls(**kwargs))
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


def make_connection(vendor: str, base_url: str, credentials: dict[str, Any],
                    options: dict[str, Any] | None = None, **fields: Any) -> Connection:
    connection = Connection(name=fields.pop("name", vendor), vendor=vendor,
                            kind=Connection.KIND_OF_VENDOR[vendor], base_url=base_url,
                            options=options or {}, **fields)
    connection.set_credentials(credentials)
    connection.save()
    return connection


def drain_outbox(*, rounds: int = 10, subscribers: set[str] | None = None) -> dict[str, int]:
    """Deliver every open delivery now, retrying failures at once, until none is left or
    `rounds` passes are done; returns how many ended in each state. (Unit tests run inside one
    transaction, so on-commit Celery nudges never fire: this plays the worker's part.)"""
    for _ in range(rounds):
        due = Delivery.objects.filter(state__in=Delivery.OPEN_STATES)
        if subscribers is not None:
            due = due.filter(subscriber__in=subscribers)
        ids = list(due.order_by("pk").values_list("pk", flat=True))
        if not ids:
            break
        Delivery.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now(),
                                                   leased_until=None)
        for delivery_id in ids:
            events.delivery_attempt(delivery_id)
    counts: dict[str, int] = {}
    for state in Delivery.objects.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts
