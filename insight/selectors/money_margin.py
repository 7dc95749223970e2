"""Gross margin month by month, and the contracts behind each month's figure.

Margin of a month = (recognised revenue - cost) ÷ recognised revenue, DOMAIN.md's project
margin over the firm. Revenue: the month's recognition entries. Cost (DOMAIN.md, project
cost): hours x frozen cost rate of the time worked in the month in the actual states
(approved, invoiced, written off), in the cost currency, plus the project amount of the
expenses dated in the month in the same states (billable ones at cost), in the project's
currency. Only client work counts: time and expenses on projects under a contract. Revenue
and cost are each converted and rounded for the month, then divided.
"""

from datetime import date

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from insight.selectors.money_common import (
    PRODUCT_PLACES,
    CurrencyTotals,
    as_month,
    contract_url,
    money_column,
)
from insight.selectors.money_revenue import recognised_money
from insight.selectors.scope import MoneyByMonth, Scope, month_end
from insight.selectors.types import Column, Measure, RowTable, ratio_percent
from psa.common.money import column_sum
from psa.models import Expense, TimeEntry
from psa.selectors.projects import ACTUAL_STATES, EXACT_PRODUCT
from revenue.models import RecognitionEntry

MARGIN_DEFINITION = (
    "(Recognised revenue - cost) ÷ recognised revenue of the month; cost = hours x frozen "
    "cost rate of the time worked in the month plus the expenses dated in it (approved, "
    "invoiced or written off), on client projects.")
CONTRACT_LABELS = {"contract_id": F("project__contract_id"),
                   "code": F("project__contract__code"),
                   "client": F("project__contract__client__name")}


def _client_work(scope: Scope) -> Q:
    return Q(scope.contract_q("project__contract__"), project__contract__isnull=False,
             status__in=ACTUAL_STATES)


def _time_worked(scope: Scope, first: date, last: date) -> QuerySet[TimeEntry]:
    return TimeEntry.objects.filter(_client_work(scope), work_date__gte=first,
                                    work_date__lte=last).order_by()


def _expenses_spent(scope: Scope, first: date, last: date) -> QuerySet[Expense]:
    return Expense.objects.filter(_client_work(scope), expense_date__gte=first,
                                  expense_date__lte=last).order_by()


TIME_COST = Sum(F("hours") * F("cost_rate"), output_field=EXACT_PRODUCT)
EXPENSE_COST = Sum("project_amount")


def cost_money(scope: Scope) -> MoneyByMonth:
    """Cost per (month, currency) in the scope's months: two grouped queries."""
    money = MoneyByMonth(scope)
    first, last = scope.first_day, scope.last_day
    for row in (_time_worked(scope, first, last)
                .values(month=TruncMonth("work_date"), in_currency=F("cost_currency"))
                .annotate(cost=TIME_COST)):
        money.add(as_month(row["month"]), row["in_currency"],
                  column_sum(row["cost"], PRODUCT_PLACES))
    for row in (_expenses_spent(scope, first, last)
                .values(month=TruncMonth("expense_date"), in_currency=F("project_currency"))
                .annotate(cost=EXPENSE_COST)):
        money.add(as_month(row["month"]), row["in_currency"], column_sum(row["cost"]))
    return money


def gross_margin(scope: Scope) -> list[Measure]:
    """Gross margin for the scope's months: three grouped queries."""
    revenue, cost = recognised_money(scope), cost_money(scope)
    values = []
    for month in scope.months:
        month_revenue = revenue.month_total(month)
        values.append(ratio_percent(month_revenue - cost.month_total(month), month_revenue))
    return [Measure(key="gross_margin", label="Gross margin", unit="percent",
                    months=scope.months, values=tuple(values), definition=MARGIN_DEFINITION,
                    higher_is_better=True)]


def gross_margin_rows(scope: Scope, month: date) -> RowTable:
    """Per contract: revenue, cost and margin of `month`: three grouped queries."""
    end = month_end(month)
    revenue_rows = (RecognitionEntry.objects
                    .filter(scope.contract_q("contract__"), month__gte=month, month__lte=end)
                    .order_by().values("contract_id", in_currency=F("currency"),
                                       code=F("contract__code"),
                                       client=F("contract__client__name"))
                    .annotate(amount=Sum("amount")))
    time_rows = (_time_worked(scope, month, end)
                 .values(in_currency=F("cost_currency"), **CONTRACT_LABELS)
                 .annotate(amount=TIME_COST))
    expense_rows = (_expenses_spent(scope, month, end)
                    .values(in_currency=F("project_currency"), **CONTRACT_LABELS)
                    .annotate(amount=EXPENSE_COST))
    contracts: dict[int, dict] = {}
    revenue_totals, cost_totals = CurrencyTotals(), CurrencyTotals()
    for kind, rows, totals, places in (
            ("revenue", revenue_rows, revenue_totals, 2),
            ("cost", time_rows, cost_totals, PRODUCT_PLACES),
            ("cost", expense_rows, cost_totals, 2)):
        for row in rows:
            line = contracts.setdefault(row["contract_id"], {
                "code": row["code"], "client": row["client"], "url":
                contract_url(row["contract_id"]), "revenue": CurrencyTotals(),
                "cost": CurrencyTotals()})
            amount = column_sum(row["amount"], places)
            line[kind].add(row["in_currency"], amount)
            totals.add(row["in_currency"], amount)
    out = []
    for line in sorted(contracts.values(), key=lambda item: item["code"]):
        revenue = line.pop("revenue").converted(scope, month)
        cost = line.pop("cost").converted(scope, month)
        out.append({**line, "revenue_converted": revenue, "cost_converted": cost,
                    "margin_converted": revenue - cost,
                    "margin_percent": ratio_percent(revenue - cost, revenue)})
    total_revenue = revenue_totals.converted(scope, month)
    total_cost = cost_totals.converted(scope, month)
    return RowTable(
        title=f"Gross margin, {month:%B %Y}",
        columns=(Column("code", "Contract", "link"), Column("client", "Client"),
                 money_column(scope, "revenue_converted", "Revenue"),
                 money_column(scope, "cost_converted", "Cost"),
                 money_column(scope, "margin_converted", "Margin"),
                 Column("margin_percent", "Margin %", "percent")),
        rows=out,
        total={"code": "Total", "revenue_converted": total_revenue,
               "cost_converted": total_cost, "margin_converted": total_revenue - total_cost,
               "margin_percent": ratio_percent(total_revenue - total_cost, total_revenue)},
        currency=scope.currency, explanation=MARGIN_DEFINITION)

