"""Utilization report for 2,000 people over a quarter, as a ratio to the raw SQL aggregate.

    .venv/bin/python bench/utilization.py [--repetitions 5]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/utilization.py

Builds a throwaway test database (real data is never touched) with 2,000 active people in 4
roles and 40 teams, approved time on Monday, Wednesday and Friday of each week of Q1 2026
(client billable, client non-billable and internal: 117,000 entries), one hard and one soft
assignment each, and some leave. Times `utilization_report(group_by="person")` for the
quarter (capacity with public holidays and leave, actuals aggregated in SQL per person and
week, scheduled hours from assignments) and, as the floor, ONE raw SQL statement computing the
same actual/billable/client sums per person and week over `psa_timeentry`.
"""

import argparse
from datetime import date, timedelta
from decimal import Decimal

import harness  # sets Django up; first
from django.db import connection

PEOPLE, TEAMS = 2_000, 40
START, END = date(2025, 12, 29), date(2026, 3, 29)  # Q1 2026 in whole weeks


def seed() -> None:
    from psa.models import Person, Project, Role, Task, TimeEntry, TimeOff
    from resourcing.models import Assignment
    from tests.psa.factories import ContractFactory

    contract = ContractFactory()
    entity = contract.legal_entity
    roles = Role.objects.bulk_create([Role(code=f"R{i}", name=f"Role {i}", level=i + 1)
                                      for i in range(4)])

    def person(i: int, manager: Person | None = None) -> Person:
        return Person(employee_number=f"U{i:05d}", first_name=f"P{i}", last_name="Bench",
                      email=f"u{i}@example.com", legal_entity=entity, role=roles[i % 4],
                      country=entity.country, hire_date=date(2020, 1, 6), manager=manager,
                      weekly_standard_hours=Decimal("40.00") if i % 10 else Decimal("20.00"))

    managers = Person.objects.bulk_create([person(i) for i in range(TEAMS)])
    people = managers + Person.objects.bulk_create(
        [person(i, managers[i % TEAMS]) for i in range(TEAMS, PEOPLE)])
    common = {"contract": None, "legal_entity": entity, "currency": contract.currency,
              "manager": managers[0], "start_date": date(2025, 1, 1),
              "end_date": date(2026, 12, 31), "budget_hours": Decimal("100000.00"),
              "budget_cost_amount": Decimal("0.00"), "budget_revenue_amount": Decimal("0.00")}
    client_project = Project.objects.create(code="UT-CLIENT", name="Client work",
                                            **{**common, "contract": contract,
                                               "client": contract.client})
    internal = Project.objects.create(code="UT-INT", name="Internal", is_internal=True, **common)
    tasks = Task.objects.bulk_create([
        Task(project=client_project, wbs_code="1", name="Billable", is_billable=True,
             budget_hours=Decimal("1.00")),
        Task(project=client_project, wbs_code="2", name="Unbilled", is_billable=False,
             budget_hours=Decimal("1.00")),
        Task(project=internal, wbs_code="1", name="Training", is_billable=False,
             budget_hours=Decimal("1.00"))])
    rates = {"status": TimeEntry.Status.APPROVED, "bill_rate": Decimal("150.0000"),
             "bill_currency": "USD", "cost_rate": Decimal("80.0000"), "cost_currency": "USD"}
    entries = []
    monday = START
    while monday <= END:
        for offset, task, hours in ((0, tasks[0], "8.00"), (2, tasks[1], "6.00"),
                                    (4, tasks[2], "4.00")):
            entries += [TimeEntry(person=p, task=task, project_id=task.project_id,
                                  work_date=monday + timedelta(days=offset), hours=Decimal(hours),
                                  is_billable=task.is_billable, **rates) for p in people]
        monday += timedelta(days=7)
    TimeEntry.objects.bulk_create(entries, batch_size=5_000)
    Assignment.objects.bulk_create(
        [Assignment(person=p, project=client_project, role=p.role, start_date=date(2026, 1, 14),
                    end_date=date(2026, 2, 20), hours_per_week=Decimal("24.00"),
                    booking=booking)
         for p in people for booking in ("hard", "soft")], batch_size=5_000)
    TimeOff.objects.bulk_create([TimeOff(person=p, start_date=date(2026, 2, 9),
                                         end_date=date(2026, 2, 13)) for p in people[::7]])
    print(f"seeded {len(people)} people, {len(entries)} time entries")


def floor_sql() -> str:
    week = ("date(t.work_date, '-' || ((CAST(strftime('%%w', t.work_date) AS INTEGER) + 6) %% 7)"
            " || ' days')" if connection.vendor == "sqlite"
            else "date_trunc('week', t.work_date)")
    return f"""
        SELECT t.person_id, {week} AS week, SUM(t.hours),
               SUM(CASE WHEN t.is_billable THEN t.hours ELSE 0 END),
               SUM(CASE WHEN p.is_internal THEN 0 ELSE t.hours END)
        FROM psa_timeentry t JOIN psa_project p ON p.id = t.project_id
        WHERE t.status IN ('approved', 'invoiced', 'written_off')
          AND t.work_date >= %s AND t.work_date <= %s
        GROUP BY t.person_id, week"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    with harness.throwaway_database():
        seed()
        from resourcing.selectors.utilization import utilization_report

        sql = floor_sql()

        def floor() -> list:
            with connection.cursor() as cursor:
                cursor.execute(sql, [START, END])
                return cursor.fetchall()

        rows = utilization_report(start=START, end=END, group_by="person")
        assert len(rows) == PEOPLE and len(floor()) == PEOPLE * 13
        cases = [
            ("utilization by person, 2,000 x quarter",
             lambda: utilization_report(start=START, end=END, group_by="person"), floor),
            ("utilization by role, 2,000 x quarter",
             lambda: utilization_report(start=START, end=END, group_by="role"), floor),
        ]
        harness.report(cases, args.repetitions, heading="report")


if __name__ == "__main__":
    main()
