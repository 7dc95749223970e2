"""Demo revenue data on top of the demo firm (`manage.py seed_demo_revenue`).

Runs after `seed_demo`, `seed_demo_staffing` and `seed_demo_billing`, with the same `--as-of`.
For each legal entity, as finance and the project managers would have done month by month:

1. Estimates at completion for the percent-complete contracts: one from the contract's first
   month (the projects' budget cost or hours plus 10 %, the project manager's estimate,
   created by the project's manager), and for every other such contract (by code) one
   revision two months before "today" (15 % more, an overrun), so schedules show an estimate
   history and a cumulative catch-up.
2. Recognition runs for every past month of the demo's periods, oldest first, started by the
   finance login and executed inline (`recognition_run_execute`, as the worker would).
3. The journal entries of the invoices and credit notes `seed_demo_billing` issued
   (`invoice_journal_post`, what the worker does on `invoice.issued`), after the runs, in the
   order things happened (the invoices are dated this month); the worker's later delivery of
   the same events then posts nothing. Recognition before them builds unbilled receivable,
   the invoices use it up and the rest becomes deferred revenue.
4. Schedule plans: `schedule_plan_refresh` for every contract that is not cancelled, after
   the runs (a run writes a line for every contract it looks at, also in a month outside the
   service period; the refresh removes such a line when nothing was recognised in it, so
   refreshing last leaves nothing for a repeat to remove).
5. The oldest month closed (`period_close`), when it is older than the previous month: the
   previous month and the current one stay open for the month-end close demo.

Deterministic: everything follows from the firm, ordered by contract code and month.
Idempotent: an estimate is created only when the contract has none for that month, a month
with a completed run is not run again, an invoice's journal entries are posted once (one per
source), the plan refresh writes only what changed, and a closed month is left alone; a
repeat writes nothing.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import User
from django.db.models import F, Model, Sum

from psa.common.errors import PeriodClosedError
from psa.common.logging import acting_as
from psa.common.money import column_sum, quantize
from psa.models import Contract, LegalEntity, Period, Project
from revenue.models import (
    ContractEstimate,
    JournalEntry,
    JournalLine,
    RecognitionEntry,
    RecognitionRun,
    RevenueSchedule,
    ScheduleLine,
)
from revenue.services.journals import contract_balances_many
from revenue.services.recognition import recognition_run_execute
from revenue.services.targets import months_between

FINANCE_USERNAME = "finance"
ESTIMATE_MARGIN = Decimal("1.10")  # the first estimate: the budget plus 10 %
REVISION_FACTOR = Decimal("1.15")  # the revision: 15 % more (an overrun)
HOURS = Decimal("0.01")
ZERO = Decimal("0.00")
PERCENT_COMPLETE = (Contract.RevenueMethod.PERCENT_COMPLETE_COST,
                    Contract.RevenueMethod.PERCENT_COMPLETE_HOURS)
COUNTED: tuple[type[Model], ...] = (ContractEstimate, RevenueSchedule, ScheduleLine,
                                    RecognitionRun, RecognitionEntry, JournalEntry, JournalLine)

Log = Callable[[str], None]


@dataclass
class EntityDemo:
    """What one seed did for one legal entity."""

    code: str
    estimates: int = 0
    plans: int | None = None  # None: the schedules service is not available
    invoice_journals: int | None = None  # None: the invoice journals service is not available
    runs: list[RecognitionRun] = field(default_factory=list)
    skipped_months: list[date] = field(default_factory=list)
    closed: date | None = None

    @property
    def changed(self) -> bool:
        return bool(self.estimates or self.runs or self.invoice_journals or self.closed)


@dataclass
class RevenueDemo:
    entities: list[EntityDemo] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(entity.changed for entity in self.entities)


def _optional(module: str, name: str) -> Callable | None:
    """A service that other work may not have delivered yet; None when it is missing."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _month_before(month: date, count: int = 1) -> date:
    for _ in range(count):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


def seed_revenue(*, as_of: date, log: Log = lambda _line: None) -> RevenueDemo:
    """Seed the revenue demo (see the module docstring). Raises LookupError when the psa demo
    (its finance login) is missing."""
    actor = User.objects.filter(username=FINANCE_USERNAME).first()
    if actor is None:
        raise LookupError("The demo's finance login is missing: run `manage.py seed_demo` first.")
    demo = RevenueDemo()
    with acting_as(actor):
        for entity in LegalEntity.objects.order_by("code"):
            demo.entities.append(_seed_entity(entity, actor, as_of, log))
    return demo


def _seed_entity(entity: LegalEntity, actor: User, as_of: date, log: Log) -> EntityDemo:
    result = EntityDemo(code=entity.code)
    current = as_of.replace(day=1)
    first = (Period.objects.filter(legal_entity=entity).order_by("month")
             .values_list("month", flat=True).first())
    result.estimates = _estimates_create(entity, revision_month=_month_before(current, 2))
    log(f"  {entity.code}: {result.estimates} estimates at completion created")
    past = months_between(first, _month_before(current)) if first and first < current else []
    for month in past:
        run = _recognise(entity, month, actor)
        if run is None:
            result.skipped_months.append(month)
        elif run is not True:
            result.runs.append(run)
            log(f"  {entity.code}: recognised {month:%b %Y}: {run.entries_posted} entries, "
                f"{run.amount_posted:,.2f} ({run.status})")
    if result.skipped_months:
        log(f"  {entity.code}: months closed before they were recognised (left alone): "
            + ", ".join(f"{m:%b %Y}" for m in result.skipped_months))
    result.invoice_journals = _invoice_journals_post(entity)
    if result.invoice_journals is None:
        log(f"  {entity.code}: invoice journal entries skipped "
            "(revenue.services.invoice_journals is not available)")
    else:
        log(f"  {entity.code}: {result.invoice_journals} invoice journal entries posted")
    result.plans = _plans_refresh(entity)
    log(f"  {entity.code}: " + (f"schedule plans refreshed for {result.plans} contracts"
                                if result.plans is not None else
                                "schedule plans skipped (revenue.services.schedules is not "
                                "available)"))
    if not past:
        return result
    result.closed = _close_oldest(entity, first, current, actor)
    if result.closed:
        log(f"  {entity.code}: closed {result.closed:%B %Y}")
    return result


def _estimates_create(entity: LegalEntity, *, revision_month: date) -> int:
    """The first estimate (budget + 10 %) of every percent-complete contract, and a revision
    (+15 %) for every other one by code; only those missing are created (one revision per
    contract, whatever the --as-of of a later seed)."""
    contracts = list(Contract.objects.filter(legal_entity=entity,
                                             revenue_method__in=PERCENT_COMPLETE)
                     .exclude(status=Contract.Status.CANCELLED).order_by("code"))
    budgets = {row["contract_id"]: row for row in Project.objects.filter(
        contract__in=contracts).order_by().values("contract_id").annotate(
        cost=Sum("budget_cost_amount"), hours=Sum("budget_hours"))}
    managers = dict(Project.objects.filter(contract__in=contracts, manager__user__isnull=False)
                    .order_by("contract_id", "-code").values_list("contract_id",
                                                                  "manager__user_id"))
    existing: dict[int, set[date]] = {}
    for pk, month in ContractEstimate.objects.filter(contract__in=contracts).values_list(
            "contract_id", "effective_month"):
        existing.setdefault(pk, set()).add(month)
    new = []
    for index, contract in enumerate(contracts):
        by_cost = contract.revenue_method == Contract.RevenueMethod.PERCENT_COMPLETE_COST
        budget = budgets.get(contract.pk, {}).get("cost" if by_cost else "hours")
        if not budget:
            continue  # no budget to estimate from: the run falls back to the (zero) budget
        start = contract.start_date.replace(day=1)
        plan = [(start, budget * ESTIMATE_MARGIN)]
        have = existing.get(contract.pk, set())
        revised = bool(have - {start})
        if index % 2 and revision_month > start and not revised:
            plan.append((revision_month, budget * ESTIMATE_MARGIN * REVISION_FACTOR))
        for month, figure in plan:
            if month in have:
                continue
            figure = (quantize(figure, contract.currency) if by_cost
                      else figure.quantize(HOURS, rounding=ROUND_HALF_UP))
            new.append(ContractEstimate(
                contract=contract, effective_month=month,
                total_cost_amount=figure if by_cost else None,
                total_hours=None if by_cost else figure,
                note=("Estimate at completion from the budget plus 10 %" if month == start
                      else "Revised: the work is running 15 % over the estimate"),
                created_by_id=managers.get(contract.pk)))
    ContractEstimate.objects.bulk_create(new)
    return len(new)


def _invoice_journals_post(entity: LegalEntity) -> int | None:
    """Post the journal entries of the entity's issued documents, oldest first; how many new
    entries (None when the service is missing). A document dated in a closed month is left
    for finance (the posting refuses it)."""
    post = _optional("revenue.services.invoice_journals", "invoice_journal_post")
    if post is None:
        return None
    from billing.models import Invoice

    posted = 0
    for invoice_id in (Invoice.objects.filter(legal_entity=entity,
                                              status__in=Invoice.ISSUED_STATES)
                       .order_by("issue_date", "number", "pk").values_list("pk", flat=True)):
        try:
            posted += len(post(invoice_id=invoice_id))
        except PeriodClosedError:
            continue
    return posted


def _plans_refresh(entity: LegalEntity) -> int | None:
    refresh = _optional("revenue.services.schedules", "schedule_plan_refresh")
    if refresh is None:
        return None
    contracts = (Contract.objects.filter(legal_entity=entity)
                 .exclude(status=Contract.Status.CANCELLED).order_by("code"))
    count = 0
    for contract in contracts:
        refresh(contract=contract)
        count += 1
    return count


def _recognise(entity: LegalEntity, month: date, actor: User) -> RecognitionRun | bool | None:
    """Recognise `month` unless a completed run has: the new run, True when already done,
    None when the month was closed without one. A run left queued or running by an
    interrupted seed is resumed; a failed one is followed by a new run."""
    runs = RecognitionRun.objects.filter(legal_entity=entity, period=month)
    if runs.filter(status=RecognitionRun.Status.COMPLETED).exists():
        return True
    if Period.objects.filter(legal_entity=entity, month=month,
                             status=Period.Status.CLOSED).exists():
        return None
    run = (runs.filter(status__in=(RecognitionRun.Status.QUEUED, RecognitionRun.Status.RUNNING))
           .order_by("pk").first()
           or RecognitionRun.objects.create(legal_entity=entity, period=month,
                                            started_by=actor))
    return recognition_run_execute(run_id=run.pk)


def _close_oldest(entity: LegalEntity, first: date, current: date, actor: User) -> date | None:
    """Close the entity's oldest month when it is older than the previous month, open, and
    recognised; the month closed, or None."""
    close = _optional("psa.services.periods", "period_close")
    if close is None or first >= _month_before(current):
        return None
    if not Period.objects.filter(legal_entity=entity, month=first,
                                 status=Period.Status.OPEN).exists():
        return None
    if not RecognitionRun.objects.filter(legal_entity=entity, period=first,
                                         status=RecognitionRun.Status.COMPLETED).exists():
        return None
    close(legal_entity=entity, month=first, actor=actor)
    return first


def revenue_counts() -> dict[str, int]:
    """Rows per revenue model, for the summary and the tests."""
    return {model._meta.object_name: model.objects.count() for model in COUNTED}


def revenue_totals() -> list[tuple[str, str, Decimal, Decimal, Decimal]]:
    """Per legal entity and currency: recognised to date, unbilled receivable and deferred
    revenue over all its contracts (for the summary)."""
    rows = []
    for entity in LegalEntity.objects.order_by("code"):
        contracts = dict(Contract.objects.filter(legal_entity=entity)
                         .values_list("pk", "currency"))
        recognised = {currency: column_sum(total) for currency, total in
                      RecognitionEntry.objects.filter(contract__legal_entity=entity)
                      .order_by().values("currency").annotate(total=Sum("amount"))
                      .values_list("currency", "total")}
        balances: dict[str, list[Decimal]] = {}
        for pk, (unbilled, deferred) in contract_balances_many(list(contracts)).items():
            totals = balances.setdefault(contracts[pk], [ZERO, ZERO])
            totals[0] += unbilled
            totals[1] += deferred
        for currency in sorted(set(recognised) | set(balances)):
            unbilled, deferred = balances.get(currency, [ZERO, ZERO])
            rows.append((entity.code, currency, recognised.get(currency, ZERO),
                         unbilled, deferred))
    return rows


def unbalanced_journals() -> int:
    """Journal entries whose totals differ or whose lines do not add up to them (0 in a
    healthy ledger). The lines are summed here, exactly (SQLite's SUM is a float)."""
    totals = dict(JournalEntry.objects.values_list("pk", "total_debit"))
    unbalanced = set(JournalEntry.objects.exclude(total_debit=F("total_credit"))
                     .values_list("pk", flat=True))
    debits: dict[int, Decimal] = {}
    credits: dict[int, Decimal] = {}
    for entry_id, debit, credit in JournalLine.objects.values_list(
            "entry_id", "debit", "credit").iterator(chunk_size=5000):
        debits[entry_id] = debits.get(entry_id, ZERO) + debit
        credits[entry_id] = credits.get(entry_id, ZERO) + credit
    unbalanced |= {pk for pk, total in totals.items()
                   if debits.get(pk, ZERO) != total or credits.get(pk, ZERO) != total}
    return len(unbalanced)
