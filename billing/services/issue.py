"""Approving, issuing and voiding invoices and credit notes (DOMAIN.md, The invoice run).

Approval freezes a draft's lines and totals; issuing gives the document its gapless number,
its issue and due dates and publishes `invoice.issued`; from then on nothing changes its lines
or amounts (corrections are credit notes, billing/services/credit_notes.py). Only drafts and
approved documents can be voided.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from billing.errors import InvoiceStateError, InvoiceValidationError
from billing.models import CapHold, Invoice, NumberSequence
from billing.services.totals import invoice_totals
from psa import events
from psa.common.money import ZERO
from psa.services.periods import period_ensure_open

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _lock(invoice: Invoice) -> Invoice:
    """Re-read the invoice under a row lock (a no-op on SQLite, whose writes are serialised)."""
    return (Invoice.objects.select_for_update(of=("self",))
            .select_related("legal_entity").get(pk=invoice.pk))


def _refuse_move(invoice: Invoice, target: str, verb: str) -> None:
    if not invoice.can_transition_to(target):
        raise InvoiceStateError(
            f"{invoice} is {invoice.get_status_display().lower()}: it cannot be {verb}.",
            attr="status")


def _event_payload(invoice: Invoice) -> dict[str, object]:
    return {
        "invoice_id": invoice.pk,
        "kind": invoice.kind,
        "number": invoice.number,
        "client_id": invoice.client_id,
        "contract_id": invoice.contract_id,
        "total": str(invoice.total),
        "currency": invoice.currency,
        "status": invoice.status,
    }


@transaction.atomic
def invoice_approve(*, invoice: Invoice, actor: User) -> Invoice:
    """Approve a draft: its totals are recomputed from its lines and frozen from now on.

    A zero total is allowed when the invoice has lines (e.g. a time line fully offset by a cap
    adjustment); an invoice without lines or with a negative total is refused.
    Raises InvoiceStateError unless draft, InvoiceValidationError for no lines or a negative
    total.
    """
    invoice = _lock(invoice)
    _refuse_move(invoice, Invoice.Status.APPROVED, "approved")
    if not invoice.lines.exists():
        raise InvoiceValidationError(f"{invoice} has no lines: there is nothing to approve.",
                                     attr="lines")
    lines_sum = invoice.lines.aggregate(total=Sum("amount"))["total"] or ZERO
    invoice.subtotal, invoice.tax_amount, invoice.total = invoice_totals(
        [lines_sum], invoice.tax_rate, invoice.currency)
    if invoice.subtotal < 0:
        noun = "credit note" if invoice.is_credit_note else "invoice"
        raise InvoiceValidationError(
            f"The {noun}'s lines add up to {invoice.subtotal} {invoice.currency}; a {noun} "
            "cannot have a negative total.", attr="lines")
    invoice.status = Invoice.Status.APPROVED
    invoice.approved_at, invoice.approved_by = timezone.now(), actor
    invoice.save(update_fields=["subtotal", "tax_amount", "total", "status", "approved_at",
                                "approved_by", "updated_at"])
    events.publish("invoice.approved", aggregate=invoice, payload=_event_payload(invoice))
    return invoice


@transaction.atomic
def invoice_unapprove(*, invoice: Invoice, actor: User) -> Invoice:
    """Send an approved (not yet issued) invoice back to draft so finance can edit it again.

    Raises InvoiceStateError unless approved.
    """
    invoice = _lock(invoice)
    if invoice.status != Invoice.Status.APPROVED:
        raise InvoiceStateError(
            f"{invoice} is {invoice.get_status_display().lower()}: only an approved invoice "
            "can go back to draft.", attr="status")
    invoice.status = Invoice.Status.DRAFT
    invoice.approved_at, invoice.approved_by = None, None
    invoice.save(update_fields=["status", "approved_at", "approved_by", "updated_at"])
    events.publish("invoice.unapproved", aggregate=invoice, payload=_event_payload(invoice))
    return invoice


def invoice_number_format(*, prefix: str, year: int, kind: str, number: int) -> str:
    """`US-2026-000123` for an invoice, `US-CN-2026-000007` for a credit note."""
    series = "-CN" if kind == Invoice.Kind.CREDIT_NOTE else ""
    return f"{prefix}{series}-{year}-{number:06d}"


def invoice_number_take(*, legal_entity_id: int, year: int, kind: str) -> int:
    """Take the next number of a series (legal entity, year, kind) under its row lock.

    Must run inside the issuing transaction: the sequence row stays locked until it commits,
    so a concurrent issue waits and takes the following number, and a rollback gives the
    number back (gapless). The row is created on first use; a concurrent creation loses on the
    unique constraint and `get_or_create` then reads the winner's row.
    """
    NumberSequence.objects.get_or_create(legal_entity_id=legal_entity_id, year=year, kind=kind)
    sequence = NumberSequence.objects.select_for_update().get(
        legal_entity_id=legal_entity_id, year=year, kind=kind)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number


def _entity_today(invoice: Invoice) -> date:
    """Today in the legal entity's time zone (invoice dates are the entity's, STYLE.md §9)."""
    return timezone.localdate(timezone=ZoneInfo(invoice.legal_entity.time_zone))


@transaction.atomic
def invoice_issue(*, invoice: Invoice, actor: User, issue_date: date | None = None) -> Invoice:
    """Issue an approved invoice or credit note: number, issue and due dates, `invoice.issued`.

    The number is gapless and sequential per legal entity, year of the issue date and series
    (invoices and credit notes have their own). The due date is the issue date plus the
    document's payment terms. Once committed, the PDF is rendered, stored and e-mailed by
    the outbox's `billing.invoice_document` subscriber of `invoice.issued`. Issuing a credit
    note reduces the credited invoice's balance and, if asked, releases the credited items for
    rebilling.
    Raises InvoiceStateError unless approved, PeriodClosedError when the issue date is in a
    closed period, CreditNoteError when a credit note would now over-credit its invoice.
    """
    from billing.services.credit_notes import credit_note_on_issued

    invoice = _lock(invoice)
    _refuse_move(invoice, Invoice.Status.ISSUED, "issued")
    issue_date = issue_date or _entity_today(invoice)
    period_ensure_open(legal_entity_id=invoice.legal_entity_id, on=issue_date)

    number = invoice_number_take(legal_entity_id=invoice.legal_entity_id,
                                 year=issue_date.year, kind=invoice.kind)
    invoice.number = invoice_number_format(prefix=invoice.legal_entity.invoice_prefix,
                                           year=issue_date.year, kind=invoice.kind,
                                           number=number)
    invoice.issue_date = issue_date
    invoice.due_date = issue_date + timedelta(days=invoice.payment_terms_days)
    invoice.status = Invoice.Status.ISSUED
    invoice.issued_at, invoice.issued_by = timezone.now(), actor
    invoice.save(update_fields=["number", "issue_date", "due_date", "status", "issued_at",
                                "issued_by", "updated_at"])
    if invoice.is_credit_note:
        credit_note_on_issued(invoice)

    events.publish("invoice.issued", aggregate=invoice, payload={
        **_event_payload(invoice),
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "credited_invoice_id": invoice.credited_invoice_id,
    })
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor: User, reason: str) -> Invoice:
    """Void a draft or approved invoice (or credit note): its items become billable again.

    The invoice's item links stop being live and their sources go back to approved (time,
    expenses) or accepted/completed (milestones); the amounts it held over a cap are deleted
    with it, since the items they came from are unbilled again.
    Raises InvoiceStateError once issued (issued documents are corrected by credit notes),
    InvoiceValidationError without a reason or when a cap hold it created was already
    resolved.
    """
    from billing.services.credit_notes import release_sources

    invoice = _lock(invoice)
    if invoice.status not in (Invoice.Status.DRAFT, Invoice.Status.APPROVED):
        raise InvoiceStateError(
            f"{invoice} is {invoice.get_status_display().lower()}: only drafts and approved "
            "invoices can be voided; correct an issued invoice with a credit note.",
            attr="status")
    if not reason.strip():
        raise InvoiceValidationError("Say why the invoice is voided.", attr="reason")
    holds = CapHold.objects.filter(source_invoice=invoice)
    if holds.filter(~Q(status=CapHold.Status.HELD) | Q(billed_items__isnull=False)).exists():
        raise InvoiceValidationError(
            "An amount this invoice held over the cap was since written off or billed on "
            "another invoice; resolve that first.", attr="status")

    release_sources(invoice.items.all())
    holds.delete()
    invoice.status = Invoice.Status.VOID
    invoice.reason = reason.strip()
    invoice.voided_at = timezone.now()
    invoice.save(update_fields=["status", "reason", "voided_at", "updated_at"])
    events.publish("invoice.voided", aggregate=invoice,
                   payload={**_event_payload(invoice), "reason": invoice.reason})
    return invoice
