"""`POST /api/v1/time-entries/bulk/` with 1,000 entries, as a ratio to one raw SQL insert.

    .venv/bin/python bench/time_bulk.py [--repetitions 10]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/time_bulk.py

Builds a throwaway test database (Django's test-runner utilities; real data is never touched)
with one consultant on a project of 10 tasks, then, per repetition: posts 1,000 valid entries
(0.25 h each, 10 tasks x 100 working days) through the Django test client with a bearer token,
deletes them again (not timed), and inserts the same 1,000 rows into psa_timeentry with ONE
DB-API `executemany` (the floor), then deletes those. Prints medians, the ratio and the query
count of one request.
"""

import argparse
import statistics
import time
from datetime import date, timedelta

import harness  # sets Django up; first
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

ENTRIES = 1000
BUDGET_RATIO = 5.0


def seed() -> dict[str, object]:
    from rest_framework.test import APIClient

    from psa import roles
    from psa.common.tokens import api_token_create
    from tests.psa.factories import (
        ProjectFactory,
        ProjectMemberFactory,
        TaskFactory,
        person_with_role,
    )

    person = person_with_role(roles.CONSULTANT)
    project = ProjectFactory()
    ProjectMemberFactory(project=project, person=person)
    tasks = [TaskFactory(project=project) for _ in range(10)]
    days, day = [], date(2026, 1, 5)
    while len(days) < ENTRIES // len(tasks):
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    rows = [{"task": task.pk, "work_date": d.isoformat(), "hours": "0.25", "notes": f"n{i}"}
            for i, (d, task) in enumerate((d, t) for d in days for t in tasks)]
    _, raw = api_token_create(user=person.user, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return {"person": person, "project": project, "rows": rows, "client": client}


def post_bulk(world: dict) -> float:
    start = time.perf_counter()
    response = world["client"].post("/api/v1/time-entries/bulk/", {"entries": world["rows"]},
                                    format="json")
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 201, response.content[:500]
    return elapsed


INSERT_SQL = """
    INSERT INTO psa_timeentry (created_at, updated_at, person_id, project_id, task_id,
        work_date, hours, is_billable, notes, status, bill_currency, rate_source,
        cost_currency, rejection_reason)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', '', '', '')
"""


def floor_insert(world: dict) -> float:
    """The same rows with one DB-API executemany, in one transaction."""
    from decimal import Decimal

    now = timezone.now()
    person, project = world["person"], world["project"]
    params = [(now, now, person.pk, project.pk, row["task"], date.fromisoformat(row["work_date"]),
               Decimal(row["hours"]), True, row["notes"], "draft") for row in world["rows"]]
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(INSERT_SQL, params)
    return (time.perf_counter() - start) * 1000


def clean() -> None:
    from auditlog.models import LogEntry

    from psa.models import IdempotencyRecord, TimeEntry

    TimeEntry.objects.all().delete()
    LogEntry.objects.all().delete()
    IdempotencyRecord.objects.all().delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=10)
    args = parser.parse_args()

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    with harness.throwaway_database():
        world = seed()
        post_bulk(world)  # warm up: imports, caches, the connection
        clean()
        floor_insert(world)
        clean()
        api_ms, floor_ms = [], []
        for _ in range(args.repetitions):
            api_ms.append(post_bulk(world))
            clean()
            floor_ms.append(floor_insert(world))
            clean()
        with CaptureQueriesContext(connection) as captured:
            post_bulk(world)
        inserts = sum("INSERT" in q["sql"].upper()[:40]
                      for q in captured.captured_queries)
        api, floor = statistics.median(api_ms), statistics.median(floor_ms)
        ratio = api / floor
        print(f"{connection.vendor}, {ENTRIES} entries, median of {args.repetitions}")
        print(f"bulk API      {api:9.1f} ms  (min {min(api_ms):.1f}, max {max(api_ms):.1f})")
        print(f"executemany   {floor:9.1f} ms  (min {min(floor_ms):.1f}, max {max(floor_ms):.1f})")
        print(f"ratio         {ratio:9.1f} x  (budget {BUDGET_RATIO:.0f} x: "
              f"{'OK' if ratio <= BUDGET_RATIO else 'OVER'})")
        print(f"queries       {len(captured):9d}    ({inserts} of them INSERTs)")


if __name__ == "__main__":
    main()
