"""What `bench/load.py` runs against: a throwaway database, `migrate`, and gunicorn.

The database must be reachable by another process (gunicorn), so it is not Django's test
database: on PostgreSQL a new database `bench_load_<pid>` on the server of DATABASE_URL, on
SQLite a file in a temporary folder. Both are removed at the end, also after a failure.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUEUES = ("default", "sync", "billing", "reports")
START_TIMEOUT_S = 90
EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception)): .*$", re.MULTILINE)


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "pgsql://"))


@contextmanager
def throwaway_database(admin_url: str, workdir: Path) -> Iterator[str]:
    """The URL of a new, empty database; dropped (PostgreSQL) when the block ends."""
    if not is_postgres(admin_url):
        yield f"sqlite:///{workdir / 'load.sqlite3'}"
        return
    import psycopg

    name = f"bench_load_{os.getpid()}"
    parts = urlsplit(admin_url)
    # The maintenance database: the URL's own database need not exist (CI names `test`, whose
    # test run creates `test_test`).
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        _close_django_connections()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _close_django_connections() -> None:
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


@contextmanager
def private_redis(workdir: Path) -> Iterator[str | None]:
    """A Redis server of this run's own on a free loopback port (its base URL), so no other
    run's worker reads the bench's queues and nobody else's restart of the shared Redis breaks
    the run; None when `redis-server` is not installed. Stopped when the block ends."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--logfile", str(workdir / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"redis://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not redis_answers(f"{url}/0"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{tail(workdir / 'redis.log')}")
            time.sleep(0.1)
        yield url
    finally:
        _stop(process)


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def server_env(*, database_url: str, broker_url: str, cache_url: str, workdir: Path,
               conn_max_age: int) -> dict[str, str]:
    """The environment of gunicorn and of this process's Django (settings read it)."""
    env = {
        "DJANGO_SETTINGS_MODULE": "psa.settings",
        "PSA_ENV": "development",  # production's HTTPS redirect and secure cookies need TLS
        "DEBUG": "false",  # as in production: no SQL kept per request, no debug pages
        "DATABASE_URL": database_url,
        "DB_CONN_MAX_AGE": str(conn_max_age),
        "CELERY_BROKER_URL": broker_url,
        "CACHE_URL": cache_url,
        "API_RATE_LIMIT": "100000000/min",  # the bench measures the path, not the throttle
        "PSA_VAR_DIR": str(workdir),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    if broker_url.startswith("filesystem"):
        env["CELERY_FILE_BROKER_DIR"] = str(workdir / "broker")
    return env


class Migration:
    """`manage.py migrate` started as a child process; `wait()` gives its wall seconds."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.started, self.log_path = time.perf_counter(), log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0",
                 "--skip-checks"],  # system checks are CI's `manage.py check`, not this run's
                cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)

    def wait(self) -> float:
        if self.process.wait():
            raise RuntimeError(f"migrate failed ({self.process.returncode}):\n"
                               f"{tail(self.log_path)}")
        return time.perf_counter() - self.started

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A gunicorn started in the background; `ready()` waits for it and gives its base URL."""

    def __init__(self, process: subprocess.Popen, port: int, workers: int,
                 log_path: Path) -> None:
        self.process, self.workers, self.log_path = process, workers, log_path
        self.base_url = f"http://127.0.0.1:{port}"

    def ready(self) -> str:
        """Once every worker has booted and `/health/?probe=live` answers: the base URL."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n"
                                   f"{tail(self.log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer in {START_TIMEOUT_S} s:\n"
                                   f"{tail(self.log_path)}")
            booted = self.log_path.read_text(errors="replace").count("Booting worker")
            try:
                answer = httpx.get(f"{self.base_url}/health/?probe=live", timeout=5)
            except httpx.HTTPError:
                answer = None
            if answer is not None and answer.status_code == 200 and booted >= self.workers:
                return self.base_url
            time.sleep(0.2)


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int, log_path: Path) -> Iterator[Server]:
    """`gunicorn psa.wsgi --workers N` on a free loopback port, started now (it boots while
    the caller seeds); stopped (TERM, then KILL) when the block ends."""
    port = free_port()
    script = Path(sys.executable).parent / "gunicorn"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]
    command += ["psa.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                "--log-level", "info"]
    if _gunicorn_version() >= (27,):  # its control socket, else shared by every gunicorn run
        command += ["--control-socket", str(log_path.parent / "gunicorn.ctl")]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield Server(process, port, workers, log_path)
    finally:
        _stop(process)


def _gunicorn_version() -> tuple[int, ...]:
    import gunicorn as package

    return tuple(package.version_info)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def log_findings(path: Path) -> dict[str, int]:
    """How often the server log mentions what a load run must never cause, and each distinct
    exception line (`SomeError: …`) with its count."""
    text = path.read_text(errors="replace") if path.exists() else ""
    needles = ("Traceback", "database is locked", "deadlock detected", "WORKER TIMEOUT",
               "could not serialize", "too many clients")
    found = {needle: text.count(needle) for needle in needles if needle in text}
    for line in EXCEPTION_LINE.findall(text):
        found[line[:160]] = found.get(line[:160], 0) + 1
    return found


def purge_broker(broker_url: str) -> None:
    """Drop the messages the run enqueued (nothing consumes the bench's queues)."""
    if not broker_url.startswith("redis"):
        return
    import redis

    client = redis.Redis.from_url(broker_url)
    client.delete(*QUEUES)
