"""Set-based claiming of source items for an invoice: one INSERT … SELECT per kind.

Each statement links every eligible, unheld, not-yet-live-linked item of a contract to the
invoice (`line` empty until the lines are built) and relies on the partial unique index of
`BilledItem` (`ON CONFLICT … WHERE is_live DO NOTHING`): whatever runs at once, an item gets one
live link. The rows never pass through Python; only aggregates per line do (drafting.py).

Billed hours follow the contract's (or client's) rounding policy, computed in SQL on integer
hundredths of an hour so SQLite's floating point never decides a rounding: per entry, or per
person, day and project (the group is rounded and its first entry takes the difference).
"""

from dataclasses import dataclass
from datetime import date

from django.db import connection

from billing.models import BilledItem, HeldItem, InvoiceLine, RoundingPolicy
from psa.models import Expense, Person, Project, TimeEntry

APPROVED = TimeEntry.Status.APPROVED
_STEP_HUNDREDTHS = {6: 10, 15: 25}  # 6 minutes = 0.10 h, 15 minutes = 0.25 h


@dataclass(frozen=True)
class TimeScope:
    """Which approved billable time entries of a contract to claim."""

    contract_id: int
    currency: str
    cut_off: date
    start: date | None = None  # a retainer month's first day; None: everything up to cut_off


def _rounded(hundredths: str, policy: RoundingPolicy) -> str:
    """SQL rounding integer hundredths of an hour to the policy's step (integer division)."""
    step = _STEP_HUNDREDTHS[policy.increment_minutes]
    if policy.method == RoundingPolicy.Method.UP:
        return f"((({hundredths}) + {step - 1}) / {step}) * {step}"
    return f"((({hundredths}) + {step // 2}) / {step}) * {step}"


def _billed_hours_sql(policy: RoundingPolicy | None) -> tuple[str, str]:
    """(the SELECT's billed-hours expression, extra window columns) for the policy."""
    if policy is None:
        return "e.hours", ""
    if policy.scope == RoundingPolicy.Scope.ENTRY:
        return f"({_rounded('e.ch', policy)}) / 100.0", ""
    windows = (", SUM(CAST(ROUND(te.hours * 100) AS INTEGER)) OVER (PARTITION BY te.person_id,"
               " te.work_date, te.project_id) AS group_ch, ROW_NUMBER() OVER (PARTITION BY"
               " te.person_id, te.work_date, te.project_id ORDER BY te.id) AS rn")
    group = _rounded("e.group_ch", policy)
    return (f"(CASE WHEN e.rn = 1 THEN e.ch + ({group}) - e.group_ch ELSE e.ch END) / 100.0",
            windows)


def link_time_entries(*, invoice_id: int, scope: TimeScope,
                      policy: RoundingPolicy | None) -> int:
    """Claim the contract's approved, billable, rated, unheld, unbilled time up to the cut-off
    (within the month for a retainer) for the invoice; returns how many were claimed."""
    billed, windows = _billed_hours_sql(policy)
    items, entries = BilledItem._meta.db_table, TimeEntry._meta.db_table
    projects, held = Project._meta.db_table, HeldItem._meta.db_table
    params: list[object] = [invoice_id, True, scope.contract_id, APPROVED, True,
                            scope.currency, scope.cut_off]
    since = ""
    if scope.start is not None:
        since = "AND te.work_date >= %s"
        params.append(scope.start)
    params.append(True)
    # Table names come from model metadata; every value is a query parameter.
    sql = f"""
        INSERT INTO {items} (invoice_id, time_entry_id, raw_hours, billed_hours, rate, is_live)
        SELECT %s, e.id, e.hours, {billed}, e.bill_rate, %s
        FROM (
            SELECT te.id, te.hours, te.bill_rate,
                   CAST(ROUND(te.hours * 100) AS INTEGER) AS ch {windows}
            FROM {entries} te
            JOIN {projects} p ON p.id = te.project_id
            WHERE p.contract_id = %s AND te.status = %s AND te.is_billable = %s
              AND te.bill_rate IS NOT NULL AND te.bill_currency = %s
              AND te.work_date <= %s {since}
              AND NOT EXISTS (SELECT 1 FROM {held} h WHERE h.time_entry_id = te.id)
              AND NOT EXISTS (SELECT 1 FROM {items} b
                              WHERE b.time_entry_id = te.id AND b.is_live = %s)
        ) e
        WHERE 1 = 1
        ON CONFLICT (time_entry_id) WHERE is_live DO NOTHING
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def link_expenses(*, invoice_id: int, contract_id: int, currency: str, cut_off: date) -> int:
    """Claim the contract's approved, billable, unheld, unbilled expenses up to the cut-off."""
    items, expenses = BilledItem._meta.db_table, Expense._meta.db_table
    projects, held = Project._meta.db_table, HeldItem._meta.db_table
    sql = f"""
        INSERT INTO {items} (invoice_id, expense_id, amount, is_live)
        SELECT %s, ex.id, ex.project_amount, %s
        FROM {expenses} ex
        JOIN {projects} p ON p.id = ex.project_id
        WHERE p.contract_id = %s AND ex.status = %s AND ex.is_billable = %s
          AND ex.project_currency = %s AND ex.expense_date <= %s
          AND NOT EXISTS (SELECT 1 FROM {held} h WHERE h.expense_id = ex.id)
          AND NOT EXISTS (SELECT 1 FROM {items} b WHERE b.expense_id = ex.id AND b.is_live = %s)
        ON CONFLICT (expense_id) WHERE is_live DO NOTHING
    """  # noqa: S608 (table names from model metadata; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [invoice_id, True, contract_id, Expense.Status.APPROVED, True,
                             currency, cut_off, True])
        return max(cursor.rowcount, 0)


def attach_items_to_lines(*, invoice_id: int, contract_id: int, kind: str) -> int:
    """Point the invoice's unlined time items (or expense items) of a contract at their line
    — time: same project, the person's role and the frozen rate; expenses: same category —
    in ONE `UPDATE … FROM` (PostgreSQL, SQLite ≥ 3.33) instead of one UPDATE per line."""
    items, lines = BilledItem._meta.db_table, InvoiceLine._meta.db_table
    if kind == InvoiceLine.Kind.TIME:
        sources = f"{TimeEntry._meta.db_table} te, {Person._meta.db_table} p"
        match = (f"{items}.time_entry_id = te.id AND te.person_id = p.id"
                 f" AND l.project_id = te.project_id AND l.role_id = p.role_id"
                 f" AND l.unit_price = {items}.rate")
    else:
        sources = f"{Expense._meta.db_table} ex, {Project._meta.db_table} pr"
        match = (f"{items}.expense_id = ex.id AND ex.project_id = pr.id"
                 f" AND pr.contract_id = l.contract_id AND l.category = ex.category")
    sql = f"""
        UPDATE {items} SET line_id = l.id
        FROM {sources}, {lines} l
        WHERE {items}.invoice_id = %s AND {items}.line_id IS NULL AND {match}
          AND l.invoice_id = %s AND l.contract_id = %s AND l.kind = %s
    """  # noqa: S608 (table names from model metadata; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [invoice_id, invoice_id, contract_id, kind])
        return max(cursor.rowcount, 0)
