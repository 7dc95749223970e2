"""The reconciliation check (DOMAIN.md, Measures): per T&M contract, approved billable value =
billed + unbilled + written off + held over cap.

The identity checked, exactly (unrounded sums), per contract:

    approved + hours_rounding == billed + unbilled + written_off + held_over_cap

- approved: Σ hours x frozen bill rate of the contract's billable time entries that are
  approved, invoiced or written off;
- billed: Σ billed hours x rate of the live time links (`BilledItem`) on invoices that are not
  void, plus the invoices' cap adjustment lines (negative) and "previously held" lines;
- hours_rounding: Σ (billed hours - the entry's hours) x rate over those links, what a
  rounding policy added (or took away), so billed items are compared at the entry's hours;
- unbilled: approved entries with no live link;
- written_off: written-off entries, plus amounts held over the cap that were written off;
- held_over_cap: cap holds still held.

A cap adjustment takes the excess off the invoice and its cap hold carries the same amount,
so the two cancel out; when the hold is billed later the "previously held" line takes its
place, when written off the written-off amount does. On a consistent dataset the identity
holds to the cent whatever the caps; an entry invoiced without a live link, a link on a void
invoice, a link at another rate than the entry's, or a cap adjustment without its hold shows
as a `difference`. Credit notes are outside the check: they change what the client owes, and
one that releases items turns their links dead and their entries approved (unbilled again).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Sum

from billing.models import BilledItem, CapHold, Invoice, InvoiceLine
from psa.common.money import ZERO, quantize
from psa.models import Contract, LegalEntity, TimeEntry
from psa.selectors.projects import EXACT_PRODUCT

BM = Contract.BillingModel
TM_MODELS = (BM.TIME_AND_MATERIALS, BM.TIME_AND_MATERIALS_CAP)
ST = TimeEntry.Status
LIVE_INVOICE = Q(invoice__kind=Invoice.Kind.INVOICE) & ~Q(invoice__status=Invoice.Status.VOID)


@dataclass(frozen=True)
class ReconRow:
    """One contract's reconciliation, each figure rounded to the currency for display.

    `difference` is (approved + hours_rounding) - (billed + unbilled + written_off +
    held_over_cap) rounded; `is_balanced` compares the exact sums.
    """

    contract_id: int
    contract_code: str
    currency: str
    approved: Decimal
    billed_items: Decimal
    cap_adjustments: Decimal
    previously_held_billed: Decimal
    hours_rounding: Decimal
    unbilled: Decimal
    written_off: Decimal
    held_over_cap: Decimal
    difference: Decimal
    is_balanced: bool

    @property
    def billed(self) -> Decimal:
        return self.billed_items + self.cap_adjustments + self.previously_held_billed


def _value() -> F:
    return F("hours") * F("bill_rate")


def _entries(ids: QuerySet) -> dict[int, dict]:
    live = BilledItem.objects.filter(time_entry=OuterRef("pk"), is_live=True)
    rows = (TimeEntry.objects
            .filter(project__contract__in=ids, is_billable=True,
                    status__in=(ST.APPROVED, ST.INVOICED, ST.WRITTEN_OFF))
            .annotate(linked=Exists(live)).order_by()
            .values(contract_id=F("project__contract_id"))
            .annotate(approved=Sum(_value(), output_field=EXACT_PRODUCT),
                      unbilled=Sum(_value(), filter=Q(status=ST.APPROVED, linked=False),
                                   output_field=EXACT_PRODUCT),
                      written_off=Sum(_value(), filter=Q(status=ST.WRITTEN_OFF),
                                      output_field=EXACT_PRODUCT)))
    return {row["contract_id"]: row for row in rows}


def _items(ids: QuerySet) -> dict[int, dict]:
    rows = (BilledItem.objects
            .filter(LIVE_INVOICE, is_live=True, time_entry__isnull=False,
                    time_entry__project__contract__in=ids)
            .order_by().values(contract_id=F("time_entry__project__contract_id"))
            .annotate(value=Sum(F("billed_hours") * F("rate"), output_field=EXACT_PRODUCT),
                      rounding=Sum((F("billed_hours") - F("time_entry__hours")) * F("rate"),
                                   output_field=EXACT_PRODUCT)))
    return {row["contract_id"]: row for row in rows}


def _cap_lines(ids: QuerySet) -> dict[tuple[int, str], Decimal]:
    kinds = (InvoiceLine.Kind.CAP_ADJUSTMENT, InvoiceLine.Kind.PREVIOUSLY_HELD)
    rows = (InvoiceLine.objects.filter(LIVE_INVOICE, contract__in=ids, kind__in=kinds)
            .order_by().values("contract_id", "kind").annotate(total=Sum("amount")))
    return {(row["contract_id"], row["kind"]): row["total"] for row in rows}


def _holds(ids: QuerySet) -> dict[tuple[int, str], Decimal]:
    rows = (CapHold.objects.filter(contract__in=ids).order_by()
            .values("contract_id", "status").annotate(total=Sum("amount")))
    return {(row["contract_id"], row["status"]): row["total"] for row in rows}


def _scope(legal_entity: LegalEntity | None, contract: Contract | None) -> QuerySet[Contract]:
    contracts = Contract.objects.filter(billing_model__in=TM_MODELS)
    if legal_entity is not None:
        contracts = contracts.filter(legal_entity=legal_entity)
    if contract is not None:
        contracts = contracts.filter(pk=contract.pk)
    return contracts


def reconciliation(*, legal_entity: LegalEntity | None = None,
                   contract: Contract | None = None) -> list[ReconRow]:
    """The reconciliation of every T&M contract (with or without a cap) in scope, in code
    order; contracts with no billable time are left out unless asked for by `contract`.
    Five aggregate queries whatever the data size (see the module docstring)."""
    contracts = list(_scope(legal_entity, contract).order_by("code")
                     .values("pk", "code", "currency"))
    if not contracts:
        return []
    ids = _scope(legal_entity, contract).values("pk")
    entries, items, lines, holds = _entries(ids), _items(ids), _cap_lines(ids), _holds(ids)
    rows = []
    for c in contracts:
        pk, currency = c["pk"], c["currency"]
        e, i = entries.get(pk, {}), items.get(pk, {})
        figures = {
            "approved": e.get("approved") or ZERO,
            "billed_items": i.get("value") or ZERO,
            "cap_adjustments": lines.get((pk, InvoiceLine.Kind.CAP_ADJUSTMENT), ZERO),
            "previously_held_billed": lines.get((pk, InvoiceLine.Kind.PREVIOUSLY_HELD), ZERO),
            "hours_rounding": i.get("rounding") or ZERO,
            "unbilled": e.get("unbilled") or ZERO,
            "written_off": ((e.get("written_off") or ZERO)
                            + holds.get((pk, CapHold.Status.WRITTEN_OFF), ZERO)),
            "held_over_cap": holds.get((pk, CapHold.Status.HELD), ZERO),
        }
        if contract is None and not any(figures.values()):
            continue
        exact = (figures["approved"] + figures["hours_rounding"]
                 - figures["billed_items"] - figures["cap_adjustments"]
                 - figures["previously_held_billed"] - figures["unbilled"]
                 - figures["written_off"] - figures["held_over_cap"])
        rows.append(ReconRow(
            contract_id=pk, contract_code=c["code"], currency=currency,
            **{name: quantize(value, currency) for name, value in figures.items()},
            difference=quantize(exact, currency), is_balanced=exact == 0))
    return rows
