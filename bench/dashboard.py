"""The executive dashboard over a firm of 2,000 people and 12 months, as a ratio to the raw SQL
aggregates behind it.

    .venv/bin/python bench/dashboard.py [--people 2000] [--repetitions 5]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/dashboard.py

Builds a throwaway test database (real data is never touched): two legal entities (USD, GBP)
with monthly exchange rates, one client, T&M contract and project per 5 people signed across
the year, every person with approved time on Monday (8 h billable) and Friday (4 h internal)
of each week, the billable time of each month invoiced at the month end (billed items, issued
invoices, payments 40 days later), monthly recognition entries and schedule lines per
contract, a hard assignment per person and some leave.

Times (1) the dashboard's measures (`insight.selectors.dashboard.dashboard`) and (2) the whole
page rendered through Django's test client; the floor is the SUM of the plain SQL aggregates
the measures stand on, run one after another (time by month, contracts signed, recognition and
plan by month, invoices, credits and payments by month, standard value and billed time by
month, cost by month).
It also counts the queries of the page at a tenth of the size and at full size and refuses to
report if they differ: the number of queries is fixed whatever the firm's size.
"""

import argparse
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

import harness  # sets Django up; first
from django.db import connection

END_MONTH = date(2026, 3, 1)
FIRST_MONTH = date(2025, 4, 1)
PEOPLE_PER_CONTRACT = 5
D = Decimal


def _months() -> list[date]:
    months, month = [], FIRST_MONTH
    while month <= END_MONTH:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def seed(people_count: int, offset: int = 0) -> None:
    from billing.models import BilledItem, Invoice, InvoiceLine, Payment
    from psa.models import (
        Client,
        Contract,
        ExchangeRate,
        LegalEntity,
        Person,
        Project,
        RateCard,
        RateCardLine,
        Role,
        Task,
        TimeEntry,
        TimeOff,
    )
    from resourcing.models import Assignment
    from revenue.models import RecognitionEntry, RecognitionRun, RevenueSchedule, ScheduleLine

    months = _months()
    us, _ = LegalEntity.objects.get_or_create(code="US", defaults={
        "name": "Bench US", "country": "US", "base_currency": "USD", "invoice_prefix": "US"})
    uk, _ = LegalEntity.objects.get_or_create(code="UK", defaults={
        "name": "Bench UK", "country": "GB", "base_currency": "GBP", "invoice_prefix": "UK"})
    ExchangeRate.objects.bulk_create(
        [ExchangeRate(from_currency="GBP", to_currency="USD", month=month,
                      rate=D("1.25") + D("0.01") * (i % 3)) for i, month in enumerate(months)],
        ignore_conflicts=True)
    roles = [Role.objects.get_or_create(code=f"R{i}", defaults={
        "name": f"Role {i}", "level": i + 1})[0] for i in range(4)]
    for currency in ("USD", "GBP"):
        card, _ = RateCard.objects.get_or_create(code=f"STD-{currency}", defaults={
            "name": f"Standard {currency}", "currency": currency})
        RateCardLine.objects.bulk_create(
            [RateCardLine(rate_card=card, role=role, hourly_rate=D("160.0000") + 20 * i,
                          effective_from=date(2020, 1, 1)) for i, role in enumerate(roles)],
            ignore_conflicts=True)
    contracts_count = max(1, people_count // PEOPLE_PER_CONTRACT)
    entities = [us, uk]
    clients = Client.objects.bulk_create([Client(
        code=f"C{offset + i:05d}", name=f"Client {offset + i}", legal_entity=entities[i % 2],
        currency=entities[i % 2].base_currency) for i in range(contracts_count)])
    contracts = Contract.objects.bulk_create([Contract(
        code=f"K{offset + i:05d}", name=f"Engagement {i}", client=client,
        legal_entity=client.legal_entity, currency=client.currency,
        billing_model=Contract.BillingModel.TIME_AND_MATERIALS,
        revenue_method=Contract.RevenueMethod.AS_DELIVERED, status=Contract.Status.ACTIVE,
        value_amount=D("400000.00"), start_date=FIRST_MONTH, end_date=date(2026, 12, 31),
        signed_date=months[i % 12] + timedelta(days=9)) for i, client in enumerate(clients)])
    manager = Person.objects.create(
        employee_number=f"M{offset:05d}", first_name="Bench", last_name="Manager",
        email=f"manager{offset}@example.com", legal_entity=us, role=roles[3], country="US",
        hire_date=date(2019, 1, 7))
    lines = ("Cloud", "Data", "Security", "Strategy")
    projects = Project.objects.bulk_create([Project(
        code=f"P{offset + i:05d}", name=f"Project {i}", contract=contract, client=contract.client,
        legal_entity=contract.legal_entity, currency=contract.currency, manager=manager,
        start_date=FIRST_MONTH, end_date=date(2026, 12, 31), budget_hours=D("9000.00"),
        budget_cost_amount=D("500000.00"), budget_revenue_amount=D("900000.00"),
        service_line=lines[i % 4]) for i, contract in enumerate(contracts)])
    internal = Project.objects.create(
        code=f"INT{offset:05d}", name="Internal", is_internal=True, legal_entity=us,
        currency="USD", manager=manager, start_date=FIRST_MONTH, end_date=date(2026, 12, 31))
    tasks = Task.objects.bulk_create(
        [Task(project=p, wbs_code="1", name="Delivery") for p in projects]
        + [Task(project=internal, wbs_code="1", name="Training", is_billable=False)])
    internal_task = tasks[-1]
    people = Person.objects.bulk_create([Person(
        employee_number=f"E{offset + i:05d}", first_name=f"P{i}", last_name="Bench",
        email=f"e{offset + i}@example.com", legal_entity=entities[(i // PEOPLE_PER_CONTRACT) % 2],
        role=roles[i % 4], country=entities[(i // PEOPLE_PER_CONTRACT) % 2].country,
        hire_date=date(2020, 1, 6), weekly_standard_hours=D("40.00") if i % 10 else D("20.00"))
        for i in range(people_count)])
    entries, billed_by_month = [], {}
    day = FIRST_MONTH - timedelta(days=FIRST_MONTH.weekday())
    last_day = (END_MONTH + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    while day <= last_day:
        for i, person in enumerate(people):
            project_index = min(i // PEOPLE_PER_CONTRACT, len(projects) - 1)
            task, contract = tasks[project_index], contracts[project_index]
            for offset_days, hours, billable in ((0, "8.00", True), (4, "4.00", False)):
                work_date = day + timedelta(days=offset_days)
                if not FIRST_MONTH <= work_date <= last_day:
                    continue
                invoiced = billable and work_date.replace(day=1) < END_MONTH
                entries.append(TimeEntry(
                    person=person, task=task if billable else internal_task,
                    project_id=task.project_id if billable else internal.pk,
                    work_date=work_date, hours=D(hours), is_billable=billable,
                    status=TimeEntry.Status.INVOICED if invoiced else TimeEntry.Status.APPROVED,
                    bill_rate=D("150.0000"), bill_currency=contract.currency,
                    cost_rate=D("80.0000"), cost_currency=contract.currency,
                    approved_at=datetime.combine(work_date + timedelta(days=3),
                                                 datetime.min.time()).astimezone()))
        day += timedelta(days=7)
    TimeEntry.objects.bulk_create(entries, batch_size=5_000)
    for entry in entries:
        if entry.status == TimeEntry.Status.INVOICED:
            key = (entry.project_id, entry.work_date.replace(day=1))
            billed_by_month.setdefault(key, []).append(entry)
    contract_by_project = {p.pk: c for p, c in zip(projects, contracts, strict=True)}
    invoices, invoice_lines = [], []
    for (project_id, month), items in billed_by_month.items():
        contract = contract_by_project[project_id]
        month_end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        amount = sum((e.hours * e.bill_rate for e in items), D("0"))
        invoices.append(Invoice(
            legal_entity=contract.legal_entity, client=contract.client, contract=contract,
            number=f"B{offset}-{len(invoices):06d}", status=Invoice.Status.PAID,
            currency=contract.currency, cut_off=month_end, issue_date=month_end,
            due_date=month_end + timedelta(days=30), subtotal=amount, total=amount,
            amount_paid=amount, issued_at=datetime.combine(
                month_end, datetime.min.time()).astimezone()))
    Invoice.objects.bulk_create(invoices, batch_size=2_000)
    for invoice, ((project_id, _), items) in zip(invoices, billed_by_month.items(), strict=True):
        hours = sum((e.hours for e in items), D("0"))
        invoice_lines.append(InvoiceLine(
            invoice=invoice, kind=InvoiceLine.Kind.TIME, contract=invoice.contract,
            project_id=project_id, description="Consulting", quantity=hours,
            unit_price=D("150.0000"), base_amount=invoice.subtotal, amount=invoice.subtotal))
    InvoiceLine.objects.bulk_create(invoice_lines, batch_size=2_000)
    BilledItem.objects.bulk_create([
        BilledItem(line=line, invoice=line.invoice, time_entry=entry, raw_hours=entry.hours,
                   billed_hours=entry.hours, rate=entry.bill_rate,
                   amount=entry.hours * entry.bill_rate)
        for line, items in zip(invoice_lines, billed_by_month.values(), strict=True)
        for entry in items], batch_size=5_000)
    Payment.objects.bulk_create([Payment(
        invoice=invoice, amount=invoice.total, currency=invoice.currency,
        received_date=invoice.issue_date + timedelta(days=40)) for invoice in invoices],
        batch_size=5_000)
    runs = {}
    for entity in entities:
        for month in months:
            runs[(entity.pk, month)] = RecognitionRun.objects.create(
                legal_entity=entity, period=month, status=RecognitionRun.Status.COMPLETED)
    schedules = RevenueSchedule.objects.bulk_create([RevenueSchedule(
        contract=c, method="as_delivered", currency=c.currency, value_amount=c.value_amount)
        for c in contracts])
    RecognitionEntry.objects.bulk_create([RecognitionEntry(
        run=runs[(c.legal_entity_id, month)], contract=c, month=month, currency=c.currency,
        amount=D("24000.00") + i % 7 * 100, cumulative_amount=D("0.00"))
        for i, c in enumerate(contracts) for month in months], batch_size=5_000)
    ScheduleLine.objects.bulk_create([ScheduleLine(
        schedule=s, month=month, planned_amount=D("25000.00"), recognised_amount=D("0.00"))
        for s in schedules for month in months], batch_size=5_000)
    Assignment.objects.bulk_create([Assignment(
        person=p, project=projects[min(i // PEOPLE_PER_CONTRACT, len(projects) - 1)],
        role=p.role, start_date=FIRST_MONTH, end_date=date(2026, 12, 31),
        hours_per_week=D("32.00"), booking="hard") for i, p in enumerate(people)],
        batch_size=5_000)
    TimeOff.objects.bulk_create([TimeOff(person=p, start_date=date(2025, 8, 4),
                                         end_date=date(2025, 8, 8)) for p in people[::5]])
    if connection.vendor == "postgresql":
        # A bulk load leaves the planner without statistics (autovacuum would gather them in
        # a minute on a live database); without them it picks nested loops over 200,000 rows.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"seeded {len(people)} people, {len(contracts)} contracts, {len(entries)} time "
          f"entries, {len(invoices)} invoices")


FLOOR_SQL = {
    "time by month": """
        SELECT {month_of_work}, SUM(t.hours),
               SUM(CASE WHEN t.is_billable THEN t.hours ELSE 0 END),
               SUM(CASE WHEN p.is_internal THEN 0 ELSE t.hours END),
               SUM(t.hours * t.cost_rate)
        FROM psa_timeentry t JOIN psa_project p ON p.id = t.project_id
        WHERE t.status IN ('approved', 'invoiced', 'written_off')
          AND t.work_date BETWEEN %(first)s AND %(last)s GROUP BY 1""",
    "contracts signed": """
        SELECT currency, SUM(value_amount) FROM psa_contract
        WHERE signed_date BETWEEN %(first)s AND %(last)s GROUP BY currency""",
    "recognised and plan": """
        SELECT month, currency, SUM(amount) FROM revenue_recognitionentry
        WHERE month <= %(last)s GROUP BY month, currency
        UNION ALL
        SELECT l.month, s.currency, SUM(l.planned_amount) FROM revenue_scheduleline l
        JOIN revenue_revenueschedule s ON s.id = l.schedule_id
        WHERE l.month BETWEEN %(first)s AND %(last)s GROUP BY l.month, s.currency""",
    "invoices and payments": """
        SELECT issue_date, currency, SUM(total) FROM billing_invoice
        WHERE issue_date <= %(last)s GROUP BY issue_date, currency
        UNION ALL
        SELECT received_date, currency, SUM(amount) FROM billing_payment
        WHERE received_date <= %(last)s GROUP BY received_date, currency""",
    "standard value by month": """
        SELECT {month_of_work}, k.currency, SUM(t.hours * (
            SELECT l.hourly_rate FROM psa_ratecardline l
            JOIN psa_ratecard c ON c.id = l.rate_card_id
            WHERE c.kind = 'standard' AND c.is_active AND c.currency = k.currency
              AND l.role_id = pe.role_id AND l.effective_from <= t.work_date
            ORDER BY l.effective_from DESC LIMIT 1))
        FROM psa_timeentry t JOIN psa_person pe ON pe.id = t.person_id
        JOIN psa_project p ON p.id = t.project_id JOIN psa_contract k ON k.id = p.contract_id
        WHERE t.is_billable AND t.work_date BETWEEN %(first)s AND %(last)s
        GROUP BY 1, k.currency""",
    "billed time by month": """
        SELECT {month_of_work}, SUM(b.amount), SUM(b.billed_hours)
        FROM billing_billeditem b JOIN psa_timeentry t ON t.id = b.time_entry_id
        WHERE b.is_live AND t.work_date BETWEEN %(first)s AND %(last)s GROUP BY 1""",
}


def floor_statements() -> list[str]:
    month = ("strftime('%%Y-%%m', t.work_date)" if connection.vendor == "sqlite"
             else "date_trunc('month', t.work_date)")
    return [sql.format(month_of_work=month) for sql in FLOOR_SQL.values()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    with harness.throwaway_database():
        from django.contrib.auth.models import Group, User
        from django.test import Client

        from insight.selectors.dashboard import build_scope, dashboard

        started = time.monotonic()
        seed(args.people // 10)
        executive = User.objects.create_user("bench-exec", password="x")
        executive.groups.add(Group.objects.get_or_create(name="executive")[0])
        browser = Client()
        browser.force_login(executive)

        def page() -> None:
            response = browser.get("/dashboard/", {"month": f"{END_MONTH:%Y-%m}"})
            assert response.status_code == 200, response.status_code

        small_queries = harness.queries(page)
        seed(args.people - args.people // 10, offset=50_000)
        print(f"seeding took {time.monotonic() - started:.0f} s")
        full_queries = harness.queries(page)
        print(f"page queries: {small_queries} at {args.people // 10} people, {full_queries} at "
              f"{args.people} people")
        if small_queries != full_queries:
            raise SystemExit("the dashboard's query count grows with the firm's size")
        params = {"first": FIRST_MONTH, "last": date(2026, 3, 31)}
        statements = floor_statements()

        def floor() -> None:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql, params)
                    cursor.fetchall()

        def measures() -> None:
            dashboard(scope=build_scope(end_month=END_MONTH))

        harness.report([("dashboard measures, 12 months", measures, floor),
                        ("dashboard page (HTML), 12 months", page, floor)],
                       args.repetitions, heading=f"{args.people:,} people")


if __name__ == "__main__":
    main()
