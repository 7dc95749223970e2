"""`manage.py seed_demo_revenue`: estimates, schedule plans, a recognition run per past month
and legal entity, the oldest month closed, balanced journals, and a repeat that writes
nothing."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Max

from billing.models import Invoice
from psa.models import Contract, LegalEntity, Period
from revenue.demo import revenue_counts, unbalanced_journals
from revenue.models import (
    ContractEstimate,
    JournalEntry,
    JournalLine,
    RecognitionEntry,
    RecognitionRun,
    RevenueSchedule,
    ScheduleLine,
)
from revenue.services.invoice_journals import invoice_journal_entries
from revenue.services.journals import contract_balances_many

AS_OF = date(2026, 3, 16)
DEC, JAN, FEB, MAR = date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)

pytestmark = pytest.mark.django_db


def revenue(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo_revenue", "--as-of", AS_OF.isoformat(), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def firm():
    """The demo firm with three months of history (December to February) and February's
    billing, as `make run` seeds it."""
    for command, *args in (("seed_demo", "--months", "3"), ("seed_demo_staffing",),
                           ("seed_demo_billing",)):
        call_command(command, "--as-of", AS_OF.isoformat(), *args, stdout=StringIO())


def snapshot() -> dict[str, object]:
    state: dict[str, object] = dict(revenue_counts())
    for model in (ContractEstimate, RevenueSchedule, ScheduleLine, RecognitionRun):
        state[f"{model.__name__} changed"] = model.objects.aggregate(m=Max("updated_at"))["m"]
    state["periods"] = sorted(Period.objects.values_list("legal_entity__code", "month",
                                                         "status"))
    state["entries"] = sorted(RecognitionEntry.objects.values_list("contract__code", "month",
                                                                   "amount"))
    return state


def test_every_entity_has_its_past_months_recognised_with_balanced_journals(firm):
    out = revenue()

    entities = set(LegalEntity.objects.values_list("code", flat=True))
    runs = RecognitionRun.objects.all()
    assert sorted(runs.values_list("legal_entity__code", "period")) == sorted(
        (code, month) for code in entities for month in (DEC, JAN, FEB))
    assert set(runs.values_list("status", flat=True)) == {RecognitionRun.Status.COMPLETED}
    assert set(runs.values_list("started_by__username", flat=True)) == {"finance"}
    assert not RecognitionEntry.objects.filter(month=MAR).exists()  # left for the close demo
    entries = RecognitionEntry.objects.all()
    assert all(entries.filter(month=month).exists() for month in (DEC, JAN, FEB))
    assert len(set(entries.values_list("contract__revenue_method", flat=True))) >= 3
    # Every entry has its one balanced journal entry; no journal is unbalanced.
    assert JournalEntry.objects.filter(source=JournalEntry.Source.RECOGNITION).count() == (
        entries.count())
    assert unbalanced_journals() == 0
    for journal in JournalEntry.objects.prefetch_related("lines"):
        debit = sum((line.debit for line in journal.lines.all()), Decimal("0"))
        credit = sum((line.credit for line in journal.lines.all()), Decimal("0"))
        assert debit == credit == journal.total_debit == journal.total_credit
    # Schedule lines carry the month's recognised amount and its explanation.
    for line in ScheduleLine.objects.filter(month=FEB).select_related("schedule"):
        posted = sum(entries.filter(contract_id=line.schedule.contract_id, month=FEB)
                     .values_list("amount", flat=True), Decimal("0"))
        assert line.recognised_amount == posted
    assert "Revenue demo data ready" in out and "Rows per model:" in out
    assert "recognised" in out and "deferred" in out
    assert "do not balance" not in out
    # The invoices seed_demo_billing issued have their journal entries, posted after the runs:
    # per contract at most one of unbilled receivable and deferred revenue is left.
    issued = Invoice.objects.filter(status__in=Invoice.ISSUED_STATES)
    assert issued.exists()
    assert all(invoice_journal_entries(invoice).exists() for invoice in issued)
    balances = contract_balances_many(list(Contract.objects.values_list("pk", flat=True)))
    assert all(not (unbilled and deferred) for unbilled, deferred in balances.values())
    # The check itself sees a line that no longer adds up to its entry.
    line = JournalLine.objects.filter(debit__gt=0).order_by("pk").first()
    JournalLine.objects.filter(pk=line.pk).update(debit=line.debit + Decimal("0.01"))
    assert unbalanced_journals() == 1


def test_estimates_plans_and_the_oldest_month_closed(firm):
    revenue()

    percent = Contract.objects.filter(revenue_method__in=("pct_cost", "pct_hours")).exclude(
        status=Contract.Status.CANCELLED)
    assert percent.exists()
    with_estimates = set(ContractEstimate.objects.values_list("contract_id", flat=True))
    assert with_estimates and with_estimates <= set(percent.values_list("pk", flat=True))
    first = ContractEstimate.objects.filter(note__startswith="Estimate at completion")
    assert first.values("contract").distinct().count() == len(with_estimates)
    revisions = ContractEstimate.objects.filter(effective_month=JAN, note__startswith="Revised")
    assert revisions.exists()  # two months before March: January
    for estimate in ContractEstimate.objects.all():
        assert (estimate.total_cost_amount is None) != (estimate.total_hours is None)
    # A schedule with its plan for every contract that is not cancelled.
    live = Contract.objects.exclude(status=Contract.Status.CANCELLED)
    assert RevenueSchedule.objects.count() == live.count()
    assert ScheduleLine.objects.filter(planned_amount__gt=0).exists()
    # December (the oldest, older than the previous month) is closed; the rest stay open.
    assert set(Period.objects.filter(status=Period.Status.CLOSED)
               .values_list("legal_entity__code", "month")) == {
        (code, DEC) for code in LegalEntity.objects.values_list("code", flat=True)}
    assert all(p.closed_by.username == "finance"
               for p in Period.objects.filter(status=Period.Status.CLOSED))


def test_a_repeat_writes_nothing(firm):
    revenue()
    before = snapshot()

    out = revenue()

    assert snapshot() == before
    assert "already present" in out
    # One run per entity and month, never a second.
    assert not RecognitionRun.objects.values("legal_entity", "period").annotate(
        n=Count("id")).filter(n__gt=1).exists()


def test_an_interrupted_seed_is_finished_by_the_repeat(firm):
    revenue()
    expected = sorted(RecognitionEntry.objects.values_list("contract__code", "month",
                                                           "amount"))
    # As if the first seed had stopped before February's runs (and December's close).
    feb = RecognitionRun.objects.filter(period=FEB)
    JournalEntry.objects.filter(source=JournalEntry.Source.RECOGNITION,
                                source_id__in=RecognitionEntry.objects.filter(
                                    run__in=feb).values("pk")).delete()
    RecognitionEntry.objects.filter(run__in=feb).delete()
    feb.delete()
    Period.objects.update(status=Period.Status.OPEN, closed_at=None, closed_by=None)

    revenue()

    assert sorted(RecognitionEntry.objects.values_list("contract__code", "month",
                                                       "amount")) == expected
    assert Period.objects.filter(status=Period.Status.CLOSED, month=DEC).count() == (
        LegalEntity.objects.count())


def test_it_needs_the_psa_demo_first():
    with pytest.raises(CommandError, match="seed_demo"):
        revenue()
