"""Exactly-once recognition when runs race or fail half way (DOMAIN.md, Revenue recognition:
idempotent runs posting only the difference).

Two runs of one legal entity and month started together post every contract's difference
once: on PostgreSQL in two threads, each with its own connection, released by one barrier (the
period row's lock decides who goes first; the second sees what the first committed and posts
nothing); SQLite serialises writers, so there the two runs go one after the other. A run that
fails half way keeps the chunks it committed, each entry with its journal entry, and leaves
nothing of the failing chunk; a new run posts the rest without posting anything twice.
"""

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from psa.models import Contract
from revenue.models import JournalEntry, RecognitionEntry, RecognitionRun, ScheduleLine
from revenue.services import recognition
from revenue.services.targets import targets_for
from tests.psa.factories import (
    ContractFactory,
    ExpenseFactory,
    MilestoneFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
)

MAR = date(2026, 3, 1)
D = Decimal
Method = Contract.RevenueMethod


def build_world() -> list[Contract]:
    """Seven contracts of one entity, one of each kind plus two more T&M, all with something
    to recognise in March."""
    contracts = []
    for n in range(3):
        contract = ContractFactory(revenue_method=Method.AS_DELIVERED)
        task = TaskFactory(project=ProjectFactory(contract=contract))
        for day in range(2, 4 + n):
            TimeEntryFactory(task=task, work_date=date(2026, 3, day), approved=True)
        ExpenseFactory(project=task.project, status="approved")
        contracts.append(contract)
    capped = ContractFactory(revenue_method=Method.AS_DELIVERED, cap_amount=D("2000.00"),
                             billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP)
    task = TaskFactory(project=ProjectFactory(contract=capped))
    for day in range(2, 5):
        TimeEntryFactory(task=task, work_date=date(2026, 3, day), approved=True)  # 3,600.00
    hourly = ContractFactory(revenue_method=Method.PERCENT_COMPLETE_HOURS,
                             billing_model=Contract.BillingModel.FIXED_INSTALLMENTS)
    task = TaskFactory(project=ProjectFactory(contract=hourly))  # budget 1,000 h
    TimeEntryFactory(task=task, work_date=date(2026, 3, 9), approved=True, hours=D("20.00"))
    milestone = ContractFactory(revenue_method=Method.MILESTONE,
                                billing_model=Contract.BillingModel.FIXED_MILESTONES)
    MilestoneFactory(project=ProjectFactory(contract=milestone), status="accepted",
                     accepted_at=datetime(2026, 3, 5, 12, tzinfo=UTC))
    ratable = ContractFactory(revenue_method=Method.RATABLE, value_amount=D("36500.00"),
                              start_date=MAR, end_date=date(2026, 12, 31))
    return [*contracts, capped, hourly, milestone, ratable]


def expected_targets(contracts: list[Contract]) -> dict[int, Decimal]:
    """Each contract's recognised-to-date target at the end of March, before any run."""
    targets = {t.contract_id: t.cumulative for t in targets_for(contracts, MAR)}
    assert all(amount > 0 for amount in targets.values())
    return targets


def assert_posted_exactly_once(targets: dict[int, Decimal]) -> None:
    """One entry per contract, of the whole target, each with exactly one balanced journal
    entry; schedule lines carry the same amounts."""
    per_contract: dict[int, Decimal] = {}
    for contract_id, amount in RecognitionEntry.objects.values_list("contract_id", "amount"):
        per_contract[contract_id] = per_contract.get(contract_id, D("0")) + amount
    assert per_contract == targets
    assert RecognitionEntry.objects.count() == len(targets)
    entry_ids = set(RecognitionEntry.objects.values_list("pk", flat=True))
    journals = JournalEntry.objects.filter(source=JournalEntry.Source.RECOGNITION)
    assert sorted(journals.values_list("source_id", flat=True)) == sorted(entry_ids)
    for journal in journals.prefetch_related("lines"):
        debit = sum((line.debit for line in journal.lines.all()), D("0"))
        credit = sum((line.credit for line in journal.lines.all()), D("0"))
        assert debit == credit == journal.total_debit == journal.total_credit
    lines = dict(ScheduleLine.objects.filter(month=MAR)
                 .values_list("schedule__contract_id", "recognised_amount"))
    assert lines == targets


def _start_together(run_ids: list[int]) -> list[BaseException]:
    """Each run in its own thread (its own connection), released at once by a barrier."""
    barrier = threading.Barrier(len(run_ids))
    errors: list[BaseException] = []

    def execute(run_id: int) -> None:
        try:
            barrier.wait(timeout=30)
            recognition.recognition_run_execute(run_id=run_id)
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=execute, args=(run_id,)) for run_id in run_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a run hung"
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_post_every_difference_exactly_once(monkeypatch):
    monkeypatch.setattr(recognition, "CHUNK", 2)  # four chunks each, so the runs interleave
    contracts = build_world()
    targets = expected_targets(contracts)
    entity = contracts[0].legal_entity
    runs = [RecognitionRun.objects.create(legal_entity=entity, period=MAR) for _ in range(2)]

    if connection.vendor == "postgresql":
        assert _start_together([run.pk for run in runs]) == []
    else:  # SQLite serialises writers: the same two runs, one after the other
        for run in runs:
            recognition.recognition_run_execute(run_id=run.pk)

    assert_posted_exactly_once(targets)
    for run in runs:
        run.refresh_from_db()
        assert run.status == RecognitionRun.Status.COMPLETED, run.error
        assert run.done_units == run.total_units == len(contracts)
    assert sum(run.entries_posted for run in runs) == len(contracts)
    assert sum((run.amount_posted for run in runs), D("0")) == sum(targets.values())


def _failing_on_call(number: int, original):
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == number:
            raise RuntimeError("database went away")
        return original(*args, **kwargs)

    return wrapper


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failing", ["targets_for", "_journals_post"])
def test_a_run_failing_half_way_keeps_whole_chunks_and_a_rerun_posts_only_the_rest(
        monkeypatch, failing):
    """The second chunk fails before it writes anything (targets_for) or after its entries
    are inserted but before their journal entries (_journals_post): either way the first
    chunk stays committed, each entry with its journal entry, the second leaves nothing."""
    monkeypatch.setattr(recognition, "CHUNK", 3)
    contracts = build_world()
    targets = expected_targets(contracts)
    entity = contracts[0].legal_entity
    monkeypatch.setattr(recognition, failing,
                        _failing_on_call(2, getattr(recognition, failing)))

    run = recognition.recognition_run_execute(
        run_id=RecognitionRun.objects.create(legal_entity=entity, period=MAR).pk)

    assert run.status == RecognitionRun.Status.FAILED
    assert "database went away" in run.error and run.finished_at is not None
    assert (run.done_units, run.total_units) == (3, len(contracts))
    first_chunk = sorted(c.pk for c in contracts)[:3]
    posted = RecognitionEntry.objects.filter(run=run)
    assert sorted(posted.values_list("contract_id", flat=True)) == first_chunk
    assert all(entry.amount == targets[entry.contract_id] for entry in posted)
    journals = JournalEntry.objects.filter(source=JournalEntry.Source.RECOGNITION)
    assert sorted(journals.values_list("source_id", flat=True)) == sorted(
        posted.values_list("pk", flat=True))
    assert RecognitionEntry.objects.count() == 3  # nothing of the failing chunk
    # The failed run is finished: executing it again (a re-delivered message) does nothing.
    assert recognition.recognition_run_execute(run_id=run.pk).status == (
        RecognitionRun.Status.FAILED)
    assert RecognitionEntry.objects.count() == 3

    monkeypatch.undo()
    rerun = recognition.recognition_run_execute(
        run_id=RecognitionRun.objects.create(legal_entity=entity, period=MAR).pk)

    assert rerun.status == RecognitionRun.Status.COMPLETED
    assert rerun.entries_posted == len(contracts) - 3
    assert not RecognitionEntry.objects.filter(run=rerun, contract_id__in=first_chunk).exists()
    assert_posted_exactly_once(targets)
