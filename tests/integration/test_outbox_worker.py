"""The outbox with a real Celery worker: delivery, retries to the dead letter, replay, and
recovery by the sweeper after the worker is killed mid-delivery (ARCHITECTURE.md: Events)."""

import os
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from psa import events
from psa.models import Delivery, OutboxEvent
from psa.tasks import outbox_sweep_task
from tests.integration.conftest import WORKER_OUTBOX_ENV, wait_for
from tests.psa.factories import LegalEntityFactory, UserFactory

pytestmark = pytest.mark.integration


def _publish(event_type: str, payload: dict) -> OutboxEvent:
    with transaction.atomic():
        return events.publish(event_type, aggregate=LegalEntityFactory(), payload=payload)


def _delivery(event: OutboxEvent, subscriber: str) -> Delivery:
    return Delivery.objects.get(event=event, subscriber=subscriber)


def _state_is(event: OutboxEvent, subscriber: str, state: str):
    def check():
        delivery = _delivery(event, subscriber)
        return delivery if delivery.state == state else None

    return check


def _marks(marker: Path) -> list[list[str]]:
    return [line.split() for line in marker.read_text().splitlines()] if marker.exists() else []


def test_committed_event_is_delivered_by_the_worker(celery_worker, outbox_probe, tmp_path):
    worker = celery_worker()
    marker = tmp_path / "ping.txt"

    event = _publish(outbox_probe.PING, {"marker": str(marker)})

    delivery = wait_for(_state_is(event, "probe_ok", "succeeded"), what="the delivery")
    assert delivery.attempts == 1
    assert delivery.succeeded_at is not None
    assert _marks(marker) == [[str(event.event_id), str(worker.process.pid)]]
    assert str(worker.process.pid) != str(os.getpid())


def test_failing_subscriber_retries_goes_dead_and_replay_delivers(
        celery_worker, outbox_probe, tmp_path):
    celery_worker()
    marker, fail_flag = tmp_path / "flaky.txt", tmp_path / "remote-down"
    fail_flag.touch()

    event = _publish(outbox_probe.FLAKY, {"marker": str(marker), "fail_flag": str(fail_flag)})

    dead = wait_for(_state_is(event, "probe_flaky", "dead"), what="the dead letter")
    assert dead.attempts == outbox_probe.FLAKY_MAX_ATTEMPTS
    assert dead.last_error == "RuntimeError: probe told to fail"
    assert dead.last_error_context["attempt"] == outbox_probe.FLAKY_MAX_ATTEMPTS
    assert not marker.exists()

    fail_flag.unlink()  # the remote is back
    events.delivery_replay(delivery=dead, actor=UserFactory())

    delivered = wait_for(_state_is(event, "probe_flaky", "succeeded"), what="the replay")
    assert delivered.attempts == 1
    assert delivered.last_error_context["history"][-1]["error"] == dead.last_error
    assert [line[0] for line in _marks(marker)] == [str(event.event_id)]


def test_sweeper_recovers_a_delivery_lost_with_a_killed_worker(
        celery_worker, outbox_probe, tmp_path):
    first = celery_worker()
    marker, hang_flag, started = (tmp_path / "hang.txt", tmp_path / "hang",
                                  tmp_path / "started")
    hang_flag.touch()

    event = _publish(outbox_probe.HANG, {"marker": str(marker), "hang_flag": str(hang_flag),
                                         "started": str(started)})
    wait_for(started.exists, what="the handler to start")
    first.kill()  # mid-delivery: the lease is held and the Celery message is gone
    hang_flag.unlink()

    held = _delivery(event, "probe_hang")
    assert (held.state, held.attempts) == ("pending", 1)
    assert held.leased_until is not None

    second = celery_worker()
    lease_seconds = float(WORKER_OUTBOX_ENV["OUTBOX_LEASE_SECONDS"])
    wait_for(lambda: timezone.now() > held.leased_until, timeout=lease_seconds + 5,
             what="the dead worker's lease to expire")
    # Nothing nudges the delivery any more: it stays pending until the sweeper finds it.
    wait_for(lambda: (timezone.now() - held.leased_until).total_seconds() > 1.5, what="a pause")
    assert _delivery(event, "probe_hang").state == "pending"
    assert not marker.exists()

    outbox_sweep_task.delay()  # what beat sends every minute

    recovered = wait_for(_state_is(event, "probe_hang", "succeeded"), what="the recovery")
    assert recovered.attempts == 2
    assert _marks(marker) == [[str(event.event_id), str(second.process.pid)]]
