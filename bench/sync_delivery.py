"""Issue #7's delivery budget: 10,000 outbox events delivered to an emulator by 2 workers.

Two real Celery worker processes (solo pool) on the configured broker (Redis when
CELERY_BROKER_URL says so, else the file broker) and database (PostgreSQL when DATABASE_URL says
so, else SQLite) deliver 10,000 events through the outbound-webhook subscriber to the webhook
sink emulator over HTTP; the sink checks every signature and counts duplicates. The floor is
the same two workers draining 10,000 no-op Celery tasks (psa.ping) in the same run. Printed:
events per second, the ratio of the delivery time to the floor's, and what the sink saw.

    .venv/bin/python bench/sync_delivery.py [--events 10000]
"""

import argparse
import tempfile
import time
from pathlib import Path

import harness
from django.conf import settings
from django.db import transaction
from workers import purge, start_workers, stop_workers

QUEUE = "default"
SECRET = "bench-webhook-secret"


def wait(predicate, what: str, timeout: float = 1800.0, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(interval)


def drain_noops(count: int, scratch: Path) -> float:
    """Seconds for the workers to run `count` no-op tasks, from the first enqueue to the last."""
    from psa.celery import app
    from psa.tasks import ping_task

    marker = scratch / "pings"
    marker.write_bytes(b"")
    started = time.perf_counter()
    with app.producer_or_acquire() as producer:
        for _ in range(count):
            ping_task.apply_async(args=[str(marker)], producer=producer)
    wait(lambda: marker.stat().st_size >= count, "the no-op tasks")
    return time.perf_counter() - started


def deliver_events(count: int, sink) -> tuple[float, float]:
    """Seconds to publish `count` events, and from their commit until every delivery succeeded."""
    from crm_sync.crypto import encrypt_text
    from crm_sync.models import WebhookSubscription
    from psa import events
    from psa.models import Delivery, LegalEntity

    entity = LegalEntity.objects.create(code="BENCH", name="Bench Ltd", country="US",
                                        base_currency="USD", time_zone="UTC",
                                        invoice_prefix="BN")
    WebhookSubscription.objects.create(url=f"{sink.url}/hooks", event_types=["bench.ping"],
                                       secret_encrypted=encrypt_text(SECRET))
    started = time.perf_counter()
    with transaction.atomic():
        for number in range(count):
            events.publish("bench.ping", aggregate=entity, payload={"n": number})
        committing = time.perf_counter()
    # The commit runs the on-commit nudges: one Celery message per delivery. Counting is kept
    # cheap (the state index, twice a second) so the watcher does not slow the workers down.
    done = Delivery.objects.filter(state=Delivery.State.SUCCEEDED)
    wait(lambda: done.count() >= count, "the deliveries", interval=0.5)
    return committing - started, time.perf_counter() - committing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    settings.DEBUG = False

    from crm_sync.sandbox.server import RunningEmulator
    from crm_sync.sandbox.sink import WebhookSinkEmulator
    from psa.models import Delivery

    with harness.throwaway_database(), tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        sink = RunningEmulator(WebhookSinkEmulator(secret=SECRET))
        purge(QUEUE)
        workers = start_workers(args.workers, QUEUE, scratch / "logs")
        try:
            floor = drain_noops(args.events, scratch)
            publish_s, deliver_s = deliver_events(args.events, sink)
        finally:
            stop_workers(workers)
            sink.stop()
        seen = sink.emulator.state()
        retried = Delivery.objects.filter(attempts__gt=1).count()
        print(f"{harness.connection.vendor} + {settings.CELERY_BROKER_URL.split(':')[0]}, "
              f"{args.workers} workers, {args.events:,} events")
        print(f"  no-op tasks drained (floor):   {floor:8.2f} s  "
              f"({args.events / floor:,.0f} tasks/s)")
        print(f"  events published (one commit): {publish_s:8.2f} s")
        print(f"  events delivered to the sink:  {deliver_s:8.2f} s  "
              f"({args.events / deliver_s:,.0f} events/s)  ratio {deliver_s / floor:.1f}x floor")
        print(f"  sink: {seen['received']:,} received, {seen['distinct']:,} distinct, "
              f"{seen['duplicates']} duplicates, {seen['rejected']} bad signatures; "
              f"{retried} deliveries needed more than one attempt")


if __name__ == "__main__":
    main()
