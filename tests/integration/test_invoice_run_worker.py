"""The invoice run on a real Celery worker: the run task fans clients out as tasks on the
`billing` queue, and a worker killed mid-run loses nothing and bills nothing twice.

Recovery after a SIGKILL depends on the broker. Redis (CI, production) keeps the killed
worker's unacknowledged message (acks_late) and hands it out again once its visibility timeout
has passed (settings: one hour); the test restores it the way the transport does, with the
timeout taken as passed. The file-system transport of the embedded run deletes a message when
it is read, so the in-flight slice of clients is lost and the run stays `running`: the test
checks that it stays stuck, then runs beat's sweep (`invoice_runs_sweep`) as it would run once
the run has made no progress for `STALE_AFTER`, which sends the clients without an outcome
again. Both paths must end with every entry billed exactly once.
"""

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from billing.models import BilledItem, Invoice, InvoiceRun, RunOutcome
from billing.services.runs import (
    CLIENTS_PER_TASK,
    STALE_AFTER,
    invoice_run_start,
    invoice_runs_sweep,
)
from psa.models import Client, Contract, Project, Task, TimeEntry
from tests.integration.conftest import wait_for
from tests.psa.factories import LegalEntityFactory, PersonFactory, RoleFactory, UserFactory

pytestmark = pytest.mark.integration
ENTRY_DAYS = (date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4))


def build_clients(count: int, people: int = 2) -> int:
    """`count` taxed clients with one active T&M contract, project and task each, and
    approved billable time by `people` people on three days; returns the eligible entries."""
    entity = LegalEntityFactory()
    role = RoleFactory()
    staff = [PersonFactory(legal_entity=entity, role=role) for _ in range(people)]
    clients = Client.objects.bulk_create([
        Client(code=f"W{n:04d}", name=f"Worker client {n:04d}", legal_entity=entity,
               currency="USD", tax_rate=Decimal("8.2500"), tax_jurisdiction="US-NY")
        for n in range(count)])
    contracts = Contract.objects.bulk_create([
        Contract(code=f"WK{n:04d}", name=f"Engagement {n}", client=client, legal_entity=entity,
                 currency="USD", billing_model=Contract.BillingModel.TIME_AND_MATERIALS,
                 revenue_method=Contract.RevenueMethod.AS_DELIVERED,
                 status=Contract.Status.ACTIVE, value_amount=Decimal("100000.00"),
                 start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
        for n, client in enumerate(clients)])
    projects = Project.objects.bulk_create([
        Project(code=f"WP{n:04d}", name=f"Project {n}", contract=contract,
                client=contract.client, legal_entity=entity, manager=staff[0], currency="USD",
                start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
                budget_hours=Decimal("1000.00"), budget_cost_amount=Decimal("0"),
                budget_revenue_amount=Decimal("0")) for n, contract in enumerate(contracts)])
    tasks = Task.objects.bulk_create([Task(project=project, wbs_code="1", name="Build",
                                           budget_hours=Decimal("100.00"))
                                      for project in projects])
    entries = TimeEntry.objects.bulk_create([
        TimeEntry(person=person, project_id=task.project_id, task=task, work_date=day,
                  hours=Decimal("7.50"), is_billable=True, status=TimeEntry.Status.APPROVED,
                  bill_rate=Decimal("150.0000"), bill_currency="USD",
                  cost_rate=Decimal("80.0000"), cost_currency="USD")
        for task in tasks for person in staff for day in ENTRY_DAYS])
    return len(entries)


def start_run() -> InvoiceRun:
    with transaction.atomic():  # the execute task is sent when this commits
        return invoice_run_start(actor=UserFactory(), cut_off=timezone.localdate())


def completed(run: InvoiceRun):
    def check():
        run.refresh_from_db()
        return run if run.status == InvoiceRun.Status.COMPLETED else None

    return check


def assert_nothing_half_written() -> None:
    assert not Invoice.objects.filter(lines__isnull=True).exists()
    assert not BilledItem.objects.filter(line__isnull=True).exists()
    # What is linked is invoiced and what is invoiced is linked: no half-marked client.
    linked = BilledItem.objects.filter(is_live=True, time_entry__isnull=False)
    assert linked.count() == TimeEntry.objects.filter(status=TimeEntry.Status.INVOICED).count()


def assert_billed_exactly_once(eligible: int, clients: int) -> None:
    assert_nothing_half_written()
    links = BilledItem.objects.filter(is_live=True, time_entry__isnull=False).aggregate(
        n=Count("id"), distinct=Count("time_entry_id", distinct=True))
    assert links == {"n": eligible, "distinct": eligible}
    assert not TimeEntry.objects.filter(status=TimeEntry.Status.APPROVED).exists()
    assert Invoice.objects.count() == clients
    assert set(Invoice.objects.values_list("subtotal", flat=True)) == {
        Decimal("7.50") * 150 * len(ENTRY_DAYS) * 2}


def test_the_worker_runs_an_invoice_run_fanned_out_by_client(celery_worker):
    clients = CLIENTS_PER_TASK + 5  # two client tasks
    eligible = build_clients(clients)
    worker = celery_worker()

    run = start_run()

    wait_for(completed(run), timeout=120, what=f"the run; worker log:\n{worker.log()[-3000:]}")
    assert (run.total_units, run.done_units, run.invoices_created) == (clients, clients, clients)
    assert RunOutcome.objects.filter(run=run, reason=RunOutcome.Reason.CREATED).count() == clients
    assert_billed_exactly_once(eligible, clients)
    log = worker.log()
    assert "billing.invoice_run_execute" in log
    assert log.count("billing.invoice_run_clients") >= 2 * 2  # received and succeeded, twice


def _restore_unacknowledged_redis_messages() -> int:
    """What the Redis transport does once a message's visibility timeout has passed: put the
    killed worker's unacknowledged message back on its queue. Returns how many."""
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL,
                    transport_options={"visibility_timeout": 0}) as conn:
        qos = conn.default_channel.qos
        with conn.default_channel.conn_or_acquire() as client:
            waiting = client.zcard(qos.unacked_index_key)
        qos.restore_visible(num=1000)
        return waiting


def _settled(run: InvoiceRun, quiet_seconds: float = 4.0):
    """A predicate true (the outcome count) once the run's outcomes stop changing."""
    seen = {"count": -1, "since": time.monotonic()}

    def check():
        count = RunOutcome.objects.filter(run=run).count()
        if count != seen["count"]:
            seen.update(count=count, since=time.monotonic())
            return None
        return count if time.monotonic() - seen["since"] >= quiet_seconds else None

    return check


def test_a_worker_killed_mid_run_loses_nothing_and_bills_nothing_twice(celery_worker):
    clients = 8 * CLIENTS_PER_TASK  # eight client tasks: seconds of work
    eligible = build_clients(clients)
    first = celery_worker()

    run = start_run()
    # Kill -9 once the first slice of clients is done and the next one is under way.
    wait_for(lambda: RunOutcome.objects.filter(run=run).count() > CLIENTS_PER_TASK + 3,
             timeout=120, interval=0.05, what="the run to get going")
    first.kill()

    run.refresh_from_db()
    assert run.status == InvoiceRun.Status.RUNNING
    assert run.done_units < clients
    assert_nothing_half_written()  # the killed transaction left nothing behind

    if settings.CELERY_BROKER_URL.startswith("redis"):
        assert _restore_unacknowledged_redis_messages() >= 1  # acks_late kept it
        celery_worker()
    else:
        celery_worker()
        # The in-flight slice's message is gone with the worker: the other slices finish, the
        # run does not.
        outcomes = wait_for(_settled(run), timeout=120, what="the remaining slices")
        assert outcomes < clients
        run.refresh_from_db()
        assert run.status == InvoiceRun.Status.RUNNING
        # Beat's sweep, with the run's silence taken as longer than STALE_AFTER.
        assert invoice_runs_sweep(now=timezone.now() + STALE_AFTER + timedelta(seconds=1)) == 1

    wait_for(completed(run), timeout=180, what="the run to complete after the kill")
    assert run.done_units == run.total_units == clients
    assert run.invoices_created == clients
    # Work done before the kill keeps its outcome: nothing re-run was recorded as "nothing new".
    assert RunOutcome.objects.filter(run=run, reason=RunOutcome.Reason.CREATED,
                                     invoice__isnull=False).count() == clients
    assert_billed_exactly_once(eligible, clients)
