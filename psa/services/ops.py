"""Operational writes: the workers' heartbeats."""

from django.utils import timezone

from psa.models import WorkerHeartbeat


def heartbeat_record(*, queue: str, hostname: str) -> WorkerHeartbeat:
    """The worker on `hostname` consumed `queue`'s heartbeat now (one row per queue)."""
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        queue=queue, defaults={"hostname": hostname[:200], "seen_at": timezone.now()})
    return heartbeat
