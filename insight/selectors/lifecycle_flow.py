"""How fast work moves from a won deal to a project, a booking, an invoice: four latencies and
the invoice exception rate, one grouped query each whatever the number of rows.

Every duration is averaged in SQL with `insight.sql.DaysBetween`; tests/insight/
test_lifecycle.py reproduces each figure with plain SQL over the same rows.
"""

from django.db.models import (
    Avg,
    Count,
    Exists,
    Max,
    OuterRef,
    Q,
    Subquery,
)
from django.db.models.functions import Coalesce, TruncMonth

from billing.models import BilledItem, Invoice, InvoiceLine
from crm_sync.models import Deal
from insight.selectors.lifecycle_common import (
    HOURS_PER_DAY,
    month_key,
    rounded,
    scope_bounds,
    series,
)
from insight.selectors.scope import Scope
from insight.selectors.types import Measure, ratio_percent
from insight.sql import DaysBetween
from resourcing.models import Assignment


def deal_latency(*, scope: Scope) -> list[Measure]:
    """Average hours from a deal's closed-won to its project, and to the project's first hard
    booking, by month of the win (one query).

    Deals without a project yet, or whose project has no hard booking yet, are left out of
    the respective average. A hard booking made before the win gives a negative latency.
    """
    start, end = scope_bounds(scope)
    first_hard = (Assignment.objects
                  .filter(project_id=OuterRef("project_id"), booking=Assignment.Booking.HARD)
                  .order_by("created_at", "pk").values("created_at")[:1])
    rows = (Deal.objects
            .filter(scope.project_q("project__"), won_at__gte=start, won_at__lt=end,
                    project__isnull=False)
            .alias(first_hard_at=Subquery(first_hard))
            .annotate(month=TruncMonth("won_at")).order_by().values("month")
            .annotate(to_project=Avg(DaysBetween("project_created_at", "won_at"),
                                     filter=Q(project_created_at__isnull=False)),
                      to_booking=Avg(DaysBetween("first_hard_at", "won_at"),
                                     filter=Q(first_hard_at__isnull=False))))
    to_project, to_booking = {}, {}
    for row in rows:
        month = month_key(row["month"])
        to_project[month] = rounded(row["to_project"], scale=HOURS_PER_DAY)
        to_booking[month] = rounded(row["to_booking"], scale=HOURS_PER_DAY)
    return [
        Measure(key="deal_to_project", label="Deal to project", unit="hours",
                months=scope.months, values=series(scope, to_project), higher_is_better=False,
                definition="Average hours from a CRM deal's closed-won to the creation of its "
                           "project, by month of the win."),
        Measure(key="deal_to_hard_booking", label="Deal to first hard booking", unit="hours",
                months=scope.months, values=series(scope, to_booking), higher_is_better=False,
                definition="Average hours from a deal's closed-won to the first hard "
                           "assignment created on its project, by month of the win."),
    ]


def invoice_cycle_time(*, scope: Scope) -> Measure:
    """Average days from the latest approval among an invoice's billed time and expenses to
    its issue, by issue month (one query). Invoices billing neither are left out."""
    start, end = scope_bounds(scope)
    latest_approval = (BilledItem.objects
                       .filter(Q(time_entry__isnull=False) | Q(expense__isnull=False),
                               invoice_id=OuterRef("pk"), is_live=True)
                       .order_by().values("invoice_id")
                       .annotate(latest=Max(Coalesce("time_entry__approved_at",
                                                     "expense__approved_at")))
                       .values("latest"))
    rows = (Invoice.objects
            .filter(scope.invoice_q(), kind=Invoice.Kind.INVOICE,
                    status__in=Invoice.ISSUED_STATES, issued_at__gte=start, issued_at__lt=end)
            .alias(last_approved_at=Subquery(latest_approval))
            .filter(last_approved_at__isnull=False)
            .annotate(month=TruncMonth("issued_at")).order_by().values("month")
            .annotate(days=Avg(DaysBetween("issued_at", "last_approved_at"))))
    by_month = {month_key(row["month"]): rounded(row["days"]) for row in rows}
    return Measure(key="invoice_cycle_time", label="Invoice cycle time", unit="days",
                   months=scope.months, values=series(scope, by_month), higher_is_better=False,
                   definition="Average days from the last approval of an invoice's billed "
                              "time and expenses to its issue, by issue month.")


def billing_trigger_latency(*, scope: Scope) -> Measure:
    """Average days from a milestone's acceptance (its completion where it needs no
    acceptance) to the issue of the invoice billing it, by issue month (one query)."""
    start, end = scope_bounds(scope)
    rows = (BilledItem.objects
            .filter(scope.project_q("milestone__project__"), milestone__isnull=False,
                    is_live=True, invoice__kind=Invoice.Kind.INVOICE,
                    invoice__status__in=Invoice.ISSUED_STATES,
                    invoice__issued_at__gte=start, invoice__issued_at__lt=end)
            .alias(triggered_at=Coalesce("milestone__accepted_at", "milestone__completed_at"))
            .filter(triggered_at__isnull=False)
            .annotate(month=TruncMonth("invoice__issued_at")).order_by().values("month")
            .annotate(days=Avg(DaysBetween("invoice__issued_at", "triggered_at"))))
    by_month = {month_key(row["month"]): rounded(row["days"]) for row in rows}
    return Measure(key="billing_trigger_latency", label="Billing trigger latency", unit="days",
                   months=scope.months, values=series(scope, by_month), higher_is_better=False,
                   definition="Average days from a milestone's acceptance (completion where "
                              "no acceptance is needed) to the issue of its invoice.")


def invoice_exception_rate(*, scope: Scope) -> Measure:
    """Share of invoices with an exception among those issued (or voided) in the month
    (one query).

    An exception is a line written up or down (adjustment ≠ 0), a void, or an issued credit
    note against the invoice. Issued invoices cannot be voided (credit notes correct them),
    so voided drafts count in the month they were voided, in both numerator and denominator.
    """
    start, end = scope_bounds(scope)
    adjusted = InvoiceLine.objects.filter(~Q(adjustment=0), invoice_id=OuterRef("pk"))
    credited = Invoice.objects.filter(credited_invoice_id=OuterRef("pk"),
                                      kind=Invoice.Kind.CREDIT_NOTE,
                                      status__in=Invoice.ISSUED_STATES)
    void = Invoice.Status.VOID
    rows = (Invoice.objects
            .filter(scope.invoice_q(), kind=Invoice.Kind.INVOICE)
            .filter(Q(status__in=Invoice.ISSUED_STATES, issued_at__gte=start,
                      issued_at__lt=end)
                    | Q(status=void, voided_at__gte=start, voided_at__lt=end))
            .alias(has_adjustment=Exists(adjusted), has_credit=Exists(credited),
                   outcome_at=Coalesce("issued_at", "voided_at"))
            .annotate(month=TruncMonth("outcome_at")).order_by().values("month")
            .annotate(total=Count("pk"),
                      exceptions=Count("pk", filter=Q(has_adjustment=True) | Q(status=void)
                                       | Q(has_credit=True))))
    by_month = {month_key(row["month"]): ratio_percent(row["exceptions"], row["total"])
                for row in rows}
    return Measure(key="invoice_exception_rate", label="Invoice exception rate",
                   unit="percent", months=scope.months, values=series(scope, by_month),
                   higher_is_better=False,
                   definition="Invoices with a written-up or written-down line, voided, or "
                              "with an issued credit note ÷ invoices issued (or voided) in "
                              "the month.")
