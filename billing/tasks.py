"""Celery entry points of billing (queue `billing`): the invoice run.

Invoice documents are delivered by the outbox (billing/subscribers.py); the old task below
stays one release for messages queued before the upgrade.

Tasks are thin (STYLE.md §12): they take ids, import their service inside the body and call it;
every service here is idempotent, so a re-delivered message (acks_late) does no harm.
"""

from celery import shared_task


@shared_task(name="billing.invoice_run_execute", acks_late=True, ignore_result=True)
def invoice_run_execute_task(run_id: int) -> None:
    """Count the run's contracts and fan its clients out to `billing.invoice_run_clients`."""
    from billing.services.runs import invoice_run_execute

    invoice_run_execute(run_id=run_id)


@shared_task(name="billing.invoice_run_clients", acks_late=True, ignore_result=True)
def invoice_run_clients_task(run_id: int, client_ids: list[int]) -> None:
    """Draft the invoices of a slice of the run's clients."""
    from billing.services.runs import invoice_run_clients

    invoice_run_clients(run_id=run_id, client_ids=client_ids)


@shared_task(name="billing.invoice_runs_sweep", acks_late=True, ignore_result=True)
def invoice_runs_sweep_task() -> None:
    """Resume invoice runs whose client tasks were lost (beat: every five minutes)."""
    from billing.services.runs import invoice_runs_sweep

    invoice_runs_sweep()


@shared_task(name="billing.invoice_document_deliver", acks_late=True, ignore_result=True)
def invoice_document_deliver_task(invoice_id: int) -> None:
    """Deprecated: what an upgrade finds queued by the previous release (documents now go
    through the outbox's `billing.invoice_document`). Idempotent, so running it is harmless."""
    from billing.documents import invoice_document_deliver

    invoice_document_deliver(invoice_id=invoice_id)
