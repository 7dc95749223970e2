"""Candidate ranking for one request over 2,000 people, as a ratio to a raw-SQL availability floor.

    .venv/bin/python bench/ranking.py [--repetitions 20]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/ranking.py

Builds a throwaway test database (real data is never touched) with 2,000 active people who all
hold the request's two required skills (one needing a certificate), each with a cost rate;
a third hard-booked and a sixth soft-booked over the request's weeks, an eighth with a day of
leave, and four approved billable entries each in the utilization window. Then times
`candidates_for_request` (all six factors for all 2,000, the best 50 returned). The floor is
ONE plain `connection.cursor()` SELECT computing the availability alone: capacity
(standard hours x weeks) minus hard allocation (hours per week x overlapping days ÷ 7) per
active person over the requested weeks.
"""

import argparse
from datetime import date, timedelta
from decimal import Decimal

import harness  # sets Django up; first
from django.db import connection

PEOPLE = 2000
START, END = date(2026, 3, 2), date(2026, 3, 27)  # four weeks
TODAY = date(2026, 3, 2)


def seed() -> object:
    """2,000 candidates and one request needing Python ≥ 3 and certified AWS ≥ 2."""
    from psa.models import CostRate, Person, Task, TimeEntry, TimeOff
    from resourcing.models import (
        Assignment,
        Certification,
        PersonSkill,
        RequestSkill,
        ResourceRequest,
    )
    from tests.psa.factories import LegalEntityFactory, ProjectFactory, RoleFactory
    from tests.resourcing.factories import SkillFactory

    entity = LegalEntityFactory()
    roles = [RoleFactory(code=f"L{level}", name=f"Level {level}", level=level)
             for level in range(1, 6)]
    python, aws = SkillFactory(name="Python"), SkillFactory(name="AWS")
    project = ProjectFactory(legal_entity=entity)
    task = Task.objects.create(project=project, wbs_code="1", name="Build", is_billable=True)
    people = Person.objects.bulk_create([
        Person(employee_number=f"B{n:05d}", first_name=f"First{n}", last_name=f"Last{n:05d}",
               email=f"b{n}@example.com", legal_entity=entity, role=roles[n % 5],
               country="US" if n % 4 else "GB", hire_date=date(2020, 1, 6))
        for n in range(PEOPLE)])
    PersonSkill.objects.bulk_create(
        [PersonSkill(person=p, skill=python, level=1 + n % 5, status="confirmed")
         for n, p in enumerate(people)]
        + [PersonSkill(person=p, skill=aws, level=2 + n % 4, status="confirmed")
           for n, p in enumerate(people)])
    Certification.objects.bulk_create([
        Certification(person=p, skill=aws, name="AWS SA", issued_date=date(2025, 1, 1),
                      expires_date=date(2027, 12, 31)) for p in people])
    CostRate.objects.bulk_create([
        CostRate(person=p, hourly_cost=Decimal(60 + n % 80), currency="USD",
                 effective_from=date(2024, 1, 1)) for n, p in enumerate(people)])
    Assignment.objects.bulk_create(
        [Assignment(person=p, project=project, role=p.role, start_date=START, end_date=END,
                    hours_per_week=Decimal("20.00"), booking="hard")
         for p in people[::3]]
        + [Assignment(person=p, project=project, role=p.role, start_date=START, end_date=END,
                      hours_per_week=Decimal("10.00"), booking="soft") for p in people[::6]])
    TimeOff.objects.bulk_create([TimeOff(person=p, start_date=START + timedelta(days=2),
                                         end_date=START + timedelta(days=2))
                                 for p in people[::8]])
    TimeEntry.objects.bulk_create([
        TimeEntry(person=p, project=project, task=task, work_date=date(2026, 2, 2 + d),
                  hours=Decimal("8.00"), is_billable=True, status="approved",
                  bill_rate=Decimal("150.0000"), bill_currency="USD",
                  cost_rate=Decimal("80.0000"), cost_currency="USD")
        for p in people for d in range(4)])
    request = ResourceRequest.objects.create(
        project=project, role=roles[2], hours_per_week=Decimal("40.00"), start_date=START,
        end_date=END, country="US", remote_ok=False, bill_rate=Decimal("150.0000"),
        currency="USD")
    RequestSkill.objects.create(request=request, skill=python, min_level=3)
    RequestSkill.objects.create(request=request, skill=aws, min_level=2,
                                requires_certification=True)
    with connection.cursor() as cursor:  # planner statistics, as a live database has them
        cursor.execute("ANALYZE")
    return request


def floor_sql() -> str:
    if connection.vendor == "postgresql":
        overlap = "(LEAST(a.end_date, %s::date) - GREATEST(a.start_date, %s::date) + 1)"
    else:
        overlap = ("(julianday(MIN(a.end_date, %s)) - julianday(MAX(a.start_date, %s)) + 1)")
    return f"""
        SELECT p.id, p.weekly_standard_hours * %s
               - COALESCE(SUM(a.hours_per_week * {overlap} / 7.0), 0)
        FROM psa_person p
        LEFT JOIN resourcing_assignment a ON a.person_id = p.id AND a.booking = 'hard'
             AND a.start_date <= %s AND a.end_date >= %s
        WHERE p.employment_status = 'active'
        GROUP BY p.id, p.weekly_standard_hours
    """


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=20)
    args = parser.parse_args()

    from resourcing.selectors.candidates import candidates_for_request

    with harness.throwaway_database():
        request = seed()
        sql = floor_sql()
        weeks = ((END - START).days + 3) // 7

        def floor() -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql, [weeks, END, START, END, START])
                rows = cursor.fetchall()
            assert len(rows) >= PEOPLE

        def rank() -> None:
            ranked = candidates_for_request(request=request, today=TODAY)
            assert len(ranked) == 50

        harness.report([(f"rank {PEOPLE} people, top 50", rank, floor)], args.repetitions,
                       heading="selector")


if __name__ == "__main__":
    main()
