"""Server time of the busiest pages, as a ratio to a raw-SQL floor measured in the same run.

    .venv/bin/python bench/pages.py [--repetitions 30]

Builds a throwaway test database (Django's test-runner utilities; real data is never
touched) with 500 projects and one project with a 200-task WBS, then times the project list
and the project page through the Django test client. The floor is a plain
`connection.cursor()` SELECT of the same rows the page shows, so the ratio says what the
ORM, permissions and templates cost on top of reading the data.
"""

import argparse
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import harness  # sets Django up; first
from django.db import connection
from django.test import Client
from django.urls import reverse

PROJECTS = 500
TASKS = 200
PAGE_SIZE = 50


def seed() -> dict[str, object]:
    """500 projects managed by one project manager; one of them has a 200-task WBS."""
    from psa import roles
    from psa.models import Milestone, Person, Project, ProjectMember, Task
    from tests.psa.factories import ContractFactory, PersonFactory, person_with_role

    manager = person_with_role(roles.PROJECT_MANAGER)
    finance = person_with_role(roles.FINANCE)
    contract = ContractFactory()
    Project.objects.bulk_create([
        Project(code=f"BENCH-{i:04d}", name=f"Bench project {i}", contract=contract,
                client=contract.client, legal_entity=contract.legal_entity,
                currency=contract.currency, manager=manager, start_date=date(2026, 1, 1),
                end_date=date(2026, 12, 31), budget_hours=Decimal("100.00"),
                budget_cost_amount=Decimal("8000.00"), budget_revenue_amount=Decimal("15000.00"),
                service_line=f"Line {i % 7}")
        for i in range(PROJECTS)])
    big = Project.objects.get(code="BENCH-0000")
    phases = Task.objects.bulk_create([
        Task(project=big, wbs_code=f"{p + 1}", name=f"Phase {p + 1}", position=p)
        for p in range(TASKS // 10)])
    Task.objects.bulk_create([
        Task(project=big, parent=phase, wbs_code=f"{phase.wbs_code}.{c + 1}",
             name=f"Task {phase.wbs_code}.{c + 1}", budget_hours=Decimal("16.00"), position=c)
        for phase in phases for c in range(9)])
    Milestone.objects.bulk_create([
        Milestone(project=big, name=f"Milestone {m}", due_date=date(2026, 1 + m % 12, 15),
                  amount=Decimal("5000.00"), currency=big.currency) for m in range(20)])
    team = [PersonFactory() for _ in range(10)]
    ProjectMember.objects.bulk_create([ProjectMember(project=big, person=p) for p in team])
    assert Task.objects.filter(project=big).count() == TASKS
    assert Person.objects.count() >= 12
    return {"manager": manager.user, "finance": finance.user, "project": big}


LIST_FLOOR_SQL = """
    SELECT p.id, p.code, p.name, p.status, p.service_line, p.start_date, p.end_date,
           p.budget_hours, p.budget_revenue_amount, p.currency, c.name, m.first_name, m.last_name
    FROM psa_project p
    LEFT JOIN psa_client c ON c.id = p.client_id
    JOIN psa_person m ON m.id = p.manager_id
    ORDER BY p.code LIMIT %s
"""
PAGE_FLOOR_SQL = [
    "SELECT * FROM psa_project WHERE id = %s",
    "SELECT * FROM psa_task WHERE project_id = %s ORDER BY position, wbs_code",
    "SELECT * FROM psa_milestone WHERE project_id = %s ORDER BY due_date",
    """SELECT pm.id, pe.first_name, pe.last_name FROM psa_projectmember pm
       JOIN psa_person pe ON pe.id = pm.person_id WHERE pm.project_id = %s""",
]


def floor_list() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM psa_project")
        cursor.fetchall()
        cursor.execute(LIST_FLOOR_SQL, [PAGE_SIZE])
        cursor.fetchall()


def floor_page(project_id: int) -> None:
    with connection.cursor() as cursor:
        for sql in PAGE_FLOOR_SQL:
            cursor.execute(sql, [project_id])
            cursor.fetchall()



def get_ok(browser: Client, url: str) -> Callable[[], None]:
    def fetch() -> None:
        response = browser.get(url)
        assert response.status_code == 200, (url, response.status_code)
        _ = response.content

    return fetch



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=30)
    args = parser.parse_args()

    with harness.throwaway_database():
        world = seed()
        project = world["project"]
        cases = []
        for who in ("manager", "finance"):
            browser = Client()
            browser.force_login(world[who])
            cases.append((f"project list ({who}, {PROJECTS} rows)",
                          get_ok(browser, reverse("project-list")), floor_list))
            cases.append((f"project page ({who}, {TASKS} tasks)",
                          get_ok(browser, reverse("project-detail", args=[project.pk])),
                          lambda: floor_page(project.pk)))
        harness.report(cases, args.repetitions, heading="page")


if __name__ == "__main__":
    main()
