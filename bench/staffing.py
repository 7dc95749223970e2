"""Server time and query count of the staffing board for 300 people x 12 weeks.

    .venv/bin/python bench/staffing.py [--repetitions 20]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/staffing.py

Builds a throwaway test database (Django's test-runner utilities; real data is never touched)
with 300 active people, two assignments each (one hard, one soft) overlapping the 12 weeks, time
off for every fifth person and 20 open requests, then times `GET /staffing/` (page 1: 100
people) and `GET /staffing/?available=on` (all 300 people computed, then paged) through the
Django test client. The floor is plain `connection.cursor()` reading the same rows the page
reads (the people page, their time off and their assignments).
"""

import argparse
from datetime import date, timedelta
from decimal import Decimal

import harness  # sets Django up; first
from django.db import connection
from django.test import Client
from django.urls import reverse

PEOPLE = 300
START = date(2026, 3, 2)


def seed() -> dict[str, object]:
    from psa import roles
    from psa.models import Person, TimeOff
    from resourcing.models import Assignment
    from tests.psa.factories import PersonFactory, ProjectFactory, person_with_role
    from tests.resourcing.factories import ResourceRequestFactory

    manager = person_with_role(roles.RESOURCE_MANAGER)
    template = PersonFactory(user=None)
    Person.objects.bulk_create([
        Person(employee_number=f"B{i:05d}", first_name=f"Bench{i}", last_name=f"Person{i:03d}",
               email=f"b{i}@example.com", legal_entity=template.legal_entity,
               role=template.role, country="GB", hire_date=date(2020, 1, 6))
        for i in range(PEOPLE - 1)])
    people = list(Person.objects.exclude(pk=manager.pk))
    project = ProjectFactory()
    Assignment.objects.bulk_create(
        [Assignment(person=p, project=project, role=p.role,
                    start_date=START + timedelta(days=i % 20),
                    end_date=START + timedelta(weeks=8), hours_per_week=Decimal("24.00"),
                    booking="hard") for i, p in enumerate(people)]
        + [Assignment(person=p, project=project, role=p.role, start_date=START,
                      end_date=START + timedelta(weeks=11), hours_per_week=Decimal("8.00"),
                      booking="soft") for p in people])
    TimeOff.objects.bulk_create([
        TimeOff(person=p, start_date=START + timedelta(weeks=2), end_date=START + timedelta(
            weeks=2, days=4), status=TimeOff.Status.APPROVED) for p in people[::5]])
    for _ in range(20):
        ResourceRequestFactory(project=project)
    return {"user": manager.user}


def floor() -> None:
    end = START + timedelta(weeks=12)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, first_name, last_name, country, role_id FROM psa_person "
                       "ORDER BY last_name, first_name, id LIMIT 100")
        ids = [row[0] for row in cursor.fetchall()]
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(f"SELECT person_id, start_date, end_date FROM psa_timeoff WHERE person_id "
                       f"IN ({marks}) AND start_date <= %s AND end_date >= %s", [*ids, end, START])
        cursor.fetchall()
        cursor.execute(f"SELECT person_id, start_date, end_date, hours_per_week, booking FROM "
                       f"resourcing_assignment WHERE person_id IN ({marks}) AND start_date <= %s "
                       f"AND end_date >= %s", [*ids, end, START])
        cursor.fetchall()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=20)
    args = parser.parse_args()
    with harness.throwaway_database():
        world = seed()
        browser = Client()
        browser.force_login(world["user"])
        url = reverse("staffing-board")

        def board(**params: str):
            def action() -> None:
                response = browser.get(url, {"start": START.isoformat(), **params})
                assert response.status_code == 200, response.status_code
            return action

        harness.report([
            (f"GET /staffing/ ({PEOPLE} people, page 1)", board(), floor),
            (f"GET /staffing/?available=on ({PEOPLE})", board(available="on"), floor),
            (f"GET /staffing/?page=3 ({PEOPLE})", board(page="3"), floor),
        ], args.repetitions)


if __name__ == "__main__":
    main()
