"""Recognition runs: per legal entity and month, set-based and idempotent.

For every contract of the entity that is active (or was, in the month), the run computes the
recognised-to-date target at the month end (targets.py) and posts the difference from what is
recognised already as one `RecognitionEntry` with its balanced journal entry. Running the
month again posts nothing unless inputs changed, and then only the difference. A closed month
is never touched. Two runs of one entity and month take turns on the period row's lock, so a
difference is never posted twice.
"""

import logging
from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from psa import events
from psa.common.errors import PeriodClosedError
from psa.common.jobs import enqueue_on_commit
from psa.common.money import column_sum
from psa.models import Contract, LegalEntity
from psa.services.periods import period_ensure_open, period_lock_open
from revenue.errors import UnbalancedJournalError
from revenue.models import (
    JournalEntry,
    JournalLine,
    RecognitionEntry,
    RecognitionRun,
    RevenueSchedule,
    ScheduleLine,
)
from revenue.services.journals import (
    ZERO,
    account_codes,
    contract_balances_many,
    recognition_postings,
)
from revenue.services.targets import Target, month_end, targets_for

logger = logging.getLogger(__name__)
CHUNK = 500


def contracts_for_recognition(legal_entity_id: int, month: date):
    """Contracts of the entity whose service overlaps the month or that were recognised
    before (a late change may still move them), not drafts or cancelled ones."""
    return (Contract.objects.filter(legal_entity_id=legal_entity_id)
            .exclude(status__in=(Contract.Status.DRAFT, Contract.Status.CANCELLED))
            .filter(start_date__lte=month_end(month))
            .order_by("pk"))


@transaction.atomic
def recognition_run_start(*, actor: User, legal_entity: LegalEntity,
                          period: date) -> RecognitionRun:
    """Queue a recognition run; the Celery task `revenue.recognition_run_execute` runs it."""
    month = period.replace(day=1)
    period_ensure_open(legal_entity_id=legal_entity.pk, on=month)
    if month > timezone.localdate().replace(day=1):
        raise PeriodClosedError("Revenue cannot be recognised for a future month.",
                                code="future_period", attr="period")
    from revenue.tasks import recognition_run_execute_task

    run = RecognitionRun.objects.create(legal_entity=legal_entity, period=month,
                                        started_by=actor)
    enqueue_on_commit(recognition_run_execute_task, run.pk)
    return run


def recognition_run_execute(*, run_id: int) -> RecognitionRun:
    """Run it: contracts in chunks, each chunk in one transaction under the period's lock."""
    run = RecognitionRun.objects.get(pk=run_id)
    if run.status in RecognitionRun.FINISHED:
        return run
    ids = list(contracts_for_recognition(run.legal_entity_id, run.period)
               .values_list("pk", flat=True))
    RecognitionRun.objects.filter(pk=run_id).update(
        status=RecognitionRun.Status.RUNNING, total_units=len(ids),
        started_at=run.started_at or timezone.now(), updated_at=timezone.now())
    try:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            _recognise_chunk(run, chunk)
            RecognitionRun.objects.filter(pk=run_id).update(
                done_units=F("done_units") + len(chunk), updated_at=timezone.now())
    except Exception as exc:
        logger.exception("recognition run %s failed", run_id)
        RecognitionRun.objects.filter(pk=run_id).update(
            status=RecognitionRun.Status.FAILED, error=str(exc)[:2000],
            finished_at=timezone.now(), updated_at=timezone.now())
        return RecognitionRun.objects.get(pk=run_id)
    totals = run.entries.aggregate(amount=Sum("amount"))
    RecognitionRun.objects.filter(pk=run_id).update(
        status=RecognitionRun.Status.COMPLETED, finished_at=timezone.now(),
        done_units=len(ids), entries_posted=run.entries.count(),
        amount_posted=column_sum(totals["amount"]), updated_at=timezone.now())
    return RecognitionRun.objects.get(pk=run_id)


@transaction.atomic
def _recognise_chunk(run: RecognitionRun, ids: list[int]) -> None:
    period_lock_open(legal_entity_id=run.legal_entity_id, on=run.period, attr="period")
    # Locked, so an invoice's journal posting for the same contract waits and never reads a
    # balance this chunk is about to move (period first, then contracts: no deadlock).
    contracts = list(Contract.objects.select_for_update(of=("self",)).filter(pk__in=ids)
                     .order_by("pk"))
    by_id = {c.pk: c for c in contracts}
    targets = targets_for(contracts, run.period)
    entries = [RecognitionEntry(run=run, contract_id=t.contract_id, month=run.period,
                                amount=t.difference, currency=by_id[t.contract_id].currency,
                                cumulative_amount=t.cumulative, explanation=t.explanation)
               for t in targets if t.difference]
    RecognitionEntry.objects.bulk_create(entries)
    _journals_post(run, entries, by_id)
    _schedule_lines_update(contracts, targets, run.period)


def _journals_post(run: RecognitionRun, entries: list[RecognitionEntry],
                   by_id: dict[int, Contract]) -> None:
    """One balanced journal entry per recognition entry, in bulk: the balances of all the
    chunk's contracts in one query, then the entries and their lines in two inserts."""
    balances = contract_balances_many([entry.contract_id for entry in entries])
    codes = account_codes(run.legal_entity_id)
    journals, lines = [], []
    for entry in entries:
        contract = by_id[entry.contract_id]
        unbilled, deferred = balances.get(entry.contract_id, (ZERO, ZERO))
        postings = [p for p in recognition_postings(entry.amount, unbilled=unbilled,
                                                    deferred=deferred) if p.debit or p.credit]
        total = sum((p.debit for p in postings), ZERO)
        if total != sum((p.credit for p in postings), ZERO):
            raise UnbalancedJournalError(f"Recognition of {contract.code} does not balance.")
        journal = JournalEntry(
            legal_entity_id=run.legal_entity_id, entry_date=month_end(run.period),
            period=run.period, source=JournalEntry.Source.RECOGNITION, source_id=entry.pk,
            contract=contract, currency=entry.currency, total_debit=total, total_credit=total,
            description=f"Revenue recognised {run.period:%b %Y}: {contract.code}")
        journals.append(journal)
        lines.append((journal, postings))
    JournalEntry.objects.bulk_create(journals)
    for journal in journals:  # the ERP connector posts each entry (ARCHITECTURE.md: outbox)
        events.publish("journal_entry.posted", aggregate=journal, payload={
            "journal_entry_id": journal.pk, "legal_entity_id": run.legal_entity_id,
            "source": journal.source, "source_id": journal.source_id,
            "entry_date": journal.entry_date.isoformat(), "currency": journal.currency,
            "total": str(journal.total_debit)})
    JournalLine.objects.bulk_create([
        JournalLine(entry=journal, account_key=p.key, account_code=codes[p.key], debit=p.debit,
                    credit=p.credit) for journal, postings in lines for p in postings])


def _schedule_lines_update(contracts: list[Contract], targets: list[Target],
                           month: date) -> None:
    """The month's recognised amount and explanation on each contract's schedule."""
    schedules = {s.contract_id: s for s in RevenueSchedule.objects.filter(
        contract_id__in=[c.pk for c in contracts])}
    missing = [RevenueSchedule(contract=c, method=c.revenue_method, currency=c.currency,
                               value_amount=c.value_amount)
               for c in contracts if c.pk not in schedules]
    for schedule in RevenueSchedule.objects.bulk_create(missing):
        schedules[schedule.contract_id] = schedule
    month_totals = {contract_id: column_sum(total) for contract_id, total in
                    RecognitionEntry.objects.filter(contract_id__in=list(schedules), month=month)
                    .order_by().values("contract_id").annotate(total=Sum("amount"))
                    .values_list("contract_id", "total")}
    existing = {line.schedule_id: line for line in ScheduleLine.objects.filter(
        schedule__in=schedules.values(), month=month)}
    by_id = {c.pk: c for c in contracts}
    new, changed = [], []
    for target in targets:
        schedule = schedules[target.contract_id]
        amount = month_totals.get(target.contract_id) or 0
        line = existing.get(schedule.pk)
        if line is None:
            contract = by_id[target.contract_id]
            outside = month < contract.start_date.replace(day=1) or month > contract.end_date
            if outside and not amount:
                continue  # nothing to show in a month outside the service period
            new.append(ScheduleLine(schedule=schedule, month=month, recognised_amount=amount,
                                    explanation=target.explanation, inputs=target.inputs))
        elif (line.recognised_amount, line.explanation, line.inputs) != (
                amount, target.explanation, target.inputs):
            line.recognised_amount, line.explanation = amount, target.explanation
            line.inputs = target.inputs
            changed.append(line)  # only rows that moved are written (a re-run writes none)
    now = timezone.now()
    for line in (*new, *changed):
        line.updated_at = now  # bulk writes skip auto_now; `updated_since` and ETags need it
    # A plan refresh may create the month's line meanwhile: then this run's figures win.
    ScheduleLine.objects.bulk_create(
        new, update_conflicts=True, unique_fields=["schedule", "month"],
        update_fields=["recognised_amount", "explanation", "inputs", "updated_at"])
    ScheduleLine.objects.bulk_update(changed, ["recognised_amount", "explanation", "inputs",
                                               "updated_at"])
    cumulative = {t.contract_id: t.cumulative for t in targets}
    moved = []
    for schedule in schedules.values():
        to_date = cumulative.get(schedule.contract_id, schedule.recognised_to_date)
        if to_date != schedule.recognised_to_date:
            schedule.recognised_to_date, schedule.updated_at = to_date, now
            moved.append(schedule)
    RevenueSchedule.objects.bulk_update(moved, ["recognised_to_date", "updated_at"])
