"""One recognition run over 3,000 contracts and 12 months of data, as a ratio to raw SQL
aggregates computing the same figures; peak memory.

    .venv/bin/python bench/recognition.py [--profile]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/recognition.py

Builds a throwaway test database (real data is never touched; on PostgreSQL its own
`test_bench_<pid>` database) with one legal entity and 3,000 active contracts, each with one
project of two tasks (the second non-billable) and two people booking 2.00 to 4.00 h on them
every working day from November 2025 to October 2026 (about 1.5 million time entries with
frozen bill and cost rates; October's approved, earlier months invoiced, one in 17 left
submitted, which must not count), a weekly expense on every third contract (one in four not
billable). The methods:

* 900 T&M as delivered and 300 capped T&M (half capped at 100,000.00, reached mid-year, so
  the run stops them at the cap);
* 450 percent complete on cost and 450 on hours, each with an estimate from November, half
  revised in May, and in October a fifth revised down (more complete) and a fifth revised up
  (less complete: the run posts a reversal);
* 450 milestone contracts with four milestones accepted in January, April, July and (for half
  of them) October; one in five has a milestone that needs no acceptance;
* 450 ratable contracts with service periods of 12 to 36 months starting November to
  February (some ending in October, which then takes their residual), half invoiced up front
  (so recognition draws down deferred revenue; the rest builds an unbilled receivable).

Time and expenses are written by ONE `INSERT … SELECT` each, crossing a scratch table of
(person, task, rate) slots with a scratch table of working days.

Then, in order:

1. November to September are recognised, untimed, one `recognition_run_execute` per month, so
   October's run finds eleven months posted and posts differences, as in production.
2. The floor, timed (median of 3 after one warm-up): raw SQL aggregates through the DB-API
   cursor giving every figure the run needs per contract at the end of October — billable time
   value, time cost and hours; billable and all expenses; accepted milestones; the estimate in
   force; recognised before — one `GROUP BY contract` statement each.
3. Peak memory: October's run under `tracemalloc` inside a transaction that is rolled back
   (tracemalloc slows Python several-fold, so this pass is not the timed one; on PostgreSQL a
   `VACUUM ANALYZE` then drops the rolled-back row versions).
4. The timed run: `recognition_run_execute` for October, committed. Then once more (a re-run
   that must post nothing), timed for reference.

Printed: the run's wall time as a ratio to the floor (aim: at most 3 x), its SQL statement
count, the time spent in each step of the run's chunks (targets, journals, schedule lines; the
services' functions wrapped with a timer), the re-run's time, and the tracemalloc peak against
the budget of 500 MB. No wall-clock
assertion; the figures are for reading. Checked after the run (exits 1 otherwise): the run
completed; every contract's recognised to date equals the figure computed in Python from the
floor's aggregates to the cent (T&M capped at the cap, percent complete with the estimate in
force, milestones, ratable by days); the re-run posted nothing; every journal entry balances
and every recognition entry of October has exactly one journal entry.

`--profile` runs the timed run under cProfile and prints what dominates, with the slowest SQL
statements (the printed time is then the profiled time, not the figure). `--scale 0.1` builds a
tenth of the contracts, for trying the script out.
"""

import argparse
import cProfile
import pstats
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import harness  # sets Django up; first
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

FIRST, LAST = date(2025, 11, 1), date(2026, 10, 1)  # twelve months; LAST is the timed one
MEMORY_BUDGET_MB = 500
D = Decimal
ZERO = D("0.00")
# (method, billing model, how many); capped T&M is as delivered with a cap.
MIX = (("as_delivered", "tm", 900), ("as_delivered", "tm_cap", 300),
       ("pct_cost", "fixed_milestones", 450), ("pct_hours", "fixed_installments", 450),
       ("milestone", "fixed_milestones", 450), ("ratable", "retainer", 450))


def months() -> list[date]:
    from revenue.services.targets import months_between

    return months_between(FIRST, LAST)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def working_days() -> list[date]:
    end = (LAST + timedelta(days=32)).replace(day=1)
    days = [FIRST + timedelta(days=n) for n in range((end - FIRST).days)]
    return [d for d in days if d.weekday() < 5]


def plan_contracts(scale: float) -> list[dict]:
    """Each contract's method and figures, in a fixed order (so runs are comparable)."""
    plan, n = [], 0
    for method, billing_model, count in MIX:
        for k in range(max(5, round(count * scale))):
            row = {"n": n, "k": k, "method": method, "billing_model": billing_model,
                   "cap": None, "start": date(2025, 6, 1), "end": date(2027, 12, 31),
                   "value": D("500000.00")}
            if billing_model == "tm_cap":
                row["cap"] = D("100000.00") if k % 2 == 0 else D("10000000.00")
            elif method in ("pct_cost", "pct_hours"):
                row["value"] = D("200000.00") + 1000 * (k % 50)
            elif method == "milestone":
                row["value"] = D("100000.00") + D("250.50") * (k % 40)
            elif method == "ratable":
                row["value"] = D("120000.00") + D("37.13") * (k % 100)
                row["start"] = add_months(FIRST, k % 4) + timedelta(days=k % 9)
                row["end"] = add_months(row["start"], 12 + k % 25) - timedelta(days=1 + k % 5)
            plan.append(row)
            n += 1
    return plan


def seed_master_data(plan: list[dict]) -> tuple[object, list[tuple]]:
    """Entity, people, clients, contracts, projects, tasks, estimates, milestones and up-front
    invoice journals (ORM, bulk); returns the entity and the time slots (person, project,
    task, bill rate, cost rate, billable, contract number)."""
    from psa.models import (
        Client,
        Contract,
        LegalEntity,
        Milestone,
        Person,
        Project,
        Role,
        Task,
    )
    from revenue.models import ContractEstimate

    entity = LegalEntity.objects.create(code="US", name="Bench Consulting Inc.", country="US",
                                        base_currency="USD", time_zone="America/New_York",
                                        invoice_prefix="US")
    role = Role.objects.create(code="CO", name="Consultant", level=2)
    people = Person.objects.bulk_create([
        Person(employee_number=f"R{n:05d}", first_name=f"First{n}", last_name=f"Last{n:05d}",
               email=f"r{n}@example.com", legal_entity=entity, role=role, country="US",
               hire_date=date(2020, 1, 6)) for n in range(len(plan))], batch_size=1000)
    clients = Client.objects.bulk_create([
        Client(code=f"C{n:04d}", name=f"Client {n:04d} Inc.", legal_entity=entity,
               currency="USD", country="US", tax_rate=D("8.2500"), tax_jurisdiction="US-NY")
        for n in range(len(plan) // 5)], batch_size=1000)
    contracts = Contract.objects.bulk_create([
        Contract(code=f"K{row['n']:04d}", name=f"Engagement {row['n']}",
                 client=clients[row["n"] % len(clients)], legal_entity=entity, currency="USD",
                 billing_model=row["billing_model"], revenue_method=row["method"],
                 status="active", value_amount=row["value"], cap_amount=row["cap"],
                 retainer_amount=D("10000.00") if row["billing_model"] == "retainer" else None,
                 start_date=row["start"], end_date=row["end"],
                 expense_markup_percent=D("10.0000") if row["n"] % 2 else D("0"))
        for row in plan], batch_size=1000)
    projects = Project.objects.bulk_create([
        Project(code=f"P{n:04d}", name=f"Project {n}", contract=c, client_id=c.client_id,
                legal_entity=entity, manager=people[0], currency="USD",
                start_date=date(2025, 6, 1), end_date=date(2027, 12, 31),
                budget_hours=D("2500.00"), budget_cost_amount=D("200000.00"),
                budget_revenue_amount=c.value_amount)
        for n, c in enumerate(contracts)], batch_size=1000)
    tasks = Task.objects.bulk_create([
        Task(project=p, wbs_code=str(k + 1), name=("Delivery", "Internal review")[k],
             is_billable=k == 0, budget_hours=D("1000.00"))
        for p in projects for k in range(2)], batch_size=2000)
    estimates, milestones = [], []
    for row, contract in zip(plan, contracts, strict=True):
        k = row["k"]
        if row["method"] in ("pct_cost", "pct_hours"):
            by_cost = row["method"] == "pct_cost"
            base = D(180000 + 5000 * (k % 7)) if by_cost else D(2400 + 100 * (k % 7))
            revisions = [(FIRST, base)]
            if k % 2 == 0:
                revisions.append((date(2026, 5, 1), base * D("1.2")))
            if k % 5 == 0:
                revisions.append((LAST, revisions[-1][1] * D("0.8")))
            elif k % 5 == 1:
                revisions.append((LAST, revisions[-1][1] * D("1.5")))
            estimates += [ContractEstimate(
                contract=contract, effective_month=month,
                total_cost_amount=total.quantize(D("0.01")) if by_cost else None,
                total_hours=None if by_cost else total.quantize(D("0.01")))
                for month, total in revisions]
        elif row["method"] == "milestone":
            milestones += _milestones(row, projects[row["n"]])
    ContractEstimate.objects.bulk_create(estimates, batch_size=2000)
    Milestone.objects.bulk_create(milestones, batch_size=2000)
    _upfront_invoices(entity, plan, contracts)
    slots = [(people[(2 * row["n"] + k) % len(plan)].pk, projects[row["n"]].pk,
              tasks[2 * row["n"] + k].pk, D(150 + 10 * (row["n"] % 5)), D(60 + row["n"] % 40),
              k == 0, row["n"]) for row in plan for k in range(2)]
    return entity, slots


def _milestones(row: dict, project) -> list:
    """Four milestones: accepted on the 15th of January, April, July and (half the contracts)
    October; the second needs no acceptance for one contract in five."""
    from psa.models import Milestone

    amounts = [(row["value"] / 4).quantize(D("0.01"))] * 3
    amounts.append(row["value"] - sum(amounts))
    result = []
    for j, (month, amount) in enumerate(zip(
            (date(2026, 1, 15), date(2026, 4, 15), date(2026, 7, 15), date(2026, 10, 15)),
            amounts, strict=True)):
        at = datetime(month.year, month.month, month.day, 15, tzinfo=UTC)
        done = j < 3 or row["k"] % 2 == 0
        no_acceptance = j == 1 and row["k"] % 5 == 0
        status = ("completed" if no_acceptance else "accepted") if done else "completed"
        result.append(Milestone(
            project=project, name=f"Milestone {j + 1}", due_date=month, amount=amount,
            currency="USD", requires_acceptance=not no_acceptance, status=status,
            completed_at=at, accepted_at=at if done and not no_acceptance else None))
    return result


def _upfront_invoices(entity, plan: list[dict], contracts: list) -> None:
    """Every other ratable contract is invoiced in full in its first month: its recognition
    then draws down deferred revenue instead of building an unbilled receivable."""
    from revenue.models import JournalEntry, JournalLine

    journals = []
    for row, contract in zip(plan, contracts, strict=True):
        if row["method"] == "ratable" and row["k"] % 2 == 0:
            journals.append(JournalEntry(
                legal_entity=entity, entry_date=row["start"],
                period=row["start"].replace(day=1), source="invoice", source_id=contract.pk,
                contract=contract, currency="USD", description=f"Invoice {contract.code}",
                total_debit=row["value"], total_credit=row["value"]))
    JournalEntry.objects.bulk_create(journals, batch_size=1000)
    JournalLine.objects.bulk_create(
        [JournalLine(entry=j, account_key="receivable", account_code="1200",
                     debit=j.total_debit, credit=ZERO) for j in journals]
        + [JournalLine(entry=j, account_key="deferred", account_code="2400", debit=ZERO,
                       credit=j.total_credit) for j in journals], batch_size=2000)


def seed_work(slots: list[tuple]) -> tuple[int, int]:
    """Time for every slot and working day, and expenses: one INSERT … SELECT each."""
    days = working_days()
    dates = connection.ops.adapt_datefield_value
    last_start = dates(LAST)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_slot (seq INTEGER, person_id BIGINT, "
                       "project_id BIGINT, task_id BIGINT, bill_rate NUMERIC(12, 4), "
                       "cost_rate NUMERIC(12, 4), billable INTEGER, with_expenses INTEGER)")
        cursor.executemany(
            "INSERT INTO bench_slot VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(seq, person, project, task, str(rate), str(cost), int(billable),
              int(billable and n % 3 == 0))
             for seq, (person, project, task, rate, cost, billable, n) in enumerate(slots)])
        cursor.execute("CREATE TABLE bench_day (seq INTEGER, work_date DATE, "
                       "is_wednesday INTEGER)")
        cursor.executemany("INSERT INTO bench_day VALUES (%s, %s, %s)",
                           [(seq, dates(day), int(day.weekday() == 2))
                            for seq, day in enumerate(days)])
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        hours = "((8 + (s.seq + d.seq) %% 9) * 0.25)"  # 2.00 to 4.00 h
        status = (f"CASE WHEN (s.seq + d.seq) %% 17 = 0 THEN 'submitted' "
                  f"WHEN d.work_date >= '{last_start}' THEN 'approved' ELSE 'invoiced' END")
        cursor.execute(f"""
            INSERT INTO psa_timeentry (created_at, updated_at, status, approved_at,
                rejection_reason, person_id, project_id, task_id, work_date, hours, is_billable,
                notes, bill_rate, bill_currency, rate_source, cost_rate, cost_currency)
            SELECT %s, %s, {status}, %s, '', s.person_id, s.project_id, s.task_id,
                   d.work_date, {hours}, s.billable = 1, '', s.bill_rate, 'USD', 'bench',
                   s.cost_rate, 'USD'
            FROM bench_slot s CROSS JOIN bench_day d
        """, [now, now, now])
        entries = cursor.rowcount
        amount = "(20 + ((s.seq * 7 + d.seq) %% 60) * 7.25)"
        expense_status = (f"CASE WHEN d.work_date >= '{last_start}' THEN 'approved' "
                          f"ELSE 'invoiced' END")
        cursor.execute(f"""
            INSERT INTO psa_expense (created_at, updated_at, status, approved_at,
                rejection_reason, person_id, project_id, expense_date, category, merchant,
                notes, amount, currency, exchange_rate, project_amount, project_currency,
                is_billable, receipt, receipt_content_type, is_over_policy, justification)
            SELECT %s, %s, {expense_status}, %s, '', s.person_id, s.project_id, d.work_date,
                   'lodging', 'Bench', '', {amount}, 'USD', 1, {amount}, 'USD',
                   (s.seq + d.seq) %% 4 <> 0, '', '', %s, ''
            FROM bench_slot s CROSS JOIN bench_day d
            WHERE s.with_expenses = 1 AND d.is_wednesday = 1
        """, [now, now, now, False])
        expenses = cursor.rowcount
        cursor.execute("DROP TABLE bench_slot")
        cursor.execute("DROP TABLE bench_day")
        cursor.execute("ANALYZE")  # planner statistics, as a live database has them
    return entries, expenses


def recognise(entity, month: date):
    from revenue.models import RecognitionRun
    from revenue.services.recognition import recognition_run_execute

    run = RecognitionRun.objects.create(legal_entity=entity, period=month)
    return recognition_run_execute(run_id=run.pk)


# The floor: every figure the run needs per contract, one GROUP BY each (module docstring).
CONTRACTS_OF_ENTITY = """
    SELECT id FROM psa_contract WHERE legal_entity_id = %s AND start_date <= %s
      AND status NOT IN ('draft', 'cancelled')"""
FLOOR = {
    "time": f"""
        SELECT p.contract_id,
               SUM(CASE WHEN te.is_billable THEN te.hours * te.bill_rate ELSE 0 END),
               SUM(te.hours * te.cost_rate), SUM(te.hours)
        FROM psa_timeentry te JOIN psa_project p ON p.id = te.project_id
        WHERE p.contract_id IN ({CONTRACTS_OF_ENTITY})
          AND te.status IN ('approved', 'invoiced') AND te.work_date <= %s
        GROUP BY p.contract_id""",
    "expenses": f"""
        SELECT p.contract_id,
               SUM(CASE WHEN ex.is_billable THEN ex.project_amount ELSE 0 END),
               SUM(ex.project_amount)
        FROM psa_expense ex JOIN psa_project p ON p.id = ex.project_id
        WHERE p.contract_id IN ({CONTRACTS_OF_ENTITY})
          AND ex.status IN ('approved', 'invoiced') AND ex.expense_date <= %s
        GROUP BY p.contract_id""",
    "milestones": f"""
        SELECT p.contract_id, SUM(m.amount)
        FROM psa_milestone m JOIN psa_project p ON p.id = m.project_id
        WHERE p.contract_id IN ({CONTRACTS_OF_ENTITY})
          AND ((m.status IN ('accepted', 'invoiced') AND m.accepted_at < %s)
               OR (m.requires_acceptance = %s AND m.status IN ('completed', 'invoiced')
                   AND m.completed_at < %s))
        GROUP BY p.contract_id""",
    "estimate": f"""
        SELECT e.contract_id, e.total_cost_amount, e.total_hours
        FROM revenue_contractestimate e
        WHERE e.contract_id IN ({CONTRACTS_OF_ENTITY}) AND e.id = (
            SELECT e2.id FROM revenue_contractestimate e2
            WHERE e2.contract_id = e.contract_id AND e2.effective_month <= %s
            ORDER BY e2.effective_month DESC, e2.created_at DESC, e2.id DESC LIMIT 1)""",
    "before": f"""
        SELECT r.contract_id, SUM(r.amount) FROM revenue_recognitionentry r
        WHERE r.contract_id IN ({CONTRACTS_OF_ENTITY}) AND r.month <= %s
        GROUP BY r.contract_id""",
}


def floor_once(entity_id: int, month: date) -> dict[str, dict[int, tuple]]:
    from revenue.services.targets import month_end

    end = month_end(month)
    day_after = datetime.combine(end + timedelta(days=1), datetime.min.time(),
                                 tzinfo=timezone.get_current_timezone())
    d, dt = connection.ops.adapt_datefield_value, connection.ops.adapt_datetimefield_value
    scope = [entity_id, d(end)]
    params = {"time": [*scope, d(end)], "expenses": [*scope, d(end)],
              "milestones": [*scope, dt(day_after), False, dt(day_after)],
              "estimate": [*scope, d(month)], "before": [*scope, d(month)]}
    figures = {}
    with connection.cursor() as cursor:
        for name, sql in FLOOR.items():
            cursor.execute(sql, params[name])
            figures[name] = {row[0]: row[1:] for row in cursor.fetchall()}
    return figures


def floor(entity_id: int, month: date) -> tuple[float, dict]:
    """Median seconds of three floor passes after a warm-up, and the figures."""
    figures = floor_once(entity_id, month)
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        floor_once(entity_id, month)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), figures


def expected_to_date(figures: dict) -> dict[int, Decimal]:
    """Recognised to date at the end of LAST per contract, by DOMAIN.md's rules, from the
    floor's figures (the check that the run recognised the right amounts)."""
    from psa.common.money import quantize
    from psa.models import Contract, Project
    from revenue.services.targets import ratable_cumulative

    budgets = {pk: (cost, hours) for pk, cost, hours in Project.objects.values_list(
        "contract_id", "budget_cost_amount", "budget_hours")}
    result = {}
    for contract in Contract.objects.filter(legal_entity__code="US").iterator(chunk_size=1000):
        pk, value, method = contract.pk, contract.value_amount, contract.revenue_method
        time_value, time_cost, hours = (D(str(v or 0)) for v in figures["time"].get(pk, (0,) * 3))
        billable, all_expenses = (D(str(v or 0)) for v in figures["expenses"].get(pk, (0, 0)))
        if method == "as_delivered":
            markup = 1 + contract.expense_markup_percent / 100
            amount = quantize(time_value, "USD") + quantize(billable * markup, "USD")
            if contract.cap_amount is not None:
                amount = min(amount, contract.cap_amount)
        elif method in ("pct_cost", "pct_hours"):
            cost_estimate, hours_estimate = figures["estimate"].get(pk, (None, None))
            budget_cost, budget_hours = budgets[pk]
            if method == "pct_cost":
                done = quantize(time_cost + all_expenses, "USD")
                total = D(str(cost_estimate)) if cost_estimate else budget_cost
            else:
                done, total = hours, D(str(hours_estimate)) if hours_estimate else budget_hours
            amount = quantize(value * min(D(1), done / total), "USD")
        elif method == "milestone":
            amount = min(D(str(figures["milestones"].get(pk, (0,))[0] or 0)), value)
        else:
            amount, _ = ratable_cumulative(contract, LAST)
        result[pk] = amount
    return result


def memory_pass(entity) -> tuple[float, float]:
    """October's run under tracemalloc, rolled back: (peak MB of Python allocations, seconds)."""
    tracemalloc.start()
    started = time.perf_counter()
    with transaction.atomic():
        run = recognise(entity, LAST)
        assert run.status == "completed", run.error
        transaction.set_rollback(True)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return peak / 2**20, elapsed


class _StatementCounter:
    """Counts SQL statements without keeping them; with `timed`, the seconds per statement
    text as well (for --profile)."""

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
            spent = self.seconds.setdefault(" ".join(sql.split())[:300], [0.0, 0])
            spent[0] += time.perf_counter() - started
            spent[1] += 1

    def print_slowest(self, top: int = 15) -> None:
        print(f"Slowest SQL statements by total time (of {self.count:,}):")
        for sql, (seconds, calls) in sorted(self.seconds.items(), key=lambda kv: -kv[1][0])[:top]:
            print(f"  {seconds:7.2f} s {calls:>6} x  {sql}")


class _Stages:
    """Seconds spent in each step of the run's chunks (the services' own functions wrapped
    with a timer for the timed run; a few microseconds per chunk)."""

    STEPS = ("targets_for", "_journals_post", "_schedule_lines_update")

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(self.STEPS, 0.0)

    def __enter__(self) -> "_Stages":
        from revenue.services import recognition

        self.originals = {name: getattr(recognition, name) for name in self.STEPS}
        for name, original in self.originals.items():
            setattr(recognition, name, self._timed(name, original))
        return self

    def __exit__(self, *exc: object) -> None:
        from revenue.services import recognition

        for name, original in self.originals.items():
            setattr(recognition, name, original)

    def _timed(self, name: str, original):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
        return wrapper


def timed_run(entity, profile: bool):
    counter = _StatementCounter(timed=profile)
    profiler = cProfile.Profile() if profile else None
    with connection.execute_wrapper(counter), _Stages() as stages:
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        run = recognise(entity, LAST)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
    if profiler:
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
        counter.print_slowest()
    return run, elapsed, counter.count, stages.seconds


def verify(run, rerun, expected: dict[int, Decimal], contracts: int) -> list[str]:
    """What must hold after the run; returns the failures."""
    from django.db.models import Count, F

    from revenue.models import JournalEntry, JournalLine, RecognitionEntry

    problems = []
    if run.status != "completed" or run.done_units != contracts:
        problems.append(f"the run is {run.status} with {run.done_units} contracts done")
    if rerun.status != "completed" or rerun.entries_posted:
        problems.append(f"the re-run is {rerun.status} and posted {rerun.entries_posted}")
    # Summed here: SQLite's SUM of a decimal column is a float.
    recognised: dict[int, Decimal] = {}
    for pk, amount in RecognitionEntry.objects.values_list("contract_id", "amount").iterator():
        recognised[pk] = recognised.get(pk, ZERO) + amount
    wrong = [pk for pk, amount in expected.items() if recognised.get(pk, ZERO) != amount]
    if wrong:
        pk = wrong[0]
        problems.append(f"{len(wrong)} contracts recognised a wrong amount, e.g. contract {pk}:"
                        f" {recognised.get(pk, ZERO)} instead of {expected[pk]}")
    if JournalEntry.objects.exclude(total_debit=F("total_credit")).exists():
        problems.append("a journal entry's totals differ")
    balance: dict[int, Decimal] = {}
    for entry_id, debit, credit in JournalLine.objects.values_list(
            "entry_id", "debit", "credit").iterator(chunk_size=10_000):
        balance[entry_id] = balance.get(entry_id, ZERO) + debit - credit
    if any(balance.values()):
        problems.append("a journal entry's lines do not balance")
    october = RecognitionEntry.objects.filter(run=run).values_list("pk", flat=True)
    journals = (JournalEntry.objects.filter(source="recognition", source_id__in=list(october))
                .aggregate(n=Count("id")))["n"]
    if journals != run.entries_posted:
        problems.append(f"{run.entries_posted} entries but {journals} journal entries")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="Contracts per method x this (1.0: 3,000 contracts; for trying out)")
    args = parser.parse_args()
    settings.DEBUG = False  # as in production: no query log

    from revenue.models import RecognitionEntry

    with harness.throwaway_database():
        started = time.perf_counter()
        plan = plan_contracts(args.scale)
        entity, slots = seed_master_data(plan)
        entries, expenses = seed_work(slots)
        seed_s = time.perf_counter() - started
        started = time.perf_counter()
        for month in months()[:-1]:
            month_started = time.perf_counter()
            earlier = recognise(entity, month)
            assert earlier.status == "completed", earlier.error
            previous_s = time.perf_counter() - month_started  # September's, at the end
        history_s = time.perf_counter() - started
        history = RecognitionEntry.objects.count()
        floor_s, figures = floor(entity.pk, LAST)
        expected = expected_to_date(figures)
        peak_mb, memory_s = memory_pass(entity)
        run, run_s, statements, stages = timed_run(entity, args.profile)
        rerun_started = time.perf_counter()
        rerun = recognise(entity, LAST)
        rerun_s = time.perf_counter() - rerun_started
        problems = verify(run, rerun, expected, len(plan))
        reversals = RecognitionEntry.objects.filter(run=run, amount__lt=0).count()

    label = " (profiled)" if args.profile else ""
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{connection.vendor}, {len(plan):,} contracts, {FIRST:%b %Y} to {LAST:%b %Y}")
    print(f"  seeded             {entries:>10,} time entries, {expenses:,} expenses "
          f"in {seed_s:.1f} s")
    print(f"  11 earlier months  {history:>10,} recognition entries in {history_s:.1f} s "
          f"({history_s / 11:.2f} s a month; {months()[-2]:%B} {previous_s:.2f} s)")
    print(f"  floor (raw SQL)    {floor_s:>10.2f} s  (median of 3, {len(FLOOR)} aggregates)")
    print(f"  run {LAST:%b %Y}{label:<11}{run_s:>8.2f} s  = {run_s / floor_s:.1f} x floor, "
          f"{statements:,} SQL statements, {run.entries_posted:,} entries posted "
          f"({reversals} reversals), {run.amount_posted:,.2f}")
    rest = run_s - sum(stages.values())
    print("    of which " + ", ".join(f"{name.strip('_')} {seconds:.2f} s"
                                      for name, seconds in stages.items())
          + f", the rest (contracts, progress, totals) {rest:.2f} s")
    print(f"  re-run             {rerun_s:>10.2f} s  = {rerun_s / floor_s:.1f} x floor, "
          f"{rerun.entries_posted} entries posted")
    print(f"  peak memory (tracemalloc) {peak_mb:>6.0f} MB in the run (that pass took "
          f"{memory_s:.1f} s); process ru_maxrss {maxrss:.0f} MB (includes seeding)")
    print(f"  budget memory < {MEMORY_BUDGET_MB} MB: "
          f"{'OK' if peak_mb < MEMORY_BUDGET_MB else 'EXCEEDED'}; aim <= 3 x floor: "
          f"{'met' if run_s <= 3 * floor_s else 'not met'}")
    for problem in problems:
        print(f"  CHECK FAILED: {problem}")
    if problems:
        sys.exit(1)
    print("  checks: run completed; recognised to date = the floor's figures by DOMAIN.md's "
          "rules, to the cent, for every contract; re-run posted nothing; journals balanced, "
          "one per entry")


if __name__ == "__main__":
    main()
