"""Celery entry points of the delivery core: outbox delivery, its sweeper, idempotency purge.

Tasks are thin (STYLE.md §12): they take ids, import their service inside the body and call it.
"""

from celery import shared_task

from psa.tasks_reminders import reminders_send_task

__all__ = ["reminders_send_task"]  # Celery discovers tasks through this module


@shared_task(name="psa.outbox_deliver", acks_late=True, ignore_result=True)
def outbox_deliver_task(delivery_id: int) -> None:
    """Attempt one outbox delivery; a no-op when it is not due or another worker holds it.

    Retries are not Celery retries: the delivery row records the failure and the service
    re-enqueues this task with the backoff as countdown (the sweeper recovers lost messages).
    """
    from psa.events import delivery_attempt

    delivery_attempt(delivery_id, reload=False)  # the worker needs no copy of the outcome


@shared_task(name="psa.outbox_sweep", acks_late=True, ignore_result=True)
def outbox_sweep_task() -> None:
    """Re-enqueue due outbox deliveries whose Celery message was lost (beat: every minute)."""
    from psa.events import outbox_sweep

    outbox_sweep()


@shared_task(name="psa.idempotency_purge", acks_late=True, ignore_result=True)
def idempotency_purge_task() -> None:
    """Delete expired Idempotency-Key records (beat: hourly)."""
    from psa.common.idempotency import idempotency_records_purge

    idempotency_records_purge()


@shared_task(name="psa.ping", ignore_result=True)
def ping_task(marker: str | None = None) -> None:
    """Do nothing (but leave a mark when asked): the floor the benchmarks compare a real task's
    cost with, and a liveness probe for workers."""
    if marker:
        with open(marker, "ab") as file:  # one byte per call; the file's size counts them
            file.write(b".")


@shared_task(name="psa.heartbeat", bind=True, ignore_result=True)
def heartbeat_task(self: object, queue: str) -> None:
    """Stamp `queue` as served by a live worker (beat sends one to every queue)."""
    from psa.services.ops import heartbeat_record

    heartbeat_record(queue=queue, hostname=getattr(self.request, "hostname", "") or "")
