"""Revenue forecast for the coming months: schedules, scheduled T&M work and the weighted
pipeline, by month, client or service line (issue #6, item 6).

Three sources, each counted once, in one currency:

- schedule: for active fixed-fee (percent complete), milestone and ratable contracts, each
  month's planned amount not yet recognised (`ScheduleLine.planned_amount -
  recognised_amount`, never below zero). One aggregate query.
- T&M scheduled: for active T&M-as-delivered contracts, the assignments' hours in each month x
  the person's bill rate from psa's rate resolution (`bill_rate_resolve`: contract override,
  contract card, client card, then the role's line on the standard card), resolved once per
  (person, contract, role, month) on the first day the assignment runs in that month.
  Hours in a month = hours per week x the assignment's weekdays (Monday to Friday) in the month
  (and in the contract's service period) ÷ 5, as resourcing counts allocation; holidays reduce
  capacity, not bookings. Hard bookings count in full, soft (pencilled-in) bookings at
  SOFT_WEIGHT = 50 %: a soft booking on a signed contract usually happens, but not always.
  Assignments on tentative projects are pipeline, not scheduled work, and are left out here.
  A contract with a cap stops at the cap: the months' amounts are cut once the cap less what
  is recognised to date is used up (the cut spread over the contract's projects by amount).
  Hours no rate can price are not counted as zero silently: `Forecast.unpriced_hours`.
- pipeline: resource requests on pipeline deals (no project), on tentative projects or flagged
  tentative, not cancelled: hours per week x weekdays in the month ÷ 5, less the hours
  of assignments made against the request on non-tentative projects (those are scheduled
  work already), x the request's bill rate (else the role's standard rate) x probability.

Amounts are rounded half up where they are formed (per assignment or request and month);
totals are sums of rounded amounts. Amounts in another currency than the forecast's are left
out (`Forecast.other_currencies` lists them); requests with no currency take the project's,
and a deal's request with neither is taken to be in the forecast's currency. With a legal
entity, only its contracts and projects count (a deal without a project has no entity yet and
is left out).

Reads are aggregate queries or single passes over the rows that touch the window (assignments
and requests overlapping it), never whole tables; rate resolution is cached.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from django.db.models import Case, Count, DecimalField, F, Q, QuerySet, Sum, Value, When

from psa.common.errors import RateNotFoundError
from psa.common.money import ZERO, quantize, split
from psa.models import Contract, LegalEntity, Person, Project, RateCard, RateCardLine, Role
from psa.services.rates_resolution import bill_rate_resolve
from resourcing.models import Assignment, ResourceRequest
from revenue.models import RecognitionEntry, ScheduleLine
from revenue.services.targets import month_end, months_between

GroupBy = Literal["month", "client", "service_line"]
GROUP_CHOICES: tuple[tuple[str, str], ...] = (
    ("month", "Month"), ("client", "Client"), ("service_line", "Service line"))
SERIES: tuple[tuple[str, str], ...] = (
    ("schedule", "Schedules"), ("tm", "T&M scheduled"), ("pipeline", "Weighted pipeline"))
SOFT_WEIGHT = Decimal("0.5")
HUNDRED = Decimal("100")
HOURS = Decimal("0.01")
AMOUNT = DecimalField(max_digits=16, decimal_places=2)
Method = Contract.RevenueMethod
SCHEDULE_METHODS = (Method.PERCENT_COMPLETE_COST, Method.PERCENT_COMPLETE_HOURS,
                    Method.MILESTONE, Method.RATABLE)
NO_SERVICE_LINE = "No service line"


@dataclass(frozen=True)
class ForecastCell:
    """One month's forecast (or a sum of months) split by source."""

    schedule: Decimal = ZERO
    tm: Decimal = ZERO
    pipeline: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.schedule + self.tm + self.pipeline

    def __add__(self, other: ForecastCell) -> ForecastCell:
        return ForecastCell(self.schedule + other.schedule, self.tm + other.tm,
                            self.pipeline + other.pipeline)


def cell_sum(cells: Iterable[ForecastCell]) -> ForecastCell:
    total = ForecastCell()
    for cell in cells:
        total += cell
    return total


@dataclass(frozen=True)
class ForecastRow:
    """One group (a month, a client or deal, a service line) with a cell per forecast month."""

    key: str
    label: str
    cells: tuple[ForecastCell, ...]

    @property
    def total(self) -> ForecastCell:
        return cell_sum(self.cells)


@dataclass(frozen=True)
class Forecast:
    """The forecast for `months` (first days) in one currency, grouped by `group_by`."""

    start_month: date
    months: tuple[date, ...]
    currency: str
    group_by: str
    rows: tuple[ForecastRow, ...]
    month_totals: tuple[ForecastCell, ...]
    unpriced_hours: Decimal = ZERO
    other_currencies: tuple[str, ...] = ()

    @property
    def total(self) -> ForecastCell:
        return cell_sum(self.month_totals)


@dataclass(frozen=True)
class _Group:
    """Who an amount belongs to, for every grouping."""

    client_key: str
    client_label: str
    service_line: str


@dataclass
class _Accumulator:
    """Amounts per (group, month, series) as the sources are read."""

    months: tuple[date, ...]
    group_by: str
    amounts: dict[tuple[str, date, str], Decimal] = field(
        default_factory=lambda: defaultdict(lambda: ZERO))
    labels: dict[str, str] = field(default_factory=dict)
    unpriced_hours: Decimal = ZERO

    def add(self, group: _Group, month: date, series: str, amount: Decimal) -> None:
        if not amount:
            return
        if self.group_by == "client":
            key, label = group.client_key, group.client_label
        elif self.group_by == "service_line":
            key = label = group.service_line or NO_SERVICE_LINE
        else:
            key, label = month.isoformat(), f"{month:%b %Y}"
        self.labels[key] = label
        self.amounts[(key, month, series)] += amount

    def rows(self) -> tuple[ForecastRow, ...]:
        if self.group_by == "month":  # every month has its row, empty or not
            self.labels.update({m.isoformat(): f"{m:%b %Y}" for m in self.months})
        rows = [ForecastRow(key=key, label=label, cells=tuple(
            ForecastCell(*(self.amounts.get((key, month, series), ZERO)
                           for series, _ in SERIES)) for month in self.months))
                for key, label in self.labels.items()]
        if self.group_by == "month":
            rows.sort(key=lambda r: r.key)
        else:
            rows.sort(key=lambda r: (-r.total.total, r.label.lower()))
        return tuple(rows)


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after `month`'s."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def weekdays_between(start: date, end: date) -> int:
    """Monday-to-Friday days from `start` to `end` inclusive (0 when end < start)."""
    if end < start:
        return 0
    days = (end - start).days + 1
    weeks, rest = divmod(days, 7)
    extra = sum(1 for offset in range(rest) if (start.weekday() + offset) % 7 < 5)
    return weeks * 5 + extra


def month_hours(per_week: Decimal, start: date, end: date, month: date) -> Decimal:
    """A booking's hours in `month`: per week x its weekdays in the month ÷ 5."""
    days = weekdays_between(max(start, month), min(end, month_end(month)))
    if not days:
        return ZERO
    return (per_week * days / 5).quantize(HOURS, rounding=ROUND_HALF_UP)


def _client_group(client_id: int | None, client_name: str | None,
                  service_line: str | None) -> _Group:
    return _Group(f"client:{client_id}", client_name or "", service_line or "")


# --- Currency ----------------------------------------------------------------------------


def _active_contracts(legal_entity: LegalEntity | None) -> QuerySet[Contract]:
    contracts = Contract.objects.filter(status=Contract.Status.ACTIVE)
    if legal_entity is not None:
        contracts = contracts.filter(legal_entity=legal_entity)
    return contracts


def _currencies(legal_entity: LegalEntity | None, currency: str | None,
                ) -> tuple[str, tuple[str, ...]]:
    """The forecast's currency (given, else the entity's base currency, else the one most
    active contracts use) and the other currencies active contracts use."""
    counts = Counter(dict(_active_contracts(legal_entity).order_by().values("currency")
                          .annotate(n=Count("pk")).values_list("currency", "n")))
    chosen = (currency or (legal_entity.base_currency if legal_entity else None)
              or (counts.most_common(1)[0][0] if counts else "USD"))
    return chosen, tuple(sorted(c for c in counts if c != chosen))


# --- Schedules ---------------------------------------------------------------------------


def _primary_service_lines(contract_ids: Iterable[int]) -> dict[int, str]:
    """Each contract's service line: that of its first client project (by id)."""
    lines: dict[int, str] = {}
    for contract_id, service_line in (Project.objects.filter(
            contract_id__in=list(contract_ids), is_internal=False).order_by("pk")
            .values_list("contract_id", "service_line")):
        lines.setdefault(contract_id, service_line)
    return lines


def _schedules(acc: _Accumulator, *, first: date, last: date, currency: str,
               legal_entity: LegalEntity | None) -> None:
    open_amount = Case(
        When(planned_amount__gt=F("recognised_amount"),
             then=F("planned_amount") - F("recognised_amount")),
        default=Value(ZERO), output_field=AMOUNT)
    lines = ScheduleLine.objects.filter(
        month__gte=first, month__lte=last, schedule__contract__status=Contract.Status.ACTIVE,
        schedule__contract__revenue_method__in=SCHEDULE_METHODS,
        schedule__contract__currency=currency)
    if legal_entity is not None:
        lines = lines.filter(schedule__contract__legal_entity=legal_entity)
    rows = list(lines.order_by().values(
        "schedule__contract_id", "schedule__contract__client_id",
        "schedule__contract__client__name", "month").annotate(amount=Sum(open_amount)))
    service_lines = _primary_service_lines({r["schedule__contract_id"] for r in rows})
    for row in rows:
        group = _client_group(row["schedule__contract__client_id"],
                              row["schedule__contract__client__name"],
                              service_lines.get(row["schedule__contract_id"]))
        acc.add(group, row["month"], "schedule", quantize(row["amount"] or ZERO, currency))


# --- T&M from assignments ----------------------------------------------------------------


class _Rates:
    """Bill rates through psa's resolution, once per (person, contract, role, month)."""

    def __init__(self, contracts: dict[int, Contract], people: dict[int, Person],
                 roles: dict[int, Role]) -> None:
        self.contracts, self.people, self.roles = contracts, people, roles
        self.cache: dict[tuple[int, int, int, date], Decimal | None] = {}

    def rate(self, *, person_id: int, contract_id: int, role_id: int, month: date,
             on: date) -> Decimal | None:
        key = (person_id, contract_id, role_id, month)
        if key not in self.cache:
            try:
                self.cache[key] = bill_rate_resolve(
                    contract=self.contracts[contract_id], person=self.people[person_id],
                    work_date=on, role=self.roles[role_id]).hourly_rate
            except RateNotFoundError:
                self.cache[key] = None
        return self.cache[key]


def _tm_assignment_rows(*, first: date, last_day: date, currency: str,
                        legal_entity: LegalEntity | None) -> list[tuple]:
    assignments = (Assignment.objects.filter(
        project__contract__revenue_method=Method.AS_DELIVERED,
        project__contract__status=Contract.Status.ACTIVE, project__contract__currency=currency,
        project__is_internal=False, start_date__lte=last_day, end_date__gte=first)
        .exclude(project__status__in=(Project.Status.TENTATIVE, Project.Status.CLOSED)))
    if legal_entity is not None:
        assignments = assignments.filter(project__contract__legal_entity=legal_entity)
    return list(assignments.order_by().values_list(
        "person_id", "role_id", "project_id", "project__contract_id", "project__client_id",
        "project__client__name", "project__service_line", "project__contract__start_date",
        "project__contract__end_date", "start_date", "end_date", "hours_per_week", "booking"))


def _cap_headroom(contract_ids: set[int]) -> dict[int, Decimal]:
    """For capped contracts among `contract_ids`: the cap less what is recognised to date."""
    caps = dict(Contract.objects.filter(pk__in=contract_ids, cap_amount__isnull=False)
                .values_list("pk", "cap_amount"))
    if not caps:
        return {}
    recognised = dict(RecognitionEntry.objects.filter(contract_id__in=list(caps)).order_by()
                      .values("contract_id").annotate(total=Sum("amount"))
                      .values_list("contract_id", "total"))
    return {pk: max(cap - (recognised.get(pk) or ZERO), ZERO) for pk, cap in caps.items()}


def _apply_caps(amounts: dict[tuple[int, date], dict[int, Decimal]],
                headroom: dict[int, Decimal], currency: str) -> None:
    """Cut capped contracts' months (ascending) once their headroom is used up; a month's cut
    is spread over its projects by amount (the last taking the residual)."""
    for contract_id, left in headroom.items():
        for month in sorted(m for (c, m) in amounts if c == contract_id):
            by_project = amounts[(contract_id, month)]
            total = sum(by_project.values(), ZERO)
            allowed = min(total, left)
            left -= allowed
            if allowed == total or total <= 0:
                continue
            projects = sorted(by_project)
            parts = split(allowed, [by_project[p] for p in projects], currency)
            by_project.update(zip(projects, parts, strict=True))


def _tm(acc: _Accumulator, *, months: tuple[date, ...], currency: str,
        legal_entity: LegalEntity | None) -> None:
    first, last_day = months[0], month_end(months[-1])
    rows = _tm_assignment_rows(first=first, last_day=last_day, currency=currency,
                               legal_entity=legal_entity)
    if not rows:
        return
    contracts = Contract.objects.select_related("rate_card", "client__rate_card").in_bulk(
        {r[3] for r in rows})
    rates = _Rates(contracts, Person.objects.in_bulk({r[0] for r in rows}),
                   Role.objects.in_bulk({r[1] for r in rows}))
    amounts: dict[tuple[int, date], dict[int, Decimal]] = defaultdict(
        lambda: defaultdict(lambda: ZERO))
    groups: dict[int, _Group] = {}
    for (person_id, role_id, project_id, contract_id, client_id, client_name, service_line,
         c_start, c_end, a_start, a_end, per_week, booking) in rows:
        groups[project_id] = _client_group(client_id, client_name, service_line)
        start, end = max(a_start, c_start), min(a_end, c_end)
        weight = Decimal(1) if booking == Assignment.Booking.HARD else SOFT_WEIGHT
        for month in months:
            hours = month_hours(per_week, start, end, month)
            if not hours:
                continue
            rate = rates.rate(person_id=person_id, contract_id=contract_id, role_id=role_id,
                              month=month, on=max(start, month))
            if rate is None:
                acc.unpriced_hours += hours
                continue
            amounts[(contract_id, month)][project_id] += quantize(hours * rate * weight,
                                                                  currency)
    _apply_caps(amounts, _cap_headroom({c for c, _ in amounts}), currency)
    for (_contract_id, month), by_project in amounts.items():
        for project_id, amount in by_project.items():
            acc.add(groups[project_id], month, "tm", amount)


# --- Weighted pipeline -------------------------------------------------------------------


def _standard_rate(role_id: int, currency: str, on: date) -> Decimal | None:
    """The role's rate on the firm's standard card in `currency`, in force on `on`."""
    return (RateCardLine.objects.filter(
        rate_card__kind=RateCard.Kind.STANDARD, rate_card__is_active=True,
        rate_card__currency=currency, role_id=role_id, effective_from__lte=on)
        .order_by("-effective_from").values_list("hourly_rate", flat=True).first())


def _pipeline_rows(*, first: date, last_day: date,
                   legal_entity: LegalEntity | None) -> list[dict[str, object]]:
    pipeline = (Q(is_tentative=True) | Q(project__isnull=True)
                | Q(project__status=Project.Status.TENTATIVE))
    requests = (ResourceRequest.objects.filter(pipeline, start_date__lte=last_day,
                                               end_date__gte=first)
                .exclude(status=ResourceRequest.Status.CANCELLED))
    if legal_entity is not None:
        requests = requests.filter(project__legal_entity=legal_entity)
    return list(requests.order_by().values(
        "pk", "role_id", "hours_per_week", "start_date", "end_date", "probability",
        "bill_rate", "currency", "deal_name", "deal_ref", "project__currency",
        "project__client_id", "project__client__name", "project__service_line"))


def _coverage(request_ids: list[int], months: tuple[date, ...],
              ) -> dict[tuple[int, date], Decimal]:
    """Hours per (request, month) that assignments on non-tentative projects already book."""
    covered: dict[tuple[int, date], Decimal] = defaultdict(lambda: ZERO)
    if not request_ids:
        return covered
    for request_id, start, end, per_week in (Assignment.objects.filter(
            request_id__in=request_ids, start_date__lte=month_end(months[-1]),
            end_date__gte=months[0]).exclude(project__status=Project.Status.TENTATIVE)
            .order_by().values_list("request_id", "start_date", "end_date", "hours_per_week")):
        for month in months:
            covered[(request_id, month)] += month_hours(per_week, start, end, month)
    return covered


def _deal_group(row: dict[str, object]) -> _Group:
    if row["project__client_id"] is not None:
        return _client_group(row["project__client_id"], row["project__client__name"],
                             row["project__service_line"])
    name = str(row["deal_name"] or row["deal_ref"])
    return _Group(f"deal:{row['deal_ref'] or name}", f"Deal: {name}", "")


def _pipeline(acc: _Accumulator, *, months: tuple[date, ...], currency: str,
              legal_entity: LegalEntity | None) -> None:
    rows = [row for row in _pipeline_rows(first=months[0], last_day=month_end(months[-1]),
                                          legal_entity=legal_entity)
            if (row["currency"] or row["project__currency"] or currency) == currency]
    covered = _coverage([int(row["pk"]) for row in rows], months)
    standard: dict[tuple[int, date], Decimal | None] = {}
    for row in rows:
        group = _deal_group(row)
        probability = Decimal(row["probability"]) / HUNDRED
        for month in months:
            hours = month_hours(row["hours_per_week"], row["start_date"], row["end_date"],
                                month)
            hours = max(hours - covered.get((row["pk"], month), ZERO), ZERO)
            if not hours:
                continue
            rate = row["bill_rate"]
            if rate is None:
                key = (int(row["role_id"]), month)
                if key not in standard:
                    standard[key] = _standard_rate(key[0], currency,
                                                   max(row["start_date"], month))
                rate = standard[key]
            if rate is None:
                acc.unpriced_hours += hours
                continue
            acc.add(group, month, "pipeline", quantize(hours * rate * probability, currency))


# --- The forecast ------------------------------------------------------------------------


def revenue_forecast(*, start_month: date, months: int = 12,
                     legal_entity: LegalEntity | None = None, group_by: GroupBy = "month",
                     currency: str | None = None) -> Forecast:
    """Forecast revenue per month for `months` months from `start_month`, by source, grouped
    by month, client (or pipeline deal) or service line, in one currency (see the module
    docstring for the rules of each source)."""
    if group_by not in dict(GROUP_CHOICES):
        raise ValueError(f"Unknown grouping {group_by!r}")
    first = start_month.replace(day=1)
    window = tuple(months_between(first, add_months(first, max(months, 1) - 1)))
    chosen, others = _currencies(legal_entity, currency)
    acc = _Accumulator(months=window, group_by=group_by)
    _schedules(acc, first=window[0], last=window[-1], currency=chosen,
               legal_entity=legal_entity)
    _tm(acc, months=window, currency=chosen, legal_entity=legal_entity)
    _pipeline(acc, months=window, currency=chosen, legal_entity=legal_entity)
    rows = acc.rows()
    month_totals = tuple(cell_sum(row.cells[i] for row in rows) for i in range(len(window)))
    return Forecast(start_month=first, months=window, currency=chosen, group_by=group_by,
                    rows=rows, month_totals=month_totals, unpriced_hours=acc.unpriced_hours,
                    other_currencies=others)


def forecast_export_rows(forecast: Forecast) -> list[list[object]]:
    """Long format for CSV and XLSX: one line per group and month (per month when grouped by
    month), with each source and the total."""
    lines = []
    for row in forecast.rows:
        for month, cell in zip(forecast.months, row.cells, strict=True):
            if forecast.group_by == "month" and row.key != month.isoformat():
                continue
            lead = [] if forecast.group_by == "month" else [row.label]
            lines.append([*lead, month.strftime("%Y-%m"), forecast.currency, cell.schedule,
                          cell.tm, cell.pipeline, cell.total])
    return lines


def forecast_export_header(forecast: Forecast) -> list[str]:
    lead = [] if forecast.group_by == "month" else [dict(GROUP_CHOICES)[forecast.group_by]]
    return [*lead, "Month", "Currency", *(label for _, label in SERIES), "Total"]
