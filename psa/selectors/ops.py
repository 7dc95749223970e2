"""What operators watch: the health of the web process, database, broker and workers, and the
figures the metrics endpoint exports. Every check is bounded in time and never raises."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from psa.models import Delivery, WorkerHeartbeat

BROKER_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    ok: bool
    ms: float
    detail: str = ""


@dataclass(frozen=True)
class HealthReport:
    """`status`: ok (all checks pass), degraded (the database answers but the broker or a
    queue's worker does not) or down (the database does not answer)."""

    status: str
    checks: dict[str, Check]
    workers: dict[str, datetime | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"status": self.status,
                "checks": {name: {"ok": c.ok, "ms": round(c.ms, 1), "detail": c.detail}
                           for name, c in self.checks.items()},
                "workers": {queue: seen.isoformat() if seen else None
                            for queue, seen in self.workers.items()}}


def _timed(probe: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail = probe()
    except Exception as exc:
        return Check(ok=False, ms=(time.perf_counter() - started) * 1000,
                     detail=f"{type(exc).__name__}: {exc}"[:300])
    return Check(ok=True, ms=(time.perf_counter() - started) * 1000, detail=detail)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _broker() -> str:
    from psa.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
        return conn.transport.driver_type


def worker_heartbeats() -> dict[str, datetime | None]:
    """The last heartbeat of every queue (None: never seen)."""
    seen = dict(WorkerHeartbeat.objects.values_list("queue", "seen_at"))
    return {queue: seen.get(queue) for queue in settings.WORKER_QUEUES}


def health_report() -> HealthReport:
    """Database, broker and a live worker on every queue."""
    checks = {"database": _timed(_database), "broker": _timed(_broker)}
    workers: dict[str, datetime | None] = {}
    if checks["database"].ok:
        workers = worker_heartbeats()
        now = timezone.now()
        stale = [queue for queue, seen in workers.items()
                 if seen is None or (now - seen).total_seconds() > settings.WORKER_STALE_SECONDS]
        checks["workers"] = Check(ok=not stale, ms=0.0,
                                  detail=f"no live worker on {', '.join(stale)}" if stale
                                  else "every queue served")
    status = ("down" if not checks["database"].ok
              else "ok" if all(c.ok for c in checks.values()) else "degraded")
    return HealthReport(status=status, checks=checks, workers=workers)


def delivery_states() -> tuple[dict[str, int], float | None]:
    """Outbox deliveries per state, and the age in seconds of the oldest pending one."""
    counts = dict(Delivery.objects.order_by().values_list("state")
                  .annotate(n=Count("pk")).values_list("state", "n"))
    oldest = Delivery.objects.filter(state=Delivery.State.PENDING).aggregate(
        first=Min("created_at"))["first"]
    age = (timezone.now() - oldest).total_seconds() if oldest else None
    return counts, age
