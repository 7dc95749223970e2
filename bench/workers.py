"""Real Celery workers for the benchmarks that measure queued work (subprocesses sharing the
benchmark's throwaway database and its broker)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from django.db import connection
from harness import ROOT


def database_url() -> str:
    """The URL of the database the benchmark uses right now (its throwaway test database)."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(params['NAME']).resolve()}"
    user = quote(params.get("USER") or "", safe="")
    host = params.get("HOST") or "localhost"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"postgres://{user}@{host}{port}/{quote(params['NAME'], safe='')}"


def start_workers(count: int, queues: str, log_dir: Path,
                  extra_env: dict[str, str] | None = None) -> list[subprocess.Popen]:
    """`count` single-process workers on `queues`; returns once every one says it is ready."""
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_SKIP_CHECKS": "1",
           "DJANGO_SETTINGS_MODULE": "psa.settings", "LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT), **(extra_env or {})}
    log_dir.mkdir(parents=True, exist_ok=True)
    workers, logs = [], []
    for number in range(count):
        log = log_dir / f"worker-{number}.log"
        log.write_text("")
        logs.append(log)
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "psa", "worker", "-Q", queues,
             "--pool=solo", "--concurrency=1", "-l", "info", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-n", f"bench-{uuid.uuid4().hex[:6]}@%h"],
            env=env, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True))
    deadline = time.monotonic() + 90
    while not all(" ready." in log.read_text(errors="replace") for log in logs):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            stop_workers(workers)
            raise RuntimeError("workers did not start; see " + ", ".join(map(str, logs)))
        time.sleep(0.2)
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def purge(queues: str) -> None:
    from psa.celery import app

    with app.connection_for_write() as conn:
        for queue in queues.split(","):
            conn.default_channel.queue_purge(queue)
