"""Server time of My week with 40 rows and of one cell save, as ratios to a raw-SQL floor.

    .venv/bin/python bench/timesheet.py [--repetitions 30]

Builds a throwaway test database (Django's test-runner utilities; real data is never
touched) with a consultant on 8 projects of 5 tasks (40 rows), every row filled Monday to
Friday, then times `GET /time/?week=…` and one autosave `POST /time/cell/…/` (an update of a
draft entry, alternating between two values) through the Django test client. The floors are
plain `connection.cursor()` statements reading the same rows the page shows, and writing the
same cell with one UPDATE plus the totals SELECT.
"""

import argparse
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from itertools import cycle

import harness  # sets Django up; first
from django.db import connection
from django.test import Client
from django.urls import reverse

PROJECTS, TASKS_PER_PROJECT = 8, 5
MON = date(2026, 11, 16)


def seed() -> dict[str, object]:
    """A consultant with 40 rows filled Monday to Friday (200 entries) and some history."""
    from psa import roles
    from psa.models import Project, ProjectMember, Task, TimeEntry
    from tests.psa.factories import ContractFactory, person_with_role

    consultant = person_with_role(roles.CONSULTANT)
    manager = person_with_role(roles.PROJECT_MANAGER)
    contract = ContractFactory()
    projects = Project.objects.bulk_create([
        Project(code=f"TS-{i:03d}", name=f"Timesheet project {i}", contract=contract,
                client=contract.client, legal_entity=contract.legal_entity,
                currency=contract.currency, manager=manager, start_date=date(2026, 1, 1),
                end_date=date(2026, 12, 31), budget_hours=Decimal("100.00"),
                budget_cost_amount=Decimal("8000.00"), budget_revenue_amount=Decimal("15000.00"))
        for i in range(PROJECTS)])
    ProjectMember.objects.bulk_create(
        [ProjectMember(project=p, person=consultant) for p in projects])
    tasks = Task.objects.bulk_create([
        Task(project=p, wbs_code=f"{t + 1}", name=f"Task {p.code}.{t + 1}", position=t,
             budget_hours=Decimal("40.00"))
        for p in projects for t in range(TASKS_PER_PROJECT)])
    entries = [TimeEntry(person=consultant, task=task, project_id=task.project_id,
                         work_date=MON + timedelta(days=d), hours=Decimal("0.25"))
               for task in tasks for d in range(5)]
    entries += [TimeEntry(person=consultant, task=task, project_id=task.project_id,
                          work_date=MON - timedelta(days=7 * w), hours=Decimal("0.25"))
                for task in tasks for w in range(1, 4)]
    TimeEntry.objects.bulk_create(entries)
    return {"user": consultant.user, "person": consultant, "task": tasks[0]}


PAGE_FLOOR_SQL = [
    ("SELECT * FROM psa_timeentry WHERE person_id = %s AND work_date BETWEEN %s AND %s",
     "week"),
    ("""SELECT t.*, p.*, c.* FROM psa_task t JOIN psa_project p ON p.id = t.project_id
        LEFT JOIN psa_client c ON c.id = p.client_id
        WHERE t.id IN (SELECT task_id FROM psa_timeentry WHERE person_id = %s
                       AND work_date BETWEEN %s AND %s)
        ORDER BY p.code, t.position, t.wbs_code""", "week"),
    ("""SELECT p.* FROM psa_project p JOIN psa_projectmember m ON m.project_id = p.id
        WHERE m.person_id = %s ORDER BY p.code""", "person"),
    ("SELECT * FROM psa_timeoff WHERE person_id = %s", "person"),
]


def floor_page(person_id: int) -> None:
    with connection.cursor() as cursor:
        for sql, kind in PAGE_FLOOR_SQL:
            params = [person_id, MON, MON + timedelta(days=6)] if kind == "week" else [person_id]
            cursor.execute(sql, params)
            cursor.fetchall()


def floor_save(person_id: int, task_id: int, values: cycle) -> Callable[[], None]:
    def write() -> None:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE psa_timeentry SET hours = %s WHERE person_id = %s AND "
                           "task_id = %s AND work_date = %s",
                           [next(values), person_id, task_id, MON])
            cursor.execute("SELECT task_id, work_date, hours FROM psa_timeentry WHERE "
                           "person_id = %s AND work_date BETWEEN %s AND %s",
                           [person_id, MON, MON + timedelta(days=6)])
            cursor.fetchall()

    return write




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=30)
    args = parser.parse_args()

    with harness.throwaway_database():
        world = seed()
        browser = Client()
        browser.force_login(world["user"])
        person, task = world["person"], world["task"]
        page_url = f"{reverse('timesheet')}?week={MON.isoformat()}"
        cell_url = reverse("timesheet-cell", args=[task.pk, MON.isoformat()])
        hours = cycle(["7.5", "8"])

        def page() -> None:
            response = browser.get(page_url)
            assert response.status_code == 200, response.status_code
            assert response.content.count(b'class="ts-row') == PROJECTS * TASKS_PER_PROJECT

        def save() -> None:
            response = browser.post(cell_url, {"hours": next(hours)}, HTTP_HX_REQUEST="true")
            assert response.status_code == 200, response.content

        cases = [
            (f"week page ({PROJECTS * TASKS_PER_PROJECT} rows, 200 entries)", page,
             lambda: floor_page(person.pk)),
            ("one cell save (update)", save,
             floor_save(person.pk, task.pk, cycle([Decimal("7.50"), Decimal("8.00")]))),
        ]
        harness.report(cases, args.repetitions)


if __name__ == "__main__":
    main()
