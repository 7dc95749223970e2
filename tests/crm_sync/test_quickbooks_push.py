"""Pushes to QuickBooks Online through the outbox: invoices, credit memos, customers and the
month's journals, each exactly once, whatever is re-delivered or whose answer is lost."""

from datetime import date
from decimal import Decimal

import httpx
import pytest

from billing.services.credit_notes import credit_note_create
from billing.services.issue import invoice_approve, invoice_issue
from crm_sync.connectors import connector_for
from crm_sync.sandbox.quickbooks import QuickBooksEmulator
from crm_sync.services.refs import ref_of
from psa import events
from psa.models import Delivery, ExternalRef, OutboxEvent
from psa.services.clients import client_create, client_update
from psa.services.periods import period_close
from revenue.models import AccountKey, AccountMapping, JournalEntry
from revenue.services.journals import journal_post, recognition_postings
from tests.billing.factories import InvoiceFactory, InvoiceLineFactory, with_totals
from tests.crm_sync.conftest import drain_outbox, make_connection
from tests.psa.factories import LegalEntityFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
REALM = "9130357766900000"
MARCH_31 = date(2026, 3, 31)
QBO = {"quickbooks.invoice.issued", "quickbooks.client.created", "quickbooks.client.changed",
       "quickbooks.period.closed", "revenue.invoice_journal"}


@pytest.fixture
def qbo(run_emulator):
    return run_emulator(QuickBooksEmulator, seed=1)


@pytest.fixture
def connection(qbo):
    return make_connection("quickbooks", qbo.url, {"access_token": "sandbox-qbo-token",
                                                   "verifier_token": "sandbox-qbo-verifier"},
                           {"realm_id": REALM})


@pytest.fixture
def remote(qbo):
    with httpx.Client(base_url=f"{qbo.url}/v3/company/{REALM}",
                      headers={"Authorization": "Bearer sandbox-qbo-token"}) as client:
        yield client


def read(remote, entity: str, entity_id: str) -> dict:
    return remote.get(f"/{entity.lower()}/{entity_id}").json()[entity]


def rows(remote, entity: str, where: str = "") -> list[dict]:
    answer = remote.get("/query", params={"query": f"SELECT * FROM {entity} {where}"})
    return answer.json()["QueryResponse"].get(entity, [])


def documents(qbo) -> dict:
    return httpx.get(f"{qbo.url}/_sandbox/documents").json()


def issued_invoice():
    """1,200.00 of time (8.00 h x 150) + 462.00 of expenses, tax 8.25 % = 1,799.12."""
    actor = UserFactory()
    draft = InvoiceFactory()
    InvoiceLineFactory(invoice=draft, description="Consultant 8.00 h")
    InvoiceLineFactory(invoice=draft, expense=True, base_amount=D("462.00"),
                       description="Expenses: lodging",
                       project=draft.lines.get().project)
    draft = invoice_approve(invoice=with_totals(draft), actor=actor)
    return invoice_issue(invoice=draft, actor=actor, issue_date=MARCH_31)


def sales_lines(document: dict) -> list[dict]:
    return [line for line in document["Line"] if line["DetailType"] == "SalesItemLineDetail"]


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(D("0.01"))


class TestInvoicePush:
    def test_an_issued_invoice_becomes_one_quickbooks_invoice_to_the_cent(self, qbo, remote,
                                                                          connection):
        invoice = issued_invoice()

        drain_outbox(subscribers=QBO)

        qbo_id = ref_of(connection, invoice)
        assert qbo_id is not None
        assert documents(qbo)["doc_numbers"]["Invoice"] == {invoice.number: 1}
        pushed = read(remote, "Invoice", qbo_id)
        assert (money(pushed["TotalAmt"]), money(pushed["TxnTaxDetail"]["TotalTax"])) == (
            D("1799.12"), D("137.12"))
        assert (pushed["TxnDate"], pushed["DueDate"]) == ("2026-03-31", "2026-04-30")
        time_line, expense_line = sales_lines(pushed)
        assert (money(time_line["Amount"]), time_line["Description"]) == (
            D("1200.00"), "Consultant 8.00 h")
        assert (time_line["SalesItemLineDetail"]["Qty"],
                time_line["SalesItemLineDetail"]["UnitPrice"]) == (8.0, 150.0)
        assert money(expense_line["Amount"]) == D("462.00")
        assert "Qty" not in expense_line["SalesItemLineDetail"]
        project = invoice.lines.first().project
        assert time_line["SalesItemLineDetail"]["ClassRef"]["value"] == ref_of(connection,
                                                                              project)
        [item] = rows(remote, "Item")
        assert item["Name"] == "Services"
        assert time_line["SalesItemLineDetail"]["ItemRef"]["value"] == item["Id"]
        customer = read(remote, "Customer", pushed["CustomerRef"]["value"])
        assert customer["DisplayName"] == invoice.client.name
        assert ref_of(connection, invoice.client) == customer["Id"]

    def test_the_same_delivery_twice_and_a_lost_link_still_leave_one_invoice(
            self, qbo, remote, connection):
        invoice = issued_invoice()
        drain_outbox(subscribers=QBO)
        event = OutboxEvent.objects.get(type="invoice.issued", aggregate_id=str(invoice.pk))
        handler = events.subscription_for("invoice.issued", "quickbooks.invoice.issued").handler

        handler(event)  # at-least-once: the same delivery runs again
        first_id = ref_of(connection, invoice)
        ExternalRef.objects.filter(system=connection.name, external_id=first_id,
                                   object_id=invoice.pk).delete()
        handler(event)  # our link is gone: the requestid still finds the first invoice

        assert documents(qbo)["doc_numbers"]["Invoice"] == {invoice.number: 1}
        assert ref_of(connection, invoice) == first_id
        assert qbo.emulator.counts["requestid:replayed"] >= 1

    def test_a_create_whose_answer_is_dropped_is_retried_into_the_same_invoice(
            self, qbo, remote, connection):
        invoice = issued_invoice()
        with connector_for(connection) as connector:  # what the invoice needs exists already
            erp = connector.erp()
            erp.customer_push(invoice.client)
            erp.services_item()
            erp.class_for(invoice.lines.first().project)
        httpx.post(f"{qbo.url}/_sandbox/faults", json={"drop_rate": 1, "writes_only": True})

        drain_outbox(rounds=1, subscribers={"quickbooks.invoice.issued"})

        delivery = Delivery.objects.get(subscriber="quickbooks.invoice.issued")
        assert delivery.state == Delivery.State.FAILED
        assert "TransientRemoteError" in delivery.last_error
        assert documents(qbo)["doc_numbers"]["Invoice"] == {invoice.number: 1}  # it was made
        assert ref_of(connection, invoice) is None
        httpx.delete(f"{qbo.url}/_sandbox/faults")

        drain_outbox(subscribers={"quickbooks.invoice.issued"})

        delivery.refresh_from_db()
        assert delivery.state == Delivery.State.SUCCEEDED
        assert documents(qbo)["doc_numbers"]["Invoice"] == {invoice.number: 1}
        [only] = rows(remote, "Invoice")
        assert ref_of(connection, invoice) == only["Id"]
        assert qbo.emulator.counts["requestid:replayed"] == 1

    def test_a_credit_note_becomes_one_credit_memo(self, qbo, remote, connection):
        invoice = issued_invoice()
        actor = UserFactory()
        note = credit_note_create(invoice=invoice, actor=actor, reason="Wrong hours",
                                  lines=[(invoice.lines.get(description="Consultant 8.00 h"),
                                          D("300.00"))])
        note = invoice_issue(invoice=invoice_approve(invoice=note, actor=actor), actor=actor,
                             issue_date=MARCH_31)

        drain_outbox(subscribers=QBO)
        drain_outbox(subscribers=QBO)

        assert documents(qbo)["doc_numbers"]["CreditMemo"] == {note.number: 1}
        memo = read(remote, "CreditMemo", ref_of(connection, note))
        assert money(memo["TotalAmt"]) == note.total == D("324.75")
        assert [money(line["Amount"]) for line in sales_lines(memo)] == [D("300.00")]
        assert memo["CustomerRef"]["value"] == ref_of(connection, invoice.client)

    def test_a_connection_for_another_legal_entity_pushes_nothing(self, qbo, connection):
        connection.legal_entity = LegalEntityFactory(code="UK", base_currency="GBP")
        connection.save()
        issued_invoice()

        drain_outbox(subscribers=QBO)

        assert documents(qbo)["counts"]["Invoice"] == 0


class TestCustomerPush:
    def new_client(self, name: str, code: str):
        return client_create(actor=UserFactory(), data={
            "code": code, "name": name, "legal_entity": LegalEntityFactory(),
            "billing_address": "1 Harbour Street\nBoston, MA", "country": "US",
            "billing_contact_email": "ap@example.com"})

    def test_a_new_client_becomes_one_customer(self, qbo, remote, connection):
        client = self.new_client("Globex Corporation", "GLOBEX")

        drain_outbox(subscribers=QBO)
        drain_outbox(subscribers=QBO)

        [customer] = rows(remote, "Customer")
        assert (customer["DisplayName"], customer["PrimaryEmailAddr"]["Address"],
                customer["BillAddr"]["Line1"]) == (
            "Globex Corporation", "ap@example.com", "1 Harbour Street")
        assert ref_of(connection, client) == customer["Id"]

    def test_two_clients_of_one_name_get_two_customers_told_apart_by_code(self, remote,
                                                                          connection):
        first = self.new_client("Initech", "INI-1")
        second = self.new_client("Initech", "INI-2")

        drain_outbox(subscribers=QBO)

        names = {c["Id"]: c["DisplayName"] for c in rows(remote, "Customer")}
        assert sorted(names.values()) == ["Initech", "Initech (INI-2)"]
        assert names[ref_of(connection, first)] == "Initech"
        assert names[ref_of(connection, second)] == "Initech (INI-2)"

    def test_a_customer_the_bookkeeper_made_is_adopted_not_duplicated(self, remote, connection):
        made = remote.post("/customer", json={"DisplayName": "Umbrella Ltd"}).json()["Customer"]
        client = self.new_client("Umbrella Ltd", "UMB")

        drain_outbox(subscribers=QBO)

        assert len(rows(remote, "Customer")) == 1
        assert ref_of(connection, client) == made["Id"]

    def test_a_change_updates_the_customer_even_when_someone_saved_in_between(
            self, remote, connection):
        client = self.new_client("Hooli", "HOOLI")
        drain_outbox(subscribers=QBO)
        customer_id = ref_of(connection, client)
        client_update(client=client, actor=UserFactory(), data={"name": "Hooli XYZ"})
        with connector_for(connection) as connector:
            api = connector.api
            saved_between = []

            def changes(current: dict) -> dict:
                if not saved_between:  # the bookkeeper saves just before our update lands
                    saved_between.append(remote.post("/customer", json={
                        "Id": customer_id, "SyncToken": current["SyncToken"], "sparse": True,
                        "Notes": "edited by hand"}).status_code)
                return {"DisplayName": "Hooli XYZ"}

            api.update("Customer", customer_id, changes)

        drain_outbox(subscribers=QBO)

        customer = read(remote, "Customer", customer_id)
        assert saved_between == [200]
        assert customer["DisplayName"] == "Hooli XYZ"
        assert int(customer["SyncToken"]) >= 2
        assert len(rows(remote, "Customer")) == 1


class TestJournalPush:
    def test_a_closed_month_pushes_its_journals_once_each_and_balanced(self, qbo, remote,
                                                                       connection):
        invoice = issued_invoice()
        drain_outbox(subscribers=QBO)  # revenue posts the invoice's journal, we push the doc
        contract = invoice.contract
        journal_post(legal_entity=invoice.legal_entity, entry_date=MARCH_31,
                     source=JournalEntry.Source.RECOGNITION, source_id=9001, currency="USD",
                     description="Revenue recognised March",
                     postings=recognition_postings(D("1000.00"), unbilled=D("0.00"),
                                                   deferred=D("1662.00")), contract=contract)
        ours = list(JournalEntry.objects.filter(legal_entity=invoice.legal_entity,
                                                period=date(2026, 3, 1)))
        assert len(ours) == 2

        period_close(legal_entity=invoice.legal_entity, month=date(2026, 3, 1),
                     actor=UserFactory())
        drain_outbox(subscribers=QBO)
        event = OutboxEvent.objects.get(type="period.closed")
        events.subscription_for("period.closed", "quickbooks.period.closed").handler(event)

        pushed = rows(remote, "JournalEntry")
        assert len(pushed) == 2
        assert sorted(ref_of(connection, entry) for entry in ours) == sorted(
            p["Id"] for p in pushed)
        accounts = {a["Id"]: a["AcctNum"] for a in rows(remote, "Account")}
        for entry in pushed:
            debit = sum(money(line["Amount"]) for line in entry["Line"]
                        if line["JournalEntryLineDetail"]["PostingType"] == "Debit")
            credit = sum(money(line["Amount"]) for line in entry["Line"]
                         if line["JournalEntryLineDetail"]["PostingType"] == "Credit")
            assert debit == credit
        by_doc = {p["DocNumber"]: p for p in pushed}
        invoice_entry = by_doc[f"PSA-JE-{next(e.pk for e in ours if e.source == 'invoice')}"]
        postings = {(accounts[line["JournalEntryLineDetail"]["AccountRef"]["value"]],
                     line["JournalEntryLineDetail"]["PostingType"]): money(line["Amount"])
                    for line in invoice_entry["Line"]}
        # The QuickBooks invoice posted receivable and tax already: the journal moves the
        # subtotal from the Services item's income account to deferred revenue instead.
        assert postings == {("4000", "Debit"): D("1662.00"), ("2400", "Credit"): D("1662.00")}
        project = contract.projects.order_by("pk").first()
        assert {line["JournalEntryLineDetail"]["ClassRef"]["value"]
                for entry in pushed for line in entry["Line"]} == {ref_of(connection, project)}

    def test_a_journal_whose_invoice_never_reached_quickbooks_pushes_the_invoice_first(
            self, qbo, remote, settings):
        invoice = issued_invoice()
        drain_outbox(subscribers=QBO)  # no QuickBooks connection yet: nothing pushed
        connection = make_connection(
            "quickbooks", qbo.url, {"access_token": "sandbox-qbo-token",
                                    "verifier_token": "sandbox-qbo-verifier"},
            {"realm_id": REALM})

        period_close(legal_entity=invoice.legal_entity, month=date(2026, 3, 1),
                     actor=UserFactory())
        drain_outbox(subscribers=QBO)

        assert documents(qbo)["doc_numbers"]["Invoice"] == {invoice.number: 1}
        assert ref_of(connection, invoice) is not None
        [entry] = rows(remote, "JournalEntry")
        assert entry["Id"] == ref_of(connection, JournalEntry.objects.get())

    def test_an_account_quickbooks_lacks_fails_the_push_saying_which(self, qbo, connection):
        entity = LegalEntityFactory()
        AccountMapping.objects.create(legal_entity=entity, key=AccountKey.DEFERRED,
                                      code="2450", name="Contract liabilities")
        invoice = issued_invoice()
        drain_outbox(subscribers=QBO)

        period_close(legal_entity=entity, month=date(2026, 3, 1), actor=UserFactory())
        drain_outbox(rounds=1, subscribers={"quickbooks.period.closed"})

        delivery = Delivery.objects.get(subscriber="quickbooks.period.closed")
        assert invoice.legal_entity == entity
        assert delivery.state == Delivery.State.FAILED
        assert "QuickBooks has no account numbered 2450" in delivery.last_error
        assert documents(qbo)["counts"]["JournalEntry"] == 0
