"""Payments received against issued invoices: partially paid, then paid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction

from billing.errors import InvoiceStateError, PaymentError
from billing.models import Invoice, Payment
from psa import events
from psa.common.money import quantize
from psa.services.periods import period_ensure_open

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def invoice_settle_status(invoice: Invoice) -> str:
    """The status an issued invoice's payments and issued credit notes put it in.

    Paid once nothing is left to pay (by payments, credit notes or both), partially paid
    while a payment was received and something is still owed, else issued.
    """
    if invoice.balance <= 0:
        return Invoice.Status.PAID
    if invoice.amount_paid > 0:
        return Invoice.Status.PARTIALLY_PAID
    return Invoice.Status.ISSUED


@transaction.atomic
def payment_record(*, invoice: Invoice, actor: User, amount: Decimal, received_date: date,
                   reference: str = "", currency: str | None = None) -> Payment:
    """Record money received for an issued invoice; it becomes partially paid or paid.

    The invoice row is locked, so two payments at once cannot both fit into the same balance.
    The payment and the invoice's change are in the audit trail; `payment.recorded` is
    published. `currency` defaults to the invoice's.
    Raises InvoiceStateError unless the invoice is issued or partially paid, PaymentError for
    another currency, an amount that is not positive, has too many decimals or exceeds the
    balance, PeriodClosedError when received in a closed period.
    """
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status not in Invoice.OPEN_STATES:
        raise InvoiceStateError(
            f"{invoice} is {invoice.get_status_display().lower()}: payments are recorded on "
            "issued, unpaid invoices only.", attr="invoice")
    currency = currency or invoice.currency
    if currency != invoice.currency:
        raise PaymentError(f"{invoice} is in {invoice.currency}; a payment in {currency} "
                           "cannot be recorded against it.", attr="currency")
    if amount <= 0:
        raise PaymentError("A payment amount must be positive.", attr="amount")
    if quantize(amount, currency) != amount:
        raise PaymentError(f"{amount} has more decimals than {currency} allows.", attr="amount")
    balance = invoice.balance
    if amount > balance:
        raise PaymentError(
            f"{amount} {currency} is more than the {balance} {currency} still owed on "
            f"{invoice}.", attr="amount")
    period_ensure_open(legal_entity_id=invoice.legal_entity_id, on=received_date)

    payment = Payment.objects.create(invoice=invoice, amount=amount, currency=currency,
                                     received_date=received_date, reference=reference,
                                     recorded_by=actor)
    invoice.amount_paid += amount
    invoice.status = invoice_settle_status(invoice)
    invoice.save(update_fields=["amount_paid", "status", "updated_at"])
    events.publish("payment.recorded", aggregate=payment, payload={
        "payment_id": payment.pk,
        "invoice_id": invoice.pk,
        "number": invoice.number,
        "client_id": invoice.client_id,
        "amount": str(amount),
        "currency": currency,
        "received_date": received_date.isoformat(),
        "invoice_status": invoice.status,
        "balance": str(invoice.balance),
    })
    return payment
