"""Bookings and backlog, month by month, and the contracts behind each figure.

Bookings of a month: the original value of the contracts signed in it (value_amount less
their approved change orders, because approving a change order adds it to value_amount) plus
the approved change orders effective in it. Backlog at a month's end: the value of the
contracts signed by then (less the approved change orders effective later) less what was
recognised on them in the months up to it, over the contracts still active (DOMAIN.md:
"for active contracts"; a completed contract's unrecognised rest is no backlog). Contracts in
draft or cancelled never count. Amounts are in the contract's currency.
"""

from datetime import date
from decimal import Decimal

from django.db.models import F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from insight.selectors.money_common import (
    MONEY,
    CurrencyTotals,
    booked,
    contract_url,
    convert_rounded,
    money_column,
    money_measure,
    month_ends,
    monthly_sums,
    monthly_values,
)
from insight.selectors.scope import MoneyByMonth, Scope, month_end
from insight.selectors.types import Column, Measure, RowTable
from psa.common.money import ZERO, column_sum
from psa.models import ChangeOrder, Contract
from revenue.models import RecognitionEntry

APPROVED = ChangeOrder.Status.APPROVED
BOOKINGS_DEFINITION = (
    "Value of the contracts signed in the month (their original value: contract value less "
    "approved change orders) plus approved change orders effective in the month; contracts "
    "in draft or cancelled are left out.")
BACKLOG_DEFINITION = (
    "Contract value at the month's end (less approved change orders effective later) less "
    "revenue recognised to date, over the active contracts signed by then.")


def in_backlog(path: str = "") -> Q:
    """Contracts at `path` whose unrecognised value is backlog: the active ones."""
    return Q(**{f"{path}status": Contract.Status.ACTIVE})


def _signed_in(month: date, path: str = "") -> Q:
    return Q(**{f"{path}signed_date__gte": month, f"{path}signed_date__lte": month_end(month)})


def _effective_in(month: date) -> Q:
    return Q(effective_date__gte=month, effective_date__lte=month_end(month))


def bookings_money(scope: Scope) -> MoneyByMonth:
    """Bookings per (month, currency): two grouped queries."""
    money = MoneyByMonth(scope)
    months = scope.months
    contracts = (Contract.objects.filter(booked(), scope.contract_q(),
                                         signed_date__gte=scope.first_day,
                                         signed_date__lte=scope.last_day)
                 .order_by().values("currency")
                 .annotate(**monthly_sums("value_amount", [_signed_in(m) for m in months])))
    for row in contracts:
        for month, amount in zip(months, monthly_values(row, len(months)), strict=True):
            money.add(month, row["currency"], amount)
    window = Q(effective_date__gte=scope.first_day, effective_date__lte=scope.last_day) | Q(
        contract__signed_date__gte=scope.first_day, contract__signed_date__lte=scope.last_day)
    changes = (ChangeOrder.objects.filter(window, booked("contract__"),
                                          scope.contract_q("contract__"), status=APPROVED)
               .order_by().values(currency=F("contract__currency"))
               .annotate(**monthly_sums("value_change_amount",
                                        [_effective_in(m) for m in months], prefix="e"),
                         **monthly_sums("value_change_amount",
                                        [_signed_in(m, "contract__") for m in months],
                                        prefix="s")))
    for row in changes:
        effective = monthly_values(row, len(months), prefix="e")
        of_signed = monthly_values(row, len(months), prefix="s")
        for index, month in enumerate(months):
            money.add(month, row["currency"], effective[index] - of_signed[index])
    return money


def backlog_money(scope: Scope) -> MoneyByMonth:
    """Backlog per (month end, currency): three grouped queries."""
    money = MoneyByMonth(scope)
    months, ends = scope.months, month_ends(scope.months)
    count = len(months)
    signed_by = [Q(signed_date__lte=end) for end in ends]
    value = (Contract.objects.filter(in_backlog(), scope.contract_q(),
                                     signed_date__lte=scope.last_day)
             .order_by().values(in_currency=F("currency"))
             .annotate(**monthly_sums("value_amount", signed_by)))
    later = (ChangeOrder.objects.filter(in_backlog("contract__"), scope.contract_q("contract__"),
                                        status=APPROVED,
                                        contract__signed_date__lte=scope.last_day,
                                        effective_date__gt=month_end(scope.first_day))
             .order_by().values(in_currency=F("contract__currency"))
             .annotate(**monthly_sums("value_change_amount", [
                 Q(contract__signed_date__lte=end, effective_date__gt=end) for end in ends])))
    recognised = (RecognitionEntry.objects
                  .filter(in_backlog("contract__"), scope.contract_q("contract__"),
                          contract__signed_date__lte=scope.last_day, month__lte=scope.last_day)
                  .order_by().values(in_currency=F("contract__currency"))
                  .annotate(**monthly_sums("amount", [
                      Q(contract__signed_date__lte=end, month__lte=end) for end in ends])))
    for rows, sign in ((value, 1), (later, -1), (recognised, -1)):
        for row in rows:
            for month, amount in zip(months, monthly_values(row, count), strict=True):
                money.add(month, row["in_currency"], sign * amount)
    return money


def bookings_and_backlog(scope: Scope) -> list[Measure]:
    """Bookings and backlog for the scope's months: five grouped queries."""
    return [
        money_measure(key="bookings", label="Bookings", scope=scope,
                      money=bookings_money(scope), definition=BOOKINGS_DEFINITION),
        money_measure(key="backlog", label="Backlog", scope=scope,
                      money=backlog_money(scope), definition=BACKLOG_DEFINITION),
    ]


def _approved_changes_of_contract(**conditions: object) -> Coalesce:
    changes = (ChangeOrder.objects.filter(contract=OuterRef("pk"), status=APPROVED, **conditions)
               .order_by().values("contract").annotate(total=Sum("value_change_amount"))
               .values("total"))
    return Coalesce(Subquery(changes, output_field=MONEY), Value(ZERO), output_field=MONEY)


def bookings_rows(scope: Scope, month: date) -> RowTable:
    """The contracts signed and the change orders effective in `month`: two queries."""
    contracts = (Contract.objects.filter(booked(), scope.contract_q(), _signed_in(month))
                 .annotate(changed=_approved_changes_of_contract())
                 .order_by("signed_date", "code")
                 .values("id", "code", "name", "client__name", "signed_date", "currency",
                         "value_amount", "changed"))
    changes = (ChangeOrder.objects.filter(booked("contract__"), scope.contract_q("contract__"),
                                          _effective_in(month), status=APPROVED)
               .order_by("effective_date", "contract__code", "reference")
               .values("reference", "description", "effective_date", "value_change_amount",
                       "contract_id", "contract__code", "contract__client__name",
                       "contract__currency"))
    rows, totals = [], CurrencyTotals()
    for contract in contracts:
        amount = contract["value_amount"] - column_sum(contract["changed"])
        rows.append({"code": contract["code"], "client": contract["client__name"],
                     "date": contract["signed_date"], "what": f"Signed: {contract['name']}",
                     "currency": contract["currency"], "amount": amount,
                     "url": contract_url(contract["id"])})
        totals.add(contract["currency"], amount)
    for change in changes:
        amount = change["value_change_amount"]
        rows.append({"code": change["contract__code"], "client": change["contract__client__name"],
                     "date": change["effective_date"],
                     "what": f"Change order {change['reference']}",
                     "currency": change["contract__currency"], "amount": amount,
                     "url": contract_url(change["contract_id"])})
        totals.add(change["contract__currency"], amount)
    rows.sort(key=lambda row: (row["date"], row["code"], row["what"]))
    for row in rows:
        row["amount_converted"] = convert_rounded(scope, row["amount"], row["currency"], month)
    return RowTable(
        title=f"Bookings, {month:%B %Y}",
        columns=(Column("code", "Contract", "link"), Column("client", "Client"),
                 Column("date", "Date", "date"), Column("what", "What"),
                 Column("currency", "Currency"), Column("amount", "Amount", "money"),
                 money_column(scope, "amount_converted", "Amount")),
        rows=rows,
        total={"code": "Total", "amount": totals.only_currency_total(),
               "amount_converted": totals.converted(scope, month)},
        currency=scope.currency, explanation=BOOKINGS_DEFINITION)


def backlog_rows(scope: Scope, month: date) -> RowTable:
    """The contracts with a backlog at `month`'s end: one query (two correlated sums)."""
    end = month_end(month)
    recognised = (RecognitionEntry.objects.filter(contract=OuterRef("pk"), month__lte=end)
                  .order_by().values("contract").annotate(total=Sum("amount")).values("total"))
    contracts = (Contract.objects.filter(in_backlog(), scope.contract_q(), signed_date__lte=end)
                 .annotate(later=_approved_changes_of_contract(effective_date__gt=end),
                           recognised=Coalesce(Subquery(recognised, output_field=MONEY),
                                               Value(ZERO), output_field=MONEY))
                 .order_by("code")
                 .values("id", "code", "client__name", "currency", "value_amount", "later",
                         "recognised"))
    rows, totals = [], CurrencyTotals()
    for contract in contracts:
        value = contract["value_amount"] - column_sum(contract["later"])
        recognised_to_date = column_sum(contract["recognised"])
        backlog: Decimal = value - recognised_to_date
        if not backlog:
            continue
        currency = contract["currency"]
        rows.append({"code": contract["code"], "client": contract["client__name"],
                     "currency": currency, "value": value, "recognised": recognised_to_date,
                     "backlog": backlog,
                     "backlog_converted": convert_rounded(scope, backlog, currency, month),
                     "url": contract_url(contract["id"])})
        totals.add(currency, backlog)
    return RowTable(
        title=f"Backlog at {end:%d %B %Y}",
        columns=(Column("code", "Contract", "link"), Column("client", "Client"),
                 Column("currency", "Currency"), Column("value", "Value", "money"),
                 Column("recognised", "Recognised to date", "money"),
                 Column("backlog", "Backlog", "money"),
                 money_column(scope, "backlog_converted", "Backlog")),
        rows=rows,
        total={"code": "Total", "backlog": totals.only_currency_total(),
               "backlog_converted": totals.converted(scope, month)},
        currency=scope.currency, explanation=BACKLOG_DEFINITION)
