"""Invoice runs: start one, execute it split by client, and follow its progress.

A run is a batch finance can review: one `RunOutcome` per contract in scope (invoice created,
nothing new, or an exception and why). Progress counts outcomes against the contracts in
scope, so a retried or re-delivered task never double-counts and the run completes exactly
once (a conditional UPDATE). Re-running the same scope creates nothing new unless new items
arrived: the billed-item links decide what is left.
"""

import logging
from datetime import date, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing.errors import InvoiceRunError
from billing.models import Invoice, InvoiceRun, RunOutcome
from billing.services.drafting import draft_client_invoices
from psa.common.jobs import enqueue_on_commit
from psa.models import Client, Contract, LegalEntity

logger = logging.getLogger(__name__)
CLIENTS_PER_TASK = 25


def _contracts_in_scope(run: InvoiceRun):
    contracts = Contract.objects.filter(status=Contract.Status.ACTIVE)
    if run.legal_entity_id:
        contracts = contracts.filter(legal_entity_id=run.legal_entity_id)
    return contracts


@transaction.atomic
def invoice_run_start(*, actor: User, cut_off: date,
                      legal_entity: LegalEntity | None = None) -> InvoiceRun:
    """Queue an invoice run for `legal_entity` (None: all) up to `cut_off`; the Celery task
    `billing.invoice_run_execute` runs it once this transaction commits."""
    if cut_off is None:
        raise InvoiceRunError("A run needs a cut-off date.", attr="cut_off")
    if cut_off > timezone.localdate():
        raise InvoiceRunError("The cut-off date cannot be in the future.", attr="cut_off")
    from billing.tasks import invoice_run_execute_task

    run = InvoiceRun.objects.create(legal_entity=legal_entity, cut_off=cut_off,
                                    started_by=actor)
    enqueue_on_commit(invoice_run_execute_task, run.pk)
    return run


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def invoice_run_execute(*, run_id: int, inline: bool = False) -> InvoiceRun:
    """Mark the run running, count its contracts and split its clients into Celery tasks
    (`inline`: run them here, one after another, as tests and the benchmark do)."""
    claimed = InvoiceRun.objects.filter(
        pk=run_id, status__in=(InvoiceRun.Status.QUEUED, InvoiceRun.Status.RUNNING))
    run = claimed.first()
    if run is None:
        return InvoiceRun.objects.get(pk=run_id)  # finished already: a re-delivered message
    contracts = _contracts_in_scope(run)
    client_ids = sorted(set(contracts.values_list("client_id", flat=True)))
    claimed.update(status=InvoiceRun.Status.RUNNING, total_units=contracts.count(),
                   started_at=run.started_at or timezone.now(), updated_at=timezone.now())
    return _dispatch(run_id, client_ids, inline=inline)


def _dispatch(run_id: int, client_ids: list[int], *, inline: bool) -> InvoiceRun:
    chunks = _chunks(client_ids, CLIENTS_PER_TASK)
    if inline or not chunks:
        for chunk in chunks:
            invoice_run_clients(run_id=run_id, client_ids=chunk)
        return invoice_run_progress(run_id=run_id)
    from celery import group

    from billing.tasks import invoice_run_clients_task

    group(invoice_run_clients_task.s(run_id, chunk) for chunk in chunks).apply_async()
    return InvoiceRun.objects.get(pk=run_id)


def invoice_run_clients(*, run_id: int, client_ids: list[int]) -> None:
    """Draft the invoices of some clients of a run; a client that fails is recorded as failed
    (its transaction rolled back, nothing half-written) and the others go on."""
    run = InvoiceRun.objects.get(pk=run_id)
    scope = _contracts_in_scope(run)
    for client in Client.objects.filter(pk__in=client_ids).order_by("pk"):
        contracts = list(scope.filter(client=client).order_by("pk"))
        if not contracts:
            continue
        try:
            draft_client_invoices(client=client, contracts=contracts, cut_off=run.cut_off,
                                  run=run)
        except Exception as exc:  # one client's failure must not stop the run
            logger.exception("invoice run %s: client %s failed", run_id, client.pk)
            for contract in contracts:
                RunOutcome.objects.update_or_create(run=run, contract=contract, defaults={
                    "reason": RunOutcome.Reason.FAILED, "detail": str(exc)[:2000],
                    "invoice": None})
    invoice_run_progress(run_id=run_id)


def invoice_run_progress(*, run_id: int) -> InvoiceRun:
    """Refresh the run's counters from its outcomes; complete it once every contract has
    one (exactly once, by a conditional UPDATE)."""
    done = RunOutcome.objects.filter(run_id=run_id).count()
    created = Invoice.objects.filter(run_id=run_id).count()
    now = timezone.now()
    InvoiceRun.objects.filter(pk=run_id).update(done_units=done, invoices_created=created,
                                                updated_at=now)
    InvoiceRun.objects.filter(Q(total_units__lte=done), pk=run_id,
                              status=InvoiceRun.Status.RUNNING).update(
        status=InvoiceRun.Status.COMPLETED, finished_at=now, updated_at=now)
    return InvoiceRun.objects.get(pk=run_id)


STALE_AFTER = timedelta(minutes=10)


def invoice_runs_sweep(*, now=None, stale_after: timedelta = STALE_AFTER) -> int:
    """Resume runs stuck with no progress for `stale_after`: a queued run's execute message or
    a running run's client task message lost with a killed worker. A queued run is sent again;
    a running run's clients without outcomes are. Safe
    if the original task is still alive: drafting is idempotent and contracts are locked.
    Returns how many runs were resumed (beat: every five minutes)."""
    now = now or timezone.now()
    resumed = 0
    from billing.tasks import invoice_run_execute_task

    for run_id in InvoiceRun.objects.filter(status=InvoiceRun.Status.QUEUED,
                                            updated_at__lt=now - stale_after
                                            ).values_list("pk", flat=True):
        # Its execute message was lost before it started: send it again.
        InvoiceRun.objects.filter(pk=run_id).update(updated_at=now)
        invoice_run_execute_task.apply_async(args=(run_id,))
        resumed += 1
    for run in InvoiceRun.objects.filter(status=InvoiceRun.Status.RUNNING,
                                         updated_at__lt=now - stale_after):
        done = RunOutcome.objects.filter(run=run).values("contract_id")
        waiting = sorted(set(_contracts_in_scope(run).exclude(pk__in=done)
                             .values_list("client_id", flat=True)))
        InvoiceRun.objects.filter(pk=run.pk).update(updated_at=now)
        logger.warning("invoice run %s: resuming %s clients", run.pk, len(waiting))
        _dispatch(run.pk, waiting, inline=False)
        resumed += 1
    return resumed
