"""Probe subscribers for the real-worker outbox test (tests/integration/test_outbox_worker.py).

A worker loads this module through PSA_EXTRA_SUBSCRIBERS="tests.integration.outbox_probe"; the
test process calls `register()` itself. The handlers leave marker files the test can read, and
their behaviour is steered by flag files named in the event payload.
"""

import os
import time
from pathlib import Path

from psa import events
from psa.models import OutboxEvent

PING, FLAKY, HANG = "probe.ping", "probe.flaky", "probe.hang"
NAMES = ("probe_ok", "probe_flaky", "probe_hang")
FLAKY_MAX_ATTEMPTS = 3


def _mark(event: OutboxEvent) -> None:
    """Append "<event id> <pid>" to the payload's marker file: proof of delivery, and by whom."""
    with Path(event.payload["marker"]).open("a") as marker:
        marker.write(f"{event.event_id} {os.getpid()}\n")


def handle_ping(event: OutboxEvent) -> None:
    _mark(event)


def handle_flaky(event: OutboxEvent) -> None:
    """Fail while the payload's fail flag exists (the remote system is down)."""
    if Path(event.payload["fail_flag"]).exists():
        raise RuntimeError("probe told to fail")
    _mark(event)


def handle_hang(event: OutboxEvent) -> None:
    """Hang while the payload's hang flag exists, so the test can kill the worker mid-way."""
    if Path(event.payload["hang_flag"]).exists():
        Path(event.payload["started"]).touch()
        time.sleep(120)
    _mark(event)


def register() -> None:
    events.subscribe(PING, "probe_ok", handle_ping)
    events.subscribe(FLAKY, "probe_flaky", handle_flaky, max_attempts=FLAKY_MAX_ATTEMPTS)
    events.subscribe(HANG, "probe_hang", handle_hang)


def unregister() -> None:
    for name in NAMES:
        events.unsubscribe(name)


register()
