"""The QuickBooks Online emulator over real HTTP: auth, the query language and its paging,
`requestid` replays, SyncToken conflicts, throttling, validation faults, payments and CDC."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from crm_sync.connectors.quickbooks import QuickBooksClient
from crm_sync.http import RemoteRetryAfter
from crm_sync.sandbox.quickbooks import QuickBooksEmulator

REALM = "9130357766900000"
AUTH = {"Authorization": "Bearer sandbox-qbo-token"}


@pytest.fixture
def qbo(run_emulator):
    return run_emulator(QuickBooksEmulator, seed=1)


@pytest.fixture
def api(qbo):
    """An HTTP client on the company's base URL, with the sandbox's token."""
    with httpx.Client(base_url=f"{qbo.url}/v3/company/{REALM}", headers=AUTH) as client:
        yield client


def fault(response: httpx.Response) -> dict:
    [error] = response.json()["Fault"]["Error"]
    return error


def query(api, statement: str) -> dict:
    response = api.get("/query", params={"query": statement})
    assert response.status_code == 200, response.text
    return response.json()["QueryResponse"]


def customer(api, name: str, **params) -> dict:
    response = api.post("/customer", json={"DisplayName": name}, params=params)
    assert response.status_code == 200, response.text
    return response.json()["Customer"]


def services_item(api) -> str:
    [income] = query(api, "SELECT * FROM Account WHERE AcctNum = '4000'")["Account"]
    item = api.post("/item", json={"Name": "Services", "Type": "Service",
                                   "IncomeAccountRef": {"value": income["Id"]}})
    return item.json()["Item"]["Id"]


def invoice_body(customer_id: str, item_id: str, number: str = "US-2026-000001") -> dict:
    return {"CustomerRef": {"value": customer_id}, "DocNumber": number,
            "TxnDate": "2026-03-31", "DueDate": "2026-04-30",
            "TxnTaxDetail": {"TotalTax": "99.00"},
            "Line": [{"Amount": "1200.00", "DetailType": "SalesItemLineDetail",
                      "SalesItemLineDetail": {"ItemRef": {"value": item_id}, "Qty": "8.00",
                                              "UnitPrice": "150.0000"}}]}


class TestAuth:
    def test_missing_or_wrong_token_is_a_401_authorization_fault(self, qbo):
        url = f"{qbo.url}/v3/company/{REALM}/companyinfo/{REALM}"
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            response = httpx.get(url, headers=headers)

            assert response.status_code == 401
            body = response.json()
            assert body["Fault"]["type"] == "AuthorizationFault"
            assert fault(response)["code"] == "120"
            assert "time" in body

    def test_the_right_token_reads_company_info_but_not_another_realm(self, api):
        assert api.get(f"/companyinfo/{REALM}").json()["CompanyInfo"]["CompanyName"]

        other = httpx.get(str(api.base_url).replace(REALM, "123") + "companyinfo/123",
                          headers=AUTH)

        assert other.status_code == 403


class TestQuery:
    def test_startposition_and_maxresults_page_through_in_id_order(self, api):
        ids = [customer(api, f"Customer {n}")["Id"] for n in range(5)]

        pages = [query(api, f"SELECT * FROM Customer STARTPOSITION {start} MAXRESULTS 2")
                 for start in (1, 3, 5, 7)]

        assert [[c["Id"] for c in page.get("Customer", [])] for page in pages] == [
            ids[0:2], ids[2:4], ids[4:5], []]
        assert (pages[0]["startPosition"], pages[0]["maxResults"]) == (1, 2)
        assert pages[3] == {}  # nothing found: QuickBooks leaves the entity key out
        assert query(api, "SELECT count(*) FROM Customer") == {"totalCount": 5}

    def test_where_with_and_orderby_and_quotes(self, api):
        customer(api, "O'Brien & Sons")
        customer(api, "Acme")

        found = query(api, "SELECT * FROM Customer WHERE DisplayName = 'O\\'Brien & Sons' "
                           "AND Active = true")
        ordered = query(api, "SELECT * FROM Customer ORDERBY DisplayName DESC")

        assert [c["DisplayName"] for c in found["Customer"]] == ["O'Brien & Sons"]
        assert [c["DisplayName"] for c in ordered["Customer"]] == ["O'Brien & Sons", "Acme"]

    def test_or_and_too_many_results_are_refused(self, api):
        for statement in ("SELECT * FROM Customer WHERE Id = '1' OR Id = '2'",
                          "SELECT * FROM Customer MAXRESULTS 1001",
                          "SELECT * FROM Nothing"):
            response = api.get("/query", params={"query": statement})

            assert response.status_code == 400
            assert fault(response)["code"] == "4000"

    def test_post_query_takes_the_statement_as_text(self, api):
        customer(api, "Acme")

        response = api.post("/query", content="SELECT * FROM Customer",
                            headers={"Content-Type": "application/text"})

        assert [c["DisplayName"] for c in response.json()["QueryResponse"]["Customer"]] == [
            "Acme"]


class TestWrites:
    def test_requestid_returns_the_original_and_creates_nothing_new(self, qbo, api):
        buyer = customer(api, "Acme")
        item_id = services_item(api)
        body = invoice_body(buyer["Id"], item_id)

        first = api.post("/invoice", json=body, params={"requestid": "psa-invoice-1"})
        again = api.post("/invoice", json=body, params={"requestid": "psa-invoice-1"})

        assert first.status_code == again.status_code == 200
        assert again.json()["Invoice"] == first.json()["Invoice"]
        assert query(api, "SELECT count(*) FROM Invoice") == {"totalCount": 1}
        assert qbo.emulator.counts["requestid:replayed"] == 1
        other = api.post("/invoice", json=body, params={"requestid": "psa-invoice-2"})
        assert other.status_code == 400 and fault(other)["code"] == "6140"

    def test_invoice_totals_are_lines_plus_tax(self, api):
        buyer = customer(api, "Acme")

        invoice = api.post("/invoice", json=invoice_body(buyer["Id"], services_item(api)))

        created = invoice.json()["Invoice"]
        assert (created["TotalAmt"], created["Balance"]) == (1299.0, 1299.0)
        assert created["TxnTaxDetail"]["TotalTax"] == 99.0
        assert [line["DetailType"] for line in created["Line"]] == [
            "SalesItemLineDetail", "SubTotalLineDetail"]

    def test_qty_times_unit_price_must_match_the_amount(self, api):
        body = invoice_body(customer(api, "Acme")["Id"], services_item(api))
        body["Line"][0]["SalesItemLineDetail"]["Qty"] = "7.00"

        response = api.post("/invoice", json=body)

        assert response.status_code == 400 and fault(response)["code"] == "6070"

    def test_duplicate_display_name_is_6240(self, api):
        customer(api, "Acme")

        response = api.post("/customer", json={"DisplayName": "acme"})

        assert response.status_code == 400
        assert fault(response)["code"] == "6240"
        assert fault(response)["Message"] == "Duplicate Name Exists Error"

    def test_update_needs_the_current_sync_token_and_sparse_keeps_the_rest(self, api):
        created = customer(api, "Acme")
        api.post("/customer", json={"Id": created["Id"], "SyncToken": "0", "sparse": True,
                                    "Notes": "first"})

        stale = api.post("/customer", json={"Id": created["Id"], "SyncToken": "0",
                                            "sparse": True, "Notes": "second"})
        current = api.get(f"/customer/{created['Id']}").json()["Customer"]

        assert stale.status_code == 400
        assert fault(stale)["code"] == "5010"
        assert fault(stale)["Message"] == "Stale Object Error"
        assert (current["SyncToken"], current["Notes"], current["DisplayName"]) == (
            "1", "first", "Acme")

    def test_journal_entries_must_balance(self, api):
        accounts = {a["AcctNum"]: a["Id"] for a in query(api, "SELECT * FROM Account")["Account"]}

        def line(posting: str, account: str, amount: str) -> dict:
            return {"Amount": amount, "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {"PostingType": posting,
                                               "AccountRef": {"value": accounts[account]}}}

        unbalanced = api.post("/journalentry", json={"Line": [
            line("Debit", "2400", "100.00"), line("Credit", "4000", "99.99")]})
        balanced = api.post("/journalentry", json={"Line": [
            line("Debit", "2400", "100.00"), line("Credit", "4000", "100.00")]})

        assert unbalanced.status_code == 400 and fault(unbalanced)["code"] == "6000"
        assert balanced.status_code == 200
        assert balanced.json()["JournalEntry"]["TotalAmt"] == 100.0

    def test_missing_object_is_610(self, api):
        response = api.get("/invoice/999")

        assert response.status_code == 400 and fault(response)["code"] == "610"


class TestThrottling:
    def test_429_carries_retry_after_from_the_fault_setting(self, qbo, api):
        httpx.post(f"{qbo.url}/_sandbox/faults", json={"rate_limit_rate": 1, "retry_after": 7})

        response = api.get(f"/companyinfo/{REALM}")

        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        assert fault(response)["code"] == "3001"

    def test_the_connector_client_turns_it_into_retry_after(self, qbo, settings):
        httpx.post(f"{qbo.url}/_sandbox/faults", json={"rate_limit_rate": 1, "retry_after": 7})
        client = QuickBooksClient(f"{qbo.url}/v3/company/{REALM}", headers=AUTH)

        with pytest.raises(RemoteRetryAfter) as raised:
            client.get_json(f"/companyinfo/{REALM}")

        client.close()
        assert raised.value.seconds == 7.0 and raised.value.status == 429


    def test_a_429_without_retry_after_waits_the_60_seconds_quickbooks_asks(self,
                                                                          run_emulator):
        class Busy(QuickBooksEmulator):
            def authenticate(self, request):
                return self.error(429, "ThrottleExceeded")  # no Retry-After header

        busy = run_emulator(Busy)
        client = QuickBooksClient(f"{busy.url}/v3/company/{REALM}", headers=AUTH)

        with pytest.raises(RemoteRetryAfter) as raised:
            client.get_json(f"/companyinfo/{REALM}")

        client.close()
        assert raised.value.seconds == 60.0


class TestPaymentsAndChanges:
    def test_a_payment_reduces_the_balance_and_sends_a_signed_webhook(self, qbo, api):
        qbo.emulator.webhook_url = "capture"
        invoice = api.post("/invoice", json=invoice_body(customer(api, "Acme")["Id"],
                                                         services_item(api))).json()["Invoice"]
        qbo.emulator.captured.clear()

        paid = httpx.post(f"{qbo.url}/_sandbox/payments", json={
            "invoice_id": invoice["Id"], "amount": "300.00", "date": "2026-04-10"})

        payment = paid.json()["Payment"]
        after = api.get(f"/invoice/{invoice['Id']}").json()["Invoice"]
        assert after["Balance"] == 999.0
        assert after["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
        [body] = qbo.emulator.captured
        entities = json.loads(body)["eventNotifications"][0]["dataChangeEvent"]["entities"]
        assert [(e["name"], e["id"], e["operation"]) for e in entities] == [
            ("Payment", payment["Id"], "Create"), ("Invoice", invoice["Id"], "Update")]
        digest = hmac.new(b"sandbox-qbo-verifier", body, hashlib.sha256).digest()
        assert qbo.emulator.signed_headers(body, "http://x/")["intuit-signature"] == (
            base64.b64encode(digest).decode())

    def test_a_payment_cannot_exceed_the_balance(self, qbo, api):
        invoice = api.post("/invoice", json=invoice_body(customer(api, "Acme")["Id"],
                                                         services_item(api))).json()["Invoice"]

        response = httpx.post(f"{qbo.url}/_sandbox/payments", json={
            "invoice_id": invoice["Id"], "amount": "1299.01"})

        assert response.status_code == 400 and fault(response)["code"] == "6000"

    def test_cdc_returns_changes_since_a_time_and_deletions(self, qbo, api):
        invoice = api.post("/invoice", json=invoice_body(customer(api, "Acme")["Id"],
                                                         services_item(api))).json()["Invoice"]
        payment = httpx.post(f"{qbo.url}/_sandbox/payments", json={
            "invoice_id": invoice["Id"], "amount": "100.00"}).json()["Payment"]
        since = payment["MetaData"]["LastUpdatedTime"]
        api.post("/payment", params={"operation": "delete"},
                 json={"Id": payment["Id"], "SyncToken": "0"})

        changed = api.get("/cdc", params={"entities": "Payment,Invoice", "changedSince": since})
        too_old = api.get("/cdc", params={"entities": "Payment", "changedSince": (
            datetime.now(UTC) - timedelta(days=31)).isoformat()})

        responses = changed.json()["CDCResponse"][0]["QueryResponse"]
        by_entity = {key: value for r in responses for key, value in r.items()
                     if key in ("Payment", "Invoice")}
        assert [p.get("status") for p in by_entity["Payment"]] == ["Deleted"]
        assert by_entity["Payment"][-1]["Id"] == payment["Id"]
        assert by_entity["Invoice"][-1]["Balance"] == 1299.0  # the deletion gave it back
        assert too_old.status_code == 400
        documents = httpx.get(f"{qbo.url}/_sandbox/documents").json()
        assert documents["doc_numbers"]["Invoice"] == {"US-2026-000001": 1}
        assert documents["counts"]["Payment"] == 0
