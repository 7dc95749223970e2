"""Once the month-end close has closed a month, nothing dated in it changes, whichever path
asks: the time grid's cell endpoint and the time-entry API, the expense API, issuing an
invoice and recording a payment (services and API), recognition runs (start, job, page, API)
and journal posting (DOMAIN.md: Periods). Each refusal writes nothing."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client as BrowserClient
from django.urls import reverse

from billing.models import Invoice, Payment
from billing.services.issue import invoice_issue
from billing.services.payments import payment_record
from psa import roles
from psa.common.errors import PeriodClosedError
from psa.models import Expense, ExpenseCategory, Period, TimeEntry
from revenue.models import AccountKey, JournalEntry, RecognitionEntry, RecognitionRun
from revenue.services.close import month_close
from revenue.services.journals import Posting, journal_post
from revenue.services.recognition import recognition_run_execute, recognition_run_start
from tests.billing.factories import InvoiceFactory, invoice_with_lines
from tests.psa.api.helpers import error_codes
from tests.psa.factories import ExpenseFactory, ExpensePolicyFactory, TimeEntryFactory, UserFactory
from tests.psa.services.test_time_entries import world  # noqa: F401  (the shared fixture)
from tests.revenue.test_close import MARCH, recognise

pytestmark = pytest.mark.django_db
D = Decimal
IN_MARCH = date(2026, 3, 10)
IN_APRIL = date(2026, 4, 7)
TIME_API = "/api/v1/time-entries/"
EXPENSE_API = "/api/v1/expenses/"


@pytest.fixture
def closed(world):  # noqa: F811
    """March 2026 of the world's legal entity, closed through the month-end close."""
    finance = UserFactory(role=roles.FINANCE)
    entity = world.project.legal_entity
    TimeEntryFactory(person=world.person, task=world.task, work_date=date(2026, 3, 2),
                     approved=True)
    recognise(entity)
    period = month_close(legal_entity=entity, month=MARCH, actor=finance)
    assert period.status == Period.Status.CLOSED
    world.finance, world.entity, world.period = finance, entity, period
    return world


def _signed_in(user) -> BrowserClient:
    client = BrowserClient()
    client.force_login(user)
    return client


class TestTimeEntries:
    def test_the_grid_cell_refuses_a_new_entry(self, closed):
        client = _signed_in(closed.person.user)

        response = client.post(reverse("timesheet-cell", args=[closed.task.pk, "2026-03-10"]),
                               {"hours": "4"}, HTTP_HX_REQUEST="true")

        assert response.status_code == 409
        assert "March 2026 is closed" in response.content.decode()
        assert not TimeEntry.objects.filter(work_date=IN_MARCH).exists()

    def test_the_grid_cell_refuses_changing_an_entry(self, closed):
        # Rows written before the close (straight to the table, bypassing the services).
        entry = TimeEntryFactory(person=closed.person, task=closed.task, work_date=IN_MARCH)
        client = _signed_in(closed.person.user)

        response = client.post(reverse("timesheet-cell", args=[closed.task.pk, "2026-03-10"]),
                               {"hours": "2"}, HTTP_HX_REQUEST="true")

        assert response.status_code == 409
        entry.refresh_from_db()
        assert entry.hours == D("8.00")

    def test_the_api_refuses_create_update_move_and_delete(self, closed, token_client):
        client = token_client(closed.person.user)
        in_march = TimeEntryFactory(person=closed.person, task=closed.task, work_date=IN_MARCH)
        in_april = TimeEntryFactory(person=closed.person, task=closed.task, work_date=IN_APRIL)

        created = client.post(TIME_API, {"task": closed.task.pk, "work_date": "2026-03-11",
                                         "hours": "3.00", "notes": "x"}, format="json")
        updated = client.patch(f"{TIME_API}{in_march.pk}/", {"hours": "1"}, format="json")
        moved = client.patch(f"{TIME_API}{in_april.pk}/", {"work_date": "2026-03-12"},
                             format="json")
        deleted = client.delete(f"{TIME_API}{in_march.pk}/")

        for response in (created, updated, moved, deleted):
            assert response.status_code == 409
            assert error_codes(response) == {"period_closed"}
        assert not TimeEntry.objects.filter(work_date=date(2026, 3, 11)).exists()
        in_march.refresh_from_db()
        in_april.refresh_from_db()
        assert (in_march.hours, in_april.work_date) == (D("8.00"), IN_APRIL)


class TestExpenses:
    def test_the_api_refuses_create_and_update(self, closed, token_client):
        ExpensePolicyFactory(legal_entity=closed.entity, category=ExpenseCategory.MEALS)
        expense = ExpenseFactory(person=closed.person, project=closed.project,
                                 expense_date=IN_MARCH)
        client = token_client(closed.person.user)

        created = client.post(EXPENSE_API, {
            "project": closed.project.pk, "expense_date": "2026-03-12", "category": "meals",
            "merchant": "Cafe", "amount": "18.40"}, format="json")
        updated = client.patch(f"{EXPENSE_API}{expense.pk}/", {"merchant": "Other"},
                               format="json")

        assert created.status_code == updated.status_code == 409
        assert error_codes(created) == error_codes(updated) == {"period_closed"}
        assert Expense.objects.count() == 1
        expense.refresh_from_db()
        assert expense.merchant == "City Cabs"


class TestInvoicesAndPayments:
    def test_issuing_with_an_issue_date_in_it_is_refused(self, closed, token_client):
        invoice = invoice_with_lines([D("1200.00")], contract=closed.contract, approved=True,
                                     cut_off=date(2026, 4, 30))

        with pytest.raises(PeriodClosedError):
            invoice_issue(invoice=invoice, actor=closed.finance, issue_date=date(2026, 3, 31))
        response = token_client(closed.finance).post(
            f"/api/v1/invoices/{invoice.pk}/issue/", {"issue_date": "2026-03-31"},
            format="json")

        assert response.status_code == 409 and error_codes(response) == {"period_closed"}
        invoice.refresh_from_db()
        assert (invoice.status, invoice.number, invoice.issue_date) == (
            Invoice.Status.APPROVED, "", None)

    def test_a_payment_received_in_it_is_refused(self, closed, token_client):
        invoice = invoice_with_lines([D("1000.00")], contract=closed.contract, issued=True,
                                     issue_date=date(2026, 2, 27))

        with pytest.raises(PeriodClosedError):
            payment_record(invoice=invoice, actor=closed.finance, amount=D("100.00"),
                           received_date=date(2026, 3, 15))
        response = token_client(closed.finance).post("/api/v1/payments/", {
            "invoice": invoice.pk, "amount": "100.00", "received_date": "2026-03-15"},
            format="json")

        assert response.status_code == 409 and error_codes(response) == {"period_closed"}
        assert not Payment.objects.exists()
        invoice.refresh_from_db()
        assert invoice.amount_paid == D("0.00")

    def test_a_payment_received_after_it_is_recorded(self, closed):
        invoice = InvoiceFactory(contract=closed.contract, issued=True,
                                 issue_date=date(2026, 2, 27), subtotal=D("1000.00"),
                                 total=D("1000.00"))

        payment = payment_record(invoice=invoice, actor=closed.finance, amount=D("100.00"),
                                 received_date=date(2026, 4, 2))

        assert payment.pk  # the lock is the month's, not the invoice's


class TestRecognitionAndJournals:
    def test_a_run_cannot_start_and_a_queued_run_fails_with_the_reason(self, closed,
                                                                       token_client):
        before = RecognitionEntry.objects.count()
        with pytest.raises(PeriodClosedError):
            recognition_run_start(actor=closed.finance, legal_entity=closed.entity,
                                  period=MARCH)
        # A run queued before the close, delivered to the worker after it.
        queued = RecognitionRun.objects.create(legal_entity=closed.entity, period=MARCH)
        TimeEntryFactory(person=closed.person, task=closed.task, work_date=IN_MARCH,
                         approved=True)  # an input that would otherwise post a difference

        run = recognition_run_execute(run_id=queued.pk)

        assert run.status == RecognitionRun.Status.FAILED
        assert "closed" in run.error
        assert RecognitionEntry.objects.count() == before
        api = token_client(closed.finance).post("/api/v1/revenue-runs/", {
            "legal_entity": closed.entity.pk, "period": "2026-03-01"}, format="json")
        assert api.status_code == 409 and error_codes(api) == {"period_closed"}
        page = _signed_in(closed.finance).post(reverse("revenue:close-run"), {
            "legal_entity": closed.entity.pk, "month": "2026-03"})
        assert page.status_code == 409
        assert RecognitionRun.objects.count() == 2  # the fixture's run and the queued one

    def test_journal_post_dated_in_it_is_refused(self, closed):
        before = JournalEntry.objects.count()

        with pytest.raises(PeriodClosedError):
            journal_post(legal_entity=closed.entity, entry_date=date(2026, 3, 31),
                         source=JournalEntry.Source.INVOICE, source_id=424242, currency="USD",
                         description="Late invoice", contract=closed.contract,
                         postings=[Posting(AccountKey.RECEIVABLE, debit=D("10.00")),
                                   Posting(AccountKey.REVENUE, credit=D("10.00"))])

        assert JournalEntry.objects.count() == before
        posted = journal_post(legal_entity=closed.entity, entry_date=date(2026, 4, 1),
                              source=JournalEntry.Source.INVOICE, source_id=424242,
                              currency="USD", description="Late invoice",
                              postings=[Posting(AccountKey.RECEIVABLE, debit=D("10.00")),
                                        Posting(AccountKey.REVENUE, credit=D("10.00"))])
        assert posted is not None and posted.period == date(2026, 4, 1)
