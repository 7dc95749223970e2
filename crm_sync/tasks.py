"""Celery entry points of the integration hub (queue `sync`)."""

from celery import shared_task

from crm_sync.models import Connection


@shared_task(name="crm_sync.poll_all", ignore_result=True)
def poll_all_task() -> int:
    """Fan out one poll per enabled connection."""
    ids = list(Connection.objects.filter(enabled=True).values_list("pk", flat=True))
    for connection_id in ids:
        poll_connection_task.delay(connection_id)
    return len(ids)


POLL_RETRIES = 5


@shared_task(name="crm_sync.poll_connection", ignore_result=True, acks_late=True, bind=True,
             max_retries=POLL_RETRIES)
def poll_connection_task(self, connection_id: int) -> None:
    """Poll one connection; a failed poll (vendor down, throttled) is tried again soon with
    backoff, rather than waiting for the next scheduled poll. Its cursor only moves on
    success, so nothing is skipped."""
    from crm_sync.services.polling import connection_poll
    from psa.events import backoff_seconds

    connection = Connection.objects.filter(pk=connection_id, enabled=True).first()
    if connection is None:
        return
    run = connection_poll(connection, trigger="retry" if self.request.retries else "schedule")
    if run.status == run.Status.FAILED and self.request.retries < POLL_RETRIES:
        wait = max(1.0, float(run.counts.get("retry_after", 1.0)))
        raise self.retry(countdown=backoff_seconds(self.request.retries + 1, retry_after=wait))


@shared_task(name="crm_sync.alerts_check", ignore_result=True)
def alerts_check_task() -> int:
    from crm_sync.services.alerts import alerts_check

    return len(alerts_check())
