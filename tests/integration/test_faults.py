"""Faults while work flows (issue #9, "Hardening", item 4): nothing lost, nothing doubled.

Work flows through a real Celery worker (tests/integration/conftest.py) and the three vendor
emulators over HTTP with their webhooks into the live server (the `hub` of
test_connectors_worker.py): invoices issued and pushed to QuickBooks, months closed and their
journals pushed, HubSpot deals closed won into projects, BambooHR hires and moves into people.
While it flows, every cycle of the run

(a) kills the worker (every worker, when the plan runs several) with SIGKILL while a delivery
    is in flight, and starts new ones;
(b) restarts the broker: the machine's Redis is shut down without saving (the queued messages
    are gone) and started again with CI's command. On the embedded file broker there is no
    server to restart: the worker is stopped instead while new messages sit in the broker's
    folder, and a new one is started after the same pause;
(c) makes the database unusable for a few seconds: PostgreSQL refuses connections
    (`ALLOW_CONNECTIONS false`, the worker's sessions terminated); on SQLite, which has no
    connections to refuse, an exclusive lock is held instead, so the writers wait;
(d) and all along, every vendor is slow, fails (5xx) and throttles (429 with Retry-After).

Then QuickBooks goes down completely while invoices are issued with few attempts allowed: their
pushes go dead, and are replayed through the service behind the sync health page's replay
button once it is back. Beat's part (the sweeper, the scheduled polls) is played by the test.
At the end every invoice, journal, project and worker update must be in its target exactly
once; the figures are printed (run with `-s` to see them).

PSA_CHAOS_SCALE (default 1, CI's short run) scales items, fault rates, cycles and workers
(faults_helpers.chaos_plan); `make chaos` runs the long version, e.g.
`PSA_CHAOS_SCALE=5 pytest tests/integration/test_faults.py -s` (about 12 minutes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta

import httpx
import pytest

from billing.models import Invoice
from crm_sync.models import Deal
from crm_sync.services.refs import ref_lookup, ref_of
from psa.models import Delivery, OutboxEvent, Person, Project
from psa.services.periods import period_close
from revenue.models import JournalEntry
from tests.integration import test_connectors_worker
from tests.integration.conftest import Worker, wait_for
from tests.integration.faults_helpers import (
    ChaosPlan,
    broker_is_machine_redis,
    chaos_plan,
    database_refuse,
    hris_hire,
    hris_move,
    issue_invoice,
    past_months,
    poll_to_success,
    queued_messages,
    redis_ensure_running,
    redis_restart,
    replay_dead,
    wait_for_work_in_flight,
    worker_database_env,
)
from tests.integration.test_connectors_worker import (
    FAULT_WORKER_ENV,
    Hub,
    check_won_deal,
    close_a_deal,
    duplicated_objects,
    figures,
    outbox_idle,
    settle,
)
from tests.psa.factories import UserFactory

pytestmark = pytest.mark.integration
# The emulators, their connections and webhooks into the live server: the connectors' fixture.
hub = test_connectors_worker.hub

SEEDED_EMPLOYEES = ("102", "103", "104", "105", "106")  # active, below the partner
CITIES = ("Denver", "Austin", "Seattle", "Atlanta", "Portland", "Chicago", "Miami")
DEAD_LETTER_ATTEMPTS = 3
REPLAY_ROUNDS = 20
KILL_TRIES = 3
DATABASE_FAILURE = "raised unexpected: OperationalError"  # a task's error line in the log


@pytest.fixture
def machine_redis_kept_running():
    """Whatever happens in the test, the machine's Redis is running again after it."""
    yield
    if broker_is_machine_redis():
        redis_ensure_running()


class FaultRun:
    """One run of the suite: the work sent, the faults made, and what must have arrived."""

    def __init__(self, emulated: Hub, start_worker: Callable[[], Worker],
                 plan: ChaosPlan) -> None:
        self.hub, self.start_worker, self.plan = emulated, start_worker, plan
        self.workers = self.start_workers()
        self.invoices: dict[date, list[Invoice]] = {}
        self.deals: list[str] = []
        self.hires: dict[str, str] = {}  # employee id → e-mail
        self.moves: dict[str, str] = {}  # employee id → the city it was moved to last
        self.closed: list[date] = []
        self.killed: list[tuple[int, int]] = []  # (delivery, its attempt when the worker died)
        self.dead_seen: set[int] = set()
        self.replays = 0
        self.replay_rounds = 0
        self.notes: list[str] = []
        self.waves = 0
        self.last_moved: set[str] = set()

    def start_workers(self) -> list[Worker]:
        return [self.start_worker() for _ in range(self.plan.workers)]

    def settle(self, predicate: Callable[[], object], what: str) -> object:
        """The connectors' `settle` (beat's sweeper included), given the plan's time."""
        return settle(predicate, what, timeout=self.plan.settle_seconds)

    def logged(self, text: str) -> int:
        """How many times the workers' logs say `text`."""
        return sum(worker.log().count(text) for worker in self.workers)

    # --- work -------------------------------------------------------------------------------

    def deals_then_close(self, month: date | None) -> None:
        """Close deals won (each waits for its tentative requests first, so the closing is in
        flight afterwards), then close the previous wave's month once its journals exist."""
        self.waves += 1
        for n in range(self.plan.deals_per_wave):
            self.deals.append(close_a_deal(self.hub, f"w{self.waves}d{n}"))
        if month is not None:
            self.close_month(month)

    def invoices_and_people(self, month: date) -> None:
        """Issue the wave's invoices in `month`; hire and move people in the HRIS."""
        issue_day = month + timedelta(days=14)
        self.invoices.setdefault(month, []).extend(
            issue_invoice(on=issue_day) for _ in range(self.plan.invoices_per_wave))
        hris = self.hub.bamboohr.url
        movable = [e for e in (*SEEDED_EMPLOYEES, *self.hires) if e not in self.last_moved]
        # One move per employee per wave: BambooHR stamps a change to the second.
        for n, employee_id in enumerate(movable[:self.plan.moves_per_wave]):
            city = f"{CITIES[n % len(CITIES)]} {self.waves}"
            hris_move(hris, employee_id=employee_id, city=city)
            self.moves[employee_id] = city
        self.last_moved = set(movable[:self.plan.moves_per_wave])
        for n in range(self.plan.hires_per_wave):
            email = f"hire-w{self.waves}n{n}@northwind.example"
            self.hires[hris_hire(hris, first_name="Hire", last_name=f"W{self.waves}N{n}",
                                 email=email)] = email

    def close_month(self, month: date) -> None:
        """Close `month` (publishing `period.closed`) once its invoices' journals are posted."""
        ids = [str(invoice.pk) for invoice in self.invoices.get(month, [])]
        journaled = Delivery.objects.filter(
            subscriber="revenue.invoice_journal", event__type="invoice.issued",
            event__aggregate_id__in=ids, state=Delivery.State.SUCCEEDED)
        self.settle(lambda: journaled.count() == len(ids), f"the journals of {month:%B %Y}")
        period_close(legal_entity=self.hub.connections["quickbooks"].legal_entity, month=month,
                     actor=UserFactory())
        self.closed.append(month)

    # --- faults -----------------------------------------------------------------------------

    def kill_worker_mid_job(self) -> None:
        """(a) SIGKILL while a delivery is in flight (its attempt then never ends), and new
        workers; tried again if the attempt happened to end just before the kill."""
        for _ in range(KILL_TRIES):
            target = wait_for_work_in_flight()
            for worker in self.workers:
                worker.kill()
            held = Delivery.objects.get(pk=target.pk)
            self.workers = self.start_workers()
            if (held.state in Delivery.OPEN_STATES and held.attempts == target.attempts
                    and held.leased_until is not None):
                self.killed.append((held.pk, held.attempts))
                self.notes.append(f"{self.plan.workers} worker(s) killed -9 during attempt "
                                  f"{held.attempts} of delivery {held.pk} ({held.subscriber})")
                return
        pytest.fail(f"no kill in {KILL_TRIES} caught a delivery in flight")

    def restart_broker(self, month: date, previous: date | None) -> None:
        """(b) with the wave's work: Redis restarted under it, or (file broker) the worker
        stopped while the wave's messages sit in the broker's folder, then a new one."""
        self.deals_then_close(previous)
        if broker_is_machine_redis():
            self.invoices_and_people(month)
            wait_for_work_in_flight()
            queued = queued_messages()
            connects = [worker.log().count("Connected to redis") for worker in self.workers]
            redis_restart(down_seconds=self.plan.broker_down_seconds)
            wait_for(lambda: all(worker.log().count("Connected to redis") > before
                                 for worker, before in zip(self.workers, connects,
                                                           strict=True)),
                     timeout=60, what="the workers to reconnect to Redis by themselves")
            self.notes.append(f"Redis shut down without saving ({queued} message(s) queued) "
                              f"and restarted after {self.plan.broker_down_seconds:g} s; the "
                              "workers reconnected by themselves")
            return
        for worker in self.workers:
            worker.stop()
        self.invoices_and_people(month)
        wait_for(queued_messages, timeout=30, what="messages in the file broker")
        time.sleep(self.plan.broker_down_seconds)  # nobody takes them meanwhile
        sitting = queued_messages()
        self.workers = self.start_workers()
        self.notes.append(f"file broker: workers stopped, {sitting} message(s) sat in the "
                          f"broker's folder, new workers took them")

    def refuse_database(self) -> None:
        """(c) while a delivery is in flight, the database is unusable for a few seconds."""
        target = wait_for_work_in_flight()
        failures = self.logged(DATABASE_FAILURE)
        what = database_refuse(seconds=self.plan.database_down_seconds)
        assert all(w.process.poll() is None for w in self.workers), "a worker died with it"
        failures = self.logged(DATABASE_FAILURE) - failures
        self.notes.append(f"{what}, during delivery {target.pk} ({target.subscriber}); "
                          f"{failures} worker task(s) failed on the database meanwhile")

    def dead_letters_then_replay(self, month: date, actor: object, settings: object) -> None:
        """QuickBooks down: invoices issued with few attempts go dead; once it is back they are
        replayed through the replay button's service until they arrive."""
        self.settle(outbox_idle, "the outbox to drain before QuickBooks goes down")
        self.hub.control(self.hub.quickbooks, "faults", {"error_rate": 1.0})
        settings.OUTBOX_MAX_ATTEMPTS = DEAD_LETTER_ATTEMPTS
        try:
            issued = [issue_invoice(on=month + timedelta(days=14))
                      for _ in range(self.plan.dead_letter_invoices)]
        finally:
            settings.OUTBOX_MAX_ATTEMPTS = int(FAULT_WORKER_ENV["OUTBOX_MAX_ATTEMPTS"])
        self.invoices.setdefault(month, []).extend(issued)
        pushes = Delivery.objects.filter(subscriber="quickbooks.invoice.issued",
                                         event__aggregate_id__in=[str(i.pk) for i in issued])
        self.settle(lambda: pushes.filter(state=Delivery.State.DEAD).count() == len(issued),
               "the pushes to a QuickBooks that is down to go dead")
        self.hub.faults(**self.plan.vendor_faults)  # back, as slow and flaky as the others
        self.replay_until_none_dead(actor)
        connection = self.hub.connections["quickbooks"]
        assert all(ref_of(connection, invoice) for invoice in issued)
        self.close_month(month)

    def replay_until_none_dead(self, actor: object) -> None:
        """Replay every dead delivery, wait for the replays to end, again while any died."""
        for _ in range(REPLAY_ROUNDS):
            dead = set(Delivery.objects.filter(state=Delivery.State.DEAD)
                       .values_list("pk", flat=True))
            if not dead:
                return
            self.dead_seen |= dead
            self.replays += len(replay_dead(actor))
            self.replay_rounds += 1
            running = Delivery.objects.filter(pk__in=dead, state__in=Delivery.OPEN_STATES)
            self.settle(lambda running=running: not running.exists(), "the replays to end")
        pytest.fail(f"deliveries still dead after {REPLAY_ROUNDS} rounds of replays")

    def settle_all(self, actor: object) -> None:
        """Drain the outbox and the emulators' webhooks, poll every connection as beat would
        (catching up on webhooks a vendor gave up on), replay what died, drain again."""
        for _ in range(2):
            self.settle(outbox_idle, "the outbox to drain")
            for server in self.hub.emulators:
                self.settle(server.emulator.webhooks_idle, f"{server.emulator.name}'s webhooks")
        for connection in self.hub.connections.values():
            poll_to_success(connection)
        self.settle(outbox_idle, "the outbox to drain after the polls")
        self.replay_until_none_dead(actor)
        self.settle(outbox_idle, "the outbox to drain at the end")

    # --- what arrived -----------------------------------------------------------------------

    def arrivals(self) -> dict[str, list[int]]:
        """Per kind of item, how many times each one is in its target (1 = exactly once)."""
        numbers = httpx.get(f"{self.hub.quickbooks.url}/_sandbox/documents",
                            timeout=10).json()["doc_numbers"]
        invoices = [i for month in self.invoices.values() for i in month]
        journals = JournalEntry.objects.filter(period__in=self.closed).values_list("pk",
                                                                                   flat=True)
        projects = []
        for deal_id in self.deals:
            deal = Deal.objects.filter(external_id=deal_id).first()
            projects.append(Project.objects.filter(contract_id=deal.contract_id).count()
                            if deal is not None and deal.contract_id else 0)
        hris = self.hub.connections["bamboohr"]
        people = []
        for employee_id, email in self.hires.items():
            person = ref_lookup(hris, Person, employee_id)
            people.append(Person.objects.filter(email=email).count() if person else 0)
        for employee_id, city in self.moves.items():
            person = ref_lookup(hris, Person, employee_id)
            moved = person is not None and person.city == city
            people.append(Person.objects.filter(email=person.email).count() if moved else 0)
        return {
            "invoices": [numbers.get("Invoice", {}).get(i.number, 0) for i in invoices],
            "journals": [numbers.get("JournalEntry", {}).get(f"PSA-JE-{pk}", 0)
                         for pk in journals],
            "projects": projects,
            "worker updates": people,
        }

    def report(self, arrivals: dict[str, list[int]]) -> dict[str, int]:
        unfinished = Delivery.objects.exclude(state=Delivery.State.SUCCEEDED).count()
        counts = {
            "events sent": OutboxEvent.objects.count(),
            "deliveries": Delivery.objects.count(),
            "retried": Delivery.objects.filter(attempts__gt=1).count(),
            "dead-lettered": len(self.dead_seen),
            "replayed": self.replays,
            "lost": unfinished + sum(n == 0 for ns in arrivals.values() for n in ns),
            "duplicated": duplicated_objects(self.hub) + sum(
                n > 1 for ns in arrivals.values() for n in ns),
        }
        # The connectors' figures and injected faults; its "replayed" counts only deliveries
        # whose last attempt still records the replay (a failure after it replaces that).
        figures(self.hub, "faults/hub")
        print(f"[faults] {self.plan.describe()}")
        for note in self.notes:
            print(f"[faults] {note}")
        gave_up = sum(server.emulator.webhooks_failed for server in self.hub.emulators)
        print(f"[faults] webhooks the vendors gave up on: {gave_up} (caught up by the polls); "
              f"replay rounds: {self.replay_rounds}")
        print("[faults] exactly once: " + ", ".join(
            f"{kind} {sum(n == 1 for n in ns)}/{len(ns)}" for kind, ns in arrivals.items()))
        print("[faults] " + ", ".join(f"{k}={v}" for k, v in counts.items()))
        return counts


def test_every_item_arrives_exactly_once_through_every_fault(
        hub, celery_worker, settings, administrator, machine_redis_kept_running):
    plan = chaos_plan()
    # Deliveries published here (and by the live server's webhooks) get the worker's attempts.
    settings.OUTBOX_MAX_ATTEMPTS = int(FAULT_WORKER_ENV["OUTBOX_MAX_ATTEMPTS"])
    hub.faults(**plan.vendor_faults)
    run = FaultRun(hub, lambda: celery_worker({**FAULT_WORKER_ENV, **worker_database_env()}),
                   plan)
    months = past_months(3 * plan.cycles + 1)
    previous = None
    for cycle in range(plan.cycles):
        first, second, third = months[3 * cycle:3 * cycle + 3]
        run.deals_then_close(previous)
        run.invoices_and_people(first)
        run.kill_worker_mid_job()  # (a)
        run.restart_broker(second, previous=first)  # (b)
        run.deals_then_close(second)
        run.invoices_and_people(third)
        run.refuse_database()  # (c)
        previous = third
    run.close_month(previous)
    run.dead_letters_then_replay(months[-1], administrator.user, settings)
    run.settle_all(administrator.user)

    arrivals = run.arrivals()
    counts = run.report(arrivals)

    assert counts["lost"] == 0 and counts["duplicated"] == 0, arrivals
    assert all(n == 1 for ns in arrivals.values() for n in ns), arrivals
    assert counts["dead-lettered"] >= plan.dead_letter_invoices
    assert counts["replayed"] >= counts["dead-lettered"]
    for delivery_id, attempt in run.killed:  # finished by another worker after the kill
        killed = Delivery.objects.get(pk=delivery_id)
        assert killed.state == Delivery.State.SUCCEEDED
        assert killed.attempts > attempt or delivery_id in run.dead_seen
    assert Deal.objects.filter(project__isnull=False).count() == len(run.deals)
    for deal_id in run.deals:
        check_won_deal(hub, deal_id)
