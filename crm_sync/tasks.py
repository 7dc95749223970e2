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


@shared_task(name="crm_sync.poll_connection", ignore_result=True, acks_late=True)
def poll_connection_task(connection_id: int) -> None:
    from crm_sync.services.polling import connection_poll

    connection = Connection.objects.filter(pk=connection_id, enabled=True).first()
    if connection is not None:
        connection_poll(connection)


@shared_task(name="crm_sync.alerts_check", ignore_result=True)
def alerts_check_task() -> int:
    from crm_sync.services.alerts import alerts_check

    return len(alerts_check())
