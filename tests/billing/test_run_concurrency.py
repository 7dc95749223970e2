"""Exactly-once billing when runs race, fail half way or die (DOMAIN.md, The invoice run).

Two runs started together over the same data bill every item once: on PostgreSQL in two
threads, each with its own connection, released by one barrier (the contract row locks and
the live-link unique indexes decide); SQLite serialises writers, so there the two runs go one
after the other. A client whose drafting fails is rolled back whole and recorded as failed; a
run whose process dies mid-way is resumed by its re-delivered message. Either way, running
again bills the rest exactly once.
"""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Sum

from billing.models import BilledItem, Invoice, InvoiceRun, RunOutcome
from billing.services import drafting
from billing.services.runs import invoice_run_execute
from psa.models import Contract, Expense, ExpenseCategory, TimeEntry
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    ExpenseFactory,
    PersonFactory,
    ProjectFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
)

CUT_OFF = date(2026, 3, 31)
D = Decimal
PLAIN_CLIENTS = 6
# A 5,862.00 + B (consolidated) 3,450.00 + C (capped) 1,000.00 + six plain clients 3,600.00
SINGLE_RUN_SUBTOTAL = D("31912.00")
ELIGIBLE_ENTRIES, ELIGIBLE_EXPENSES = 5 + 3 + 2 + 3 * PLAIN_CLIENTS, 1
INVOICES = 3 + PLAIN_CLIENTS


def _client(**kwargs):
    return ClientFactory(tax_rate=D("8.2500"), tax_jurisdiction="US-NY", **kwargs)


def _task(contract):
    return TaskFactory(project=ProjectFactory(contract=contract))


def _time(task, person, hours, rate, day):
    return TimeEntryFactory(task=task, person=person, hours=D(hours), approved=True,
                            bill_rate=D(rate), work_date=date(2026, 3, day))


def build_world() -> dict[str, object]:
    """Clients in pk order: A (time of two roles and an expense), B (consolidated, two
    contracts), C (capped below what it bills), then six plain ones; plus items no run may
    bill (after the cut-off, submitted)."""
    consultant = PersonFactory(role=RoleFactory(code="CONS", name="Consultant", level=2))
    senior = PersonFactory(role=RoleFactory(code="SEN", name="Senior Consultant", level=3))
    a = ContractFactory(client=_client())
    task = _task(a)
    for day in (2, 3, 4):
        _time(task, consultant, "8.00", "150.00", day)  # 3,600.00
    for day in (5, 6):
        _time(task, senior, "4.50", "200.00", day)  # 1,800.00
    ExpenseFactory(project=task.project, person=consultant, category=ExpenseCategory.LODGING,
                   amount=D("420.00"), status=Expense.Status.APPROVED)  # x 1.10 = 462.00
    late = _time(task, consultant, "8.00", "150.00", 20)
    TimeEntry.objects.filter(pk=late.pk).update(work_date=date(2026, 4, 1))
    TimeEntryFactory(task=task, person=senior, work_date=date(2026, 3, 9), submitted=True)

    b = _client(consolidated_invoicing=True)
    b1, b2 = ContractFactory(client=b), ContractFactory(client=b)
    task_b1 = _task(b1)
    for day in (2, 3):
        _time(task_b1, consultant, "7.50", "150.00", day)  # 2,250.00
    _time(_task(b2), senior, "6.00", "200.00", 2)  # 1,200.00

    c = ContractFactory(client=_client(), cap_amount=D("1000.00"),
                        billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP)
    task_c = _task(c)
    for day in (2, 3):
        _time(task_c, consultant, "5.00", "150.00", day)  # 1,500.00, 500.00 held

    for _ in range(PLAIN_CLIENTS):
        task_d = _task(ContractFactory(client=_client()))
        for day in (10, 11, 12):
            _time(task_d, consultant, "8.00", "150.00", day)  # 3,600.00
    return {"late": late, "b_contracts": (b1, b2)}


def assert_billed_exactly_once() -> None:
    """Every eligible item has one live link, on a line, and is invoiced; the amounts are
    those of one run; no invoice is left without lines."""
    live = BilledItem.objects.filter(is_live=True)
    entries = live.filter(time_entry__isnull=False).aggregate(
        n=Count("id"), distinct=Count("time_entry_id", distinct=True))
    assert entries == {"n": ELIGIBLE_ENTRIES, "distinct": ELIGIBLE_ENTRIES}
    assert live.filter(expense__isnull=False).count() == ELIGIBLE_EXPENSES
    assert TimeEntry.objects.filter(status=TimeEntry.Status.INVOICED).count() == ELIGIBLE_ENTRIES
    assert Expense.objects.filter(status=Expense.Status.INVOICED).count() == ELIGIBLE_EXPENSES
    assert not BilledItem.objects.filter(line__isnull=True).exists()
    assert not Invoice.objects.filter(lines__isnull=True).exists()
    assert Invoice.objects.count() == INVOICES
    assert Invoice.objects.aggregate(s=Sum("subtotal"))["s"] == SINGLE_RUN_SUBTOTAL
    assert TimeEntry.objects.filter(work_date__gt=CUT_OFF, status="approved").count() == 1
    assert TimeEntry.objects.filter(status=TimeEntry.Status.SUBMITTED).count() == 1


def _start_together(run_ids: list[int]) -> list[BaseException]:
    """Each run in its own thread (its own connection), released at once by a barrier."""
    barrier = threading.Barrier(len(run_ids))
    errors: list[BaseException] = []

    def execute(run_id: int) -> None:
        try:
            barrier.wait(timeout=30)
            invoice_run_execute(run_id=run_id, inline=True)
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
def test_two_runs_at_once_bill_every_item_exactly_once():
    build_world()
    runs = [InvoiceRun.objects.create(cut_off=CUT_OFF) for _ in range(2)]

    if connection.vendor == "postgresql":
        assert _start_together([run.pk for run in runs]) == []
    else:  # SQLite serialises writers: the same two runs, one after the other
        for run in runs:
            invoice_run_execute(run_id=run.pk, inline=True)

    assert_billed_exactly_once()
    contracts = Contract.objects.count()
    for run in runs:
        run.refresh_from_db()
        assert run.status == InvoiceRun.Status.COMPLETED
        assert run.done_units == run.total_units == contracts
    # Each contract was billed by exactly one of the runs; the other found nothing new.
    billed = RunOutcome.objects.filter(invoice__isnull=False)
    assert billed.values("contract").distinct().count() == contracts
    assert billed.count() == contracts
    assert not RunOutcome.objects.filter(reason=RunOutcome.Reason.FAILED).exists()
    assert sum(run.invoices_created for run in InvoiceRun.objects.all()) == INVOICES


def _failing_on_call(number: int, exception: BaseException, original):
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == number:
            raise exception
        return original(*args, **kwargs)

    return wrapper


@pytest.mark.django_db
def test_a_client_failing_half_way_leaves_nothing_half_written_and_a_rerun_bills_the_rest(
        monkeypatch):
    world = build_world()
    b_contracts = world["b_contracts"]
    # The second client's (B's) invoice fails once its lines, links and statuses are written.
    monkeypatch.setattr(drafting, "invoice_totals_refresh", _failing_on_call(
        2, RuntimeError("disk full"), drafting.invoice_totals_refresh))

    run = invoice_run_execute(run_id=InvoiceRun.objects.create(cut_off=CUT_OFF).pk,
                              inline=True)

    assert run.status == InvoiceRun.Status.COMPLETED
    failed = RunOutcome.objects.filter(run=run, reason=RunOutcome.Reason.FAILED)
    assert set(failed.values_list("contract_id", flat=True)) == {c.pk for c in b_contracts}
    assert all("disk full" in outcome.detail and outcome.invoice_id is None
               for outcome in failed)
    assert not Invoice.objects.filter(client=b_contracts[0].client).exists()
    assert not Invoice.objects.filter(lines__isnull=True).exists()
    assert not BilledItem.objects.filter(line__isnull=True).exists()
    b_entries = TimeEntry.objects.filter(project__contract__in=b_contracts)
    assert set(b_entries.values_list("status", flat=True)) == {TimeEntry.Status.APPROVED}
    assert not BilledItem.objects.filter(time_entry__in=b_entries).exists()
    assert Invoice.objects.count() == INVOICES - 1  # everyone else was billed

    monkeypatch.undo()
    rerun = invoice_run_execute(run_id=InvoiceRun.objects.create(cut_off=CUT_OFF).pk,
                                inline=True)

    assert rerun.status == InvoiceRun.Status.COMPLETED and rerun.invoices_created == 1
    assert Invoice.objects.get(run=rerun).client_id == b_contracts[0].client_id
    assert_billed_exactly_once()


class WorkerLost(BaseException):
    """What a killed worker looks like from inside: not an Exception, nothing catches it."""


@pytest.mark.django_db
def test_a_run_dying_mid_way_is_resumed_by_its_redelivered_message(monkeypatch):
    world = build_world()
    monkeypatch.setattr(drafting, "invoice_totals_refresh", _failing_on_call(
        2, WorkerLost(), drafting.invoice_totals_refresh))
    run = InvoiceRun.objects.create(cut_off=CUT_OFF)

    with pytest.raises(WorkerLost):
        invoice_run_execute(run_id=run.pk, inline=True)

    run.refresh_from_db()
    assert run.status == InvoiceRun.Status.RUNNING  # nobody finished it
    assert Invoice.objects.count() == 1  # client A's committed invoice; B's rolled back whole
    assert not Invoice.objects.filter(lines__isnull=True).exists()
    assert not BilledItem.objects.filter(line__isnull=True).exists()
    assert not TimeEntry.objects.filter(project__contract__in=world["b_contracts"],
                                        status=TimeEntry.Status.INVOICED).exists()

    monkeypatch.undo()
    resumed = invoice_run_execute(run_id=run.pk, inline=True)  # acks_late: the same message

    assert resumed.status == InvoiceRun.Status.COMPLETED
    assert resumed.done_units == resumed.total_units == Contract.objects.count()
    assert resumed.invoices_created == INVOICES
    # Client A's work before the death keeps its outcome; every contract has its invoice.
    assert not RunOutcome.objects.filter(run=run).exclude(
        reason__in=(RunOutcome.Reason.CREATED, RunOutcome.Reason.OVER_CAP)).exists()
    assert RunOutcome.objects.filter(run=run, invoice__isnull=False).count() == (
        Contract.objects.count())
    assert_billed_exactly_once()
    # A message delivered once more after completion changes nothing.
    assert invoice_run_execute(run_id=run.pk, inline=True).status == InvoiceRun.Status.COMPLETED
    assert_billed_exactly_once()
