"""Demo billing data on top of psa's demo firm (`manage.py seed_demo_billing`).

Runs one invoice run, inline, over every legal entity up to the end of the month before the
demo's "today" (the same `--as-of` as `seed_demo`), as finance would at month end. Then about
half of the run's invoices are approved and issued (numbers, dates and `invoice.issued`; the
worker renders and e-mails their PDFs once the queued delivery task reaches it), the first
issued one is paid in full and the second in part, and the rest stay drafts for finance to
review.

Deterministic: which invoices are issued depends only on their place in the run's invoices
sorted by client and contract code, which is fixed by the firm; payments go to the first two
issued invoices by number. Idempotent: the run of that cut-off is reused (resumed if it did not
finish), invoices already issued and invoices already paid are left alone, so a repeat writes
nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db.models import Model

from billing.models import (
    BilledItem,
    CapHold,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    Payment,
    RetainerMonth,
    RunOutcome,
)
from billing.services.issue import invoice_approve, invoice_issue
from billing.services.payments import payment_record
from billing.services.runs import invoice_run_execute
from psa.common.logging import acting_as
from psa.common.money import quantize

FINANCE_USERNAME = "finance"
COUNTED: tuple[type[Model], ...] = (InvoiceRun, RunOutcome, Invoice, InvoiceLine, BilledItem,
                                    CapHold, RetainerMonth, Payment)

Log = Callable[[str], None]


@dataclass
class BillingDemo:
    """What one seed run did."""

    run: InvoiceRun | None = None
    ran: bool = False
    issued: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.ran or bool(self.issued) or bool(self.payments)


def previous_month_end(as_of: date) -> date:
    """The cut-off of the month-end run: the last day of the month before `as_of`."""
    return as_of.replace(day=1) - timedelta(days=1)


def _first_working_day_after(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def seed_billing(*, as_of: date, log: Log = lambda _line: None) -> BillingDemo:
    """Seed the billing demo (see the module docstring). Raises LookupError when the psa demo
    (its finance login) is missing."""
    actor = User.objects.filter(username=FINANCE_USERNAME).first()
    if actor is None:
        raise LookupError("The demo's finance login is missing: run `manage.py seed_demo` first.")
    cut_off = previous_month_end(as_of)
    issue_date = min(as_of, _first_working_day_after(cut_off))
    demo = BillingDemo()
    with acting_as(actor):
        demo.run, demo.ran = _month_end_run(actor, cut_off)
        log(f"  invoice run up to {cut_off}: {demo.run.invoices_created} invoices"
            f"{'' if demo.ran else ' (already done)'}")
        demo.issued = _issue_half(demo.run, actor, issue_date)
        log(f"  issued: {len(demo.issued)} invoices dated {issue_date}")
        demo.payments = _record_payments(demo.run, actor, as_of)
        log(f"  payments: {len(demo.payments)} recorded")
    return demo


def _month_end_run(actor: User, cut_off: date) -> tuple[InvoiceRun, bool]:
    """The run of `cut_off`: created and executed inline, or the existing one (resumed when an
    earlier seed stopped before it finished). Returns (run, whether it ran now)."""
    run = InvoiceRun.objects.filter(cut_off=cut_off, legal_entity__isnull=True,
                                    started_by=actor).order_by("pk").first()
    if run is not None and run.status == InvoiceRun.Status.COMPLETED:
        return run, False
    if run is None:
        run = InvoiceRun.objects.create(cut_off=cut_off, started_by=actor)
    return invoice_run_execute(run_id=run.pk, inline=True), True


def _issue_half(run: InvoiceRun, actor: User, issue_date: date) -> list[Invoice]:
    """Approve and issue every other invoice of the run (by client and contract code) that is
    still a draft or approved; the others stay drafts."""
    invoices = sorted(Invoice.objects.filter(run=run).select_related("client", "contract"),
                      key=lambda i: (i.client.code, i.contract.code if i.contract_id else ""))
    issued = []
    for invoice in invoices[::2]:
        if invoice.status == Invoice.Status.DRAFT:
            invoice = invoice_approve(invoice=invoice, actor=actor)
        if invoice.status == Invoice.Status.APPROVED:
            issued.append(invoice_issue(invoice=invoice, actor=actor, issue_date=issue_date))
    return issued


def _record_payments(run: InvoiceRun, actor: User, as_of: date) -> list[Payment]:
    """The first issued invoice (by number) paid in full, the second half paid."""
    issued = (Invoice.objects.filter(run=run, status__in=Invoice.ISSUED_STATES, total__gt=0)
              .order_by("number")[:2])
    payments = []
    for share, invoice in zip((Decimal("1"), Decimal("0.5")), issued, strict=False):
        if invoice.payments.exists():
            continue
        received = min(as_of, invoice.issue_date + timedelta(days=7))
        payments.append(payment_record(
            invoice=invoice, actor=actor, amount=quantize(invoice.total * share,
                                                          invoice.currency),
            received_date=received, reference=f"DEMO-{invoice.number}"))
    return payments


def billing_counts() -> dict[str, int]:
    """Rows per billing model, and invoices per status, for the summary and the tests."""
    counts = {model._meta.object_name: model.objects.count() for model in COUNTED}
    for status, label in Invoice.Status.choices:
        counts[f"  {label.lower()}"] = Invoice.objects.filter(status=status).count()
    return counts
