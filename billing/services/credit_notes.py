"""Credit notes: the only correction of an issued invoice (DOMAIN.md, The invoice run).

A credit note is an `Invoice` of kind `credit_note` that references the invoice it corrects,
carries its own number series and, when issued, lowers that invoice's balance. Crediting whole
lines may release their items so the next invoice run bills them again.

Releasing writes the billing status of psa's source rows (time entries, expenses, milestones)
set-based. That is billing's one sanctioned write into psa: the `invoiced` state belongs to
billing's link (`BilledItem`), and a per-row psa service call for every released entry would
turn one credit note into thousands of queries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from billing.errors import CreditNoteError, InvoiceStateError
from billing.models import BilledItem, CapHold, Invoice, InvoiceLine
from billing.services.payments import invoice_settle_status
from billing.services.totals import invoice_totals
from psa.common.money import ZERO, quantize
from psa.models import Expense, Milestone, TimeEntry

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def release_sources(items: QuerySet[BilledItem]) -> int:
    """Unlink the live items of `items` so their sources can be billed again; returns how many.

    Invoiced time entries and expenses go back to approved, invoiced milestones back to
    accepted (or completed when they need no acceptance), amounts billed from a cap hold back
    to held; installments and retainer months only lose their live link. Set-based: a few
    UPDATEs whatever the number of items. Run it inside the caller's transaction.
    """
    live = BilledItem.objects.filter(pk__in=items.filter(is_live=True).values("pk"))
    now = timezone.now()
    invoiced = TimeEntry.Status.INVOICED
    TimeEntry.objects.filter(pk__in=live.values("time_entry_id"), status=invoiced).update(
        status=TimeEntry.Status.APPROVED, updated_at=now)
    Expense.objects.filter(pk__in=live.values("expense_id"), status=invoiced).update(
        status=Expense.Status.APPROVED, updated_at=now)
    milestones = Milestone.objects.filter(pk__in=live.values("milestone_id"),
                                          status=Milestone.Status.INVOICED)
    milestones.filter(requires_acceptance=True).update(status=Milestone.Status.ACCEPTED,
                                                       updated_at=now)
    milestones.filter(requires_acceptance=False).update(status=Milestone.Status.COMPLETED,
                                                        updated_at=now)
    CapHold.objects.filter(pk__in=live.values("cap_hold_id"),
                           status=CapHold.Status.BILLED).update(status=CapHold.Status.HELD,
                                                                updated_at=now)
    return live.update(is_live=False)


def credited_so_far(line_ids: list[int], *, statuses: tuple[str, ...] | None = None,
                    ) -> dict[int, Decimal]:
    """Credited amount per invoice line by credit notes that are not void (or in `statuses`)."""
    credits = InvoiceLine.objects.filter(credited_line_id__in=line_ids,
                                         invoice__kind=Invoice.Kind.CREDIT_NOTE)
    if statuses is None:
        credits = credits.exclude(invoice__status=Invoice.Status.VOID)
    else:
        credits = credits.filter(invoice__status__in=statuses)
    return dict(credits.values("credited_line_id").annotate(total=Sum("amount"))
                .values_list("credited_line_id", "total"))


def _check_amount(line: InvoiceLine, amount: Decimal, remaining: Decimal,
                  currency: str) -> None:
    if quantize(amount, currency) != amount:
        raise CreditNoteError(f"{amount} has more decimals than {currency} allows.",
                              attr="lines")
    # A credit has the sign of what is left of its line, and is at most all of it.
    if amount == 0 or (amount > 0) != (remaining > 0) or abs(amount) > abs(remaining):
        raise CreditNoteError(
            f"Line \"{line.description}\" has {remaining} {currency} left to credit "
            f"(invoiced {line.amount}); {amount} cannot be credited.", attr="lines")


def _credits_asked(invoice: Invoice, lines: list[tuple[InvoiceLine, Decimal]] | None,
                   ) -> list[tuple[InvoiceLine, Decimal, bool]]:
    """(line, credit, whether the line is then fully credited) for every line to credit."""
    invoice_lines = {line.pk: line for line in invoice.lines.all()}
    done = credited_so_far(list(invoice_lines))
    remaining = {pk: line.amount - done.get(pk, ZERO) for pk, line in invoice_lines.items()}
    if lines is None:
        asked = [(line, remaining[pk]) for pk, line in invoice_lines.items() if remaining[pk]]
    else:
        asked = []
        for line, amount in lines:
            if line.pk not in invoice_lines:
                raise CreditNoteError(f"Line \"{line.description}\" is not on {invoice}.",
                                      attr="lines")
            asked.append((invoice_lines[line.pk], amount))
    if not asked:
        raise CreditNoteError(f"Nothing is left to credit on {invoice}.", attr="lines")
    seen: set[int] = set()
    result = []
    for line, amount in asked:
        if line.pk in seen:
            raise CreditNoteError(f"Line \"{line.description}\" is listed twice.", attr="lines")
        seen.add(line.pk)
        _check_amount(line, amount, remaining[line.pk], invoice.currency)
        result.append((line, amount, amount == remaining[line.pk]))
    return result


@transaction.atomic
def credit_note_create(*, invoice: Invoice, actor: User, reason: str,
                       lines: list[tuple[InvoiceLine, Decimal]] | None = None,
                       release_items: bool = False) -> Invoice:
    """Draft a credit note against an issued invoice, one credit line per credited line.

    `lines` lists (invoice line, amount to credit); None credits every line's remaining
    amount. A line can never be credited beyond its amount minus what earlier credit notes
    (not void) already credit of it. `release_items` (only when every listed line is then
    fully credited) makes the credited items billable again once the note is issued. The note
    copies the invoice's entity, client, contract, currency, tax rate and terms; its totals
    are the sum of its lines plus tax on that sum. Approve and issue it like an invoice.
    Raises InvoiceStateError unless the invoice is issued, CreditNoteError for a missing
    reason, an over-credit, a partial credit with `release_items`, or a negative total.
    """
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in Invoice.ISSUED_STATES:
        raise InvoiceStateError(
            f"{invoice} is not an issued invoice: only issued invoices can be credited.",
            attr="invoice")
    if not reason.strip():
        raise CreditNoteError("A credit note needs a reason.", attr="reason")
    credits = _credits_asked(invoice, lines)
    if release_items and not all(full for _, _, full in credits):
        raise CreditNoteError(
            "Items can only be released for rebilling when their whole line is credited.",
            attr="release_items")
    subtotal, tax, total = invoice_totals([amount for _, amount, _ in credits],
                                          invoice.tax_rate, invoice.currency)
    if subtotal <= 0:
        raise CreditNoteError("A credit note must credit a positive amount.", attr="lines")

    note = Invoice.objects.create(
        kind=Invoice.Kind.CREDIT_NOTE, credited_invoice=invoice,
        legal_entity_id=invoice.legal_entity_id, client_id=invoice.client_id,
        contract_id=invoice.contract_id, currency=invoice.currency, tax_rate=invoice.tax_rate,
        payment_terms_days=invoice.payment_terms_days, reason=reason.strip(),
        release_items=release_items, subtotal=subtotal, tax_amount=tax, total=total)
    InvoiceLine.objects.bulk_create([
        InvoiceLine(
            invoice=note, sequence=line.sequence, kind=InvoiceLine.Kind.CREDIT,
            contract_id=line.contract_id, project_id=line.project_id, role_id=line.role_id,
            category=line.category, description=line.description,
            # Quantity and unit price only describe a whole line credited at once.
            quantity=line.quantity if amount == line.amount else None,
            unit_price=line.unit_price if amount == line.amount else None,
            base_amount=amount, adjustment=ZERO, amount=amount, credited_line=line)
        for line, amount, _ in credits])
    return note


def credit_note_on_issued(note: Invoice) -> None:
    """What issuing a credit note does to its invoice (called by `invoice_issue`, in its
    transaction): re-check the over-credit rule against issued notes, release the credited
    items if asked, and mark the invoice paid once nothing is left to pay.

    Raises InvoiceStateError when the credited invoice is no longer issued, CreditNoteError
    when the issued notes would credit a line beyond its amount.
    """
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=note.credited_invoice_id)
    if invoice.status not in Invoice.ISSUED_STATES:
        raise InvoiceStateError(f"{invoice} is no longer issued: the credit note cannot be "
                                "issued.", attr="credited_invoice")
    credited_lines = InvoiceLine.objects.filter(
        pk__in=note.lines.values("credited_line_id")).only("pk", "amount", "description")
    issued = credited_so_far([line.pk for line in credited_lines],
                             statuses=Invoice.ISSUED_STATES)
    for line in credited_lines:
        credited = issued.get(line.pk, ZERO)
        if abs(credited) > abs(line.amount) or (credited and (credited > 0) != (line.amount > 0)):
            raise CreditNoteError(
                f"Line \"{line.description}\" would be credited {credited} of "
                f"{line.amount} {invoice.currency}.", attr="lines")
    if note.release_items:
        release_sources(BilledItem.objects.filter(
            Q(line__in=credited_lines) & Q(invoice=invoice)))
    status = invoice_settle_status(invoice)
    if status != invoice.status:
        invoice.status = status
        invoice.save(update_fields=["status", "updated_at"])
