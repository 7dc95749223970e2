"""Polling: each enabled connection's changes since its cursor, recorded as a SyncRun."""

from __future__ import annotations

import logging

from django.utils import timezone

from crm_sync.connectors import connector_for
from crm_sync.models import Connection, SyncCursor, SyncRun
from psa.events import RetryAfter

logger = logging.getLogger(__name__)


def cursor_get(connection: Connection, stream: str) -> str:
    return (SyncCursor.objects.filter(connection=connection, stream=stream)
            .values_list("value", flat=True).first() or "")


def cursor_set(connection: Connection, stream: str, value: str) -> None:
    SyncCursor.objects.update_or_create(connection=connection, stream=stream,
                                        defaults={"value": value})


def connection_poll(connection: Connection, *, trigger: str = "schedule") -> SyncRun:
    """Run the connector's poll once; the run row records counts or the error."""
    run = SyncRun.objects.create(connection=connection, flow="poll", trigger=trigger)
    try:
        with connector_for(connection) as connector:
            counts = connector.poll(run)
    except Exception as exc:
        logger.warning("Poll of %s failed: %s", connection.name, exc)
        # A throttled vendor said how long to wait: the retry (crm_sync.tasks) honours it.
        wait = {"retry_after": exc.seconds} if isinstance(exc, RetryAfter) else {}
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncRun.Status.FAILED, finished_at=timezone.now(), counts=wait,
            error=f"{type(exc).__name__}: {exc}"[:2000])
    else:
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now(), counts=counts)
    run.refresh_from_db()
    return run


def connection_test(connection: Connection) -> tuple[bool, str]:
    """Call the vendor with the stored credentials; remember and return the outcome."""
    run = SyncRun.objects.create(connection=connection, flow="test", trigger="manual")
    try:
        with connector_for(connection) as connector:
            message = connector.test()
        ok = True
    except Exception as exc:
        ok, message = False, f"{type(exc).__name__}: {exc}"
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(
        last_tested_at=now, last_test_ok=ok, last_test_message=message[:500])
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRun.Status.SUCCEEDED if ok else SyncRun.Status.FAILED, finished_at=now,
        error="" if ok else message[:2000])
    connection.refresh_from_db()
    return ok, message
