"""People measures of the dashboard (DOMAIN.md, Measures), per month of the scope.

- billable utilization = billable hours ÷ capacity hours; total utilization = hours on client
  projects (`Project.is_internal` false) ÷ capacity hours. Hours are time entries in the
  actual states (approved, invoiced, written off) dated in the month; capacity is the per-day
  calendar of `psa.selectors.calendar` (weekdays less the country's public holidays, less
  approved time off, zero outside employment) of the people employed some day of the month,
  summed by `psa.selectors.capacity_months.capacity_by_month`. The comparison line is the
  target: Σ capacity x utilization_target ÷ Σ capacity. The legal entity filter keeps the
  people of that entity (`Person.legal_entity`) and their hours; the client and service line
  filters do not narrow people (a person's capacity belongs to no client), and the measure's
  `note` says so. Time is only accepted on days of employment (psa.services.time_rules), so
  every entry of a person in scope counts.
- realization = billed amount ÷ (billable hours x standard rate card rate) for the work dated
  in the month, with the definitions of the realization page (billing/selectors/realization.py):
  billable time of T&M contracts (with or without a cap) in the actual states; standard value =
  hours x the standard card's rate in the contract's currency for the entry's role (its role on
  the project team, else the person's) effective on the work date; billed = billed base of the
  entries' live links on issued invoices + their share of the lines' adjustments - their share
  of issued credit notes against those lines, each rounded per contract and currency as the page
  rounds them. Filters: legal entity and client via the contract, service line via the project.
- effective bill rate = billed time amount ÷ billable hours (the same billed amount and hours),
  in the display currency, 2 places.

Amounts of each currency are converted with the month's rate (`scope.rates`); a currency with
no rate is left out of the month's figure (billed, standard and hours alike) and the dashboard
names the missing pair. Whatever the data size, the utilization group runs at most 5 queries
(4 for capacity, 1 for hours), the realization group 3 (standard value, billed items, credits)
for all twelve months, and each rows table 3.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse

from billing.models import Invoice, InvoiceLine
from billing.selectors.realization import (
    billed_time_items,
    role_on_team,
    standard_rate,
    tm_work,
)
from insight.selectors.scope import Scope, month_end
from insight.selectors.types import HUNDRED, Column, Measure, RowTable, ratio_percent
from psa.common.money import ZERO, column_sum, quantize
from psa.models import Person, TimeEntry
from psa.selectors.calendar import capacity_by_week_for_people
from psa.selectors.capacity_months import capacity_by_month
from psa.selectors.projects import ACTUAL_STATES, EXACT_PRODUCT

RATE_PLACES = Decimal("0.01")
PEOPLE_NOTE = ("The client and service line filters do not narrow people measures: every "
               "person of the legal entity (or of the firm) counts.")
BILLABLE_DEFINITION = "Billable hours ÷ capacity hours (the per-day calendar)."
TOTAL_DEFINITION = "Hours on client projects ÷ capacity hours (the per-day calendar)."
REALIZATION_DEFINITION = ("Billed amount ÷ (billable hours x standard rate card rate), for "
                          "T&M work dated in the month.")
RATE_DEFINITION = "Billed time amount ÷ billable hours, for T&M work dated in the month."


def _as_date(value: date | datetime) -> date:
    """TruncMonth gives a datetime on some backends: keep the date."""
    return value.date() if isinstance(value, datetime) else value


# --- Utilization -------------------------------------------------------------------------


def _people(scope: Scope) -> QuerySet[Person]:
    people = Person.objects.all()
    if scope.legal_entity_id:
        people = people.filter(legal_entity_id=scope.legal_entity_id)
    return people


def _actual_time(scope: Scope, start: date, end: date) -> QuerySet[TimeEntry]:
    entries = TimeEntry.objects.filter(status__in=ACTUAL_STATES, work_date__gte=start,
                                       work_date__lte=end)
    if scope.legal_entity_id:
        entries = entries.filter(person__legal_entity_id=scope.legal_entity_id)
    return entries.order_by()


HOUR_SUMS = {"actual": Sum("hours"), "billable": Sum("hours", filter=Q(is_billable=True)),
             "client": Sum("hours", filter=Q(project__is_internal=False))}


def utilization(scope: Scope) -> list[Measure]:
    """[billable utilization, total utilization] per month, with the target (5 queries)."""
    capacity = capacity_by_month(people=_people(scope), months=scope.months)
    hours: dict[date, dict] = {
        _as_date(row["month"]): row for row in
        _actual_time(scope, scope.first_day, scope.last_day)
        .values(month=TruncMonth("work_date")).annotate(**HOUR_SUMS)}
    target = tuple(ratio_percent(capacity[m][1], capacity[m][0]) for m in scope.months)

    def series(name: str) -> tuple[Decimal | None, ...]:
        return tuple(ratio_percent(column_sum(hours.get(m, {}).get(name)), capacity[m][0])
                     for m in scope.months)

    note = PEOPLE_NOTE if scope.narrows_work else ""
    return [
        Measure(key="billable_utilization", label="Billable utilization", unit="percent",
                months=scope.months, values=series("billable"), definition=BILLABLE_DEFINITION,
                comparison=target, comparison_label="Target", note=note),
        Measure(key="total_utilization", label="Total utilization", unit="percent",
                months=scope.months, values=series("client"), definition=TOTAL_DEFINITION,
                comparison=target, comparison_label="Target", note=note),
    ]


UTILIZATION_COLUMNS = (
    Column("name", "Person", "text"), Column("role", "Role"),
    Column("legal_entity", "Legal entity"), Column("capacity_hours", "Capacity h", "hours"),
    Column("actual_hours", "Actual h", "hours"), Column("billable_hours", "Billable h", "hours"),
    Column("client_hours", "Client h", "hours"),
    Column("billable_percent", "Billable %", "percent"),
    Column("total_percent", "Total %", "percent"), Column("target_percent", "Target %", "percent"),
)


def _utilization_table(scope: Scope, month: date, *, sort_by: str, title: str) -> RowTable:
    """One row per person employed some day of `month`, and the total (3 queries)."""
    start, end = month, month_end(month)
    people = list(_people(scope).filter(hire_date__lte=end)
                  .filter(Q(termination_date__isnull=True) | Q(termination_date__gte=start))
                  .select_related("role", "legal_entity").order_by("pk"))
    first_monday = start - timedelta(days=start.weekday())
    mondays = [first_monday + timedelta(weeks=n)
               for n in range((end - first_monday).days // 7 + 1)]
    weekly = capacity_by_week_for_people(people=people, weeks=mondays, start=start, end=end)
    hours = {row["person_id"]: row for row in _actual_time(scope, start, end)
             .values("person_id").annotate(**HOUR_SUMS)}
    rows, totals = [], defaultdict(lambda: ZERO)
    for person in people:
        figures = {"capacity": sum(weekly[person.pk].values(), ZERO),
                   **{name: column_sum(hours.get(person.pk, {}).get(name))
                      for name in HOUR_SUMS}}
        for name, value in figures.items():
            totals[name] += value
        totals["target"] += figures["capacity"] * person.utilization_target / HUNDRED
        rows.append(_utilization_row(
            figures, name=person.full_name, role=person.role.name,
            legal_entity=person.legal_entity.name, url=reverse("person-detail", args=[person.pk]),
            target=person.utilization_target if figures["capacity"] else None))
    rows.sort(key=lambda row: (row[sort_by] is None, row[sort_by] or ZERO, row["name"]))
    total = _utilization_row(totals, name="Total", role="", legal_entity="", url="",
                             target=ratio_percent(totals["target"], totals["capacity"]))
    return RowTable(title=f"{title} · {month:%B %Y}", columns=UTILIZATION_COLUMNS, rows=rows,
                    total=total, explanation=PEOPLE_NOTE if scope.narrows_work else "")


def _utilization_row(figures: dict, *, name: str, role: str, legal_entity: str, url: str,
                     target: Decimal | None) -> dict:
    capacity = figures["capacity"]
    return {"name": name, "role": role, "legal_entity": legal_entity,
            "capacity_hours": capacity, "actual_hours": figures["actual"],
            "billable_hours": figures["billable"], "client_hours": figures["client"],
            "billable_percent": ratio_percent(figures["billable"], capacity),
            "total_percent": ratio_percent(figures["client"], capacity),
            "target_percent": target, "url": url}


# --- Realization and effective bill rate ---------------------------------------------------


@dataclass
class ContractWork:
    """One contract's (and currency's) billable T&M work of one month, summed as the
    realization page sums it; amounts in the contract's (or invoice's) currency."""

    contract_id: int
    currency: str
    code: str = ""
    client: str = ""
    hours: Decimal = ZERO
    standard: Decimal = ZERO
    base: Decimal = ZERO
    adjustments: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    credited: Decimal = ZERO

    @property
    def standard_value(self) -> Decimal:
        return quantize(self.standard, self.currency)

    @property
    def billed(self) -> Decimal:
        adjusted = sum((quantize(amount, self.currency) for amount in self.adjustments.values()),
                       ZERO)
        return (quantize(self.base, self.currency) + adjusted
                - quantize(self.credited, self.currency))


def _tm_work(scope: Scope, start: date, end: date) -> QuerySet[TimeEntry]:
    return tm_work(start, end).filter(scope.work_q("project__"))


def contract_work(*, scope: Scope, start: date, end: date, labels: bool = False
                  ) -> dict[date, dict[tuple[int, str], ContractWork]]:
    """Per month and (contract, currency): the realization page's sums for the work dated in
    [start, end]. Three queries (standard value, billed items, credits) for any range."""
    work = _tm_work(scope, start, end)
    label_paths = {"code": "project__contract__code",
                   "client": "project__contract__client__name"} if labels else {}
    standard = (work.annotate(std_role=role_on_team()).annotate(std_rate=standard_rate())
                .order_by()
                .values(month=TruncMonth("work_date"), contract=F("project__contract_id"),
                        currency=F("project__contract__currency"),
                        **{name: F(path) for name, path in label_paths.items()})
                .annotate(total_hours=Sum("hours"),
                          standard=Sum(F("hours") * F("std_rate"), output_field=EXACT_PRODUCT)))
    items = billed_time_items(work)
    billed = (items.order_by()
              .values("line_id", month=TruncMonth("time_entry__work_date"),
                      contract=F("time_entry__project__contract_id"),
                      currency=F("invoice__currency"), reason=F("line__adjustment_reason"),
                      line_base=F("line__base_amount"), line_adjustment=F("line__adjustment"),
                      **{name: F(f"time_entry__{path}") for name, path in
                         label_paths.items()})
              .annotate(value=Sum(F("billed_hours") * F("rate"), output_field=EXACT_PRODUCT)))
    credits = dict(InvoiceLine.objects.filter(
        invoice__kind=Invoice.Kind.CREDIT_NOTE, invoice__status__in=Invoice.ISSUED_STATES,
        credited_line_id__in=items.values("line_id")).order_by().values("credited_line_id")
        .annotate(total=Sum("amount")).values_list("credited_line_id", "total"))

    out: dict[date, dict[tuple[int, str], ContractWork]] = defaultdict(dict)

    def record(row: dict) -> ContractWork:
        by_contract = out[_as_date(row["month"])]
        key = (row["contract"], row["currency"])
        if key not in by_contract:
            by_contract[key] = ContractWork(contract_id=row["contract"], currency=row["currency"],
                                            code=row.get("code", ""), client=row.get("client", ""))
        return by_contract[key]

    for row in standard:
        item = record(row)
        item.hours += column_sum(row["total_hours"])
        item.standard += column_sum(row["standard"], places=6)
    for row in billed:
        item = record(row)
        value = column_sum(row["value"], places=6)
        share = value / row["line_base"] if row["line_base"] else ZERO
        adjustment = row["line_adjustment"] * share
        item.base += value
        if adjustment:
            item.adjustments[row["reason"] or InvoiceLine.AdjustmentReason.OTHER] += adjustment
        item.credited += column_sum(credits.get(row["line_id"])) * share
    return out


@dataclass
class MoneyAndHours:
    """Billed and standard value in the display currency, and the hours behind them."""

    billed: Decimal = ZERO
    standard: Decimal = ZERO
    hours: Decimal = ZERO

    def add(self, item: ContractWork, rate: Decimal) -> None:
        self.billed += item.billed * rate
        self.standard += item.standard_value * rate
        self.hours += item.hours

    @property
    def realization(self) -> Decimal | None:
        return ratio_percent(self.billed, self.standard)

    @property
    def effective_rate(self) -> Decimal | None:
        return ((self.billed / self.hours).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
                if self.hours else None)


def _converted(scope: Scope, month: date, items: Iterable[ContractWork]) -> MoneyAndHours:
    """The month's items added up in the display currency; currencies without a rate are
    left out (the dashboard names the missing pair)."""
    total = MoneyAndHours()
    for item in items:
        rate = scope.rates.rate(item.currency, month)
        if rate is not None:
            total.add(item, rate)
    return total


def realization_and_bill_rate(scope: Scope) -> list[Measure]:
    """[realization, effective bill rate] per month (3 queries for the twelve months)."""
    by_month = contract_work(scope=scope, start=scope.first_day, end=scope.last_day)
    figures = [_converted(scope, month, by_month.get(month, {}).values())
               for month in scope.months]
    return [
        Measure(key="realization", label="Realization", unit="percent", months=scope.months,
                values=tuple(f.realization for f in figures), definition=REALIZATION_DEFINITION),
        Measure(key="effective_bill_rate", label="Effective bill rate", unit="rate",
                months=scope.months, values=tuple(f.effective_rate for f in figures),
                definition=RATE_DEFINITION),
    ]


def _realization_table(scope: Scope, month: date, *, title: str) -> RowTable:
    """One row per contract (and currency) with work dated in `month`, and the total."""
    items = contract_work(scope=scope, start=month, end=month_end(month), labels=True)
    rows = []
    for item in sorted(items.get(month, {}).values(), key=lambda i: (i.code, i.currency)):
        rate = scope.rates.rate(item.currency, month)
        converted = MoneyAndHours()
        if rate is not None:
            converted.add(item, rate)
        rows.append({
            "code": item.code, "client": item.client, "currency": item.currency,
            "hours": item.hours,
            "standard_value": None if rate is None else quantize(converted.standard,
                                                                 scope.currency),
            "billed": None if rate is None else quantize(converted.billed, scope.currency),
            "realization_percent": ratio_percent(item.billed, item.standard_value),
            "effective_rate": converted.effective_rate if rate is not None else None,
            "url": reverse("contract-detail", args=[item.contract_id])})
    total = _converted(scope, month, items.get(month, {}).values())
    currency = scope.currency
    columns = (
        Column("code", "Contract"), Column("client", "Client"),
        Column("currency", "Contract currency"), Column("hours", "Billable h", "hours"),
        Column("standard_value", f"Standard value ({currency})", "money"),
        Column("billed", f"Billed ({currency})", "money"),
        Column("realization_percent", "Realization %", "percent"),
        Column("effective_rate", f"Effective rate ({currency}/h)", "money"))
    return RowTable(
        title=f"{title} · {month:%B %Y}", columns=columns, rows=rows, currency=currency,
        total={"code": "Total", "client": "", "currency": currency, "hours": total.hours,
               "standard_value": quantize(total.standard, currency),
               "billed": quantize(total.billed, currency),
               "realization_percent": total.realization,
               "effective_rate": total.effective_rate, "url": ""},
        explanation=(f"Billable T&M work dated in the month; amounts in {currency} at the "
                     "month's rate (a currency without a rate is left out of the total)."))


# The rows behind each figure; a utilization table lists the least utilized people first.
ROWS: dict[str, Callable[[Scope, date], RowTable]] = {
    "billable_utilization": partial(_utilization_table, sort_by="billable_percent",
                                    title="Billable utilization"),
    "total_utilization": partial(_utilization_table, sort_by="total_percent",
                                 title="Total utilization"),
    "realization": partial(_realization_table, title="Realization"),
    "effective_bill_rate": partial(_realization_table, title="Effective bill rate"),
}
