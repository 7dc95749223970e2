"""Billing's REST API: runs, invoices (draft edits, transitions, PDF), credit notes, payments."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.documents import invoice_document_deliver
from billing.models import Invoice, InvoiceRun, Payment
from billing.services.issue import invoice_approve, invoice_issue
from billing.services.payments import payment_record
from billing.services.runs import invoice_run_execute
from psa.models import Expense, TimeEntry
from tests.psa.api.helpers import error_attrs, error_codes
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    ExpenseFactory,
    PersonFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
CUT_OFF = date(2026, 3, 31)


@pytest.fixture
def contract():
    """A T&M contract with 12 approved hours at 150.00 (1,800.00 + 8.25 % tax = 1,948.50)."""
    client = ClientFactory(tax_rate=D("8.2500"), tax_jurisdiction="US-NY")
    contract = ContractFactory(client=client)
    task = TaskFactory(project=ProjectFactory(contract=contract))
    person = PersonFactory()
    for day, hours in ((10, "8.00"), (11, "4.00")):
        TimeEntryFactory(task=task, person=person, hours=D(hours), work_date=date(2026, 3, day),
                         approved=True, bill_rate=D("150.0000"))
    return contract


@pytest.fixture
def draft(contract) -> Invoice:
    run = InvoiceRun.objects.create(cut_off=CUT_OFF)
    invoice_run_execute(run_id=run.pk, inline=True)
    return Invoice.objects.get(contract=contract)


@pytest.fixture
def api(finance, token_client):
    return token_client(finance.user)


def url(invoice: Invoice, action: str = "") -> str:
    return f"/api/v1/invoices/{invoice.pk}/" + (f"{action}/" if action else "")


@pytest.fixture
def issued(api, draft) -> Invoice:
    assert api.post(url(draft, "approve")).status_code == 200
    response = api.post(url(draft, "issue"), {"issue_date": "2026-04-01"}, format="json")
    assert response.status_code == 200, response.json()
    return Invoice.objects.get(pk=draft.pk)


class TestInvoiceRuns:
    def test_run_is_queued_then_shows_progress_and_invoices_created(
            self, api, contract, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks() as enqueued:
            created = api.post("/api/v1/invoice-runs/", {
                "legal_entity": contract.legal_entity_id, "cut_off": "2026-03-31"},
                format="json")

        assert created.status_code == 201, created.json()
        body = created.json()
        assert (body["status"], body["progress_percent"], body["invoices_created"]) == (
            "queued", 0, 0)
        assert len(enqueued) == 1  # the run's Celery task, sent once the POST commits

        invoice_run_execute(run_id=body["id"], inline=True)
        run = api.get(f"/api/v1/invoice-runs/{body['id']}/").json()

        assert run["status"] == "completed"
        assert run["progress_percent"] == 100
        assert (run["total_units"], run["done_units"], run["invoices_created"]) == (1, 1, 1)
        assert run["outcomes_summary"] == {"created": 1}
        listed = api.get("/api/v1/invoice-runs/").json()["results"]
        assert [row["outcomes_summary"] for row in listed] == [{"created": 1}]
        outcomes = api.get(f"/api/v1/invoice-runs/{body['id']}/outcomes/").json()["results"]
        invoice = Invoice.objects.get()
        assert [(o["contract"], o["reason"], o["invoice"], o["amount"]) for o in outcomes] == [
            (contract.pk, "created", invoice.pk, "1800.00")]
        assert api.get(f"/api/v1/invoice-runs/{body['id']}/outcomes/",
                       {"exceptions_only": "true"}).json()["results"] == []

    def test_a_cut_off_in_the_future_is_refused_and_nothing_is_queued(self, api):
        response = api.post("/api/v1/invoice-runs/", {"cut_off": "2099-01-31"}, format="json")

        assert response.status_code == 400
        assert error_attrs(response) == {"cut_off"}
        assert not InvoiceRun.objects.exists()


class TestInvoiceReads:
    def test_detail_nests_lines_with_their_source_items(self, api, draft):
        response = api.get(url(draft))

        assert response.status_code == 200
        assert response["ETag"] == f'"{draft.version}"'
        body = response.json()
        assert (body["kind"], body["status"], body["currency"]) == ("invoice", "draft", "USD")
        assert (body["subtotal"], body["tax_rate"], body["tax_amount"], body["total"]) == (
            "1800.00", "8.2500", "148.50", "1948.50")
        assert body["balance"] == "0.00" and body["number"] == ""
        [line] = body["lines"]
        assert (line["kind"], line["quantity"], line["unit_price"], line["amount"]) == (
            "time", "12.00", "150.0000", "1800.00")
        entries = set(TimeEntry.objects.values_list("pk", flat=True))
        assert {item["source_id"] for item in line["items"]} == entries
        assert {(item["source"], item["billed_hours"], item["rate"])
                for item in line["items"]} == {("time_entry", "8.00", "150.0000"),
                                               ("time_entry", "4.00", "150.0000")}

    def test_list_filters_by_status_kind_and_external_ref(self, api, draft):
        patched = api.patch(url(draft), {"external_refs": [
            {"system": "quickbooks", "id": "INV-77"}]}, format="json")
        assert patched.status_code == 200, patched.json()
        assert patched.json()["external_refs"] == [{"system": "quickbooks", "id": "INV-77"}]

        def ids(**params):
            return [row["id"] for row in api.get("/api/v1/invoices/", params).json()["results"]]

        assert ids(status="draft") == [draft.pk]
        assert ids(status="issued") == []
        assert ids(kind="credit_note") == []
        assert ids(external_ref="quickbooks:INV-77") == [draft.pk]
        assert ids(external_ref="quickbooks:nope") == []
        rows = api.get("/api/v1/invoices/").json()["results"]
        assert rows[0]["lines"][0]["items"], "the list nests lines and items too"


def paid_invoices(n: int, actor) -> None:
    """`n` contracts, each billed by its own run, issued and paid in part (2 lines each)."""
    for _ in range(n):
        contract = ContractFactory(client=ClientFactory(tax_rate=D("8.2500"),
                                                        tax_jurisdiction="US-NY"))
        project = ProjectFactory(contract=contract)
        TimeEntryFactory(task=TaskFactory(project=project), approved=True,
                         work_date=date(2026, 3, 10))
        ExpenseFactory(project=project, amount=D("40.00"), status=Expense.Status.APPROVED,
                       expense_date=date(2026, 3, 10))
        run = InvoiceRun.objects.create(cut_off=CUT_OFF)
        invoice_run_execute(run_id=run.pk, inline=True)
        invoice = invoice_approve(invoice=Invoice.objects.get(contract=contract), actor=actor)
        invoice = invoice_issue(invoice=invoice, actor=actor, issue_date=date(2026, 4, 1))
        payment_record(invoice=invoice, actor=actor, amount=D("10.00"),
                       received_date=date(2026, 4, 2))


@pytest.mark.parametrize("path", ["/api/v1/invoices/", "/api/v1/invoice-runs/",
                                  "/api/v1/payments/"])
def test_list_queries_do_not_grow_with_rows(path, finance, api, django_assert_num_queries):
    api.get(path)  # warm the token's last-used stamp and the content-type cache
    paid_invoices(2, finance.user)
    with CaptureQueriesContext(connection) as few:
        assert len(api.get(path).json()["results"]) == 2

    paid_invoices(4, finance.user)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(api.get(path).json()["results"]) == 6


class TestDraftEdits:
    def test_a_line_is_written_down_with_a_reason_and_totals_follow(self, api, draft):
        line = draft.lines.get()

        response = api.post(url(draft, f"lines/{line.pk}/adjust"), {
            "adjustment": "-100.00", "adjustment_reason": "goodwill",
            "adjustment_note": "First month"}, format="json")

        assert response.status_code == 200, response.json()
        body = response.json()
        assert (body["lines"][0]["adjustment"], body["lines"][0]["amount"]) == (
            "-100.00", "1700.00")
        assert body["lines"][0]["adjustment_reason"] == "goodwill"
        assert (body["subtotal"], body["total"]) == ("1700.00", "1840.25")

    def test_a_write_down_without_reason_is_400_and_changes_nothing(self, api, draft):
        line = draft.lines.get()

        response = api.post(url(draft, f"lines/{line.pk}/adjust"), {"adjustment": "-100.00"},
                            format="json")

        assert response.status_code == 400
        assert error_attrs(response) == {"adjustment_reason"}
        line.refresh_from_db()
        assert line.amount == D("1800.00")

    def test_a_line_of_another_invoice_is_404(self, api, draft):
        response = api.post(url(draft, "lines/999999/describe"), {"description": "x"},
                            format="json")
        assert response.status_code == 404

    def test_a_line_description_changes(self, api, draft):
        line = draft.lines.get()

        response = api.post(url(draft, f"lines/{line.pk}/describe"),
                            {"description": "Platform build, March"}, format="json")

        assert response.status_code == 200
        assert response.json()["lines"][0]["description"] == "Platform build, March"

    def test_notes_change_with_a_current_etag_and_a_stale_one_is_412(self, api, draft):
        etag = api.get(url(draft))["ETag"]

        changed = api.patch(url(draft), {"notes": "PO 4711"}, format="json", HTTP_IF_MATCH=etag)
        stale = api.patch(url(draft), {"notes": "PO 4712"}, format="json", HTTP_IF_MATCH=etag)

        assert changed.status_code == 200 and changed.json()["notes"] == "PO 4711"
        assert stale.status_code == 412
        assert error_codes(stale) == {"stale_version"}
        assert Invoice.objects.get().notes == "PO 4711"

    def test_deleting_a_draft_releases_its_items(self, api, draft):
        response = api.delete(url(draft))

        assert response.status_code == 204
        assert not Invoice.objects.exists()
        assert not TimeEntry.objects.exclude(status=TimeEntry.Status.APPROVED).exists()

    def test_an_erp_sets_its_id_on_an_issued_invoice(self, api, issued):
        response = api.patch(url(issued), {"external_refs": [
            {"system": "netsuite", "id": "INV-9"}]}, format="json")

        assert response.status_code == 200
        assert response.json()["external_refs"] == [{"system": "netsuite", "id": "INV-9"}]
        assert response.json()["status"] == "issued"

    def test_an_issued_invoice_cannot_be_deleted_or_edited(self, api, issued):
        deleted = api.delete(url(issued))
        noted = api.patch(url(issued), {"notes": "late"}, format="json")

        assert (deleted.status_code, noted.status_code) == (409, 409)
        assert error_codes(deleted) == {"invoice_state"}
        assert Invoice.objects.get().notes == ""


class TestTransitions:
    def test_approve_then_issue_gives_number_and_dates(self, api, issued):
        body = api.get(url(issued)).json()

        assert body["status"] == "issued"
        assert body["number"].startswith("US-2026-")
        assert (body["issue_date"], body["due_date"]) == ("2026-04-01", "2026-05-01")
        assert body["balance"] == "1948.50"

    def test_issuing_a_draft_is_409(self, api, draft):
        response = api.post(url(draft, "issue"), {}, format="json")

        assert response.status_code == 409
        assert error_codes(response) == {"invoice_state"}
        assert Invoice.objects.get().status == Invoice.Status.DRAFT

    def test_unapprove_sends_it_back_to_draft(self, api, draft):
        api.post(url(draft, "approve"))

        response = api.post(url(draft, "unapprove"))

        assert response.json()["status"] == "draft"

    def test_voiding_a_draft_needs_a_reason_and_releases_its_items(self, api, draft):
        refused = api.post(url(draft, "void"), {}, format="json")
        assert refused.status_code == 400
        assert error_attrs(refused) == {"reason"}

        response = api.post(url(draft, "void"), {"reason": "Billed by mistake"}, format="json")

        assert response.status_code == 200
        assert (response.json()["status"], response.json()["reason"]) == (
            "void", "Billed by mistake")
        assert not TimeEntry.objects.exclude(status=TimeEntry.Status.APPROVED).exists()


class TestPdf:
    def test_an_issued_invoice_renders_on_demand(self, api, issued):
        response = api.get(url(issued, "pdf"), HTTP_ACCEPT="application/pdf")

        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert issued.number in response["Content-Disposition"]

    def test_the_stored_pdf_is_served_not_rendered_again(self, api, issued, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        invoice_document_deliver(invoice_id=issued.pk)
        stored = Invoice.objects.get().pdf
        assert stored.read().startswith(b"%PDF")
        # Renderings are byte-identical, so mark the stored file to see which one is served.
        (tmp_path / stored.name).write_bytes(b"%PDF-1.7 stored copy")

        response = api.get(url(issued, "pdf"))

        assert response.status_code == 200
        assert response.content == b"%PDF-1.7 stored copy"

    def test_a_draft_has_no_pdf_yet(self, api, draft):
        response = api.get(url(draft, "pdf"), HTTP_ACCEPT="application/pdf")

        assert response.status_code == 409
        assert response["Content-Type"] == "application/json"
        assert error_codes(response) == {"invoice_state"}


class TestCreditNotes:
    def test_a_partial_credit_note_is_drafted_then_issued_through_the_invoice_actions(
            self, api, issued):
        line = issued.lines.get()

        created = api.post("/api/v1/credit-notes/", {
            "invoice": issued.pk, "reason": "Two hours disputed",
            "lines": [{"line": line.pk, "amount": "300.00"}]}, format="json")

        assert created.status_code == 201, created.json()
        note = created.json()
        assert (note["kind"], note["status"], note["credited_invoice"]) == (
            "credit_note", "draft", issued.pk)
        assert (note["subtotal"], note["tax_amount"], note["total"]) == (
            "300.00", "24.75", "324.75")
        assert note["lines"][0]["credited_line"] == line.pk
        assert [row["id"] for row in api.get("/api/v1/credit-notes/").json()["results"]] == [
            note["id"]]

        api.post(f"/api/v1/invoices/{note['id']}/approve/")
        issued_note = api.post(f"/api/v1/invoices/{note['id']}/issue/", {}, format="json")

        assert issued_note.json()["number"]
        assert api.get(url(issued)).json()["balance"] == "1623.75"

    def test_a_line_of_another_invoice_is_400_and_nothing_is_drafted(self, api, issued):
        response = api.post("/api/v1/credit-notes/", {
            "invoice": issued.pk, "reason": "x", "lines": [{"line": 999999, "amount": "1.00"}]},
            format="json")

        assert response.status_code == 400
        assert error_attrs(response) == {"lines"}
        assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()

    def test_a_draft_cannot_be_credited(self, api, draft):
        response = api.post("/api/v1/credit-notes/", {"invoice": draft.pk, "reason": "x"},
                            format="json")

        assert response.status_code == 409
        assert error_codes(response) == {"invoice_state"}


class TestPayments:
    def body(self, invoice, amount, **extra):
        return {"invoice": invoice.pk, "amount": amount, "received_date": "2026-04-15",
                "reference": "WIRE-1", **extra}

    def test_a_partial_payment_makes_the_invoice_partially_paid(self, api, issued):
        response = api.post("/api/v1/payments/", self.body(issued, "1000.00"), format="json")

        assert response.status_code == 201, response.json()
        assert (response.json()["amount"], response.json()["currency"]) == ("1000.00", "USD")
        invoice = api.get(url(issued)).json()
        assert (invoice["status"], invoice["amount_paid"], invoice["balance"]) == (
            "partially_paid", "1000.00", "948.50")
        listed = api.get("/api/v1/payments/", {"invoice": issued.pk}).json()["results"]
        assert [row["invoice_number"] for row in listed] == [issued.number]

    def test_more_than_the_balance_is_400_and_nothing_is_recorded(self, api, issued):
        response = api.post("/api/v1/payments/", self.body(issued, "2000.00"), format="json")

        assert response.status_code == 400
        assert response.json()["type"] == "client_error"
        assert error_codes(response) == {"invalid_payment"}
        assert error_attrs(response) == {"amount"}
        assert not Payment.objects.exists()
        assert Invoice.objects.get().status == Invoice.Status.ISSUED

    def test_another_currency_is_400(self, api, issued):
        response = api.post("/api/v1/payments/", self.body(issued, "10.00", currency="EUR"),
                            format="json")

        assert response.status_code == 400
        assert error_attrs(response) == {"currency"}

    def test_an_idempotency_key_replays_the_first_payment(self, api, issued):
        first = api.post("/api/v1/payments/", self.body(issued, "100.00"), format="json",
                         HTTP_IDEMPOTENCY_KEY="erp-42")
        again = api.post("/api/v1/payments/", self.body(issued, "100.00"), format="json",
                         HTTP_IDEMPOTENCY_KEY="erp-42")
        other = api.post("/api/v1/payments/", self.body(issued, "200.00"), format="json",
                         HTTP_IDEMPOTENCY_KEY="erp-42")

        assert first.status_code == again.status_code == 201
        assert again.content == first.content
        assert again["Idempotent-Replayed"] == "true"
        assert other.status_code == 422
        assert Payment.objects.count() == 1
        assert Invoice.objects.get().amount_paid == D("100.00")
