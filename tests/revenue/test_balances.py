"""Contract balances at a period end: billed and recognised to date, unbilled receivable and
deferred revenue to the cent, equal to the balances the journals give; and the page."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Invoice
from billing.services.credit_notes import credit_note_create
from billing.services.issue import invoice_approve, invoice_issue
from psa import events
from psa.models import Contract, Delivery
from revenue.models import RecognitionEntry, RecognitionRun
from revenue.selectors.balances import (
    BalanceRow,
    contract_balances_at,
    journal_balances_at,
)
from revenue.services.recognition import recognition_run_execute
from tests.billing.factories import InvoiceFactory, InvoiceLineFactory, with_totals
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    LegalEntityFactory,
    MilestoneFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
JAN_END, FEB_END = date(2026, 1, 31), date(2026, 2, 28)


def recognise(entity: object, month: date) -> None:
    run = RecognitionRun.objects.create(legal_entity=entity, period=month)
    assert recognition_run_execute(run_id=run.pk).status == RecognitionRun.Status.COMPLETED


def issue(document: Invoice, on: date) -> Invoice:
    """Approve and issue through billing's services, then deliver `invoice.issued` to revenue
    (the journal entry), as the worker would."""
    actor = UserFactory()
    if document.status == Invoice.Status.DRAFT:
        document = invoice_approve(invoice=document, actor=actor)
    document = invoice_issue(invoice=document, actor=actor, issue_date=on)
    delivery = Delivery.objects.get(event__type="invoice.issued",
                                    event__aggregate_id=str(document.pk),
                                    subscriber="revenue.invoice_journal")
    assert events.delivery_attempt(delivery.pk).state == Delivery.State.SUCCEEDED
    return document


def invoice_for(contract: Contract, amount: str) -> Invoice:
    invoice = InvoiceFactory(contract=contract)
    InvoiceLineFactory(invoice=invoice, quantity=None, unit_price=None, base_amount=D(amount))
    return with_totals(invoice)


def by_code(rows: list[BalanceRow]) -> dict[str, BalanceRow]:
    return {row.contract_code or row.contract_name: row for row in rows}


@pytest.fixture
def ledger():
    """Three USD contracts, in date order as finance would post them:

    A ratable 10,000.00 Jan-Mar: invoiced 5,000.00 on 10 Jan, credited 500.00 on 15 Feb,
      invoiced 2,000.00 on 5 Mar; recognised 3,444.44 (Jan) and 3,111.11 (Feb).
    B milestone: 250.00 accepted and recognised in January; 400.00 on a consolidated
      invoice on 2 Feb.
    C milestone: 600.00 on the same consolidated invoice, nothing recognised.
    """
    client = ClientFactory(consolidated_invoicing=True)
    a = ContractFactory(code="A", client=client, revenue_method=Contract.RevenueMethod.RATABLE,
                        billing_model=Contract.BillingModel.FIXED_INSTALLMENTS,
                        value_amount=D("10000.00"), start_date=JAN, end_date=date(2026, 3, 31))
    b, c = (ContractFactory(code=code, client=client,
                            revenue_method=Contract.RevenueMethod.MILESTONE,
                            billing_model=Contract.BillingModel.FIXED_MILESTONES)
            for code in ("B", "C"))
    MilestoneFactory(project=ProjectFactory(contract=b), amount=D("250.00"), status="accepted",
                     accepted_at=datetime(2026, 1, 20, 12, tzinfo=UTC))
    entity = a.legal_entity

    first = issue(invoice_for(a, "5000.00"), date(2026, 1, 10))
    recognise(entity, JAN)
    consolidated = InvoiceFactory(contract=None, client=client, legal_entity=entity,
                                  currency="USD", tax_rate=client.tax_rate)
    InvoiceLineFactory(invoice=consolidated, contract=b, quantity=None, unit_price=None,
                       base_amount=D("400.00"))
    InvoiceLineFactory(invoice=consolidated, contract=c, quantity=None, unit_price=None,
                       base_amount=D("600.00"))
    issue(with_totals(consolidated), date(2026, 2, 2))
    note = credit_note_create(invoice=first, actor=UserFactory(), reason="Discount",
                              lines=[(first.lines.get(), D("500.00"))])
    issue(note, date(2026, 2, 15))
    recognise(entity, FEB)
    issue(invoice_for(a, "2000.00"), date(2026, 3, 5))
    return {"A": a, "B": b, "C": c, "entity": entity}


class TestContractBalancesAt:
    def test_january_end(self, ledger):
        rows = by_code(contract_balances_at(period_end=JAN_END))
        a, b = rows["A"], rows["B"]
        assert (a.billed, a.recognised, a.unbilled, a.deferred) == (
            D("5000.00"), D("3444.44"), D("0.00"), D("1555.56"))
        assert (b.billed, b.recognised, b.unbilled, b.deferred) == (
            D("0.00"), D("250.00"), D("250.00"), D("0.00"))
        assert "C" not in rows  # neither billed nor recognised by then

    def test_february_end_with_credit_note_and_consolidated_invoice(self, ledger):
        rows = by_code(contract_balances_at(period_end=FEB_END))
        expected = {  # billed, recognised, unbilled, deferred
            "A": (D("4500.00"), D("6555.55"), D("2055.55"), D("0.00")),
            "B": (D("400.00"), D("250.00"), D("0.00"), D("150.00")),
            "C": (D("600.00"), D("0.00"), D("0.00"), D("600.00")),
        }
        for code, figures in expected.items():
            row = rows[code]
            assert (row.billed, row.recognised, row.unbilled, row.deferred) == figures, code
        total = rows["Total USD"]
        assert total.is_total
        # gross: one contract's asset is not netted against another's liability
        assert (total.billed, total.recognised, total.unbilled, total.deferred) == (
            D("5500.00"), D("6805.55"), D("2055.55"), D("750.00"))

    @pytest.mark.parametrize("period_end", [JAN_END, date(2026, 2, 15), FEB_END,
                                            date(2026, 3, 31)])
    def test_equal_to_the_journal_derived_balances(self, ledger, period_end):
        rows = [row for row in contract_balances_at(period_end=period_end)
                if not row.is_total]
        journals = journal_balances_at(period_end=period_end)
        assert rows
        for row in rows:
            assert journals[row.contract_id] == (row.unbilled, row.deferred), row.contract_code
            assert row.ledger_matches is True

    def test_mid_month_counts_documents_to_the_day_and_only_finished_months(self, ledger):
        row = by_code(contract_balances_at(period_end=date(2026, 2, 15)))["A"]
        assert (row.billed, row.recognised, row.deferred) == (
            D("4500.00"), D("3444.44"), D("1055.56"))

    def test_a_ledger_that_differs_is_flagged(self, ledger):
        RecognitionEntry.objects.filter(contract=ledger["C"]).delete()
        run = RecognitionRun.objects.create(legal_entity=ledger["entity"], period=FEB)
        RecognitionEntry.objects.create(run=run, contract=ledger["C"], month=FEB,
                                        amount=D("100.00"), currency="USD",
                                        cumulative_amount=D("100.00"))
        row = by_code(contract_balances_at(period_end=FEB_END))["C"]
        assert row.deferred == D("500.00") and row.journal_deferred == D("600.00")
        assert row.ledger_matches is False

    def test_scoped_by_legal_entity_and_contract_with_a_total_per_currency(self, ledger):
        uk = LegalEntityFactory(code="UK", base_currency="GBP", name="Northwind UK Ltd",
                                country="GB", time_zone="Europe/London")
        pounds = ContractFactory(code="UK1", client=ClientFactory(legal_entity=uk))
        InvoiceFactory(contract=pounds, issued=True, issue_date=date(2026, 2, 1),
                       subtotal=D("1000.00"), tax_amount=D("0.00"), total=D("1000.00"))
        everything = by_code(contract_balances_at(period_end=FEB_END))
        assert everything["UK1"].deferred == D("1000.00")
        assert everything["Total GBP"].deferred == D("1000.00")
        assert everything["Total USD"].deferred == D("750.00")

        us_only = by_code(contract_balances_at(period_end=FEB_END,
                                               legal_entity=ledger["entity"]))
        assert "UK1" not in us_only and "Total GBP" not in us_only
        one = contract_balances_at(period_end=FEB_END, contract=ledger["B"])
        assert [row.contract_code for row in one] == ["B", ""]

    def test_void_and_draft_documents_do_not_count(self):
        contract = ContractFactory()
        InvoiceFactory(contract=contract, subtotal=D("100.00"))
        InvoiceFactory(contract=contract, void=True, subtotal=D("100.00"))
        InvoiceFactory(contract=contract, approved=True, subtotal=D("100.00"))
        assert contract_balances_at(period_end=FEB_END) == []

    def test_query_count_does_not_grow_with_contracts(self):
        run = RecognitionRun.objects.create(legal_entity=LegalEntityFactory(), period=JAN)

        def add(count: int) -> None:
            for _ in range(count):
                contract = ContractFactory()
                InvoiceFactory(contract=contract, issued=True, issue_date=JAN,
                               subtotal=D("10.00"))
                RecognitionEntry.objects.create(run=run, contract=contract, month=JAN,
                                                amount=D("4.00"), currency="USD",
                                                cumulative_amount=D("4.00"))

        add(3)
        with CaptureQueriesContext(connection) as few:
            assert len(contract_balances_at(period_end=JAN_END)) == 4
        add(27)
        with CaptureQueriesContext(connection) as many:
            rows = contract_balances_at(period_end=JAN_END)
        assert len(rows) == 31 and rows[-1].deferred == D("180.00")
        assert len(many.captured_queries) == len(few.captured_queries) <= 6


class TestBalancesPage:
    url = reverse("revenue:balances")

    def test_finance_sees_the_balances_and_exports_them(self, client, finance, ledger):
        client.force_login(finance.user)
        response = client.get(self.url, {"period": "2026-02"})
        assert response.status_code == 200
        body = response.content.decode()
        assert "2,055.55" in body and "Agrees" in body and "28 Feb 2026" in body

        export = client.get(self.url, {"period": "2026-02", "format": "csv"})
        assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
        lines = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
        assert lines[0][:6] == ["Legal entity", "Client", "Contract", "Contract name",
                                "Currency", "Billed to date"]
        row_a = next(line for line in lines if line[2] == "A")
        assert row_a[5:9] == ["4500.00", "6555.55", "2055.55", "0.00"]
        assert row_a[-1] == "yes"

    def test_empty_state_and_a_bad_period(self, client, finance):
        client.force_login(finance.user)
        response = client.get(self.url)
        assert response.status_code == 200
        assert "Nothing is billed or recognised" in response.content.decode()
        assert client.get(self.url, {"period": "2026-13"}).status_code == 400

    @pytest.mark.parametrize("role, status", [
        ("consultant", 403), ("project_manager", 403), ("resource_manager", 403),
        ("finance", 200), ("executive", 200), ("administrator", 200)])
    def test_role_matrix(self, client, request, role, status):
        person = request.getfixturevalue(role)
        client.force_login(person.user)
        assert client.get(self.url).status_code == status

    def test_anonymous_goes_to_sign_in(self, client):
        response = client.get(self.url)
        assert response.status_code == 302 and "login" in response["Location"]
