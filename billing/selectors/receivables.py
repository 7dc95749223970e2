"""Accounts receivable: aging by client and currency, and days sales outstanding (DSO).

Both are SQL aggregates over issued invoices, so each figure can be reproduced by a plain
query (DOMAIN.md, Measures). An invoice's open balance is its total minus what was paid minus
the credit notes issued against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from billing.models import Invoice
from psa.common.money import ZERO, ensure_same_currency, quantize
from psa.rules import visible

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from psa.models import LegalEntity

MONEY = DecimalField(max_digits=14, decimal_places=2)
DSO_WINDOW_DAYS = 90
BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")


@dataclass(frozen=True)
class AgingRow:
    """Open balances of one client in one currency by days past due; `client_id` None is the
    total row of the currency."""

    client_id: int | None
    client_name: str
    currency: str
    current: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    days_over_90: Decimal
    total: Decimal

    @property
    def is_total(self) -> bool:
        return self.client_id is None


def open_invoices(*, as_of: date, legal_entity: LegalEntity | None = None,
                  ) -> QuerySet[Invoice]:
    """Invoices issued on or before `as_of`, annotated with `open_balance`: total - amount paid
    - credit notes issued against them on or before `as_of` (one correlated subquery)."""
    credited = (Invoice.objects
                .filter(credited_invoice=OuterRef("pk"), kind=Invoice.Kind.CREDIT_NOTE,
                        status__in=Invoice.ISSUED_STATES, issue_date__lte=as_of)
                .order_by().values("credited_invoice").annotate(total=Sum("total"))
                .values("total"))
    invoices = Invoice.objects.filter(kind=Invoice.Kind.INVOICE,
                                      status__in=Invoice.ISSUED_STATES, issue_date__lte=as_of)
    if legal_entity is not None:
        invoices = invoices.filter(legal_entity=legal_entity)
    return invoices.annotate(
        credited_amount=Coalesce(Subquery(credited, output_field=MONEY), Value(ZERO),
                                 output_field=MONEY),
        open_balance=ExpressionWrapper(F("total") - F("amount_paid") - F("credited_amount"),
                                       output_field=MONEY),
    )


def _bucket_sums(as_of: date) -> dict[str, Sum]:
    """One conditional SUM per bucket on the due date (current = due today or later)."""
    balance = F("open_balance")
    day = timedelta(days=1)

    def between(newest: date, oldest: date) -> Sum:
        return Sum(Case(When(due_date__lte=newest, due_date__gte=oldest, then=balance),
                        default=Value(ZERO), output_field=MONEY))

    return {
        "current": Sum(Case(When(due_date__gte=as_of, then=balance), default=Value(ZERO),
                            output_field=MONEY)),
        "days_1_30": between(as_of - day, as_of - 30 * day),
        "days_31_60": between(as_of - 31 * day, as_of - 60 * day),
        "days_61_90": between(as_of - 61 * day, as_of - 90 * day),
        "days_over_90": Sum(Case(When(due_date__lt=as_of - 90 * day, then=balance),
                                 default=Value(ZERO), output_field=MONEY)),
        "balance": Sum(balance, output_field=MONEY),
    }


def ar_aging(*, as_of: date, legal_entity: LegalEntity | None = None,
             actor: User | None = None) -> list[AgingRow]:
    """Open balances per client and currency in the buckets current (not yet due), 1-30,
    31-60, 61-90 and over 90 days past due on `as_of`, then one total row per currency.

    Payments count as recorded to date (`amount_paid`); credit notes as issued by `as_of`.
    Invoices with nothing open are left out. With an `actor`, only the invoices they may see
    with `billing.view_receivables`. One query.
    """
    invoices = open_invoices(as_of=as_of, legal_entity=legal_entity).exclude(open_balance=0)
    if actor is not None:
        invoices = visible(invoices, actor, "billing.view_receivables")
    grouped = (invoices.order_by()
               .values("client_id", "client__name", "currency")
               .annotate(**_bucket_sums(as_of))
               .order_by("client__name", "client_id", "currency"))
    # SQLite sums decimals as floats; every figure is rounded to the cent here, once.
    rows = [AgingRow(client_id=g["client_id"], client_name=g["client__name"],
                     currency=g["currency"], total=quantize(Decimal(g["balance"]), g["currency"]),
                     **{bucket: quantize(Decimal(g[bucket]), g["currency"])
                        for bucket in BUCKETS})
            for g in grouped]
    totals: dict[str, AgingRow] = {}
    for row in rows:
        previous = totals.get(row.currency)
        totals[row.currency] = AgingRow(
            client_id=None, client_name="Total", currency=row.currency,
            total=row.total + (previous.total if previous else ZERO),
            **{bucket: getattr(row, bucket) + (getattr(previous, bucket) if previous else ZERO)
               for bucket in BUCKETS})
    return rows + [totals[currency] for currency in sorted(totals)]


def dso(*, as_of: date, legal_entity: LegalEntity | None = None,
        currency: str | None = None) -> Decimal | None:
    """Days sales outstanding on `as_of`: receivables / revenue of the last 90 days x 90,
    rounded half up to one decimal; None when there was no revenue in the window.

    Receivables are the open balances of `open_invoices` (tax included, what the client owes).
    Until the revenue app records recognised revenue, "revenue of the last 90 days" is the
    subtotal (before tax) of invoices issued in the 90 days ending on `as_of` (both days
    included) minus the subtotal of credit notes issued in them.
    Amounts in different currencies are never added: `currency` defaults to the legal
    entity's base currency; without either, every invoice must share one currency, else
    CurrencyMismatch is raised.
    """
    invoices = Invoice.objects.filter(status__in=Invoice.ISSUED_STATES)
    if legal_entity is not None:
        invoices = invoices.filter(legal_entity=legal_entity)
        currency = currency or legal_entity.base_currency
    if currency is None:
        found = list(invoices.order_by().values_list("currency", flat=True).distinct()[:2])
        if not found:
            return None
        currency = ensure_same_currency(*found)

    window_start = as_of - timedelta(days=DSO_WINDOW_DAYS - 1)
    revenue = invoices.filter(currency=currency, issue_date__gte=window_start,
                              issue_date__lte=as_of).aggregate(
        invoiced=Coalesce(Sum("subtotal", filter=Q(kind=Invoice.Kind.INVOICE)),
                          Value(ZERO), output_field=MONEY),
        credited=Coalesce(Sum("subtotal", filter=Q(kind=Invoice.Kind.CREDIT_NOTE)),
                          Value(ZERO), output_field=MONEY))
    sales = revenue["invoiced"] - revenue["credited"]
    if sales <= 0:
        return None
    receivable = (open_invoices(as_of=as_of, legal_entity=legal_entity)
                  .filter(currency=currency)
                  .aggregate(total=Coalesce(Sum("open_balance"), Value(ZERO),
                                            output_field=MONEY))["total"])
    days = receivable / sales * DSO_WINDOW_DAYS
    return days.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
