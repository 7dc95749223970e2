"""Payments: partial then full, the balance guard, currency, state and period checks."""

from datetime import date
from decimal import Decimal

import pytest
from auditlog.models import LogEntry

from billing.errors import InvoiceStateError, PaymentError
from billing.models import Invoice, Payment
from billing.services.credit_notes import credit_note_create
from billing.services.issue import invoice_approve, invoice_issue
from billing.services.payments import payment_record
from psa.common.errors import PeriodClosedError
from psa.models import OutboxEvent, Period
from tests.billing.factories import invoice_with_lines
from tests.psa.factories import PeriodFactory

pytestmark = pytest.mark.django_db
D = Decimal
APRIL_10 = date(2026, 4, 10)


@pytest.fixture
def actor(finance):
    return finance.user


@pytest.fixture
def invoice(actor):
    """An issued USD invoice of 1,000.00 + 8.25 % tax = 1,082.50."""
    draft = invoice_approve(invoice=invoice_with_lines([D("1000.00")]), actor=actor)
    return invoice_issue(invoice=draft, actor=actor, issue_date=date(2026, 3, 31))


def pay(invoice, actor, amount, **kwargs):
    return payment_record(invoice=invoice, actor=actor, amount=D(amount),
                          received_date=kwargs.pop("received_date", APRIL_10), **kwargs)


class TestPaymentRecord:
    def test_partial_then_full_payment(self, invoice, actor):
        first = pay(invoice, actor, "500.00", reference="WIRE-1")

        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PARTIALLY_PAID
        assert invoice.amount_paid == D("500.00") and invoice.balance == D("582.50")
        assert (first.amount, first.currency, first.reference, first.recorded_by) == (
            D("500.00"), "USD", "WIRE-1", actor)

        pay(invoice, actor, "582.50")

        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID and invoice.balance == D("0.00")
        assert Payment.objects.filter(invoice=invoice).count() == 2

    def test_a_payment_is_published_and_audited(self, invoice, actor):
        payment = pay(invoice, actor, "100.00")

        event = OutboxEvent.objects.get(type="payment.recorded")
        assert event.payload["invoice_id"] == invoice.pk
        assert event.payload["amount"] == "100.00" and event.payload["currency"] == "USD"
        assert LogEntry.objects.get_for_object(payment).exists()
        assert LogEntry.objects.get_for_object(invoice).filter(
            changes__icontains="amount_paid").exists()

    def test_over_payment_is_refused_and_nothing_is_written(self, invoice, actor):
        pay(invoice, actor, "1000.00")

        with pytest.raises(PaymentError) as refused:
            pay(invoice, actor, "82.51")

        assert "82.50" in refused.value.detail
        invoice.refresh_from_db()
        assert invoice.amount_paid == D("1000.00")
        assert Payment.objects.count() == 1

    def test_issued_credit_notes_lower_what_can_be_paid(self, invoice, actor):
        note = credit_note_create(invoice=invoice, actor=actor, reason="Goodwill",
                                  lines=[(invoice.lines.get(), D("500.00"))])
        invoice_issue(invoice=invoice_approve(invoice=note, actor=actor), actor=actor,
                      issue_date=date(2026, 4, 1))

        with pytest.raises(PaymentError):
            pay(invoice, actor, "541.26")
        pay(invoice, actor, "541.25")

        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID

    def test_another_currency_is_refused(self, invoice, actor):
        with pytest.raises(PaymentError):
            pay(invoice, actor, "100.00", currency="EUR")
        assert not Payment.objects.exists()

    @pytest.mark.parametrize("amount", ["0.00", "-1.00", "10.005"])
    def test_amounts_must_be_positive_cents(self, invoice, actor, amount):
        with pytest.raises(PaymentError):
            pay(invoice, actor, amount)

    def test_a_paid_invoice_takes_no_more_payments(self, invoice, actor):
        pay(invoice, actor, "1082.50")

        with pytest.raises(InvoiceStateError):
            pay(invoice, actor, "0.01")

    @pytest.mark.parametrize("status", ["draft", "approved", "void"])
    def test_unissued_invoices_take_no_payment(self, actor, status):
        draft = invoice_with_lines([D("100.00")], status=status)

        with pytest.raises(InvoiceStateError):
            pay(draft, actor, "10.00")

    def test_a_credit_note_takes_no_payment(self, invoice, actor):
        note = credit_note_create(invoice=invoice, actor=actor, reason="Goodwill",
                                  lines=[(invoice.lines.get(), D("100.00"))])
        note = invoice_issue(invoice=invoice_approve(invoice=note, actor=actor), actor=actor,
                             issue_date=date(2026, 4, 1))

        with pytest.raises(InvoiceStateError):
            pay(note, actor, "10.00")

    def test_a_payment_received_in_a_closed_period_is_refused(self, invoice, actor):
        PeriodFactory(legal_entity=invoice.legal_entity, month=date(2026, 4, 1),
                      status=Period.Status.CLOSED)

        with pytest.raises(PeriodClosedError):
            pay(invoice, actor, "10.00")
        pay(invoice, actor, "10.00", received_date=date(2026, 5, 2))
