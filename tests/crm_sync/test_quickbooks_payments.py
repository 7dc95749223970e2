"""Payments made in QuickBooks (the ERP owns them) reach our invoices once: by webhook, by a
duplicate webhook, and by a later poll of the same change, and never into a closed month."""

from datetime import date
from decimal import Decimal

import httpx
import pytest
from django.test import Client as HttpClient

from billing.models import Invoice, Payment
from billing.services.issue import invoice_approve, invoice_issue
from crm_sync.models import InboundMessage, SyncRun
from crm_sync.sandbox.quickbooks import QuickBooksEmulator
from crm_sync.services.polling import connection_poll
from crm_sync.services.refs import ref_lookup, ref_of
from psa.services.periods import period_close
from tests.billing.factories import InvoiceFactory, InvoiceLineFactory, with_totals
from tests.crm_sync.conftest import drain_outbox, make_connection
from tests.psa.factories import UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
REALM = "9130357766900000"
WEBHOOK_URL = "http://testserver/api/v1/integrations/quickbooks/webhook/"
WORK = {"quickbooks.invoice.issued", "crm_sync.inbound"}


@pytest.fixture
def qbo(run_emulator):
    return run_emulator(QuickBooksEmulator, seed=1)


@pytest.fixture
def connection(qbo):
    return make_connection("quickbooks", qbo.url, {"access_token": "sandbox-qbo-token",
                                                   "verifier_token": "sandbox-qbo-verifier"},
                           {"realm_id": REALM})


@pytest.fixture
def invoice(qbo, connection) -> Invoice:
    """An issued invoice of 1,299.00 (1,200.00 + 99.00 tax), pushed to QuickBooks; from then
    on the emulator's webhooks are captured."""
    actor = UserFactory()
    draft = InvoiceFactory(tax_rate=D("8.2500"))
    InvoiceLineFactory(invoice=draft)
    draft = invoice_approve(invoice=with_totals(draft), actor=actor)
    issued = invoice_issue(invoice=draft, actor=actor, issue_date=date(2026, 3, 31))
    drain_outbox(subscribers=WORK)
    assert ref_of(connection, issued) is not None
    qbo.emulator.webhook_url = "capture"
    return issued


def pay(qbo, connection, invoice: Invoice, amount: str, on: str) -> dict:
    """A customer payment as the firm's bookkeeper records it in QuickBooks."""
    answer = httpx.post(f"{qbo.url}/_sandbox/payments", json={
        "invoice_id": ref_of(connection, invoice), "amount": amount, "date": on})
    assert answer.status_code == 200, answer.text
    return answer.json()["Payment"]


def deliver_webhooks(qbo) -> list[dict]:
    """POST every captured webhook to our endpoint, signed as Intuit signs it."""
    answers = []
    for body in qbo.emulator.captured:
        headers = qbo.emulator.signed_headers(body, WEBHOOK_URL)
        response = HttpClient().post(WEBHOOK_URL, data=body, content_type="application/json",
                                     HTTP_INTUIT_SIGNATURE=headers["intuit-signature"])
        assert response.status_code == 202, response.content
        answers.append(response.json())
    return answers


class TestPaymentPull:
    def test_a_payment_in_quickbooks_makes_our_invoice_partially_paid_once(
            self, qbo, connection, invoice):
        payment = pay(qbo, connection, invoice, "500.00", "2026-04-10")

        deliver_webhooks(qbo)
        drain_outbox(subscribers=WORK)

        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PARTIALLY_PAID
        assert invoice.amount_paid == D("500.00")
        [recorded] = Payment.objects.filter(invoice=invoice)
        assert (recorded.amount, recorded.received_date, recorded.reference) == (
            D("500.00"), date(2026, 4, 10), f"QuickBooks payment {payment['Id']}")
        key = f"{payment['Id']}:{ref_of(connection, invoice)}"
        assert ref_lookup(connection, Payment, key) == recorded
        message = InboundMessage.objects.get(topic="Payment.Create")
        assert message.state == InboundMessage.State.PROCESSED
        assert message.result.startswith(f"recorded QuickBooks payment {payment['Id']}")
        assert InboundMessage.objects.get(topic="Invoice.Update").state == (
            InboundMessage.State.IGNORED)

    def test_a_duplicate_webhook_and_a_later_poll_record_nothing_more(self, qbo, connection,
                                                                      invoice):
        payment = pay(qbo, connection, invoice, "500.00", "2026-04-10")
        deliver_webhooks(qbo)
        drain_outbox(subscribers=WORK)

        [again] = deliver_webhooks(qbo)  # Intuit retries the same notification
        run = connection_poll(connection)  # and change data capture sees the same payment
        drain_outbox(subscribers=WORK)

        assert again["duplicates"] == 2 and again["received"] == 0
        assert run.status == SyncRun.Status.SUCCEEDED
        assert run.counts == {"changed": 1, "stored": 1, "duplicates": 0}
        polled = InboundMessage.objects.get(event_id__startswith=f"poll:Payment:{payment['Id']}")
        assert polled.state == InboundMessage.State.IGNORED
        assert "already recorded" in polled.result
        assert Payment.objects.filter(invoice=invoice).count() == 1
        invoice.refresh_from_db()
        assert invoice.amount_paid == D("500.00")
        assert connection_poll(connection).counts == {"changed": 1, "stored": 0,
                                                      "duplicates": 1}

    def test_the_rest_paid_later_makes_the_invoice_paid(self, qbo, connection, invoice):
        pay(qbo, connection, invoice, "500.00", "2026-04-10")
        pay(qbo, connection, invoice, "799.00", "2026-04-20")

        deliver_webhooks(qbo)
        drain_outbox(subscribers=WORK)

        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID
        assert sorted(Payment.objects.filter(invoice=invoice).values_list("amount", flat=True)) == [
            D("500.00"), D("799.00")]

    def test_a_poll_alone_finds_a_payment_the_webhook_never_brought(self, qbo, connection,
                                                                    invoice):
        pay(qbo, connection, invoice, "1299.00", "2026-04-10")

        run = connection_poll(connection)
        drain_outbox(subscribers=WORK)

        assert run.counts["stored"] == 1
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID

    def test_a_payment_dated_in_a_closed_month_fails_clearly_and_records_nothing(
            self, qbo, connection, invoice):
        period_close(legal_entity=invoice.legal_entity, month=date(2026, 4, 1),
                     actor=UserFactory())
        payment = pay(qbo, connection, invoice, "500.00", "2026-04-10")

        deliver_webhooks(qbo)
        drain_outbox(rounds=1, subscribers=WORK)

        message = InboundMessage.objects.get(topic="Payment.Create")
        assert message.state == InboundMessage.State.FAILED
        assert message.result.startswith("PeriodClosedError: QuickBooks payment "
                                         f"{payment['Id']} (500.00 on 2026-04-10)")
        assert "April 2026 is closed" in message.result
        assert not Payment.objects.filter(invoice=invoice).exists()
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.ISSUED
