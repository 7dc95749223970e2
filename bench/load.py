"""Load on the busiest paths through gunicorn, as ratios to `/health/?probe=live` in the same run.

    .venv/bin/python bench/load.py [--duration 30] [--users 10] [--mode both] [--short]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/load.py

With a PostgreSQL DATABASE_URL it creates `bench_load_<pid>` on that server; otherwise it runs
PSA on a SQLite file (one gunicorn worker and one user per path unless told otherwise: SQLite
takes one writer at a time). It runs `manage.py migrate` there, seeds 200 consultants on the
teams of 20 managers and a service account (bench/load_seed.py), starts a redis-server of its
own (broker db 0, cache db 1; `--redis URL` uses another) and `gunicorn psa.wsgi --workers 4`
on free loopback ports, signs the virtual users in and loads these paths
(bench/load_client.py):

- health: `GET /health/?probe=live`, which touches nothing behind the web process: the floor;
- save: a consultant's autosave of one cell (the HTMX POST the week grid sends);
- submit: a consultant submitting a week of five draft entries (the Submit week form);
- approve: a manager approving one person's submitted week (the Approvals form);
- api: a service account paging `/api/v1/time-entries/?page_size=100` by `next` cursors.

`--mode separate` loads each path alone for `--duration` seconds with `--users` users;
`--mode mixed` loads them all at once, `--users` split evenly over the five paths (at least one
each, so both ratios compare like with like); `both` does one, then the other. Printed per
path: requests per second, p50/p95/p99 latency, errors, and the p50 and the throughput as
ratios to the floor's in the same phase. Afterwards the database must agree with the answers
(every week answered as submitted is submitted, and so on) and the server log must hold no
exception. The exit status is 1 when a request failed, a check disagrees or the log holds an
exception. Gunicorn is stopped and the database dropped at the end, also after a failure.
"""

import argparse
import math
import os
import signal
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import load_server
from load_client import (
    ApiPagingUser,
    ApproveUser,
    CellSaveUser,
    HealthUser,
    PathResult,
    SubmitUser,
    User,
    run_phase,
    sign_in_all,
)

PATHS = {  # path: its label in the table
    "health": "GET /health/?probe=live (floor)",
    "save": "POST /time/cell/… (save a cell)",
    "submit": "POST /time/submit/ (a week)",
    "approve": "POST /approvals/ (a week)",
    "api": "GET /api/v1/time-entries/ (page)",
}
CONSULTANTS, MANAGERS = 200, 20
# Weeks to submit and to approve are planned before the run: enough for this many per second
# in all, and this many per user, over every phase (a user that runs out stops, and the run
# says so). Weeks go back in time from this week, so the per-user cap keeps one user's weeks
# within the seed's dates (load_seed.SINCE).
WRITES_PER_SECOND_CAP = 120
WRITES_PER_SECOND_PER_USER_CAP = 50


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0,
                        help="seconds per path (separate) and for the mixed run")
    parser.add_argument("--users", type=int, default=None,
                        help="concurrent users per path, and in all in the mixed run "
                             "(default 10; 1 on SQLite)")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default 4; 1 on SQLite)")
    parser.add_argument("--mode", choices=("separate", "mixed", "both"), default="both")
    parser.add_argument("--short", action="store_true",
                        help="CI: 1.5 s per phase, 2 users (1 on SQLite)")
    parser.add_argument("--redis", default=None, metavar="URL",
                        help="a Redis to use as broker (db 0) and cache (db 1), e.g. "
                             "redis://127.0.0.1:6379; default: a redis-server of the run's own "
                             "on a free port")
    parser.add_argument("--conn-max-age", type=int, default=60,
                        help="DB_CONN_MAX_AGE of the web workers (production's default)")
    args = parser.parse_args()
    sqlite = not load_server.is_postgres(os.environ.get("DATABASE_URL", ""))
    if args.short:
        args.duration = 1.5
        args.users = args.users or (1 if sqlite else 2)
    args.users = args.users or (1 if sqlite else 10)
    args.workers = args.workers or (1 if sqlite else 4)
    args.warmup = 1 if args.short else 3
    return args


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as on Ctrl-C
    admin_url = os.environ.get("DATABASE_URL", "")
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="psa-load-")))
        database_url = stack.enter_context(load_server.throwaway_database(admin_url, workdir))
        redis = args.redis or stack.enter_context(load_server.private_redis(workdir))
        broker, cache = (f"{redis}/0", f"{redis}/1") if redis else ("", "")
        if not (redis and load_server.redis_answers(broker)):
            if load_server.is_postgres(database_url):
                raise SystemExit(f"No Redis at {redis}: install redis-server or give --redis.")
            broker, cache = "filesystem://", ""  # the embedded run's broker and cache
        env = load_server.server_env(database_url=database_url, broker_url=broker,
                                     cache_url=cache, workdir=workdir,
                                     conn_max_age=args.conn_max_age)
        os.environ.update(env)  # this process's Django seeds the same database
        # Migrate, gunicorn's workers importing the project and this process setting Django up
        # overlap (half of migrate is waiting for PostgreSQL); seeding needs the tables.
        migration = load_server.Migration(env, workdir / "migrate.log")
        stack.callback(migration.stop)
        log_path = workdir / "gunicorn.log"
        server = stack.enter_context(
            load_server.gunicorn(env, workers=args.workers, log_path=log_path))
        stack.callback(load_server.purge_broker, broker)
        import harness  # sets Django up on the throwaway database
        from load_seed import check_outcome, seed

        migrate_s = migration.wait()
        world = seed(**plan_sizes(args))
        base_url = server.ready()
        pools = make_users(base_url, world, args.users)
        stack.callback(lambda: [u.close() for pool in pools.values() for u in pool])
        sign_in_all([u for pool in pools.values() for u in pool])

        print(header(args, migrate_s, world, broker_label(args, broker)))
        failures = 0
        if args.mode in ("separate", "both"):
            results = []
            for path in PATHS:
                if path == "api":
                    expected_rows = current_entries()
                results += run_phase(pools[path], duration_s=args.duration,
                                     warmup_steps=args.warmup)
            failures += report("each path alone", results)
            failures += check_passes(pools["api"], expected_rows)
        if args.mode in ("mixed", "both"):
            mixed = [u for pool in pools.values()
                     for u in pool[:max(1, round(args.users / len(PATHS)))]]
            failures += report("all paths at once", run_phase(
                mixed, duration_s=args.duration, warmup_steps=args.warmup))

        problems = check_outcome(world, {
            "submit": sum(u.done for u in pools["submit"]),
            "approve": sum(u.done for u in pools["approve"]),
            "save": sum(len(u.saved) for u in pools["save"])})
        findings = load_server.log_findings(log_path)
        for problem in problems:
            print(f"CHECK FAILED: {problem}")
        for finding, count in findings.items():
            print(f"server log: {count} x {finding}")
        ok = failures == 0 and not problems and not findings
        if not ok:
            kept = Path(tempfile.gettempdir()) / f"psa-load-{os.getpid()}-gunicorn.log"
            kept.write_bytes(log_path.read_bytes())
            print(f"server log kept in {kept}; its end:\n{load_server.tail(log_path)}")
        print("OK: no request failed and the database agrees with every answer" if ok
              else "FAILED")
        harness.connection.close()
        return 0 if ok else 1


def plan_sizes(args: argparse.Namespace) -> dict[str, int]:
    """How much work to plan: enough weeks to submit and approve at the rate caps."""
    seconds = args.duration * {"separate": 1, "mixed": 1, "both": 2}[args.mode]
    approvers = min(args.users, MANAGERS)
    warm = args.warmup * 2

    def each(users: int) -> int:
        per_user = min(WRITES_PER_SECOND_CAP / users, WRITES_PER_SECOND_PER_USER_CAP)
        return math.ceil(per_user * seconds) + warm

    return {"consultants": CONSULTANTS, "managers": MANAGERS, "savers": args.users,
            "submitters": args.users, "approvers": approvers,
            "submissions_each": each(args.users), "approvals_each": each(approvers)}


def make_users(base_url: str, world: object, users: int) -> dict[str, list[User]]:
    from load_seed import PASSWORD

    return {
        "health": [HealthUser(base_url) for _ in range(users)],
        "save": [CellSaveUser(base_url, username=p.username, password=PASSWORD, week=p.week,
                              cells=p.cells) for p in world.savers],
        "submit": [SubmitUser(base_url, username=p.username, password=PASSWORD, weeks=p.weeks)
                   for p in world.submitters],
        "approve": [ApproveUser(base_url, username=p.username, password=PASSWORD,
                                groups=p.groups) for p in world.approvers],
        "api": [ApiPagingUser(base_url, token=world.api_token) for _ in range(users)],
    }


def broker_label(args: argparse.Namespace, broker: str) -> str:
    if broker.startswith("filesystem"):
        return "the embedded file broker and local memory"
    return f"Redis at {args.redis}" if args.redis else "a redis-server of the run's own"


def current_entries() -> int:
    from psa.models import TimeEntry

    return TimeEntry.objects.count()


def check_passes(api_users: list[ApiPagingUser], expected_rows: int) -> int:
    """Every complete pass of the cursor pages saw every row exactly once."""
    passes = [seen for user in api_users for seen in user.passes]
    wrong = [seen for seen in passes if seen != expected_rows]
    print(f"api: {len(passes)} complete passes over {expected_rows:,} entries"
          + (f"; WRONG row counts {wrong[:5]}" if wrong else ", each saw every row once"))
    return len(wrong)


def header(args: argparse.Namespace, migrate_s: float, world: object, broker: str) -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        version = connection.pg_version
        database = f"PostgreSQL {version // 10000}.{version % 10000}"
    else:
        import sqlite3

        database = f"SQLite {sqlite3.sqlite_version}"
    return (f"{database}; gunicorn psa.wsgi --workers {args.workers}; "
            f"broker and cache: {broker}; {args.users} users per path; "
            f"{args.duration:g} s per phase; migrate {migrate_s:.1f} s; "
            f"{world.entries:,} time entries seeded")


def report(title: str, results: list[PathResult]) -> int:
    """Print the phase's table (harness.report's layout); returns its error count."""
    by_path = {r.path: r for r in results}
    floor = by_path.get("health")
    print(f"\n{title}: p50/p95/p99 in ms; ratios to the floor (health) of this phase")
    print(f"{'path':<36}{'users':>6}{'requests':>9}{'rps':>8}{'p50':>8}{'p95':>8}{'p99':>8}"
          f"{'errors':>7}{'p50 x':>8}{'rps x':>8}")
    errors = requests = 0
    for path in PATHS:
        result = by_path.get(path)
        if result is None:
            continue
        failed = len(result.errors) + len(result.warmup_errors)
        errors, requests = errors + failed, requests + result.requests
        p50 = result.percentile(50)
        p50_ratio = p50 / floor.percentile(50) if floor else float("nan")
        rps_ratio = result.rps / floor.rps if floor and floor.rps else float("nan")
        print(f"{PATHS[path]:<36}{result.users:>6}{result.requests:>9}{result.rps:>8.1f}"
              f"{p50:>8.1f}{result.percentile(95):>8.1f}{result.percentile(99):>8.1f}"
              f"{failed:>7}{p50_ratio:>8.1f}{rps_ratio:>8.3f}")
        for error in (result.warmup_errors + result.errors)[:3]:
            print(f"    error: {error}")
        if result.ran_out:
            print(f"    note: {result.ran_out} user(s) ran out of planned work before the end")
    rate = 100 * errors / requests if requests else 0.0
    print(f"errors {errors} of {requests} requests ({rate:.2f} %)")
    return errors


if __name__ == "__main__":
    sys.exit(main())
