"""A real Celery worker on the configured broker, sharing the test database (STYLE.md §17).

The broker is whatever settings use: Redis when CELERY_BROKER_URL points at it (CI), the
file-system transport otherwise. The worker reaches the test database through DATABASE_URL, so
tests that use it need committed rows (`transactional_db`) and, for SQLite, a file database.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

WORKER_READY_SECONDS = 60
# The outbox's queue, billing's (invoice runs and documents) and the hub's polls
# (settings.CELERY_TASK_ROUTES).
WORKER_QUEUES = "default,billing,sync"
# Small numbers so retries, leases and the sweeper play out in seconds, not minutes.
WORKER_OUTBOX_ENV = {
    "OUTBOX_BACKOFF_BASE_SECONDS": "0.2",
    "OUTBOX_BACKOFF_MAX_SECONDS": "1",
    "OUTBOX_LEASE_SECONDS": "3",
    "OUTBOX_SWEEP_GRACE_SECONDS": "0",
    # The emulators' injected timeouts last 3 s; a connector gives up after 1 s.
    "SYNC_HTTP_TIMEOUT_SECONDS": "1",
}


def wait_for(predicate: Callable[[], object], *, timeout: float = 30.0,
             interval: float = 0.2, what: str = "condition") -> object:
    """Poll `predicate` until it returns something truthy; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def shared_database_url() -> str:
    """The URL of the database this test run uses, for the worker's DATABASE_URL."""
    params = connection.settings_dict
    name = params["NAME"]
    if connection.vendor == "sqlite":
        if connection.is_in_memory_db() or "mode=memory" in str(name):
            pytest.fail("the worker cannot share an in-memory SQLite test database; "
                        "settings need DATABASES['default']['TEST']['NAME'] set to a file")
        return f"sqlite:///{Path(name).resolve()}"
    user = quote(params.get("USER") or "", safe="")
    password = quote(params.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = params.get("HOST") or "localhost"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(name, safe='')}"


class Worker:
    """One `celery worker` subprocess in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        command = [sys.executable, "-m", "celery", "-A", "psa", "worker", "-Q", WORKER_QUEUES,
                   "--pool=solo", "--concurrency=1", "-l", "info", "--without-gossip",
                   "--without-mingle", "--without-heartbeat",
                   "-n", f"outbox-test-{uuid.uuid4().hex[:8]}@%h"]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, env=self.env, cwd=settings.BASE_DIR,
                                        stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        log.close()
        wait_for(lambda: self._alive() and " ready." in self.log(), timeout=WORKER_READY_SECONDS,
                 what=f"the worker to start; log:\n{self.log()[-3000:]}")
        return self

    def _alive(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            pytest.fail(f"the worker exited with {self.process.returncode}; log:\n"
                        f"{self.log()[-3000:]}")
        return True

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """Kill -9, as the OOM killer or a lost machine would: no cleanup, no acks."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Warm shutdown, then kill if it does not finish in time."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


def purge_queues() -> None:
    """Drop every message waiting on the worker's queues of the configured broker."""
    from psa.celery import app

    with app.connection_for_write() as conn:
        for queue in WORKER_QUEUES.split(","):
            conn.default_channel.queue_purge(queue)


@pytest.fixture
def outbox_probe():
    """The probe subscribers, registered in this process too (publish needs them)."""
    from tests.integration import outbox_probe

    outbox_probe.register()
    yield outbox_probe
    outbox_probe.unregister()


@pytest.fixture
def celery_worker(transactional_db, tmp_path, outbox_probe) -> Iterator[Callable[[], Worker]]:
    """`celery_worker()` starts a real worker on the shared broker and test database.

    The worker's queues are purged first so messages left by other runs cannot interfere;
    every worker started is terminated when the test ends, whatever happened.
    """

    env = {
        **os.environ,
        **WORKER_OUTBOX_ENV,
        "DJANGO_SETTINGS_MODULE": "psa.settings",
        "DATABASE_URL": shared_database_url(),
        "PSA_EXTRA_SUBSCRIBERS": "tests.integration.outbox_probe",
        # System checks (URL map, admin, ...) are other tests' business; the worker only needs
        # models and tasks, and starts faster without them.
        "CELERY_SKIP_CHECKS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.BASE_DIR),
                                                    os.environ.get("PYTHONPATH")])),
    }
    purge_queues()
    workers: list[Worker] = []

    def start(extra_env: dict[str, str] | None = None) -> Worker:
        worker = Worker({**env, **(extra_env or {})}, tmp_path / f"worker-{len(workers) + 1}.log")
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()
