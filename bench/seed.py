"""Benchmark `manage.py seed_demo --people 2000 --clients 500 --months 12` on a fresh database.

Usage:
    .venv/bin/python bench/seed.py                      # throwaway SQLite file
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/seed.py

With BENCH_DATABASE_URL the script creates a scratch database `psa_bench_seed` on that server,
runs there and drops it afterwards; nothing else on the server is touched.

The seed runs as a child process; its wall time and peak memory (ru_maxrss from wait4) are
measured. The floor, measured in the same run on the same database, is inserting the same
number of rows with a raw `executemany` into a scratch table in one transaction: the least any
loader could do. Printed: the ratio to the floor, the absolute seconds and MB, and whether the
budgets (< 600 s, < 1024 MB) hold. A repeat run (`--force`, every phase, nothing written) and
the fast path are timed too, then `seed_demo_staffing` (skills, requests, bookings) and its
repeat, separately.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SEED_ARGS = ["--people", "2000", "--clients", "500", "--months", "12"]
SCRATCH_DB = "psa_bench_seed"
TIME_BUDGET_S = 600
MEMORY_BUDGET_MB = 1024
SEEDED_TABLES = ("psa_legalentity", "psa_period", "psa_role", "psa_person", "psa_costrate",
                 "psa_ratecard", "psa_ratecardline", "psa_ratecardoverride", "psa_client",
                 "psa_contract", "psa_changeorder", "psa_project", "psa_projectmember",
                 "psa_task", "psa_milestone", "auth_user", "psa_expensepolicy", "psa_timeoff",
                 "psa_timeentry", "psa_expense")
STAFFING_TABLES = ("resourcing_skillcategory", "resourcing_skill", "resourcing_personskill",
                   "resourcing_certification", "resourcing_resourcerequest",
                   "resourcing_requestskill", "resourcing_assignment")


@contextmanager
def database():
    """Yield (Django DATABASE_URL, DB-API connect function) for a fresh scratch database."""
    admin_url = os.environ.get("BENCH_DATABASE_URL")
    if not admin_url:
        workdir = Path(tempfile.mkdtemp(prefix="psa-bench-seed-"))
        path = workdir / "bench.sqlite3"
        try:
            yield f"sqlite:///{path}", lambda: sqlite3.connect(path), workdir
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return

    import psycopg

    parts = urlsplit(admin_url)
    scratch_url = urlunsplit(parts._replace(path=f"/{SCRATCH_DB}"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}"')
        admin.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
    workdir = Path(tempfile.mkdtemp(prefix="psa-bench-seed-"))
    try:
        yield scratch_url, lambda: psycopg.connect(scratch_url), workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')


def run_manage(env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """Run `manage.py args` as a child; (wall seconds, peak RSS in MB, stdout)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), *args],
                                 cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        out.seek(0)
        output = out.read()
    if child.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed ({child.returncode}):\n{output}")
    return elapsed, usage.ru_maxrss / 1024, output  # ru_maxrss is in KiB on Linux


def count_rows(connect, tables: tuple[str, ...] = SEEDED_TABLES + STAFFING_TABLES) -> int:
    with closing(connect()) as conn:
        cursor = conn.cursor()
        total = 0
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            total += cursor.fetchone()[0]
        return total


def floor_seconds(connect, rows: int, paramstyle: str) -> float:
    """Insert `rows` rows with a raw executemany into a scratch table, in one transaction."""
    mark = "?" if paramstyle == "qmark" else "%s"
    key = "INTEGER PRIMARY KEY" if paramstyle == "qmark" else "BIGSERIAL PRIMARY KEY"
    data = [(f"CODE-{i:07d}", f"Row number {i} of the floor", f"{i % 100000}.25",
             date(2025, 1 + i % 12, 1 + i % 28).isoformat()) for i in range(rows)]
    with closing(connect()) as conn:
        cursor = conn.cursor()
        cursor.execute(f"CREATE TABLE bench_floor (id {key}, code VARCHAR(30), "
                       "name VARCHAR(200), amount NUMERIC(14, 2), day DATE)")
        conn.commit()
        started = time.perf_counter()
        cursor.executemany(f"INSERT INTO bench_floor (code, name, amount, day) "
                           f"VALUES ({mark}, {mark}, {mark}, {mark})", data)
        conn.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_floor")
        conn.commit()
    return elapsed


def main() -> None:
    with database() as (url, connect, workdir):
        env = {**os.environ, "DATABASE_URL": url, "PSA_VAR_DIR": str(workdir),
               "PSA_ENV": "development"}
        engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(f"seed_demo {' '.join(SEED_ARGS)} on {engine} (fresh database)")
        migrate_s, _, _ = run_manage(env, "migrate", "-v0")
        seed_s, seed_mb, _ = run_manage(env, "seed_demo", *SEED_ARGS)
        psa_rows = count_rows(connect)
        staff_s, staff_mb, _ = run_manage(env, "seed_demo_staffing")
        rows = count_rows(connect)
        repeat_s, repeat_mb, _ = run_manage(env, "seed_demo", *SEED_ARGS, "--force")
        fast_s, _, fast_out = run_manage(env, "seed_demo", *SEED_ARGS)
        if count_rows(connect) != rows:
            sys.exit("The repeat run changed the row count: seed_demo is not idempotent.")
        assert "already present" in fast_out, fast_out
        staff_repeat_s, _, staff_out = run_manage(env, "seed_demo_staffing")
        if count_rows(connect) != rows or "already present" not in staff_out:
            sys.exit("The repeat run changed the row count: seed_demo_staffing is not idempotent.")
        floor_s = floor_seconds(connect, psa_rows, "qmark" if engine == "SQLite" else "format")

    print(f"  rows seeded          {rows:>10,}")
    print(f"  migrate (untimed)    {migrate_s:>10.2f} s")
    print(f"  floor (executemany)  {floor_s:>10.3f} s  ({rows / floor_s:,.0f} rows/s)")
    print(f"  seed                 {seed_s:>10.2f} s  = {seed_s / floor_s:.1f} x floor, "
          f"peak {seed_mb:.0f} MB")
    print(f"  repeat (--force)     {repeat_s:>10.2f} s  = {repeat_s / floor_s:.1f} x floor, "
          f"peak {repeat_mb:.0f} MB, nothing new")
    print(f"  repeat (fast path)   {fast_s:>10.2f} s")
    print(f"  seed_demo_staffing   {staff_s:>10.2f} s  ({rows - psa_rows:,} rows), "
          f"peak {staff_mb:.0f} MB; repeat {staff_repeat_s:.2f} s, nothing new")
    time_ok, memory_ok = seed_s < TIME_BUDGET_S, seed_mb < MEMORY_BUDGET_MB
    print(f"  budget time   < {TIME_BUDGET_S} s:   {'OK' if time_ok else 'EXCEEDED'}")
    print(f"  budget memory < {MEMORY_BUDGET_MB} MB: {'OK' if memory_ok else 'EXCEEDED'}")
    if not (time_ok and memory_ok):
        sys.exit(1)


if __name__ == "__main__":
    main()
