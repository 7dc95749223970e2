"""Celery entry points of revenue (queue `billing`): recognition runs."""

from celery import shared_task


@shared_task(name="revenue.recognition_run_execute", acks_late=True, ignore_result=True)
def recognition_run_execute_task(run_id: int) -> None:
    """Recognise a legal entity's month (idempotent: a re-delivered message posts nothing)."""
    from revenue.services.recognition import recognition_run_execute

    recognition_run_execute(run_id=run_id)
