"""Billing in a real browser: finance runs invoicing for a cut-off, watches the progress bar
reach the end, reviews the draft, writes a line down with a reason, approves, issues and
downloads the PDF; the main pages at 1280 px and 360 px. Uses Debian's Chromium;
screenshots go to test-artifacts/.

No Celery worker runs here, so the test runs tasks eagerly (CELERY_TASK_ALWAYS_EAGER): the
run started from the page executes in that request's on_commit, and the page shows it
finished on its first load.
"""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Invoice, InvoiceRun
from psa import roles
from psa.models import Expense, ExpenseCategory
from tests.e2e.test_shell import PASSWORD, PHONE, _artifacts, browser  # noqa: F401
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    ExpenseFactory,
    PersonFactory,
    ProjectFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
    person_with_role,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
D = Decimal


@pytest.fixture
def eager_tasks(settings, tmp_path):
    """Tasks run in the web request; the issued PDF is stored under a temporary media root."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _seed():
    today = timezone.localdate()
    finance = person_with_role(roles.FINANCE, first_name="Fiona", last_name="Ledger")
    acme = ClientFactory(name="Acme Manufacturing", tax_rate=D("8.2500"),
                         tax_jurisdiction="US-NY", billing_contact_email="ap@acme.example")
    contract = ContractFactory(code="ACME-042", name="Cloud migration", client=acme,
                               start_date=today - timedelta(days=120),
                               end_date=today + timedelta(days=240))
    project = ProjectFactory(code="ACME-042-P", name="Cloud migration", contract=contract)
    task = TaskFactory(project=project, name="Discovery workshops")
    consultant = RoleFactory(code="CONS", name="Consultant")
    senior = RoleFactory(code="SNR", name="Senior Consultant", level=3)
    grace = PersonFactory(first_name="Grace", last_name="Hopper", role=consultant, user=None)
    alan = PersonFactory(first_name="Alan", last_name="Turing", role=senior, user=None)
    for days_ago, hours in ((20, "8.00"), (19, "8.00"), (18, "6.50")):
        TimeEntryFactory(task=task, person=grace, hours=D(hours), approved=True,
                         bill_rate=D("150.0000"), work_date=today - timedelta(days=days_ago))
    TimeEntryFactory(task=task, person=alan, hours=D("4.25"), approved=True,
                     bill_rate=D("200.0000"), work_date=today - timedelta(days=18))
    ExpenseFactory(project=project, person=grace, category=ExpenseCategory.LODGING,
                   amount=D("420.00"), merchant="Harbour Hotel",
                   expense_date=today - timedelta(days=19), status=Expense.Status.APPROVED)
    # A client without a tax setup lands in the exception queue.
    globex = ClientFactory(name="Globex", tax_rate=D("0.0000"), tax_jurisdiction="")
    other = ContractFactory(code="GLOBEX-7", client=globex,
                            start_date=today - timedelta(days=120),
                            end_date=today + timedelta(days=240))
    TimeEntryFactory(task=TaskFactory(project=ProjectFactory(contract=other)), approved=True,
                     work_date=today - timedelta(days=10))
    return finance, contract


def _no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def test_finance_runs_invoicing_reviews_issues_and_downloads(live_server, browser,  # noqa: F811
                                                             eager_tasks):
    finance, contract = _seed()
    out = _artifacts()
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    failed, errors = [], []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 and
            "/lines/" not in r.url else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{live_server.url}/accounts/login/?next=/billing/")
    page.get_by_label("Username").fill(finance.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/billing/")
    expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
    ready = page.get_by_role("table", name=re.compile("Contracts with work ready"))
    expect(ready).to_contain_text("ACME-042")
    expect(ready).to_contain_text("Acme Manufacturing")
    page.screenshot(path=str(out / "billing-workbench-desktop.png"), full_page=True)

    # "Show ready work" reloads the table for the chosen date, with no token in the URL.
    page.get_by_label("Cut-off date").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Show ready work").click()
    page.wait_for_url(re.compile(r".*/billing/\?.*cut_off="))
    assert "csrfmiddlewaretoken" not in page.url

    # Run invoicing for a cut-off; the run page's bar reaches its maximum.
    page.get_by_label("Cut-off date").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Run invoicing").click()
    page.wait_for_url(re.compile(r".*/billing/runs/\d+/$"))
    bar = page.locator("progress#run-bar")
    expect(bar).to_be_visible()
    total = bar.get_attribute("max")
    assert total == "2", total  # two active contracts in scope
    expect(bar).to_have_attribute("value", total)
    expect(page.locator("#run-progress")).to_contain_text("Completed")
    expect(page.locator("#run-progress")).to_contain_text("2 of 2 contracts")
    run = InvoiceRun.objects.get()
    assert run.status == InvoiceRun.Status.COMPLETED
    queue = page.get_by_role("table", name=re.compile("could not invoice"))
    expect(queue).to_contain_text("GLOBEX-7")
    expect(queue).to_contain_text("Client has no tax setup")
    page.screenshot(path=str(out / "billing-run-desktop.png"), full_page=True)

    # Open the draft and write its first line down, first without a reason.
    invoice = Invoice.objects.get(contract=contract)
    created = page.get_by_role("table", name="Draft invoices this run created")
    created.get_by_role("link", name=str(invoice)).click()
    page.wait_for_url(f"**/billing/invoices/{invoice.pk}/")
    expect(page.locator("[data-status]")).to_have_text("Draft")
    line = page.locator("tbody.invoice-line").filter(has_text="Consultant").first
    line.locator("summary").click()
    expect(line.get_by_text("Grace Hopper").first).to_be_visible()
    line.get_by_label("Write down (-) or up (+)").fill("-150.00")
    line.get_by_role("button", name="Save write-down / up").click()
    line = page.locator("tbody.invoice-line").filter(has_text="Consultant").first
    error = line.locator(".field-adjustment_reason .field-error")
    expect(error).to_have_text("Choose a reason for the write-down or write-up.")
    expect(line.get_by_label("Write down (-) or up (+)")).to_have_value("-150.00")  # kept

    total_before = page.locator("[data-total]").inner_text()
    line.get_by_label("Reason").select_option("goodwill")
    line.get_by_role("button", name="Save write-down / up").click()
    line = page.locator("tbody.invoice-line").filter(has_text="Consultant").first
    expect(line.locator(".adjustment")).to_have_text("-150.00")
    expect(page.locator("[data-total]")).not_to_have_text(total_before)
    invoice.refresh_from_db()
    assert invoice.lines.filter(adjustment=D("-150.00"), adjustment_reason="goodwill").exists()
    expect(page.locator("[data-total]")).to_have_text(f"{invoice.total:,.2f}")
    page.screenshot(path=str(out / "billing-invoice-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)  # the draft with its open line forms on a phone
    _no_horizontal_overflow(page)
    page.screenshot(path=str(out / "billing-draft-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # Approve, issue, download the PDF.
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("[data-status]")).to_have_text("Approved")
    page.get_by_role("button", name="Issue invoice").click()
    expect(page.locator("[data-status]")).to_have_text("Issued")
    invoice.refresh_from_db()
    assert invoice.number
    expect(page.get_by_role("heading", name=f"Invoice {invoice.number}")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{invoice.number}.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")
    page.screenshot(path=str(out / "billing-invoice-issued-desktop.png"), full_page=True)

    page.goto(f"{live_server.url}/billing/receivables/")
    expect(page.get_by_role("table", name=re.compile("Open balances"))).to_contain_text(
        "Acme Manufacturing")
    page.screenshot(path=str(out / "billing-receivables-desktop.png"), full_page=True)
    page.goto(f"{live_server.url}/billing/invoices/")
    expect(page.locator("[data-count]")).to_contain_text("1 invoice")
    page.screenshot(path=str(out / "billing-invoices-desktop.png"), full_page=True)
    start = (timezone.localdate() - timedelta(days=60)).isoformat()
    page.goto(f"{live_server.url}/billing/realization/?start={start}")
    expect(page.get_by_role("table", name=re.compile("Realization"))).to_contain_text(
        "ACME-042")
    page.screenshot(path=str(out / "billing-realization-desktop.png"), full_page=True)
    page.goto(f"{live_server.url}/billing/reconciliation/")
    expect(page.get_by_role("table", name=re.compile("Reconciliation"))).to_contain_text(
        "Balances")
    page.screenshot(path=str(out / "billing-reconciliation-desktop.png"), full_page=True)

    # The same pages on a phone: no sideways scrolling.
    page.set_viewport_size(PHONE)
    for name, path in (("workbench", "/billing/"), ("run", run.get_absolute_url()),
                       ("invoice", invoice.get_absolute_url()),
                       ("invoices", "/billing/invoices/"),
                       ("receivables", "/billing/receivables/"),
                       ("realization", f"/billing/realization/?start={start}"),
                       ("reconciliation", "/billing/reconciliation/")):
        page.goto(f"{live_server.url}{path}")
        if name == "invoice":
            page.locator("tbody.invoice-line summary").first.click()
        _no_horizontal_overflow(page)
        page.screenshot(path=str(out / f"billing-{name}-phone.png"), full_page=True)
    assert not failed, failed
    assert not errors, errors  # no script error, no CSP violation raised as one


def test_the_run_page_polls_until_the_run_finishes(live_server, browser):  # noqa: F811
    finance = person_with_role(roles.FINANCE)
    run = InvoiceRun.objects.create(cut_off=timezone.localdate(), started_by=finance.user,
                                    status=InvoiceRun.Status.RUNNING, total_units=4,
                                    done_units=1)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/?next={run.get_absolute_url()}")
    page.get_by_label("Username").fill(finance.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{run.get_absolute_url()}")
    bar = page.locator("progress#run-bar")
    expect(bar).to_have_attribute("value", "1")
    expect(page.locator("#run-progress")).to_contain_text("1 of 4 contracts")

    InvoiceRun.objects.filter(pk=run.pk).update(done_units=3)  # the poll picks it up
    expect(bar).to_have_attribute("value", "3")
    expect(page.locator("#run-progress")).to_contain_text("3 of 4 contracts")

    InvoiceRun.objects.filter(pk=run.pk).update(done_units=4,
                                                status=InvoiceRun.Status.COMPLETED,
                                                finished_at=timezone.now())
    expect(bar).to_have_attribute("value", "4")
    # Finished: the page reloads itself with the results and stops polling.
    expect(page.get_by_role("heading", name=re.compile("Exception queue"))).to_be_visible()
    assert page.locator("#run-progress[hx-trigger]").count() == 0
