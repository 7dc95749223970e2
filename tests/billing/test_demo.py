"""`manage.py seed_demo_billing`: a month-end run, some invoices issued, some drafts,
payments, and a repeat that writes nothing."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.demo import billing_counts, previous_month_end
from billing.models import BilledItem, Invoice, InvoiceRun, Payment, RunOutcome
from psa.models import TimeEntry

AS_OF = date(2026, 3, 16)
CUT_OFF = date(2026, 2, 28)

pytestmark = pytest.mark.django_db


def billing(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo_billing", "--as-of", AS_OF.isoformat(), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def firm():
    call_command("seed_demo", "--as-of", AS_OF.isoformat(), "--months", "1", stdout=StringIO())
    call_command("seed_demo_staffing", "--as-of", AS_OF.isoformat(), stdout=StringIO())


def test_the_cut_off_is_the_end_of_the_previous_month():
    assert previous_month_end(AS_OF) == CUT_OFF
    assert previous_month_end(date(2026, 1, 1)) == date(2025, 12, 31)


def test_a_month_end_run_with_issued_invoices_drafts_and_payments(firm):
    out = billing()

    run = InvoiceRun.objects.get()
    assert (run.cut_off, run.status) == (CUT_OFF, InvoiceRun.Status.COMPLETED)
    assert run.started_by.username == "finance"
    invoices = Invoice.objects.filter(run=run)
    issued = invoices.filter(status__in=Invoice.ISSUED_STATES)
    drafts = invoices.filter(status=Invoice.Status.DRAFT)
    assert issued.exists() and drafts.exists()
    assert abs(issued.count() - drafts.count()) <= 1  # about half each
    year = AS_OF.year
    assert sorted(issued.values_list("number", flat=True))[0] in {f"US-{year}-000001",
                                                                  f"UK-{year}-000001"}
    assert all(i.issue_date == date(2026, 3, 2) and i.due_date > i.issue_date for i in issued)
    paid = Invoice.objects.filter(payments__isnull=False).distinct()
    assert Payment.objects.count() == 2
    assert set(paid.values_list("status", flat=True)) == {Invoice.Status.PAID,
                                                          Invoice.Status.PARTIALLY_PAID}
    # Every demo client has its tax set up; what the run billed is linked and invoiced.
    assert not RunOutcome.objects.filter(reason=RunOutcome.Reason.MISSING_TAX).exists()
    assert not Invoice.objects.filter(lines__isnull=True).exists()
    linked = BilledItem.objects.filter(is_live=True, time_entry__isnull=False)
    assert linked.count() == TimeEntry.objects.filter(status=TimeEntry.Status.INVOICED).count()
    assert not linked.filter(time_entry__work_date__gt=CUT_OFF).exists()
    assert "Rows per model:" in out and "Invoice" in out


def test_a_repeat_writes_nothing_and_gives_the_same_invoices(firm):
    billing()
    before = billing_counts()
    fingerprint = sorted(Invoice.objects.values_list("client__code", "number", "status",
                                                     "total"))

    out = billing()

    assert billing_counts() == before
    assert "already present" in out
    assert sorted(Invoice.objects.values_list("client__code", "number", "status",
                                              "total")) == fingerprint


def test_a_seed_stopped_before_issuing_is_finished_by_the_repeat(firm):
    billing()
    expected = billing_counts()
    # As if the first seed had stopped after the run: everything back to draft, no payments.
    Payment.objects.all().delete()
    Invoice.objects.update(status=Invoice.Status.DRAFT, number="", issue_date=None,
                           due_date=None, amount_paid=0, issued_at=None, approved_at=None)

    billing()

    counts = billing_counts()
    assert counts["Invoice"] == expected["Invoice"] and counts["Payment"] == 2
    assert counts["  issued"] + counts["  paid"] + counts["  partially paid"] == (
        expected["  issued"] + expected["  paid"] + expected["  partially paid"])


def test_it_needs_the_psa_demo_first():
    with pytest.raises(CommandError, match="seed_demo"):
        billing()
