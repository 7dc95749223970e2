"""The billing pages: they render with data and in their empty states, forms put errors beside
their fields and write nothing, actions change state through the services, and the invoice
page runs a fixed number of queries whatever its number of lines."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import (
    BilledItem,
    CapHold,
    HeldItem,
    Invoice,
    InvoiceRun,
    Payment,
    RunOutcome,
)
from billing.services.runs import invoice_run_execute
from psa import roles
from psa.models import ExpenseCategory, TimeEntry
from tests.billing.factories import (
    BilledItemFactory,
    CapHoldFactory,
    HeldItemFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    InvoiceRunFactory,
    with_totals,
)
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    PersonFactory,
    ProjectFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
    person_with_role,
)

pytestmark = pytest.mark.django_db
D = Decimal
CUT_OFF = date(2026, 3, 31)


@pytest.fixture
def finance_client(client):
    client.force_login(person_with_role(roles.FINANCE).user)
    return client


def tm_contract(code: str = "ACME-042", client_name: str = "Acme Manufacturing"):
    contract = ContractFactory(code=code, client=ClientFactory(name=client_name))
    project = ProjectFactory(contract=contract, code=f"{code}-P")
    return contract, TaskFactory(project=project)


def approved_time(task, person=None, hours="8.00", rate="150.00", day=date(2026, 3, 10)):
    return TimeEntryFactory(task=task, person=person or PersonFactory(
        first_name="Grace", last_name="Hopper", role=RoleFactory(name="Consultant")),
        hours=D(hours), work_date=day, approved=True, bill_rate=D(rate))


def run_now(cut_off: date = CUT_OFF) -> InvoiceRun:
    run = InvoiceRunFactory(cut_off=cut_off)
    return invoice_run_execute(run_id=run.pk, inline=True)


def drafted_invoice() -> Invoice:
    """A draft from a real run: 12.00 h x 150.00 = 1,800.00, tax 8.25 %."""
    contract, task = tm_contract()
    approved_time(task, hours="8.00")
    approved_time(task, hours="4.00", day=date(2026, 3, 11))
    run_now()
    return Invoice.objects.get(contract=contract)


def field_error(html: str, name: str) -> str:
    """The error text shown inside the field wrapper of `name` ("" if none)."""
    match = re.search(rf'<div class="field field-{name} has-error">(.*?)</div>', html, re.S)
    if not match:
        return ""
    error = re.search(r'class="field-error"[^>]*>(.*?)</p>', match.group(1), re.S)
    return error.group(1).strip() if error else ""


class TestWorkbench:
    def test_shows_ready_work_drafts_runs_and_holds(self, finance_client):
        contract, task = tm_contract()
        approved_time(task, hours="10.00")
        held = HeldItemFactory(time_entry=approved_time(task, hours="2.00"), reason="Disputed")
        draft = InvoiceFactory()
        cap = CapHoldFactory(amount=D("500.00"))
        run = InvoiceRunFactory(status=InvoiceRun.Status.COMPLETED)

        response = finance_client.get(reverse("billing:workbench"),
                                      {"cut_off": "2026-03-31"})

        html = response.content.decode()
        assert response.status_code == 200
        assert contract.code in html and "Acme Manufacturing" in html
        assert "1,500.00" in html  # 10 h x 150.00 ready; the held 2 h are not
        assert "1 item held" in html
        assert "Run invoicing" in html
        assert f"Review draft {draft.pk}" in html
        assert run.get_absolute_url() in html
        assert "Disputed" in html and reverse("billing:hold-release", args=[held.pk]) in html
        assert "500.00 USD over cap" in html
        assert reverse("billing:caphold-write-off", args=[cap.pk]) in html

    def test_empty_states_say_what_to_do(self, finance_client):
        response = finance_client.get(reverse("billing:workbench"))

        html = response.content.decode()
        assert "Nothing is ready to invoice" in html
        assert "No drafts to review" in html
        assert "No invoice runs yet" in html
        assert "Nothing is held back" in html
        assert "No amounts are held over a cap" in html

    def test_exports_the_ready_rows_as_csv(self, finance_client):
        contract, task = tm_contract()
        approved_time(task, hours="10.00")

        response = finance_client.get(reverse("billing:workbench"),
                                      {"cut_off": "2026-03-31", "format": "csv"})

        body = b"".join(response.streaming_content).decode()
        assert response["Content-Type"].startswith("text/csv")
        assert body.splitlines()[0].startswith("Contract,Contract name,Client")
        assert f"{contract.code}," in body and ",1500.00," in body

    def test_run_start_queues_a_run_and_goes_to_its_page(self, finance_client):
        response = finance_client.post(reverse("billing:run-start"),
                                       {"cut_off": "2026-03-31", "legal_entity": ""})

        run = InvoiceRun.objects.get()
        assert response.status_code == 302
        assert response["Location"] == run.get_absolute_url()
        assert run.cut_off == CUT_OFF and run.legal_entity is None
        assert run.started_by is not None

    def test_run_start_in_the_future_shows_the_error_beside_the_date(self, finance_client):
        future = (timezone.localdate().replace(day=1).replace(year=timezone.localdate().year
                                                              + 1))

        response = finance_client.post(reverse("billing:run-start"),
                                       {"cut_off": future.isoformat()})

        assert response.status_code == 400
        assert "cannot be in the future" in field_error(response.content.decode(), "cut_off")
        assert not InvoiceRun.objects.exists()

    def test_release_a_held_item(self, finance_client):
        held = HeldItemFactory()

        response = finance_client.post(reverse("billing:hold-release", args=[held.pk]))

        assert response.status_code == 302
        assert not HeldItem.objects.exists()

    def test_write_off_a_cap_hold_needs_a_reason(self, finance_client):
        hold = CapHoldFactory()
        url = reverse("billing:caphold-write-off", args=[hold.pk])

        refused = finance_client.post(url, {f"hold{hold.pk}-reason": ""})
        hold.refresh_from_db()
        assert refused.status_code == 400 and hold.status == CapHold.Status.HELD
        assert "required" in field_error(refused.content.decode(), "reason")

        finance_client.post(url, {f"hold{hold.pk}-reason": "Goodwill at year end"})
        hold.refresh_from_db()
        assert hold.status == CapHold.Status.WRITTEN_OFF
        assert hold.reason == "Goodwill at year end"


class TestRunPage:
    def test_progress_outcomes_exceptions_and_diff(self, finance_client):
        contract, task = tm_contract()
        approved_time(task, hours="8.00")
        first = run_now()
        approved_time(task, hours="2.00", day=date(2026, 3, 12))
        no_rate, _ = tm_contract("NORATE-1", "Globex")
        second = run_now()
        RunOutcome.objects.filter(run=second, contract=no_rate).update(
            reason=RunOutcome.Reason.NO_RATE, detail="Grace Hopper has no frozen rate")

        response = finance_client.get(second.get_absolute_url())

        html = response.content.decode()
        assert response.status_code == 200
        bar = re.search(r'<progress id="run-bar" max="(\d+)" value="(\d+)"', html)
        assert bar and bar.group(1) == bar.group(2) == "2"
        assert "every 1s" not in html  # finished: no polling
        invoice = Invoice.objects.get(run=second)
        assert invoice.get_absolute_url() in html
        queue = html[html.index('id="exceptions-title"'):html.index('id="outcomes-title"')]
        assert "NORATE-1" in queue and "Time without a frozen bill rate" in queue
        assert "Grace Hopper has no frozen rate" in queue
        assert contract.code not in queue
        diff = html[html.index('id="diff-title"'):]
        assert contract.code in diff
        assert "1,200.00" in diff and "300.00" in diff  # previous 8 h, this run 2 h
        assert "-900.00" in diff
        assert first.pk != second.pk

    def test_a_running_run_polls_its_progress_every_second(self, finance_client):
        run = InvoiceRunFactory(status=InvoiceRun.Status.RUNNING, total_units=4, done_units=1)

        page = finance_client.get(run.get_absolute_url()).content.decode()
        fragment = finance_client.get(reverse("billing:run-progress", args=[run.pk]),
                                      HTTP_HX_REQUEST="true")

        assert 'hx-trigger="every 1s"' in page
        assert 'max="4" value="1"' in page and "1 of 4 contracts" in page
        assert "The invoices, outcomes and exceptions appear here" in page
        assert 'hx-trigger="every 1s"' in fragment.content.decode()
        assert "HX-Refresh" not in fragment

    def test_the_fragment_stops_polling_once_finished(self, finance_client):
        run = InvoiceRunFactory(status=InvoiceRun.Status.COMPLETED, total_units=4,
                                done_units=4)

        fragment = finance_client.get(reverse("billing:run-progress", args=[run.pk]),
                                      {"polling": "1"}, HTTP_HX_REQUEST="true")

        html = fragment.content.decode()
        assert "hx-trigger" not in html
        assert 'max="4" value="4"' in html
        assert fragment["HX-Refresh"] == "true"

    def test_empty_run(self, finance_client):
        run = invoice_run_execute(run_id=InvoiceRunFactory().pk, inline=True)

        html = finance_client.get(run.get_absolute_url()).content.decode()

        assert "This run created no invoice" in html
        assert "No exceptions" in html
        assert "No active contract was in the run" in html
        assert "No earlier run covered these contracts" in html


class TestInvoiceList:
    def test_filters_search_and_export(self, finance_client):
        acme = InvoiceFactory(contract=ContractFactory(client=ClientFactory(name="Acme")))
        issued = InvoiceFactory(issued=True, total=D("1000.00"),
                                contract=ContractFactory(client=ClientFactory(name="Globex")))
        url = reverse("billing:invoice-list")

        everything = finance_client.get(url).content.decode()
        drafts = finance_client.get(url, {"status": "draft"}).content.decode()
        searched = finance_client.get(url, {"q": "glob"}).content.decode()
        export = finance_client.get(url, {"status": "issued", "format": "csv"})

        assert "2 invoices" in everything
        assert f"Draft {acme.pk}" in drafts and issued.number not in drafts
        assert issued.number in searched and f"Draft {acme.pk}" not in searched
        body = b"".join(export.streaming_content).decode()
        assert body.splitlines()[0].startswith("Number,Kind,Status,Client")
        assert issued.number in body and "Globex" in body and "Acme" not in body

    def test_sorts_by_a_whitelisted_column_and_answers_htmx_with_the_results(
            self, finance_client):
        small = InvoiceFactory(issued=True, total=D("10.00"))
        large = InvoiceFactory(issued=True, total=D("900.00"))
        url = reverse("billing:invoice-list")

        by_total = finance_client.get(url, {"sort": "-total"}).content.decode()
        unknown = finance_client.get(url, {"sort": "password"})
        partial = finance_client.get(url, {"sort": "total"}, HTTP_HX_REQUEST="true",
                                     HTTP_HX_TARGET="results").content.decode()

        assert by_total.index(large.number) < by_total.index(small.number)
        assert 'aria-sort="descending"' in by_total
        assert unknown.status_code == 200
        assert partial.lstrip().startswith('<div id="results"')
        assert partial.index(small.number) < partial.index(large.number)

    def test_empty_and_no_match(self, finance_client):
        url = reverse("billing:invoice-list")
        assert "No invoices yet" in finance_client.get(url).content.decode()
        assert "No invoices match" in finance_client.get(url, {"q": "x"}).content.decode()


class TestInvoicePage:
    def test_lines_expand_to_their_source_items(self, finance_client):
        invoice = drafted_invoice()

        html = finance_client.get(invoice.get_absolute_url()).content.decode()

        assert "Acme Manufacturing" in html and "ACME-042" in html
        assert "1,800.00" in html and "1,948.50" in html  # subtotal, total with 8.25 % tax
        assert "2 source items" in html
        assert "Grace Hopper" in html and "2026-03-10" in html and "2026-03-11" in html
        assert html.count(">150.00<") == 3  # the line's rate and each item's
        assert "Approve" in html and "Delete draft" in html and "Void" in html
        assert "Download PDF" not in html and "Record payment" not in html

    def test_write_down_without_a_reason_shows_the_error_beside_the_field(
            self, finance_client):
        invoice = drafted_invoice()
        line = invoice.lines.get()
        prefix = f"line{line.pk}"

        response = finance_client.post(
            reverse("billing:line-edit", args=[line.pk, "adjust"]),
            {f"{prefix}-adjustment": "-300.00", f"{prefix}-adjustment_reason": "",
             f"{prefix}-note": "Client unhappy"})

        html = response.content.decode()
        assert response.status_code == 400
        assert field_error(html, "adjustment_reason") == (
            "Choose a reason for the write-down or write-up.")
        assert 'value="-300.00"' in html and 'value="Client unhappy"' in html  # kept
        line.refresh_from_db()
        assert line.adjustment == 0 and line.amount == D("1800.00")

    def test_write_down_with_a_reason_changes_the_line_and_totals(self, finance_client):
        invoice = drafted_invoice()
        line = invoice.lines.get()
        prefix = f"line{line.pk}"

        response = finance_client.post(
            reverse("billing:line-edit", args=[line.pk, "adjust"]),
            {f"{prefix}-adjustment": "-300.00", f"{prefix}-adjustment_reason": "goodwill",
             f"{prefix}-note": ""}, HTTP_HX_REQUEST="true")

        html = response.content.decode()
        assert response.status_code == 200
        assert html.lstrip().startswith(f'<tbody id="line-{line.pk}"')
        assert 'id="invoice-totals"' in html and 'hx-swap-oob="true"' in html
        assert "1,623.75" in html  # 1,500.00 + 8.25 % tax
        line.refresh_from_db()
        invoice.refresh_from_db()
        assert (line.adjustment, line.adjustment_reason) == (D("-300.00"), "goodwill")
        assert invoice.total == D("1623.75")

    def test_a_refused_htmx_write_down_comes_back_as_the_line_with_its_error(
            self, finance_client):
        invoice = drafted_invoice()
        line = invoice.lines.get()
        prefix = f"line{line.pk}"

        response = finance_client.post(
            reverse("billing:line-edit", args=[line.pk, "adjust"]),
            {f"{prefix}-adjustment": "-5000.00", f"{prefix}-adjustment_reason": "goodwill"},
            HTTP_HX_REQUEST="true")

        assert response.status_code == 422
        assert "more than the line" in field_error(response.content.decode(), "adjustment")

    def test_describe_a_line(self, finance_client):
        invoice = drafted_invoice()
        line = invoice.lines.get()

        response = finance_client.post(
            reverse("billing:line-edit", args=[line.pk, "describe"]),
            {f"line{line.pk}-description": "Cloud migration, March"})

        assert response.status_code == 302
        line.refresh_from_db()
        assert line.description == "Cloud migration, March"

    def test_hold_back_an_item(self, finance_client):
        invoice = drafted_invoice()
        item = BilledItem.objects.filter(invoice=invoice).order_by("pk").first()

        response = finance_client.post(reverse("billing:item-hold", args=[item.pk]))

        assert response.status_code == 302
        assert HeldItem.objects.filter(time_entry_id=item.time_entry_id).exists()
        invoice.refresh_from_db()
        assert invoice.subtotal == D("600.00")  # the 8 h entry went; 4 h stay

    def test_approve_back_to_draft_issue_and_download(self, finance_client):
        invoice = drafted_invoice()

        def act(action, data=None):
            return finance_client.post(
                reverse("billing:invoice-action", args=[invoice.pk, action]), data or {})

        assert act("approve").status_code == 302
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.APPROVED
        act("unapprove")
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.DRAFT
        assert finance_client.get(reverse("billing:invoice-pdf", args=[invoice.pk])
                                  ).status_code == 404
        act("approve")
        response = act("issue", {"issue-issue_date": "2026-04-01"})
        invoice.refresh_from_db()
        assert response.status_code == 302
        assert invoice.status == Invoice.Status.ISSUED and invoice.number
        assert invoice.due_date == date(2026, 5, 1)
        page = finance_client.get(invoice.get_absolute_url()).content.decode()
        assert "Download PDF" in page and "Record payment" in page
        assert "Create credit note" in page
        assert reverse("billing:invoice-action", args=[invoice.pk, "approve"]) not in page

        pdf = finance_client.get(reverse("billing:invoice-pdf", args=[invoice.pk]))
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert f'filename="{invoice.number}.pdf"' in pdf["Content-Disposition"]
        assert pdf.content.startswith(b"%PDF")

    def test_void_needs_a_reason(self, finance_client):
        invoice = drafted_invoice()
        url = reverse("billing:invoice-action", args=[invoice.pk, "void"])

        refused = finance_client.post(url, {"void-reason": ""})
        assert refused.status_code == 400
        assert "required" in field_error(refused.content.decode(), "reason")
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.DRAFT

        finance_client.post(url, {"void-reason": "Duplicate"})
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.VOID
        assert TimeEntry.objects.filter(status=TimeEntry.Status.APPROVED).count() == 2

    def test_delete_a_draft_releases_its_items(self, finance_client):
        invoice = drafted_invoice()

        response = finance_client.post(
            reverse("billing:invoice-action", args=[invoice.pk, "delete"]))

        assert response.status_code == 302 and response["Location"] == reverse(
            "billing:workbench")
        assert not Invoice.objects.exists()
        assert TimeEntry.objects.filter(status=TimeEntry.Status.APPROVED).count() == 2

    def test_notes(self, finance_client):
        invoice = drafted_invoice()

        finance_client.post(reverse("billing:invoice-action", args=[invoice.pk, "notes"]),
                            {"notes-notes": "Please quote the PO."})

        invoice.refresh_from_db()
        assert invoice.notes == "Please quote the PO."

    def test_an_action_the_state_refuses_shows_the_sentence(self, finance_client):
        invoice = drafted_invoice()

        response = finance_client.post(
            reverse("billing:invoice-action", args=[invoice.pk, "issue"]), {})

        assert response.status_code == 409
        assert "cannot be issued" in response.content.decode()

    def test_credit_note_for_one_line(self, finance_client):
        invoice = InvoiceFactory(issued=True)
        first = InvoiceLineFactory(invoice=invoice)
        InvoiceLineFactory(invoice=invoice)
        with_totals(invoice)
        url = reverse("billing:invoice-action", args=[invoice.pk, "credit-note"])

        no_reason = finance_client.post(url, {f"credit-line_{first.pk}": "on",
                                              f"credit-amount_{first.pk}": "200.00"})
        nothing = finance_client.post(url, {"credit-reason": "Wrong rate"})
        assert no_reason.status_code == 400 and nothing.status_code == 400
        assert "required" in field_error(no_reason.content.decode(), "reason")
        assert "Choose at least one line" in nothing.content.decode()
        assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()

        response = finance_client.post(url, {
            f"credit-line_{first.pk}": "on", f"credit-amount_{first.pk}": "200.00",
            "credit-reason": "Wrong rate"})

        note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
        assert response["Location"] == note.get_absolute_url()
        assert note.credited_invoice == invoice and note.subtotal == D("200.00")
        assert note.lines.get().credited_line == first

    def test_record_a_payment(self, finance_client):
        invoice = InvoiceFactory(issued=True)
        InvoiceLineFactory(invoice=invoice)
        with_totals(invoice)  # 1,200.00 + 99.00 tax
        url = reverse("billing:invoice-action", args=[invoice.pk, "payment"])

        too_much = finance_client.post(url, {"payment-amount": "5000.00",
                                             "payment-received_date": "2026-04-10"})
        assert too_much.status_code == 400
        assert "more than" in field_error(too_much.content.decode(), "amount")
        assert not Payment.objects.exists()

        finance_client.post(url, {"payment-amount": "299.00",
                                  "payment-received_date": "2026-04-10",
                                  "payment-reference": "WIRE-1"})
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PARTIALLY_PAID
        assert invoice.amount_paid == D("299.00")
        assert "WIRE-1" in finance_client.get(invoice.get_absolute_url()).content.decode()


def invoice_with(lines: int) -> Invoice:
    """A draft with `lines` time lines, each with a time item and an expense item."""
    invoice = InvoiceFactory()
    project = ProjectFactory(contract=invoice.contract)
    for _ in range(lines):
        line = InvoiceLineFactory(invoice=invoice, project=project)
        BilledItemFactory(line=line)
        BilledItemFactory(line=line, expense_item=True,
                          expense__category=ExpenseCategory.LODGING)
    return with_totals(invoice)


def test_invoice_page_query_count_is_the_same_for_5_and_50_lines(finance_client,
                                                                 django_assert_num_queries):
    few, many = invoice_with(5), invoice_with(50)
    finance_client.get(few.get_absolute_url())  # warm the session and content types
    with CaptureQueriesContext(connection) as captured:
        small = finance_client.get(few.get_absolute_url())

    with django_assert_num_queries(len(captured)):
        large = finance_client.get(many.get_absolute_url())

    assert small.content.decode().count('class="invoice-line"') == 5
    html = large.content.decode()
    assert html.count('class="invoice-line"') == 50
    assert html.count(">Hold back</button>") == 100  # every time entry and expense


class TestReports:
    def test_receivables_aging_dso_and_export(self, finance_client):
        invoice = InvoiceFactory(issued=True, contract=ContractFactory(
            client=ClientFactory(name="Initech")))
        InvoiceLineFactory(invoice=invoice)
        with_totals(invoice)  # due 30 Apr 2026
        url = reverse("billing:receivables")

        html = finance_client.get(url, {"as_of": "2026-05-20"}).content.decode()
        export = finance_client.get(url, {"as_of": "2026-05-20", "format": "csv"})

        assert "Initech" in html and "1,299.00" in html
        assert "DSO USD" in html
        row = html[html.index("Initech"):html.index("</tr>", html.index("Initech"))]
        assert 'data-label="1-30 days">1,299.00' in row
        body = b"".join(export.streaming_content).decode()
        assert body.splitlines()[0] == ("Client,Currency,Current,1-30 days,31-60 days,"
                                        "61-90 days,Over 90 days,Total")
        assert "Initech,USD,0.00,1299.00,0.00,0.00,0.00,1299.00\r\n" in body

    def test_receivables_empty(self, finance_client):
        html = finance_client.get(reverse("billing:receivables")).content.decode()
        assert "Nothing is owed" in html

    def test_realization_and_reconciliation_render_and_export(self, finance_client):
        invoice = drafted_invoice()
        url_r = reverse("billing:realization")
        url_c = reverse("billing:reconciliation")

        realization = finance_client.get(url_r, {"start": "2026-03-01", "end": "2026-03-31",
                                                 "group_by": "contract"})
        recon = finance_client.get(url_c).content.decode()
        recon_csv = finance_client.get(url_c, {"format": "csv"})
        real_csv = finance_client.get(url_r, {"start": "2026-03-01", "end": "2026-03-31",
                                              "format": "csv"})

        assert realization.status_code == 200
        assert invoice.contract.code in realization.content.decode()
        assert invoice.contract.code in recon and "Balances" in recon
        assert b"".join(recon_csv.streaming_content).decode().startswith("Contract,Currency")
        assert invoice.contract.code in b"".join(real_csv.streaming_content).decode()

    def test_reports_empty_and_bad_input(self, finance_client):
        realization = finance_client.get(reverse("billing:realization"))
        backwards = finance_client.get(reverse("billing:realization"),
                                       {"start": "2026-03-31", "end": "2026-03-01"})
        recon = finance_client.get(reverse("billing:reconciliation"))
        unknown = finance_client.get(reverse("billing:reconciliation"), {"contract": "NOPE"})

        assert "No billable time-and-materials work" in realization.content.decode()
        assert backwards.status_code == 400
        assert "before the start" in field_error(backwards.content.decode(), "end")
        assert "No time-and-materials contract has billable time" in recon.content.decode()
        assert unknown.status_code == 400
        assert "No contract has this code" in field_error(unknown.content.decode(), "contract")
