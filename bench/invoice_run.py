"""One invoice run over a firm of 2,000 people, as a ratio to a raw-SQL floor; peak memory.

    .venv/bin/python bench/invoice_run.py [--months 1] [--profile]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python \\
        bench/invoice_run.py --months 12

Builds a throwaway test database (real data is never touched; on PostgreSQL its own
`test_bench_<pid>` database) with one legal entity, 2,000 people in 5 roles, 200 clients (a
tenth of those with two contracts ask for consolidated invoices), 300 active T&M contracts
(one in eight capped, half of those below what they bill, so the run holds the excess) with one
project of two billable tasks each, and approved billable time with frozen bill and cost rates:
every person books 2.00 to 4.00 h on each of their two tasks every working day of the last
`--months` months up to the cut-off (about 90,000 entries a month; 12 months are about
1,000,000), plus a week of entries after the cut-off the run must leave alone, and one billable
expense per person and week on every third contract. The entries are written by ONE
`INSERT INTO psa_timeentry … SELECT` joining a scratch table of (person, task, rate) slots with a
scratch table of working days, so seeding 12 months takes seconds on PostgreSQL.

Then two things run on the same data, the floor first:

1. The floor, inside a transaction that is rolled back afterwards (so the run sees the same
   rows; on PostgreSQL a `VACUUM ANALYZE` then removes the rolled-back row versions, so the run
   does not scan a bloated table): what any invoice run must at least do, in raw SQL through
   the DB-API cursor — one placeholder invoice, `INSERT INTO billing_billeditem … SELECT` of
   every eligible entry and expense (active T&M contract, approved, billable, rated in the
   contract's currency, on or before the cut-off, not held, not already linked; `ON CONFLICT …
   DO NOTHING` as linking.py does), ONE aggregate per contract, project, role and rate (and
   per contract and expense category), and the marking `UPDATE psa_timeentry SET status =
   'invoiced'` (and of the expenses) for the linked rows.
2. The run: `invoice_run_execute(run_id=…, inline=True)` over all entities — every client in
   this process, one transaction per contract (per client when consolidated), as a worker
   would run the fanned-out tasks one after another.

Printed: the run's wall time as a ratio to the floor (aim: at most 3 x), its SQL statement count,
and its peak memory: the process's resident-set high-water mark during the run (VmHWM, reset
through /proc/self/clear_refs just before; ru_maxrss where that is unavailable) against the
budget of 500 MB. No wall-clock assertion; the figures are for reading. Checked after the run
(exits 1 otherwise): the run completed, every eligible entry and expense has exactly one live
link and is invoiced, nothing else was linked, no invoice is without lines, no link without a
line, and the time lines add up to the floor's rounded groups to the cent.

`--profile` runs the invoice run under cProfile and prints what dominates (the time printed is
then the profiled time, not the figure).
"""

import argparse
import cProfile
import pstats
import re
import resource
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import harness  # sets Django up; first
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

PEOPLE, CLIENTS, CONTRACTS = 2_000, 200, 300
CUT_OFF = date(2026, 10, 31)
MEMORY_BUDGET_MB = 500
ROLE_RATES = (("AN", "Analyst", Decimal("120")), ("CO", "Consultant", Decimal("150")),
              ("SC", "Senior Consultant", Decimal("200")), ("MA", "Manager", Decimal("240")),
              ("PA", "Partner", Decimal("320")))
CATEGORIES = ("lodging", "meals", "ground_transport", "airfare")


def working_days(months: int) -> tuple[list[date], list[date]]:
    """Weekdays of the `months` months up to the cut-off, and the first week after it."""
    first = CUT_OFF.replace(day=1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    days = [first + timedelta(days=n) for n in range((CUT_OFF - first).days + 1)]
    after = [CUT_OFF + timedelta(days=n) for n in range(1, 8)]
    return ([d for d in days if d.weekday() < 5], [d for d in after if d.weekday() < 5])


def seed_master_data() -> list[tuple]:
    """Entity, roles, people, clients, contracts, projects and tasks (ORM, bulk); returns the
    (person id, project id, task id, bill rate, cost rate) slots time is booked on."""
    from psa.models import Client, Contract, LegalEntity, Person, Project, Role, Task

    entity = LegalEntity.objects.create(code="US", name="Bench Consulting Inc.", country="US",
                                        base_currency="USD", time_zone="America/New_York",
                                        invoice_prefix="US")
    roles = Role.objects.bulk_create([Role(code=code, name=name, level=level + 1)
                                      for level, (code, name, _) in enumerate(ROLE_RATES)])
    people = Person.objects.bulk_create([
        Person(employee_number=f"B{n:05d}", first_name=f"First{n}", last_name=f"Last{n:05d}",
               email=f"b{n}@example.com", legal_entity=entity, role=roles[n % 5],
               country="US", hire_date=date(2020, 1, 6)) for n in range(PEOPLE)])
    clients = Client.objects.bulk_create([
        Client(code=f"C{n:04d}", name=f"Client {n:04d} Inc.", legal_entity=entity,
               currency="USD", country="US", tax_rate=Decimal("8.2500"),
               tax_jurisdiction="US-NY", billing_contact_email=f"ap{n}@example.com",
               consolidated_invoicing=n % 10 == 0 and n < CONTRACTS - CLIENTS)
        for n in range(CLIENTS)])
    contracts = Contract.objects.bulk_create([
        Contract(code=f"K{n:04d}", name=f"Engagement {n}", client=clients[n % CLIENTS],
                 legal_entity=entity, currency="USD",
                 billing_model="tm_cap" if n % 8 == 0 else "tm", revenue_method="as_delivered",
                 status="active", value_amount=Decimal("1000000.00"),
                 cap_amount=(Decimal("100000.00") if n % 16 == 0 else Decimal("90000000.00"))
                 if n % 8 == 0 else None,
                 start_date=date(2020, 1, 1), end_date=date(2030, 12, 31),
                 expense_markup_percent=Decimal("10.0000") if n % 2 else Decimal("0"))
        for n in range(CONTRACTS)])
    projects = Project.objects.bulk_create([
        Project(code=f"P{n:04d}", name=f"Project {n}", contract=c, client=c.client,
                legal_entity=entity, manager=people[0], currency="USD",
                start_date=date(2020, 1, 1), end_date=date(2030, 12, 31),
                budget_hours=Decimal("100000.00"), budget_cost_amount=Decimal("0"),
                budget_revenue_amount=Decimal("0")) for n, c in enumerate(contracts)])
    tasks = Task.objects.bulk_create([
        Task(project=p, wbs_code=str(k + 1), name=("Delivery", "Support")[k], is_billable=True,
             budget_hours=Decimal("10000.00")) for p in projects for k in range(2)])
    slots = []
    for n, person in enumerate(people):
        base = ROLE_RATES[n % 5][2]
        for k, index in enumerate((n % CONTRACTS, (n * 7 + 1) % CONTRACTS)):
            rate = base + 5 * (index % 3)  # contracts negotiate a little
            slots.append((person.pk, projects[index].pk, tasks[2 * index + k].pk, rate,
                          Decimal(60 + n % 40), index, k))
    return slots


def _scratch_tables(slots: list[tuple], days: list[date], after: list[date]) -> None:
    dates = connection.ops.adapt_datefield_value
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_slot (seq INTEGER, person_id BIGINT, "
                       "project_id BIGINT, task_id BIGINT, bill_rate NUMERIC(12, 4), "
                       "cost_rate NUMERIC(12, 4), with_expenses INTEGER, first_task INTEGER)")
        cursor.executemany(
            "INSERT INTO bench_slot VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(seq, person, project, task, str(rate), str(cost), int(index % 3 == 0), int(k == 0))
             for seq, (person, project, task, rate, cost, index, k) in enumerate(slots)])
        cursor.execute("CREATE TABLE bench_day (seq INTEGER, work_date DATE, "
                       "is_wednesday INTEGER, after_cut_off INTEGER)")
        cursor.executemany("INSERT INTO bench_day VALUES (%s, %s, %s, %s)",
                           [(seq, dates(day), int(day.weekday() == 2), int(day > CUT_OFF))
                            for seq, day in enumerate(days + after)])


def seed_work(slots: list[tuple], months: int) -> tuple[int, int]:
    """Approved time (and expenses) for every slot and working day: two INSERT … SELECT."""
    days, after = working_days(months)
    _scratch_tables(slots, days, after)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    hours = "((8 + (s.seq + d.seq) %% 9) * 0.25)"  # 2.00 to 4.00 h, at most 8 h a day
    amount = "(20 + ((s.seq * 7 + d.seq) %% 60) * 7.25)"
    category = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(CATEGORIES))
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO psa_timeentry (created_at, updated_at, status, approved_at,
                rejection_reason, person_id, project_id, task_id, work_date, hours, is_billable,
                notes, bill_rate, bill_currency, rate_source, cost_rate, cost_currency)
            SELECT %s, %s, 'approved', %s, '', s.person_id, s.project_id, s.task_id,
                   d.work_date, {hours}, %s, '', s.bill_rate, 'USD', 'bench', s.cost_rate, 'USD'
            FROM bench_slot s CROSS JOIN bench_day d
            WHERE d.after_cut_off = 0 OR s.first_task = 1
        """, [now, now, now, True])
        entries = cursor.rowcount
        cursor.execute(f"""
            INSERT INTO psa_expense (created_at, updated_at, status, approved_at,
                rejection_reason, person_id, project_id, expense_date, category, merchant,
                notes, amount, currency, exchange_rate, project_amount, project_currency,
                is_billable, receipt, receipt_content_type, is_over_policy, justification)
            SELECT %s, %s, 'approved', %s, '', s.person_id, s.project_id, d.work_date,
                   CASE (s.seq + d.seq) %% 4 {category} END, 'Bench', '', {amount}, 'USD', 1,
                   {amount}, 'USD', %s, '', '', %s, ''
            FROM bench_slot s CROSS JOIN bench_day d
            WHERE s.with_expenses = 1 AND s.first_task = 1 AND d.is_wednesday = 1
        """, [now, now, now, True, False])
        expenses = cursor.rowcount
        cursor.execute("DROP TABLE bench_slot")
        cursor.execute("DROP TABLE bench_day")
        cursor.execute("ANALYZE")  # planner statistics, as a live database has them
    return entries, expenses


ELIGIBLE_TIME = """
    FROM psa_timeentry te
    JOIN psa_project p ON p.id = te.project_id
    JOIN psa_contract c ON c.id = p.contract_id
    WHERE c.status = 'active' AND c.billing_model IN ('tm', 'tm_cap')
      AND te.status = 'approved' AND te.is_billable = %s AND te.bill_rate IS NOT NULL
      AND te.bill_currency = c.currency AND te.work_date <= %s
      AND NOT EXISTS (SELECT 1 FROM billing_helditem h WHERE h.time_entry_id = te.id)
      AND NOT EXISTS (SELECT 1 FROM billing_billeditem b
                      WHERE b.time_entry_id = te.id AND b.is_live = %s)
"""
ELIGIBLE_EXPENSES = """
    FROM psa_expense ex
    JOIN psa_project p ON p.id = ex.project_id
    JOIN psa_contract c ON c.id = p.contract_id
    WHERE c.status = 'active' AND c.expenses_billable = %s
      AND ex.status = 'approved' AND ex.is_billable = %s AND ex.project_currency = c.currency
      AND ex.expense_date <= %s
      AND NOT EXISTS (SELECT 1 FROM billing_helditem h WHERE h.expense_id = ex.id)
      AND NOT EXISTS (SELECT 1 FROM billing_billeditem b
                      WHERE b.expense_id = ex.id AND b.is_live = %s)
"""


def floor() -> tuple[float, int, int, list[tuple]]:
    """The floor (module docstring), rolled back; (seconds, entries, expenses, time groups)."""
    from psa.models import Client

    client = Client.objects.order_by("pk").first()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    cut_off = connection.ops.adapt_datefield_value(CUT_OFF)
    with transaction.atomic():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO billing_invoice (created_at, updated_at, kind, legal_entity_id, "
                "client_id, number, status, currency, payment_terms_days, tax_rate, subtotal, "
                "tax_amount, total, amount_paid, notes, reason, release_items, pdf, emailed_to)"
                " VALUES (%s, %s, 'invoice', %s, %s, '', 'draft', 'USD', 30, 0, 0, 0, 0, 0, "
                "'', '', %s, '', '')", [now, now, client.legal_entity_id, client.pk, False])
            invoice_id = cursor.lastrowid if connection.vendor == "sqlite" else None
            if invoice_id is None:
                cursor.execute("SELECT MAX(id) FROM billing_invoice")
                invoice_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO billing_billeditem (invoice_id, time_entry_id, raw_hours, "
                "billed_hours, rate, is_live) SELECT %s, te.id, te.hours, te.hours, "
                f"te.bill_rate, %s {ELIGIBLE_TIME} "
                "ON CONFLICT (time_entry_id) WHERE is_live DO NOTHING",
                [invoice_id, True, True, cut_off, True])
            entries = cursor.rowcount
            cursor.execute(
                "INSERT INTO billing_billeditem (invoice_id, expense_id, amount, is_live) "
                f"SELECT %s, ex.id, ex.project_amount, %s {ELIGIBLE_EXPENSES} "
                "ON CONFLICT (expense_id) WHERE is_live DO NOTHING",
                [invoice_id, True, True, True, cut_off, True])
            expenses = cursor.rowcount
            cursor.execute("""
                SELECT p.contract_id, te.project_id, pe.role_id, b.rate, SUM(b.billed_hours)
                FROM billing_billeditem b
                JOIN psa_timeentry te ON te.id = b.time_entry_id
                JOIN psa_project p ON p.id = te.project_id
                JOIN psa_person pe ON pe.id = te.person_id
                WHERE b.invoice_id = %s
                GROUP BY p.contract_id, te.project_id, pe.role_id, b.rate""", [invoice_id])
            groups = cursor.fetchall()
            cursor.execute("""
                SELECT p.contract_id, ex.category, SUM(b.amount)
                FROM billing_billeditem b
                JOIN psa_expense ex ON ex.id = b.expense_id
                JOIN psa_project p ON p.id = ex.project_id
                WHERE b.invoice_id = %s GROUP BY p.contract_id, ex.category""", [invoice_id])
            cursor.fetchall()
            cursor.execute("UPDATE psa_timeentry SET status = 'invoiced', updated_at = %s "
                           "WHERE id IN (SELECT time_entry_id FROM billing_billeditem "
                           "WHERE invoice_id = %s AND time_entry_id IS NOT NULL)",
                           [now, invoice_id])
            cursor.execute("UPDATE psa_expense SET status = 'invoiced', updated_at = %s "
                           "WHERE id IN (SELECT expense_id FROM billing_billeditem "
                           "WHERE invoice_id = %s AND expense_id IS NOT NULL)",
                           [now, invoice_id])
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # drop the rolled-back row versions
    return elapsed, entries, expenses, groups


class _Memory:
    """The process's resident-set high-water mark over a block, in MB."""

    def __enter__(self) -> "_Memory":
        self.reset = self._clear_refs()
        self.before = self._status("VmRSS") if self.reset else None
        self.maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return self

    def __exit__(self, *exc: object) -> None:
        if self.reset:
            self.peak = self._status("VmHWM")
            self.how = "VmHWM"
        else:  # only grows: the delta says how far the run raised the process's peak
            self.peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            self.before = self.maxrss_before
            self.how = "ru_maxrss"

    @staticmethod
    def _clear_refs() -> bool:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # 5: reset the RSS high-water mark
        except OSError:
            return False
        return True

    @staticmethod
    def _status(field: str) -> float:
        text = Path("/proc/self/status").read_text()
        return int(re.search(rf"{field}:\s+(\d+) kB", text).group(1)) / 1024


class _StatementCounter:
    """Counts SQL statements without keeping them (a CaptureQueriesContext would hold them all);
    with `timed`, also the seconds spent per statement text (the same ORM query has the same
    text for every contract), for --profile."""

    def __init__(self, timed: bool = False) -> None:
        self.count, self.timed = 0, timed
        self.seconds: dict[str, list[float]] = {}

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if not self.timed:
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = self.seconds.setdefault(" ".join(sql.split()), [0.0, 0])
            spent[0] += time.perf_counter() - started
            spent[1] += 1

    def print_slowest(self, top: int = 12) -> None:
        total = sum(seconds for seconds, _ in self.seconds.values())
        print(f"Slowest SQL statements by total time (of {self.count:,}, {total:.2f} s in all):")
        for sql, (seconds, calls) in sorted(self.seconds.items(), key=lambda kv: -kv[1][0])[:top]:
            print(f"  {seconds:7.2f} s {calls:>6} x  {sql[:400]}")


def run_once(profile: bool) -> tuple[float, int, _Memory, object]:
    from billing.models import InvoiceRun
    from billing.services.runs import invoice_run_execute

    run = InvoiceRun.objects.create(cut_off=CUT_OFF)
    counter = _StatementCounter(timed=profile)
    profiler = cProfile.Profile() if profile else None
    with _Memory() as memory, connection.execute_wrapper(counter):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        finished = invoice_run_execute(run_id=run.pk, inline=True)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
    if profiler:
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(20)
        counter.print_slowest()
    return elapsed, counter.count, memory, finished


def verify(run, entries: int, expenses: int, groups: list[tuple]) -> list[str]:
    """What must hold after the run; returns the failures."""
    from django.db.models import Count, Sum

    from billing.models import BilledItem, Invoice, InvoiceLine, InvoiceRun
    from psa.common.money import quantize
    from psa.models import Expense, TimeEntry

    problems = []
    if run.status != InvoiceRun.Status.COMPLETED:
        problems.append(f"the run is {run.status}, not completed")
    live = BilledItem.objects.filter(is_live=True)
    linked = live.filter(time_entry__isnull=False).aggregate(
        n=Count("id"), distinct=Count("time_entry_id", distinct=True))
    if linked != {"n": entries, "distinct": entries}:
        problems.append(f"time links {linked}, expected {entries} distinct entries")
    if TimeEntry.objects.filter(status="invoiced").count() != entries:
        problems.append("not every linked entry is invoiced")
    if TimeEntry.objects.filter(status="approved", work_date__lte=CUT_OFF).exists():
        problems.append("eligible entries were left approved")
    if TimeEntry.objects.filter(status="invoiced", work_date__gt=CUT_OFF).exists():
        problems.append("entries after the cut-off were billed")
    if live.filter(expense__isnull=False).count() != expenses or Expense.objects.filter(
            status="invoiced").count() != expenses:
        problems.append("expenses are not linked exactly once")
    if BilledItem.objects.filter(line__isnull=True).exists():
        problems.append("links without a line")
    if Invoice.objects.filter(lines__isnull=True).exists():
        problems.append("invoices without lines")
    expected = sum((quantize(Decimal(str(hours)) * Decimal(str(rate)), "USD")
                    for *_, rate, hours in groups),
                   Decimal("0.00"))
    billed = InvoiceLine.objects.filter(kind="time").aggregate(s=Sum("amount"))["s"]
    if billed != expected:
        problems.append(f"time lines add up to {billed}, the floor's groups to {expected}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    settings.DEBUG = False  # as in production: no query log

    from billing.models import Invoice, InvoiceLine

    with harness.throwaway_database():
        started = time.perf_counter()
        slots = seed_master_data()
        seeded_entries, seeded_expenses = seed_work(slots, args.months)
        seed_s = time.perf_counter() - started
        floor_s, entries, expenses, groups = floor()
        run_s, statements, memory, run = run_once(args.profile)
        problems = verify(run, entries, expenses, groups)
        invoices = Invoice.objects.count()
        caps = InvoiceLine.objects.filter(kind="cap_adjustment").count()
        consolidated = Invoice.objects.filter(contract__isnull=True).count()

    label = " (profiled)" if args.profile else ""
    print(f"{connection.vendor}, {args.months} month(s) up to {CUT_OFF}, {PEOPLE:,} people, "
          f"{CONTRACTS} active T&M contracts of {CLIENTS} clients")
    print(f"  seeded                {seeded_entries:>10,} time entries, "
          f"{seeded_expenses:,} expenses in {seed_s:.1f} s")
    print(f"  eligible              {entries:>10,} entries, {expenses:,} expenses")
    print(f"  floor (raw SQL)       {floor_s:>10.2f} s")
    print(f"  invoice run{label:<11}{run_s:>10.2f} s  = {run_s / floor_s:.1f} x floor, "
          f"{statements:,} SQL statements, {run.total_units} contracts, "
          f"{invoices} invoices ({consolidated} consolidated, {caps} with a cap adjustment)")
    print(f"  peak memory ({memory.how})  {memory.peak:>8.0f} MB  "
          f"(+{memory.peak - memory.before:.0f} MB over the {memory.before:.0f} MB before)")
    memory_ok = memory.peak < MEMORY_BUDGET_MB
    print(f"  budget memory < {MEMORY_BUDGET_MB} MB: {'OK' if memory_ok else 'EXCEEDED'}; "
          f"aim <= 3 x floor: {'met' if run_s <= 3 * floor_s else 'not met'}")
    for problem in problems:
        print(f"  CHECK FAILED: {problem}")
    if problems:
        sys.exit(1)
    print("  checks: run completed; every eligible entry and expense linked once and invoiced;"
          " no invoice without lines; time lines = floor groups to the cent")


if __name__ == "__main__":
    main()
