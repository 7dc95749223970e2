"""Finance's review of a draft: descriptions, write-downs and -ups, holding items back,
deleting the draft (DOMAIN.md: "A draft can be edited by finance").

Only drafts change here; approved and issued invoices are immutable (corrections are credit
notes). Every change refreshes the invoice's totals in the same transaction, and the audit
trail keeps who changed what (auditlog on Invoice, InvoiceLine, HeldItem).
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Sum

from billing.errors import InvoiceStateError, InvoiceValidationError
from billing.models import BilledItem, CapHold, HeldItem, Invoice, InvoiceLine
from billing.services.totals import invoice_totals_refresh
from psa.common.money import column_sum, quantize
from psa.models import Contract
from psa.services.common import lock_for_change
from psa.services.external_refs import external_refs_set

HUNDRED = Decimal("100")


def _draft(invoice: Invoice, expected_version: str | None = None) -> Invoice:
    invoice = lock_for_change(invoice, expected_version=expected_version)
    if invoice.status not in Invoice.EDITABLE_STATES:
        raise InvoiceStateError(f"A {invoice.get_status_display().lower()} invoice cannot be "
                                "changed; only drafts can.", attr="status")
    return invoice


@transaction.atomic
def line_adjust(*, line: InvoiceLine, actor: User, adjustment: Decimal, reason: str,
                note: str = "") -> InvoiceLine:
    """Write a line down (negative) or up (positive) by `adjustment`, with a reason code kept
    for realization; zero removes the adjustment. The line never goes below zero."""
    _draft(line.invoice)
    line = InvoiceLine.objects.select_for_update().get(pk=line.pk)
    adjustment = quantize(Decimal(adjustment), line.invoice.currency)
    if adjustment and reason not in InvoiceLine.AdjustmentReason.values:
        raise InvoiceValidationError("Choose a reason for the write-down or write-up.",
                                     attr="adjustment_reason")
    if line.kind in (InvoiceLine.Kind.CAP_ADJUSTMENT, InvoiceLine.Kind.CREDIT):
        raise InvoiceValidationError("This line cannot be written down or up.", attr="line")
    if line.base_amount + adjustment < 0:
        raise InvoiceValidationError(
            f"A write-down of {-adjustment:,.2f} is more than the line's {line.base_amount:,.2f}.",
            attr="adjustment")
    line.adjustment = adjustment
    line.adjustment_reason = reason if adjustment else ""
    line.adjustment_note = note if adjustment else ""
    line.amount = line.base_amount + adjustment
    line.save(update_fields=["adjustment", "adjustment_reason", "adjustment_note", "amount",
                             "updated_at"])
    invoice_totals_refresh(line.invoice)
    return line


@transaction.atomic
def line_describe(*, line: InvoiceLine, actor: User, description: str) -> InvoiceLine:
    """Change a draft line's description (what the client reads on the PDF)."""
    _draft(line.invoice)
    description = description.strip()
    if not description:
        raise InvoiceValidationError("A line needs a description.", attr="description")
    if len(description) > 300:
        raise InvoiceValidationError("Keep the description under 300 characters.",
                                     attr="description")
    line.description = description
    line.save(update_fields=["description", "updated_at"])
    return line


@transaction.atomic
def invoice_notes_update(*, invoice: Invoice, actor: User, notes: str,
                         expected_version: str | None = None) -> Invoice:
    """Change the notes printed on a draft invoice."""
    invoice = _draft(invoice, expected_version)
    invoice.notes = notes.strip()
    invoice.save(update_fields=["notes", "updated_at"])
    return invoice


@transaction.atomic
def invoice_update(*, invoice: Invoice, actor: User, notes: str | None = None,
                   external_refs: Sequence[Mapping[str, str]] | None = None,
                   expected_version: str | None = None) -> Invoice:
    """Change a draft's notes and/or set the invoice's external ids. External ids may be set
    in any status (an ERP writes its id back after issue); notes only on drafts."""
    if notes is not None:
        invoice = invoice_notes_update(invoice=invoice, actor=actor, notes=notes,
                                       expected_version=expected_version)
    else:
        invoice = lock_for_change(invoice, expected_version=expected_version)
    if external_refs is not None:
        external_refs_set(target=invoice, refs=external_refs, actor=actor)
    return invoice


def _reprice(line: InvoiceLine) -> None:
    """A time or expense line's base amount again from its remaining items; a line left with
    no item goes."""
    contract = line.contract
    items = line.items.all()
    if not items.exists():
        line.delete()
        return
    if line.kind == InvoiceLine.Kind.TIME:
        hours = column_sum(items.aggregate(hours=Sum("billed_hours"))["hours"])
        line.quantity, line.base_amount = hours, quantize(hours * line.unit_price,
                                                          line.invoice.currency)
    elif line.kind == InvoiceLine.Kind.EXPENSE:
        value = column_sum(items.aggregate(value=Sum("amount"))["value"])
        markup = 1 + contract.expense_markup_percent / HUNDRED
        line.base_amount = quantize(value * markup, line.invoice.currency)
    line.amount = line.base_amount + line.adjustment
    if line.amount < 0:  # the write-down now exceeds what is left: keep the line at zero
        line.adjustment, line.amount = -line.base_amount, Decimal("0.00")
    line.save(update_fields=["quantity", "base_amount", "adjustment", "amount", "updated_at"])


def _recap(invoice: Invoice, contract: Contract) -> None:
    """After time left a capped contract's draft, hold only what still exceeds the cap."""
    from billing.services.drafting import billed_to_date_under_cap

    adjustment = invoice.lines.filter(contract=contract,
                                      kind=InvoiceLine.Kind.CAP_ADJUSTMENT).first()
    if adjustment is None:
        return
    time = column_sum(invoice.lines.filter(contract=contract, kind=InvoiceLine.Kind.TIME)
                      .aggregate(total=Sum("amount"))["total"])
    headroom = max(Decimal("0.00"), contract.cap_amount
                   - billed_to_date_under_cap(contract, excluding=invoice))
    excess = max(Decimal("0.00"), time - headroom)
    hold = CapHold.objects.get(source_invoice=invoice, contract=contract)
    if not excess:
        adjustment.delete()
        hold.delete()
        return
    adjustment.base_amount = adjustment.amount = -excess
    adjustment.save(update_fields=["base_amount", "amount", "updated_at"])
    hold.amount = excess
    hold.save(update_fields=["amount", "updated_at"])


@transaction.atomic
def item_hold(*, item: BilledItem, actor: User, reason: str = "") -> HeldItem:
    """Take a time entry or expense off a draft and hold it back from later runs until
    released; its line is repriced (or removed) and the totals refreshed."""
    from billing.services.credit_notes import release_sources

    invoice = _draft(item.invoice)
    item = BilledItem.objects.select_for_update().get(pk=item.pk)
    if item.time_entry_id is None and item.expense_id is None:
        raise InvoiceValidationError("Only time entries and expenses can be held back.",
                                     attr="item")
    line = item.line
    release_sources(BilledItem.objects.filter(pk=item.pk))
    held = HeldItem.objects.create(time_entry_id=item.time_entry_id, expense_id=item.expense_id,
                                   reason=reason.strip(), held_by=actor)
    item.delete()
    if line is not None:
        contract = line.contract
        _reprice(line)
        if contract is not None and contract.billing_model == Contract.BillingModel.\
                TIME_AND_MATERIALS_CAP:
            _recap(invoice, contract)
    invoice_totals_refresh(invoice)
    return held


@transaction.atomic
def hold_release(*, held: HeldItem, actor: User) -> None:
    """Release a held item: the next invoice run bills it."""
    HeldItem.objects.filter(pk=held.pk).delete()


@transaction.atomic
def draft_delete(*, invoice: Invoice, actor: User) -> None:
    """Delete a draft: its items are released for the next run, held-over-cap amounts it
    created go with it (cascade) and those it billed as "previously held" are held again."""
    from billing.services.credit_notes import release_sources

    invoice = _draft(invoice)
    items = BilledItem.objects.filter(invoice=invoice)
    release_sources(items)  # previously held amounts it billed are held again
    items.delete()
    invoice.delete()
