"""The month-end close (issue #6, DOMAIN.md: Periods): what blocks closing a legal entity's
month, and the month's revenue against the plan per contract.

Every checklist item is one or two aggregate queries over the month's rows; the stale-run
check recomputes the recognition targets (`revenue.services.targets.targets_for`) in chunks of
contracts, so its cost grows with the contracts, never with the rows behind them, and no table
is loaded whole.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Abs, Coalesce
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice
from psa.models import Expense, LegalEntity, Period, TimeEntry
from psa.rules import visible
from psa.selectors.org import legal_entity_list
from revenue.models import JournalEntry, RecognitionRun, ScheduleLine
from revenue.services.recognition import contracts_for_recognition
from revenue.services.targets import month_end, targets_for

UserLike = User | AnonymousUser
ZERO = Decimal("0.00")
HALF_CENT = Decimal("0.005")  # sums on SQLite are floats: compare to the cent, not exactly
MONEY = DecimalField(max_digits=20, decimal_places=2)
STALE_CHUNK = 500
UNBALANCED_SHOWN = 20
VARIANCES_SHOWN = 50
UNFINISHED_WORK = (TimeEntry.Status.DRAFT, TimeEntry.Status.SUBMITTED,
                   TimeEntry.Status.REJECTED)
UNISSUED = (Invoice.Status.DRAFT, Invoice.Status.APPROVED)
OK, BLOCKING = "ok", "blocking"


@dataclass(frozen=True)
class ChecklistItem:
    """One step of the close: `blocking` items must be resolved before the month closes."""

    key: str
    title: str
    status: str  # OK or BLOCKING
    count: int
    sentence: str
    link: str | None = None
    link_label: str = ""

    @property
    def is_blocking(self) -> bool:
        return self.status == BLOCKING


@dataclass(frozen=True)
class Checklist:
    """What stands between a legal entity's month and its close."""

    legal_entity: LegalEntity
    month: date
    period: Period | None
    items: tuple[ChecklistItem, ...]
    latest_run: RecognitionRun | None
    unbalanced: tuple[JournalEntry, ...] = ()

    @property
    def blocking(self) -> list[ChecklistItem]:
        return [item for item in self.items if item.is_blocking]

    @property
    def is_clear(self) -> bool:
        return not self.blocking

    @property
    def is_closed(self) -> bool:
        return self.period is not None and self.period.status == Period.Status.CLOSED


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else (plural or singular + 's')}"


def _approvable_work_item(*, key: str, title: str, rows: QuerySet, noun: str, nouns: str,
                          month: date, link: str) -> ChecklistItem:
    """Time entries or expenses of the month still draft, submitted or rejected."""
    Status = TimeEntry.Status
    counts = rows.filter(status__in=UNFINISHED_WORK).aggregate(
        draft=Count("pk", filter=Q(status=Status.DRAFT)),
        submitted=Count("pk", filter=Q(status=Status.SUBMITTED)),
        rejected=Count("pk", filter=Q(status=Status.REJECTED)))
    total = sum(counts.values())
    if not total:
        return ChecklistItem(key, title, OK, 0, f"Every {noun} dated in {month:%B %Y} is "
                             "approved (or has none to approve).", link, "Approvals")
    labels = (("draft", "not submitted"), ("submitted", "awaiting approval"),
              ("rejected", "rejected and not resubmitted"))
    parts = [f"{counts[state]:,} {label}" for state, label in labels if counts[state]]
    return ChecklistItem(
        key, title, BLOCKING, total,
        f"{_plural(total, noun, nouns)} "
        f"dated in {month:%B %Y} {'is' if total == 1 else 'are'} not approved: "
        f"{', '.join(parts)}.", link, "Open approvals")


def _time_item(entity: LegalEntity, month: date) -> ChecklistItem:
    rows = TimeEntry.objects.filter(project__legal_entity=entity,
                                    work_date__range=(month, month_end(month)))
    return _approvable_work_item(key="unapproved_time", title="Time", rows=rows,
                                 noun="time entry", nouns="time entries", month=month,
                                 link=reverse("approval-list"))


def _expense_item(entity: LegalEntity, month: date) -> ChecklistItem:
    rows = Expense.objects.filter(project__legal_entity=entity,
                                  expense_date__range=(month, month_end(month)))
    return _approvable_work_item(key="unapproved_expenses", title="Expenses", rows=rows,
                                 noun="expense", nouns="expenses", month=month,
                                 link=reverse("approval-list"))


def _drafts_item(entity: LegalEntity, month: date) -> ChecklistItem:
    """Invoices and credit notes of the entity not issued yet, cut off in or before the month
    (a credit note has no cut-off: it counts from the day it was drafted)."""
    end = month_end(month)
    counts = Invoice.objects.filter(
        Q(cut_off__lte=end) | Q(cut_off__isnull=True, created_at__date__lte=end),
        legal_entity=entity, status__in=UNISSUED).aggregate(
        draft=Count("pk", filter=Q(status=Invoice.Status.DRAFT)),
        approved=Count("pk", filter=Q(status=Invoice.Status.APPROVED)))
    total = counts["draft"] + counts["approved"]
    status = "draft" if counts["draft"] or not total else "approved"
    link = f"{reverse('billing:invoice-list')}?status={status}"
    if not total:
        return ChecklistItem("unissued_drafts", "Invoices", OK, 0,
                             f"No draft or approved invoice up to {month:%B %Y} is waiting "
                             "to be issued.", link, "Invoices")
    return ChecklistItem(
        "unissued_drafts", "Invoices", BLOCKING, total,
        f"{_plural(total, 'invoice')} up to {month:%B %Y} {'is' if total == 1 else 'are'} "
        f"not issued ({counts['draft']:,} draft, {counts['approved']:,} approved): issue or "
        "void them.", link, f"Open {status} invoices")


def _stale_contracts(entity: LegalEntity, month: date) -> tuple[int, dict[str, Decimal]]:
    """Contracts whose recognition target differs from what is recognised (inputs changed
    since the last run), and the difference per currency; computed in chunks."""
    stale, by_currency = 0, defaultdict(Decimal)
    contracts = contracts_for_recognition(entity.pk, month).iterator(chunk_size=STALE_CHUNK)
    while chunk := list(islice(contracts, STALE_CHUNK)):
        currency = {c.pk: c.currency for c in chunk}
        for target in targets_for(chunk, month):
            if target.difference:
                stale += 1
                by_currency[currency[target.contract_id]] += target.difference
    return stale, dict(by_currency)


def _recognition_item(entity: LegalEntity, month: date,
                      latest: RecognitionRun | None) -> ChecklistItem:
    link, label = "#recognition", "Run recognition"
    if latest is not None and latest.status not in RecognitionRun.FINISHED:
        return ChecklistItem("stale_recognition", "Recognition", BLOCKING, 1,
                             f"A recognition run for {month:%B %Y} is in progress; wait for "
                             "it to finish.", link, "See its progress")
    completed = (RecognitionRun.objects.filter(legal_entity=entity, period=month,
                                               status=RecognitionRun.Status.COMPLETED)
                 .order_by("-finished_at", "-pk").first())
    if completed is None:
        return ChecklistItem("stale_recognition", "Recognition", BLOCKING, 1,
                             f"Revenue for {month:%B %Y} has not been recognised yet: run "
                             "recognition.", link, label)
    finished = timezone.localtime(completed.finished_at) if completed.finished_at else None
    when = f" on {finished:%d %b %Y %H:%M}" if finished else ""
    stale, by_currency = _stale_contracts(entity, month)
    if stale:
        amounts = ", ".join(f"{amount:+,.2f} {currency}"
                            for currency, amount in sorted(by_currency.items()))
        return ChecklistItem(
            "stale_recognition", "Recognition", BLOCKING, stale,
            f"Inputs changed since the last run{when}: {_plural(stale, 'contract')} would "
            f"change ({amounts}). Run recognition again.", link, label)
    return ChecklistItem("stale_recognition", "Recognition", OK, 0,
                         f"Recognition is current: the last run{when} matches today's "
                         "inputs.", link, "Run again")


def unbalanced_journals(*, legal_entity: LegalEntity, month: date) -> QuerySet[JournalEntry]:
    """Journal entries of the month whose lines' debits differ from their credits, or from the
    entry's totals (one aggregate query; the database already keeps the totals equal)."""
    zero = Value(ZERO, output_field=MONEY)
    return (JournalEntry.objects.filter(legal_entity=legal_entity, period=month)
            .annotate(line_debit=Coalesce(Sum("lines__debit"), zero, output_field=MONEY),
                      line_credit=Coalesce(Sum("lines__credit"), zero, output_field=MONEY))
            .annotate(off_lines=Abs(F("line_debit") - F("line_credit")),
                      off_debit=Abs(F("line_debit") - F("total_debit")),
                      off_credit=Abs(F("line_credit") - F("total_credit")))
            .filter(Q(off_lines__gte=HALF_CENT) | Q(off_debit__gte=HALF_CENT)
                    | Q(off_credit__gte=HALF_CENT))
            .order_by("entry_date", "pk"))


def _journals_item(entity: LegalEntity, month: date,
                   unbalanced: QuerySet[JournalEntry]) -> ChecklistItem:
    count = unbalanced.count()
    if not count:
        return ChecklistItem("unbalanced_journals", "Journals", OK, 0,
                             f"Every journal entry of {month:%B %Y} balances.")
    return ChecklistItem(
        "unbalanced_journals", "Journals", BLOCKING, count,
        f"{_plural(count, 'journal entry', 'journal entries')} of {month:%B %Y} "
        f"{'does' if count == 1 else 'do'} not balance: the lines' debits and credits differ, "
        "or differ from the entry's totals.", "#unbalanced", "See them")


def close_checklist(*, legal_entity: LegalEntity, month: date) -> Checklist:
    """Everything that blocks closing `legal_entity`'s `month`: unsubmitted or unapproved
    time and expenses dated in it, unissued invoices cut off up to it, a missing or stale
    recognition run, unbalanced journal entries. A fixed number of queries plus one set of
    target queries per 500 contracts."""
    month = month.replace(day=1)
    period = (Period.objects.select_related("closed_by__person")
              .filter(legal_entity=legal_entity, month=month).first())
    latest = (RecognitionRun.objects.filter(legal_entity=legal_entity, period=month)
              .select_related("started_by").order_by("-created_at", "-pk").first())
    unbalanced = unbalanced_journals(legal_entity=legal_entity, month=month)
    items = (
        _time_item(legal_entity, month),
        _expense_item(legal_entity, month),
        _drafts_item(legal_entity, month),
        _recognition_item(legal_entity, month, latest),
        _journals_item(legal_entity, month, unbalanced),
    )
    shown = tuple(unbalanced[:UNBALANCED_SHOWN]) if items[-1].is_blocking else ()
    return Checklist(legal_entity=legal_entity, month=month, period=period, items=items,
                     latest_run=latest, unbalanced=shown)


# --- Variances against the plan -------------------------------------------------------------


@dataclass(frozen=True)
class VarianceRow:
    """One contract's month: planned, recognised and the difference (recognised - planned)."""

    contract_id: int
    contract_code: str
    contract_name: str
    client_name: str
    currency: str
    planned: Decimal
    recognised: Decimal
    difference: Decimal
    explanation: str


@dataclass(frozen=True)
class VarianceTotal:
    currency: str
    planned: Decimal
    recognised: Decimal
    difference: Decimal


@dataclass(frozen=True)
class Variances:
    """The month's largest variances (top `VARIANCES_SHOWN`) and the totals per currency."""

    rows: list[VarianceRow]
    totals: list[VarianceTotal]
    count: int = 0
    order: str = "difference"


VARIANCE_ORDERS = {
    "difference": ("-abs_difference", "schedule__contract__code"),
    "contract": ("schedule__contract__code",),
    "planned": ("-planned_amount", "schedule__contract__code"),
    "recognised": ("-recognised_amount", "schedule__contract__code"),
}


def variances(*, legal_entity: LegalEntity, month: date, order: str = "difference",
              limit: int = VARIANCES_SHOWN) -> Variances:
    """Per contract of the entity, the month's planned amount (schedule line) against what
    was recognised, largest absolute difference first (or by `order`), and totals per
    currency over every contract; three queries."""
    month = month.replace(day=1)
    order = order if order in VARIANCE_ORDERS else "difference"
    lines = ScheduleLine.objects.filter(schedule__contract__legal_entity=legal_entity,
                                        month=month)
    difference = F("recognised_amount") - F("planned_amount")
    rows = (lines.annotate(difference=difference, abs_difference=Abs(difference))
            .order_by(*VARIANCE_ORDERS[order])
            .values("schedule__contract_id", "schedule__contract__code",
                    "schedule__contract__name", "schedule__contract__client__name",
                    "schedule__currency", "planned_amount", "recognised_amount",
                    "explanation")[:limit])
    totals = (lines.order_by().values("schedule__currency")
              .annotate(planned=Sum("planned_amount"), recognised=Sum("recognised_amount"),
                        count=Count("pk")).order_by("schedule__currency"))
    totals = list(totals)
    return Variances(
        rows=[VarianceRow(
            contract_id=row["schedule__contract_id"],
            contract_code=row["schedule__contract__code"],
            contract_name=row["schedule__contract__name"],
            client_name=row["schedule__contract__client__name"],
            currency=row["schedule__currency"], planned=row["planned_amount"],
            recognised=row["recognised_amount"],
            difference=row["recognised_amount"] - row["planned_amount"],
            explanation=row["explanation"]) for row in rows],
        totals=[VarianceTotal(
            currency=row["schedule__currency"], planned=_cents(row["planned"]),
            recognised=_cents(row["recognised"]),
            difference=_cents(row["recognised"]) - _cents(row["planned"])) for row in totals],
        count=sum(row["count"] for row in totals), order=order)


def _cents(value: Decimal | float | None) -> Decimal:
    """A SQL sum back to a 2-place Decimal (SQLite sums decimals as floats)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


# --- Periods and defaults --------------------------------------------------------------------


def period_list(*, actor: UserLike) -> QuerySet[Period]:
    """Periods the actor may see, with their legal entity and closer."""
    return visible(Period.objects.select_related("legal_entity", "closed_by"), actor,
                   "psa.view_period")


def default_legal_entity(*, actor: UserLike) -> LegalEntity | None:
    """The legal entity of the actor's person, else the first (by code) the actor may see."""
    entities = legal_entity_list(actor=actor).order_by("code")
    person = getattr(actor, "person", None)
    if person is not None:
        own = entities.filter(pk=person.legal_entity_id).first()
        if own is not None:
            return own
    return entities.first()


def default_close_month(*, legal_entity: LegalEntity, today: date | None = None) -> date:
    """The month finance closes next: the one after the latest closed month, or last month
    when none is closed yet; never later than the current month."""
    current = (today or timezone.localdate()).replace(day=1)
    latest = (Period.objects.filter(legal_entity=legal_entity, status=Period.Status.CLOSED)
              .order_by("-month").values_list("month", flat=True).first())
    if latest is None:
        return (current - timedelta(days=1)).replace(day=1)
    following = month_end(latest) + timedelta(days=1)
    return min(following, current)
