"""How long approved billable time waits to be invoiced: its value-weighted average age at
each month end, and the current age buckets, from one grouped query.

Unbilled at a moment `t` (the month end, or now for the running month) means: approved before
`t`, now approved or invoiced, and not on a live `BilledItem` of an invoice issued before `t`.
Age = `t` - approved_at in days, weighted by the entry's value (hours x frozen bill rate), each
currency converted with the month's rate; a currency without a rate is left out (the page
names it).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import (
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    Q,
    Sum,
    Value,
)

from insight.selectors.lifecycle_common import month_start_at, rounded, series
from insight.selectors.scope import Scope, add_months
from insight.selectors.types import Measure, ratio_percent
from insight.sql import DaysBetween
from psa.common.money import ZERO, column_sum, quantize
from psa.models import TimeEntry
from psa.selectors.projects import EXACT_PRODUCT

DEFINITION = ("Value-weighted average age in days of approved billable time not yet "
              "invoiced at each month end (now for the running month).")
VALUE_PLACES = 6  # hours (2 places) x rate (4 places), exact
# (label, lowest age in days, first age past the bucket); ages are fractional days.
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30 days", 0, 31), ("31-60 days", 31, 61), ("61-90 days", 61, 91),
    ("Over 90 days", 91, None),
)


@dataclass(frozen=True)
class AgingBucket:
    """Approved, unbilled billable time of one age band at `as_of`; value in the scope's
    currency, `share` its percent of the whole."""

    label: str
    entries: int
    hours: Decimal
    value: Decimal
    share: Decimal | None


@dataclass(frozen=True)
class ApprovedTimeAging:
    """The aging measure and the age buckets at `as_of` (the scope's last month end, or now)."""

    measure: Measure
    buckets: tuple[AgingBucket, ...]
    as_of: datetime | None  # when the buckets were taken; None when the months are all ahead

    @property
    def total_value(self) -> Decimal:
        return sum((bucket.value for bucket in self.buckets), ZERO)


def _moments(scope: Scope, now: datetime) -> list[datetime | None]:
    """Each month's end (the next month's first instant), now for the running month, None for
    months still ahead."""
    moments: list[datetime | None] = []
    for month in scope.months:
        start = month_start_at(month)
        moments.append(None if start > now else min(month_start_at(add_months(month, 1)), now))
    return moments


def _bucket_q(age_from: int, age_to: int | None) -> Q:
    q = Q(age_now__gte=age_from)
    return q & Q(age_now__lt=age_to) if age_to is not None else q


def approved_time_aging(*, scope: Scope, now: datetime) -> ApprovedTimeAging:
    """The aging measure for the scope's months and the buckets at its last moment (one
    query, grouped by currency)."""
    moments = _moments(scope, now)
    known = [moment for moment in moments if moment is not None]
    if not known:
        empty = Measure(key="approved_time_aging", label="Approved time aging", unit="days",
                        months=scope.months, values=(None,) * len(scope.months),
                        definition=DEFINITION, higher_is_better=False)
        return ApprovedTimeAging(measure=empty, buckets=(), as_of=None)
    first, last = known[0], known[-1]
    value = ExpressionWrapper(F("hours") * F("bill_rate"), output_field=EXACT_PRODUCT)
    aggregates: dict[str, object] = {}
    for index, moment in enumerate(moments):
        if moment is None:
            continue
        at = Value(moment, output_field=DateTimeField())
        unbilled = Q(approved_at__lt=moment) & (Q(invoiced_at__isnull=True)
                                                | Q(invoiced_at__gte=moment))
        aggregates[f"value_{index}"] = Sum(value, filter=unbilled)
        aggregates[f"weighted_{index}"] = Sum(
            ExpressionWrapper(DaysBetween(at, "approved_at") * value,
                              output_field=FloatField()), filter=unbilled)
    unbilled_last = Q(approved_at__lt=last) & (Q(invoiced_at__isnull=True)
                                               | Q(invoiced_at__gte=last))
    for index, (_, age_from, age_to) in enumerate(BUCKETS):
        in_bucket = unbilled_last & _bucket_q(age_from, age_to)
        aggregates[f"b{index}_entries"] = Count("pk", filter=in_bucket)
        aggregates[f"b{index}_hours"] = Sum("hours", filter=in_bucket)
        aggregates[f"b{index}_value"] = Sum(value, filter=in_bucket)
    rows = (TimeEntry.objects
            .filter(scope.project_q("project__"), is_billable=True,
                    status__in=(TimeEntry.Status.APPROVED, TimeEntry.Status.INVOICED),
                    approved_at__isnull=False, approved_at__lt=last, bill_rate__isnull=False)
            # At most one live link per entry (a partial unique index): the join adds no rows.
            .alias(live_link=FilteredRelation("billed_items",
                                              condition=Q(billed_items__is_live=True)))
            .alias(invoiced_at=F("live_link__invoice__issued_at"),
                   age_now=DaysBetween(Value(last, output_field=DateTimeField()),
                                       "approved_at"))
            .filter(Q(invoiced_at__isnull=True) | Q(invoiced_at__gte=first))
            .order_by().values("bill_currency").annotate(**aggregates))
    rows = list(rows)
    return ApprovedTimeAging(measure=_measure(scope, moments, rows),
                             buckets=_buckets(scope, rows), as_of=last)


def _measure(scope: Scope, moments: list[datetime | None], rows: list[dict]) -> Measure:
    by_month: dict = {}
    for index, (month, moment) in enumerate(zip(scope.months, moments, strict=True)):
        if moment is None:
            continue
        weighted = total = Decimal(0)
        for row in rows:
            amount = row[f"value_{index}"]
            rate = scope.rates.rate(row["bill_currency"], month)
            if not amount or rate is None:
                continue
            total += column_sum(amount, VALUE_PLACES) * rate
            weighted += Decimal(str(row[f"weighted_{index}"])) * rate
        by_month[month] = rounded(weighted / total) if total else None
    return Measure(key="approved_time_aging", label="Approved time aging", unit="days",
                   months=scope.months, values=series(scope, by_month), definition=DEFINITION,
                   higher_is_better=False)


def _buckets(scope: Scope, rows: list[dict]) -> tuple[AgingBucket, ...]:
    month = scope.months[-1]
    figures = []
    for index, (label, _, _) in enumerate(BUCKETS):
        entries, hours, value = 0, ZERO, Decimal(0)
        for row in rows:
            entries += row[f"b{index}_entries"]
            hours += column_sum(row[f"b{index}_hours"])
            converted = scope.rates.convert(column_sum(row[f"b{index}_value"], VALUE_PLACES),
                                            row["bill_currency"], month)
            value += converted or 0
        figures.append((label, entries, hours, quantize(value, scope.currency)))
    whole = sum((figure[3] for figure in figures), ZERO)
    return tuple(AgingBucket(label=label, entries=entries, hours=hours, value=value,
                             share=ratio_percent(value, whole))
                 for label, entries, hours, value in figures)
