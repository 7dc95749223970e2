"""Work in progress (unbilled), at each month's end, and the contracts behind the figure.

WIP at a month's end is the approved billable value not yet on an invoice issued by then
(DOMAIN.md: "approved, unbilled billable value"), counted as billing counts what is ready to
invoice (billing/selectors/unbilled.py):

- time on T&M contracts (with or without a cap): billable entries approved by the month's end
  and still approved or invoiced now (a written-off entry never counts), valued hours x
  frozen bill rate in the bill currency, rounded per contract;
- expenses on contracts whose expenses are billable: billable expenses approved by then (same
  states), project amount x (1 + the contract's markup), rounded per contract and category
  as their invoice line is;
- milestones on fixed-fee-by-milestone contracts: accepted by then (or completed, where no
  acceptance is needed), their amount in the milestone's currency.

An item is unbilled at a month's end unless a LIVE `BilledItem` links it to an invoice issued
on or before that day (an item on a draft is still unbilled; a voided invoice or a releasing
credit note leaves only dead links, so such an item counts as unbilled again in every month).
Unlike billing's "ready" list this counts items finance held back and items in another
currency than their contract's (each in its own currency); installments, retainer months and
amounts held over a cap are not approved work and are not counted.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import F, FilteredRelation, Q
from django.db.models.functions import Coalesce

from insight.selectors.money_common import (
    PRODUCT_PLACES,
    CurrencyTotals,
    contract_url,
    convert_rounded,
    first_instant_after,
    money_column,
    money_measure,
    month_ends,
    monthly_sums,
    monthly_values,
)
from insight.selectors.scope import MoneyByMonth, Scope, month_end
from insight.selectors.types import Column, Measure, RowTable
from psa.common.money import ZERO, quantize
from psa.models import Contract, Expense, Milestone, TimeEntry
from psa.selectors.projects import EXACT_PRODUCT

BM = Contract.BillingModel
TIME_BILLED_MODELS = (BM.TIME_AND_MATERIALS, BM.TIME_AND_MATERIALS_CAP)
# Approved work stays approved work when it is invoiced; written off never was billable value.
WORK_STATES = (TimeEntry.Status.APPROVED, TimeEntry.Status.INVOICED)
READY_MILESTONE_STATES = (Milestone.Status.COMPLETED, Milestone.Status.ACCEPTED,
                          Milestone.Status.INVOICED)
HUNDRED = Decimal(100)
WIP_DEFINITION = (
    "Approved, unbilled billable value at the month's end: approved billable time on T&M "
    "contracts (hours x frozen bill rate), billable expenses with the contract's markup and "
    "accepted milestones, not on an invoice issued by that day.")
KINDS = ("time", "expenses", "milestones")
CONTRACT_LABELS = {"contract_id": F("project__contract_id"),
                   "code": F("project__contract__code"),
                   "client": F("project__contract__client__name")}


@dataclass
class ContractWip:
    """One contract's unbilled amounts in one currency at one month's end (rounded)."""

    contract_id: int
    code: str
    client: str
    currency: str
    time: Decimal = ZERO
    expenses: Decimal = ZERO
    milestones: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.time + self.expenses + self.milestones


def _live_link() -> FilteredRelation:
    return FilteredRelation("billed_items", condition=Q(billed_items__is_live=True))


def _unbilled_at(end: date) -> Q:
    """No live link to an invoice issued on or before `end` (joined as `live`)."""
    return Q(live__invoice__issue_date__isnull=True) | Q(live__invoice__issue_date__gt=end)


def _approved_by(end: date) -> Q:
    return Q(approved_at__lt=first_instant_after(end)) & _unbilled_at(end)


def _time(scope: Scope, ends: Sequence[date]) -> list[dict]:
    return list(TimeEntry.objects
                .filter(scope.work_q("project__"),
                        project__contract__billing_model__in=TIME_BILLED_MODELS,
                        is_billable=True, status__in=WORK_STATES, bill_rate__isnull=False,
                        approved_at__lt=first_instant_after(ends[-1]))
                .annotate(live=_live_link())
                .order_by().values(in_currency=F("bill_currency"), **CONTRACT_LABELS)
                .annotate(**monthly_sums(F("hours") * F("bill_rate"),
                                         [_approved_by(end) for end in ends],
                                         output_field=EXACT_PRODUCT)))


def _expenses(scope: Scope, ends: Sequence[date]) -> list[dict]:
    return list(Expense.objects
                .filter(scope.work_q("project__"),
                        project__contract__expenses_billable=True, is_billable=True,
                        status__in=WORK_STATES, approved_at__lt=first_instant_after(ends[-1]))
                .annotate(live=_live_link())
                .order_by().values("category", in_currency=F("project_currency"),
                                   markup=F("project__contract__expense_markup_percent"),
                                   **CONTRACT_LABELS)
                .annotate(**monthly_sums("project_amount", [_approved_by(end) for end in ends])))


def _milestones(scope: Scope, ends: Sequence[date]) -> list[dict]:
    ready = [Q(ready_at__lt=first_instant_after(end)) & _unbilled_at(end) for end in ends]
    return list(Milestone.objects
                .filter(scope.work_q("project__"),
                        Q(requires_acceptance=False) | Q(accepted_at__isnull=False),
                        project__contract__billing_model=BM.FIXED_MILESTONES,
                        status__in=READY_MILESTONE_STATES)
                .annotate(live=_live_link(), ready_at=Coalesce("accepted_at", "completed_at"))
                .filter(ready_at__lt=first_instant_after(ends[-1]))
                .order_by().values(in_currency=F("currency"), **CONTRACT_LABELS)
                .annotate(**monthly_sums("amount", ready)))


def wip_by_contract(scope: Scope, months: Sequence[date]) -> list[dict[tuple[int, str],
                                                                       ContractWip]]:
    """For each of `months`, the unbilled amounts per (contract, currency) at its end, each
    rounded as billing rounds it: three grouped queries whatever the number of items."""
    ends = month_ends(months)
    result: list[dict[tuple[int, str], ContractWip]] = [{} for _ in months]

    def line(index: int, row: dict) -> ContractWip:
        key = (row["contract_id"], row["in_currency"])
        return result[index].setdefault(key, ContractWip(
            contract_id=row["contract_id"], code=row["code"], client=row["client"],
            currency=row["in_currency"]))

    for row in _time(scope, ends):
        values = monthly_values(row, len(ends), places=PRODUCT_PLACES)
        for index, value in enumerate(values):
            if value:
                line(index, row).time += quantize(value, row["in_currency"])
    for row in _expenses(scope, ends):
        factor = 1 + row["markup"] / HUNDRED
        for index, value in enumerate(monthly_values(row, len(ends))):
            if value:
                line(index, row).expenses += quantize(value * factor, row["in_currency"])
    for row in _milestones(scope, ends):
        for index, value in enumerate(monthly_values(row, len(ends))):
            if value:
                line(index, row).milestones += value
    return result


def wip_money(scope: Scope) -> MoneyByMonth:
    money = MoneyByMonth(scope)
    for month, contracts in zip(scope.months, wip_by_contract(scope, scope.months),
                                strict=True):
        for wip in contracts.values():
            money.add(month, wip.currency, wip.total)
    return money


def work_in_progress(scope: Scope) -> list[Measure]:
    """WIP (unbilled) at each month's end: three grouped queries."""
    return [money_measure(key="wip", label="WIP (unbilled)", scope=scope,
                          money=wip_money(scope), definition=WIP_DEFINITION,
                          higher_is_better=False)]


def wip_rows(scope: Scope, month: date) -> RowTable:
    """Per contract (and currency): unbilled time, expenses and milestones at `month`'s end,
    and their total: three grouped queries."""
    contracts = sorted(wip_by_contract(scope, [month])[0].values(),
                       key=lambda wip: (wip.code, wip.currency))
    totals = {kind: CurrencyTotals() for kind in (*KINDS, "total")}
    rows = []
    for wip in contracts:
        if not (wip.time or wip.expenses or wip.milestones):
            continue
        row = {"code": wip.code, "client": wip.client, "currency": wip.currency,
               "time": wip.time, "expenses": wip.expenses, "milestones": wip.milestones,
               "total": wip.total,
               "total_converted": convert_rounded(scope, wip.total, wip.currency, month),
               "url": contract_url(wip.contract_id)}
        for kind, sums in totals.items():
            sums.add(wip.currency, row[kind])
        rows.append(row)
    return RowTable(
        title=f"WIP (unbilled) at {month_end(month):%d %B %Y}",
        columns=(Column("code", "Contract", "link"), Column("client", "Client"),
                 Column("currency", "Currency"), Column("time", "Time", "money"),
                 Column("expenses", "Expenses", "money"),
                 Column("milestones", "Milestones", "money"),
                 Column("total", "Total", "money"),
                 money_column(scope, "total_converted", "Total")),
        rows=rows,
        total={"code": "Total",
               **{kind: sums.only_currency_total() for kind, sums in totals.items()},
               "total_converted": totals["total"].converted(scope, month)},
        currency=scope.currency, explanation=WIP_DEFINITION)
