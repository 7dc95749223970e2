"""Fault switches and small helpers for tests/integration/test_faults.py (issue #9, "Faults").

The hub, its emulators, the flows' checks and the figures come from
tests/integration/test_connectors_worker.py and the worker from tests/integration/conftest.py;
what is here is only what those lack:

- `ChaosPlan`: how many items each wave carries and how hard the faults hit, scaled by the
  environment variable PSA_CHAOS_SCALE (1, the default, is CI's short run; `make chaos` sets
  more);
- the broker fault: the machine's Redis shut down without saving and started again with CI's
  exact command (`redis_restart`, `redis_ensure_running`), or, on the embedded file broker,
  nothing (the test stops the worker while messages sit on disk instead);
- the database fault: PostgreSQL refusing connections (`ALLOW_CONNECTIONS false` and the
  worker's sessions terminated), or, on SQLite, an exclusive lock that makes writers wait;
- items: an invoice issued on a given day, a hire and a move in the HRIS (through the vendor's
  API, tried again on its injected 5xx and 429, which refuse before doing anything, so a retry
  never writes twice), a poll run to success as beat would.
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import ChannelError
from psycopg import sql

from billing.models import Invoice
from billing.services.issue import invoice_approve, invoice_issue
from crm_sync.models import Connection, SyncRun
from crm_sync.services.polling import connection_poll
from psa import events
from psa.models import Delivery
from tests.billing.factories import InvoiceFactory, InvoiceLineFactory, with_totals
from tests.integration.conftest import WORKER_QUEUES, shared_database_url, wait_for
from tests.psa.factories import UserFactory

CHAOS_SCALE_ENV = "PSA_CHAOS_SCALE"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# CI's Redis, started again exactly as CI starts it (no snapshot, no append-only file).
REDIS_START = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1",
               "--port", "6379", "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
               "--logfile", "/var/log/redis/ci.log"]
REDIS_SHUTDOWN = ["redis-cli", "-h", REDIS_HOST, "-p", str(REDIS_PORT), "shutdown", "nosave"]
# The worker's database sessions carry this name, so the database fault can end exactly them.
WORKER_APPLICATION_NAME = "psa-faults-worker"
HRIS_AUTH = ("sandbox-bamboohr-key", "x")
VENDOR_TRIES = 60


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChaosPlan:
    """How much work and how many faults one run of the suite carries."""

    scale: int
    cycles: int  # rounds of (workers killed, broker restarted, database refusing)
    workers: int  # solo workers side by side (more than one also races them)
    invoices_per_wave: int
    deals_per_wave: int
    hires_per_wave: int
    moves_per_wave: int
    dead_letter_invoices: int  # issued while QuickBooks is down, with few attempts
    latency_ms: int
    error_rate: float
    rate_limit_rate: float
    retry_after: float
    broker_down_seconds: float
    database_down_seconds: float
    settle_seconds: float  # how long a wait for the work to catch up may last

    @property
    def vendor_faults(self) -> dict[str, float]:
        """Every emulator: slow, failing (5xx) and throttling (429 with Retry-After)."""
        return {"latency_ms": self.latency_ms, "error_rate": self.error_rate,
                "rate_limit_rate": self.rate_limit_rate, "retry_after": self.retry_after}

    def describe(self) -> str:
        return (f"scale={self.scale} cycles={self.cycles} workers={self.workers} per wave: "
                f"{self.invoices_per_wave} invoices, {self.deals_per_wave} deals, "
                f"{self.hires_per_wave} hires, {self.moves_per_wave} moves; vendors: "
                f"{self.latency_ms} ms, {self.error_rate:.0%} 5xx, "
                f"{self.rate_limit_rate:.0%} 429 (Retry-After {self.retry_after:g} s)")


def chaos_plan() -> ChaosPlan:
    """The plan for PSA_CHAOS_SCALE (an integer ≥ 1; 1 when unset, CI's short run).

    Items grow linearly with the scale, fault rates with its square root up to 20 % each (a
    delivery that still runs out of its 60 attempts is dead-lettered and replayed like the
    others), rounds of the worker, broker and database faults every two steps and workers
    every three; the latency stays well under the connectors' 1 s timeout in the worker.
    """
    raw = os.environ.get(CHAOS_SCALE_ENV, "").strip() or "1"
    try:
        scale = int(raw)
    except ValueError:
        pytest.fail(f"{CHAOS_SCALE_ENV} must be a whole number ≥ 1, not {raw!r}")
    if scale < 1:
        pytest.fail(f"{CHAOS_SCALE_ENV} must be a whole number ≥ 1, not {scale}")
    root = math.sqrt(scale)
    return ChaosPlan(
        scale=scale, cycles=1 + (scale - 1) // 2, workers=1 + scale // 3,
        invoices_per_wave=2 * scale, deals_per_wave=1 if scale < 3 else 2,
        hires_per_wave=scale, moves_per_wave=2 * scale, dead_letter_invoices=2 * scale,
        latency_ms=min(200, 40 * scale), error_rate=round(min(0.2, 0.08 * root), 2),
        rate_limit_rate=round(min(0.2, 0.08 * root), 2), retry_after=1.0,
        broker_down_seconds=2.0 + min(scale, 4), database_down_seconds=4.0,
        settle_seconds=180.0 * scale)


def past_months(count: int) -> list[date]:
    """The first days of the `count` months before this one, newest first."""
    month, months = timezone.localdate().replace(day=1), []
    for _ in range(count):
        month = (month - timedelta(days=1)).replace(day=1)
        months.append(month)
    return months


# --- items --------------------------------------------------------------------------------


def issue_invoice(*, on: date) -> Invoice:
    """One 1,200.00 invoice (one time line) for a new client, issued on `on`."""
    actor = UserFactory()
    draft = InvoiceFactory(cut_off=on)
    InvoiceLineFactory(invoice=draft, description="Consultant 8.00 h")
    with transaction.atomic():
        draft = invoice_approve(invoice=with_totals(draft), actor=actor)
        return invoice_issue(invoice=draft, actor=actor, issue_date=on)


def vendor_call(method: str, url: str, *, body: dict | None = None,
                auth: tuple[str, str] | None = None) -> httpx.Response:
    """Call an emulator's vendor API as its users would, trying again on the injected 5xx and
    429 (both answer before anything is done, so a retry cannot write twice)."""
    for _ in range(VENDOR_TRIES):
        answer = httpx.request(method, url, json=body, auth=auth, timeout=10)
        if answer.status_code < 500 and answer.status_code != 429:
            answer.raise_for_status()
            return answer
        time.sleep(0.05)
    pytest.fail(f"{method} {url} kept failing: {answer.status_code} {answer.text[:300]}")


def hris_hire(hris_url: str, *, first_name: str, last_name: str, email: str) -> str:
    """A new consultant in BambooHR (its `employee.created` webhook follows); their id."""
    answer = vendor_call("POST", f"{hris_url}/api/v1/employees", auth=HRIS_AUTH, body={
        "firstName": first_name, "lastName": last_name, "workEmail": email,
        "jobTitle": "Consultant", "department": "Consulting", "location": "Boston",
        "country": "United States", "hireDate": timezone.localdate().isoformat(),
        "payRate": "104000.00 USD", "payType": "Salary", "payPer": "Year"})
    return str(answer.json()["id"])


def hris_move(hris_url: str, *, employee_id: str, city: str) -> None:
    """An employee's location changes in BambooHR (its `employee.updated` webhook follows)."""
    vendor_call("POST", f"{hris_url}/api/v1/employees/{employee_id}", auth=HRIS_AUTH,
                body={"location": city})


def poll_to_success(connection: Connection, *, tries: int = 20) -> SyncRun:
    """Poll now, as beat does every few minutes, until a poll succeeds under the faults."""
    for _ in range(tries):
        run = connection_poll(connection, trigger="manual")
        if run.status == SyncRun.Status.SUCCEEDED:
            return run
        time.sleep(max(0.2, float(run.counts.get("retry_after", 0.2))))
    pytest.fail(f"no poll of {connection.name} succeeded in {tries} tries: {run.error}")


# --- deliveries ---------------------------------------------------------------------------


def in_flight_delivery() -> Delivery | None:
    """A delivery a worker is attempting right now (its lease is live), if any."""
    return (Delivery.objects.filter(state__in=Delivery.OPEN_STATES,
                                    leased_until__gt=timezone.now())
            .order_by("pk").first())


def wait_for_work_in_flight(*, timeout: float = 90.0) -> Delivery:
    return wait_for(in_flight_delivery, timeout=timeout, interval=0.02,
                    what="a delivery in flight")


def replay_dead(actor: object) -> list[int]:
    """Replay every dead delivery as the health page's button does; the ids replayed."""
    replayed = []
    for delivery in Delivery.objects.filter(state=Delivery.State.DEAD).order_by("pk"):
        events.delivery_replay(delivery=delivery, actor=actor)
        replayed.append(delivery.pk)
    return replayed


def queued_messages() -> int:
    """Messages waiting on the worker's queues of the configured broker."""
    from psa.celery import app

    waiting = 0
    with app.connection_for_write() as conn:
        for name in WORKER_QUEUES.split(","):
            # Redis knows no queue that nothing was ever sent to.
            with contextlib.suppress(ChannelError):
                waiting += conn.default_channel.queue_declare(queue=name,
                                                              passive=True).message_count
    return waiting


# --- the broker ---------------------------------------------------------------------------


def broker_is_machine_redis() -> bool:
    """True when the broker is the machine's Redis on 127.0.0.1:6379 (CI)."""
    url = urlsplit(settings.CELERY_BROKER_URL)
    return (url.scheme == "redis" and url.hostname in ("127.0.0.1", "localhost")
            and (url.port or REDIS_PORT) == REDIS_PORT)


def redis_up() -> bool:
    try:
        return bool(redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=1,
                                socket_connect_timeout=1).ping())
    except redis.exceptions.RedisError:
        return False


def redis_ensure_running() -> None:
    """Start the machine's Redis with CI's command unless it answers already."""
    if redis_up():
        return
    subprocess.run(REDIS_START, check=True, capture_output=True, timeout=30)
    wait_for(redis_up, timeout=30, interval=0.1, what="Redis to answer again")


def redis_restart(*, down_seconds: float) -> None:
    """Shut the machine's Redis down without saving (its queued messages are gone), leave it
    down for `down_seconds`, and start it again; it is running again whatever happens."""
    try:
        subprocess.run(REDIS_SHUTDOWN, check=False, capture_output=True, timeout=30)
        wait_for(lambda: not redis_up(), timeout=30, interval=0.1, what="Redis to stop")
        time.sleep(down_seconds)
    finally:
        redis_ensure_running()


# --- the database -------------------------------------------------------------------------


def worker_database_env() -> dict[str, str]:
    """The worker's DATABASE_URL, its PostgreSQL sessions named so the fault can end them."""
    if connection.vendor != "postgresql":
        return {}
    return {"DATABASE_URL": f"{shared_database_url()}?application_name={WORKER_APPLICATION_NAME}"}


def database_refuse(*, seconds: float) -> str:
    """Make the test database unusable to the worker for `seconds`; says what was done.

    PostgreSQL: the database refuses every new connection (`ALLOW_CONNECTIONS false`) and the
    worker's open sessions are terminated, then connections are allowed again. SQLite has no
    connections to refuse: an exclusive lock is held instead, so every writer (the worker, the
    webhook endpoint) waits for it, as it would for a database that does not answer.
    """
    if connection.vendor == "postgresql":
        return _postgres_refuse(seconds)
    return _sqlite_lock(seconds)


def _postgres_refuse(seconds: float) -> str:
    params = connection.settings_dict
    name = sql.Identifier(params["NAME"])
    admin = psycopg.connect(host=params.get("HOST") or "localhost", port=params.get("PORT") or
                            5432, user=params.get("USER") or None,
                            password=params.get("PASSWORD") or None, dbname="postgres",
                            autocommit=True)
    try:
        admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(name))
        try:
            ended = admin.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = %s AND application_name = %s",
                [params["NAME"], WORKER_APPLICATION_NAME]).fetchone()[0]
            time.sleep(seconds)
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(name))
    finally:
        admin.close()
    return (f"PostgreSQL refused connections for {seconds:g} s "
            f"({ended} worker session(s) terminated)")


def _sqlite_lock(seconds: float) -> str:
    locker = sqlite3.connect(connection.settings_dict["NAME"], timeout=30,
                             isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        locker.execute("ROLLBACK")
    finally:
        locker.close()
    return f"SQLite exclusively locked for {seconds:g} s (writers waited)"
