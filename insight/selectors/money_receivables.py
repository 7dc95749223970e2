"""Accounts receivable and days sales outstanding at each month's end, and the invoices behind
them, as billing/selectors/receivables.py defines both, evaluated at every month end.

AR at a day: the open balance of the invoices issued on or before it (kind invoice, issued,
partially paid or paid now), where open = total - payments received by that day - credit
notes issued against the invoice by that day. DSO at a day: AR ÷ revenue of the 90 days
ending on it x 90, one decimal, none without revenue; "revenue" as billing's `dso()` counts
it: the subtotal of invoices issued in the window less that of credit notes issued in it.
Each currency is converted with the month's rate before the division, so in one currency the
figure equals `dso(as_of=...)`.
"""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import Invoice, Payment
from billing.selectors.receivables import DSO_WINDOW_DAYS
from insight.selectors.money_common import (
    MONEY,
    CurrencyTotals,
    convert_rounded,
    invoice_url,
    money_column,
    money_measure,
    month_ends,
    monthly_sums,
    monthly_values,
)
from insight.selectors.scope import MoneyByMonth, Scope, month_end
from insight.selectors.types import Column, Measure, RowTable
from psa.common.money import ZERO, column_sum

INVOICE, CREDIT_NOTE = Invoice.Kind.INVOICE, Invoice.Kind.CREDIT_NOTE
ISSUED = Invoice.ISSUED_STATES
TENTH = Decimal("0.1")
AR_DEFINITION = (
    "Accounts receivable at the month's end: the open balance of the invoices issued by then "
    "(total less payments received and credit notes issued by that day).")
DSO_DEFINITION = (
    "Days sales outstanding at the month's end: accounts receivable ÷ revenue of the last 90 "
    "days x 90, where revenue is the subtotal of invoices less credit notes issued in those "
    "90 days.")
SERVICE_LINE_NOTE = ("Consolidated invoices (covering several contracts) are left out under a "
                     "service line filter.")


def window_start(end: date) -> date:
    """The first day of the 90 days ending on `end` (both days included, as `dso()`)."""
    return end - timedelta(days=DSO_WINDOW_DAYS - 1)


def _credited_by(end: date, path: str = "") -> Q:
    return Q(kind=CREDIT_NOTE, issue_date__lte=end, **{
        f"{path}credited_invoice__kind": INVOICE,
        f"{path}credited_invoice__status__in": ISSUED,
        f"{path}credited_invoice__issue_date__lte": end})


def _sold_in(end: date, kind: str) -> Q:
    return Q(kind=kind, issue_date__gte=window_start(end), issue_date__lte=end)


def receivables_money(scope: Scope) -> tuple[MoneyByMonth, MoneyByMonth]:
    """(AR, revenue of the last 90 days) per (month end, currency): two grouped queries."""
    months, ends = scope.months, month_ends(scope.months)
    count = len(months)
    documents = (Invoice.objects.filter(scope.invoice_q(), status__in=ISSUED,
                                        issue_date__lte=scope.last_day)
                 .order_by().values("currency")
                 .annotate(**monthly_sums("total", [Q(kind=INVOICE, issue_date__lte=end)
                                                    for end in ends], prefix="t"),
                           **monthly_sums("total", [_credited_by(end) for end in ends],
                                          prefix="c"),
                           **monthly_sums("subtotal", [_sold_in(end, INVOICE) for end in ends],
                                          prefix="s"),
                           **monthly_sums("subtotal", [_sold_in(end, CREDIT_NOTE)
                                                       for end in ends], prefix="r")))
    payments = (Payment.objects.filter(scope.invoice_q("invoice__"), invoice__kind=INVOICE,
                                       invoice__status__in=ISSUED,
                                       invoice__issue_date__lte=scope.last_day,
                                       received_date__lte=scope.last_day)
                .order_by().values(in_currency=F("invoice__currency"))
                .annotate(**monthly_sums("amount", [
                    Q(received_date__lte=end, invoice__issue_date__lte=end) for end in ends])))
    receivable, sales = MoneyByMonth(scope), MoneyByMonth(scope)
    for row in documents:
        totals, credited = monthly_values(row, count, prefix="t"), monthly_values(
            row, count, prefix="c")
        sold, refunded = monthly_values(row, count, prefix="s"), monthly_values(
            row, count, prefix="r")
        for index, month in enumerate(months):
            receivable.add(month, row["currency"], totals[index] - credited[index])
            sales.add(month, row["currency"], sold[index] - refunded[index])
    for row in payments:
        for month, paid in zip(months, monthly_values(row, count), strict=True):
            receivable.add(month, row["in_currency"], -paid)
    return receivable, sales


def days_outstanding(receivable: Decimal, sales: Decimal) -> Decimal | None:
    """AR ÷ sales x 90, one decimal half up; None without sales (as `dso()`)."""
    if sales <= 0:
        return None
    return (receivable / sales * DSO_WINDOW_DAYS).quantize(TENTH, rounding=ROUND_HALF_UP)


def receivables_and_dso(scope: Scope) -> list[Measure]:
    """AR and DSO at each month's end: two grouped queries."""
    receivable, sales = receivables_money(scope)
    note = SERVICE_LINE_NOTE if scope.service_line else ""
    ar = money_measure(key="ar", label="Accounts receivable", scope=scope, money=receivable,
                       definition=AR_DEFINITION, higher_is_better=False, note=note)
    dso = Measure(key="dso", label="DSO", unit="days", months=scope.months,
                  values=tuple(days_outstanding(ar_value, sales.month_total(month))
                               for month, ar_value in zip(scope.months, ar.values,
                                                          strict=True)),
                  definition=DSO_DEFINITION, higher_is_better=False, note=note)
    return [ar, dso]


def _open_invoices(scope: Scope, end: date) -> list[dict]:
    """Invoices with a balance open at `end`, each with what was paid and credited by then:
    one query (two correlated sums)."""
    paid = (Payment.objects.filter(invoice=OuterRef("pk"), received_date__lte=end)
            .order_by().values("invoice").annotate(total=Sum("amount")).values("total"))
    credited = (Invoice.objects.filter(credited_invoice=OuterRef("pk"), kind=CREDIT_NOTE,
                                       status__in=ISSUED, issue_date__lte=end)
                .order_by().values("credited_invoice").annotate(total=Sum("total"))
                .values("total"))
    return list(Invoice.objects.filter(scope.invoice_q(), kind=INVOICE, status__in=ISSUED,
                                       issue_date__lte=end)
                .annotate(paid=Coalesce(Subquery(paid, output_field=MONEY), Value(ZERO),
                                        output_field=MONEY),
                          credited=Coalesce(Subquery(credited, output_field=MONEY),
                                            Value(ZERO), output_field=MONEY))
                .annotate(open_balance=F("total") - F("paid") - F("credited"))
                .exclude(open_balance=0)
                .order_by("issue_date", "number")
                .values("id", "number", "client__name", "issue_date", "due_date", "currency",
                        "total", "paid", "credited"))


def _invoice_rows(scope: Scope, month: date) -> tuple[list[dict], CurrencyTotals]:
    rows, totals = [], CurrencyTotals()
    for invoice in _open_invoices(scope, month_end(month)):
        paid, credited = column_sum(invoice["paid"]), column_sum(invoice["credited"])
        balance = invoice["total"] - paid - credited
        currency = invoice["currency"]
        rows.append({"number": invoice["number"], "client": invoice["client__name"],
                     "issue_date": invoice["issue_date"], "due_date": invoice["due_date"],
                     "currency": currency, "total": invoice["total"], "paid": paid,
                     "credited": credited, "open": balance,
                     "open_converted": convert_rounded(scope, balance, currency, month),
                     "url": invoice_url(invoice["id"])})
        totals.add(currency, balance)
    return rows, totals


INVOICE_COLUMNS = (Column("number", "Invoice", "link"), Column("client", "Client"),
                   Column("issue_date", "Issued", "date"), Column("due_date", "Due", "date"),
                   Column("currency", "Currency"))


def ar_rows(scope: Scope, month: date) -> RowTable:
    """The invoices open at `month`'s end: one query."""
    rows, totals = _invoice_rows(scope, month)
    return RowTable(
        title=f"Accounts receivable at {month_end(month):%d %B %Y}",
        columns=(*INVOICE_COLUMNS, Column("total", "Total", "money"),
                 Column("paid", "Paid", "money"), Column("credited", "Credited", "money"),
                 Column("open", "Open", "money"), money_column(scope, "open_converted", "Open")),
        rows=rows,
        total={"number": "Total", "open": totals.only_currency_total(),
               "open_converted": totals.converted(scope, month)},
        currency=scope.currency, explanation=AR_DEFINITION)


def dso_rows(scope: Scope, month: date) -> RowTable:
    """The invoices open at `month`'s end, then one line per currency for the revenue of the
    90 days ending then: two queries."""
    end = month_end(month)
    rows, receivable = _invoice_rows(scope, month)
    sold = (Invoice.objects.filter(scope.invoice_q(), status__in=ISSUED,
                                   issue_date__gte=window_start(end), issue_date__lte=end)
            .order_by("currency").values("currency")
            .annotate(invoiced=Sum("subtotal", filter=Q(kind=INVOICE)),
                      credited=Sum("subtotal", filter=Q(kind=CREDIT_NOTE))))
    sales = CurrencyTotals()
    for line in sold:
        amount = column_sum(line["invoiced"]) - column_sum(line["credited"])
        currency = line["currency"]
        rows.append({"number": "", "client": (f"Revenue {window_start(end):%d %b %Y} to "
                                              f"{end:%d %b %Y}"),
                     "issue_date": None, "due_date": None, "currency": currency,
                     "revenue": amount,
                     "revenue_converted": convert_rounded(scope, amount, currency, month)})
        sales.add(currency, amount)
    ar_total, sales_total = receivable.converted(scope, month), sales.converted(scope, month)
    return RowTable(
        title=f"DSO at {end:%d %B %Y}",
        columns=(*INVOICE_COLUMNS, Column("open", "Open", "money"),
                 money_column(scope, "open_converted", "Open"),
                 Column("revenue", "90-day revenue", "money"),
                 money_column(scope, "revenue_converted", "90-day revenue"),
                 Column("dso", "DSO", "days")),
        rows=rows,
        total={"number": "Total", "open_converted": ar_total,
               "revenue_converted": sales_total,
               "dso": days_outstanding(ar_total, sales_total)},
        currency=scope.currency, explanation=DSO_DEFINITION)
