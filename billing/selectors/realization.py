"""Realization (DOMAIN.md, Measures): billed amount ÷ (billable hours x standard rate), as a
waterfall per contract, client or person for the work dated in a range.

The range selects WORK: billable time entries of T&M contracts (with or without a cap) dated
in [start, end] that are approved, invoiced or written off. For that work:

1. standard value: hours x the firm's standard card rate in the contract's currency for the
   entry's role (its role on the project team, else the person's), effective on the work
   date; hours no standard line prices are counted apart (`unpriced_hours`);
2. agreed value: hours x the frozen bill rate (the gap to 1. is the negotiated discount);
3. billed base: billed hours x rate of the entries' live links on issued invoices (hours
   rounding, work not yet billed and written-off time make the gap to 2.);
4. adjustments: each time line's write-down or write-up, by reason, shared among the line's
   items pro rata to their value; credits: issued credit notes against those lines, shared
   the same way; billed = 3. + adjustments - credits;
5. collected: billed x what the client paid ÷ what it owes on the invoice (total less issued
   credit notes), capped at 1.

Fixed fees and retainers are outside: their time is not billed by the hour. Sums run in SQL
per (group, invoice line); the shares are divided in Python in `Decimal`, so SQLite's
arithmetic never truncates them. Six queries whatever the data size.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from django.contrib.auth.models import User
from django.db.models import (
    BigIntegerField,
    Case,
    DecimalField,
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

from billing.models import BilledItem, Invoice, InvoiceLine
from psa.common.money import ZERO, quantize
from psa.models import Client, Contract, Person, ProjectMember, RateCard, RateCardLine, TimeEntry
from psa.rules import visible
from psa.selectors.projects import EXACT_PRODUCT

GroupBy = Literal["contract", "client", "person"]
TM_MODELS = (Contract.BillingModel.TIME_AND_MATERIALS,
             Contract.BillingModel.TIME_AND_MATERIALS_CAP)
WORKED = (TimeEntry.Status.APPROVED, TimeEntry.Status.INVOICED, TimeEntry.Status.WRITTEN_OFF)
# The group key as seen from a time entry.
KEYS: dict[str, str] = {"contract": "project__contract_id",
                        "client": "project__contract__client_id",
                        "person": "person_id"}
ONE = Decimal(1)
RATE = DecimalField(max_digits=14, decimal_places=4)


@dataclass(frozen=True)
class RealizationRow:
    """One contract, client or person (and currency): the waterfall from standard to
    collected, each amount rounded to the currency."""

    key: int
    label: str
    currency: str
    hours: Decimal
    unpriced_hours: Decimal
    standard_value: Decimal
    agreed_value: Decimal
    billed_hours: Decimal
    billed_base: Decimal
    adjustments: dict[str, Decimal] = field(default_factory=dict)
    credited: Decimal = ZERO
    collected: Decimal = ZERO

    @property
    def billed(self) -> Decimal:
        return self.billed_base + sum(self.adjustments.values(), ZERO) - self.credited

    @property
    def realization_percent(self) -> Decimal | None:
        """Billed ÷ standard value, in percent to one place; None without a standard value."""
        if not self.standard_value:
            return None
        return (self.billed * 100 / self.standard_value).quantize(Decimal("0.1"))


def role_on_team() -> Coalesce:
    """The entry's role on the project's team, else the person's own (for the standard rate)."""
    member = ProjectMember.objects.filter(project=OuterRef("project_id"),
                                          person=OuterRef("person_id"), role__isnull=False)
    # One member row per (project, person): no ordering (the model's joins names to sort).
    return Coalesce(Subquery(member.order_by().values("role_id")[:1]), F("person__role_id"),
                    output_field=BigIntegerField())


def standard_rate() -> Case:
    """The firm's standard card rate, in the contract's currency, for the annotated
    `std_role` on the work date (annotate `std_role=role_on_team()` first); NULL where no
    line prices it.

    The active standard cards' lines are few (a line per role and currency per rate change),
    so they are read once and written into the query as one CASE, newest line first per role
    and currency: the first WHEN that matches is the line in force on the work date. One query
    here instead of a correlated subquery per time entry.
    """
    lines = (RateCardLine.objects
             .filter(rate_card__kind=RateCard.Kind.STANDARD, rate_card__is_active=True)
             .order_by("rate_card__currency", "role_id", "-effective_from")
             .values_list("rate_card__currency", "role_id", "effective_from", "hourly_rate"))
    whens = [When(project__contract__currency=currency, std_role=role_id,
                  work_date__gte=effective_from, then=Value(rate))
             for currency, role_id, effective_from, rate in lines]
    if not whens:
        return Value(None, output_field=RATE)
    return Case(*whens, default=None, output_field=RATE)


def tm_work(start: date, end: date) -> QuerySet[TimeEntry]:
    """The work realization measures: billable T&M time dated in [start, end], approved,
    invoiced or written off."""
    return TimeEntry.objects.filter(
        is_billable=True, status__in=WORKED, work_date__gte=start, work_date__lte=end,
        project__contract__billing_model__in=TM_MODELS)


def billed_time_items(work: QuerySet[TimeEntry]) -> QuerySet[BilledItem]:
    """The live links of `work` to time lines of issued invoices."""
    return BilledItem.objects.filter(
        is_live=True, time_entry__in=work.values("pk"), line__kind=InvoiceLine.Kind.TIME,
        invoice__kind=Invoice.Kind.INVOICE, invoice__status__in=Invoice.ISSUED_STATES)


def _work(start: date, end: date, actor: User | None) -> QuerySet[TimeEntry]:
    entries = tm_work(start, end)
    if actor is not None:
        contracts = visible(Contract.objects.all(), actor, "billing.view_billing_reports")
        entries = entries.filter(project__contract__in=contracts.values("pk"))
    return entries


def _standard(work: QuerySet[TimeEntry], key: str) -> list[dict]:
    return list(
        work.annotate(std_role=role_on_team()).annotate(std_rate=standard_rate()).order_by()
        .values(group=F(key), currency=F("project__contract__currency"))
        .annotate(total_hours=Sum("hours"),
                  unpriced=Sum("hours", filter=Q(std_rate__isnull=True)),
                  standard=Sum(F("hours") * F("std_rate"), output_field=EXACT_PRODUCT),
                  agreed=Sum(F("hours") * F("bill_rate"), output_field=EXACT_PRODUCT)))


def _billed(work: QuerySet[TimeEntry], key: str) -> list[dict]:
    """Per (group, time line): the items' billed hours and value with the line's figures."""
    return list(
        billed_time_items(work)
        .order_by()
        .values("line_id", "invoice_id", group=F(f"time_entry__{key}"),
                currency=F("invoice__currency"), reason=F("line__adjustment_reason"),
                line_base=F("line__base_amount"), line_adjustment=F("line__adjustment"),
                paid=F("invoice__amount_paid"),
                invoice_total=F("invoice__total"))
        .annotate(item_hours=Sum("billed_hours"),
                  value=Sum(F("billed_hours") * F("rate"), output_field=EXACT_PRODUCT)))


def _credits(line_ids: set[int], invoice_ids: set[int]) -> tuple[dict[int, Decimal],
                                                                  dict[int, Decimal]]:
    """Issued credit notes: the amount credited per line, and their totals per invoice."""
    issued_notes = Q(invoice__kind=Invoice.Kind.CREDIT_NOTE,
                     invoice__status__in=Invoice.ISSUED_STATES)
    per_line = dict(InvoiceLine.objects.filter(issued_notes, credited_line_id__in=line_ids)
                    .order_by().values("credited_line_id").annotate(total=Sum("amount"))
                    .values_list("credited_line_id", "total")) if line_ids else {}
    per_invoice = dict(Invoice.objects.filter(
        kind=Invoice.Kind.CREDIT_NOTE, status__in=Invoice.ISSUED_STATES,
        credited_invoice_id__in=invoice_ids).order_by().values("credited_invoice_id")
        .annotate(total=Sum("total")).values_list("credited_invoice_id", "total")
    ) if invoice_ids else {}
    return per_line, per_invoice


def _labels(group_by: GroupBy, keys: set[int]) -> dict[int, str]:
    if group_by == "contract":
        return {pk: f"{code} · {name}" for pk, code, name in
                Contract.objects.filter(pk__in=keys).values_list("pk", "code", "name")}
    if group_by == "client":
        return dict(Client.objects.filter(pk__in=keys).values_list("pk", "name"))
    return {person.pk: person.full_name for person in Person.objects.filter(pk__in=keys)
            .only("first_name", "last_name")}


def _share(part: Decimal, whole: Decimal) -> Decimal:
    return part / whole if whole else ZERO


def realization(*, start: date, end: date, group_by: GroupBy,
                actor: User | None = None) -> list[RealizationRow]:
    """The realization waterfall of the work dated in [start, end] (inclusive), one row per
    group and currency, ordered by label. With `actor`, nothing unless the actor holds
    `billing.view_billing_reports`. Raises ValueError for an unknown `group_by`."""
    if group_by not in KEYS:
        raise ValueError(f"group_by must be one of {', '.join(KEYS)}")
    key = KEYS[group_by]
    work = _work(start, end, actor)
    standard = _standard(work, key)
    billed = _billed(work, key)
    per_line_credit, per_invoice_credit = _credits({row["line_id"] for row in billed},
                                                   {row["invoice_id"] for row in billed})
    totals: dict[tuple[int, str], dict] = defaultdict(lambda: {
        "hours": ZERO, "unpriced": ZERO, "standard": ZERO, "agreed": ZERO, "billed_hours": ZERO,
        "base": ZERO, "adjustments": defaultdict(lambda: ZERO), "credited": ZERO,
        "collected": ZERO})
    for row in standard:
        group = totals[row["group"], row["currency"]]
        group["hours"] += row["total_hours"] or ZERO
        group["unpriced"] += row["unpriced"] or ZERO
        group["standard"] += row["standard"] or ZERO
        group["agreed"] += row["agreed"] or ZERO
    for row in billed:
        group = totals[row["group"], row["currency"]]
        value = row["value"] or ZERO
        share = _share(value, row["line_base"])  # these items' part of the line
        adjustment = row["line_adjustment"] * share
        credit = per_line_credit.get(row["line_id"], ZERO) * share
        owed = row["invoice_total"] - per_invoice_credit.get(row["invoice_id"], ZERO)
        group["billed_hours"] += row["item_hours"] or ZERO
        group["base"] += value
        if adjustment:
            group["adjustments"][row["reason"] or InvoiceLine.AdjustmentReason.OTHER] += adjustment
        group["credited"] += credit
        group["collected"] += (value + adjustment - credit) * min(ONE, _share(row["paid"], owed))

    labels = _labels(group_by, {group for group, _ in totals})
    rows = [
        RealizationRow(
            key=group, label=labels.get(group, str(group)), currency=currency,
            hours=t["hours"], unpriced_hours=t["unpriced"],
            standard_value=quantize(t["standard"], currency),
            agreed_value=quantize(t["agreed"], currency), billed_hours=t["billed_hours"],
            billed_base=quantize(t["base"], currency),
            adjustments={reason: quantize(amount, currency)
                         for reason, amount in sorted(t["adjustments"].items())},
            credited=quantize(t["credited"], currency),
            collected=quantize(t["collected"], currency))
        for (group, currency), t in totals.items()]
    return sorted(rows, key=lambda row: (row.label, row.currency))
