"""Recognised revenue against the schedules' plan, month by month, and the contracts behind
each month's figure.

Revenue of a month: the recognition entries of the month (revenue's ledger of what each run
recognised), in their currency. Plan: the schedule lines' planned amounts for the month, in
the schedule's currency.
"""

from datetime import date

from django.db.models import F, Sum

from insight.selectors.money_common import (
    CurrencyTotals,
    as_month,
    contract_url,
    convert_rounded,
    money_column,
    money_measure,
)
from insight.selectors.scope import MoneyByMonth, Scope, month_end
from insight.selectors.types import Column, Measure, RowTable
from psa.common.money import ZERO, column_sum
from revenue.models import RecognitionEntry, ScheduleLine

REVENUE_DEFINITION = (
    "Recognised revenue against the schedules' plan: the recognition entries of the month, "
    "compared with the planned amounts of the revenue schedules' lines for the month.")


def recognised_money(scope: Scope) -> MoneyByMonth:
    """Recognised revenue per (month, currency) in the scope's months: one grouped query."""
    money = MoneyByMonth(scope)
    rows = (RecognitionEntry.objects
            .filter(scope.contract_q("contract__"), month__gte=scope.first_day,
                    month__lte=scope.last_day)
            .order_by().values("month", "currency").annotate(total=Sum("amount")))
    for row in rows:
        money.add(as_month(row["month"]), row["currency"], column_sum(row["total"]))
    return money


def planned_money(scope: Scope) -> MoneyByMonth:
    """Planned revenue per (month, currency) in the scope's months: one grouped query."""
    money = MoneyByMonth(scope)
    rows = (ScheduleLine.objects
            .filter(scope.contract_q("schedule__contract__"), month__gte=scope.first_day,
                    month__lte=scope.last_day)
            .order_by().values("month", currency=F("schedule__currency"))
            .annotate(total=Sum("planned_amount")))
    for row in rows:
        money.add(as_month(row["month"]), row["currency"], column_sum(row["total"]))
    return money


def revenue_against_forecast(scope: Scope) -> list[Measure]:
    """Recognised revenue with the plan as its comparison line: two grouped queries."""
    return [money_measure(key="revenue", label="Revenue", scope=scope,
                          money=recognised_money(scope), definition=REVENUE_DEFINITION,
                          comparison=planned_money(scope), comparison_label="Plan")]


def revenue_rows(scope: Scope, month: date) -> RowTable:
    """Per contract: recognised and planned in `month`: two grouped queries."""
    in_month = {"month__gte": month, "month__lte": month_end(month)}
    recognised = (RecognitionEntry.objects.filter(scope.contract_q("contract__"), **in_month)
                  .order_by().values("contract_id", "currency", code=F("contract__code"),
                                     client=F("contract__client__name"))
                  .annotate(total=Sum("amount")))
    planned = (ScheduleLine.objects.filter(scope.contract_q("schedule__contract__"), **in_month)
               .order_by().values(contract_id=F("schedule__contract_id"),
                                  currency=F("schedule__currency"),
                                  code=F("schedule__contract__code"),
                                  client=F("schedule__contract__client__name"))
               .annotate(total=Sum("planned_amount")))
    by_contract: dict[tuple[int, str], dict] = {}
    for kind, rows in (("recognised", recognised), ("planned", planned)):
        for row in rows:
            line = by_contract.setdefault((row["contract_id"], row["currency"]), {
                "code": row["code"], "client": row["client"], "currency": row["currency"],
                "recognised": ZERO, "planned": ZERO, "url": contract_url(row["contract_id"])})
            line[kind] += column_sum(row["total"])
    rows_out = sorted(by_contract.values(), key=lambda row: (row["code"], row["currency"]))
    recognised_totals, planned_totals = CurrencyTotals(), CurrencyTotals()
    for row in rows_out:
        recognised_totals.add(row["currency"], row["recognised"])
        planned_totals.add(row["currency"], row["planned"])
        for kind in ("recognised", "planned"):
            row[f"{kind}_converted"] = convert_rounded(scope, row[kind], row["currency"], month)
    return RowTable(
        title=f"Revenue, {month:%B %Y}",
        columns=(Column("code", "Contract", "link"), Column("client", "Client"),
                 Column("currency", "Currency"), Column("recognised", "Recognised", "money"),
                 Column("planned", "Planned", "money"),
                 money_column(scope, "recognised_converted", "Recognised"),
                 money_column(scope, "planned_converted", "Planned")),
        rows=rows_out,
        total={"code": "Total", "recognised": recognised_totals.only_currency_total(),
               "planned": planned_totals.only_currency_total(),
               "recognised_converted": recognised_totals.converted(scope, month),
               "planned_converted": planned_totals.converted(scope, month)},
        currency=scope.currency, explanation=REVENUE_DEFINITION)
