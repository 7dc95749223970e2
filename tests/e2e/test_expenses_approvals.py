"""Expenses and their approval in a real browser: a consultant records an over-policy lodging
expense with a PNG receipt on /expenses/ (category-dependent fields, the live policy warning,
the justification the server insists on) and submits it; the project manager approves it on
/approvals/ in their own browser context; the consultant sees it approved; the receipt
downloads for its owner and is a 404 for another consultant. Screenshots of the form and of
/approvals/ at 1280 and 360 px go to test-artifacts/.

Same launch options as tests/e2e/test_shell.py (Debian's Chromium, never `playwright install`).
"""

import struct
import zlib
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from psa import roles
from psa.models import Expense, ExpenseCategory
from tests.e2e.test_shell import PASSWORD, PHONE, _artifacts, _no_horizontal_overflow, browser
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    ExpensePolicyFactory,
    ProjectFactory,
    ProjectMemberFactory,
    person_with_role,
)

__all__ = ["browser"]  # the fixture, shared with the shell's browser tests

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
EXPENSE_DAY = date(2026, 3, 10)  # a Tuesday; the approvals group is the week of 9 Mar 2026
JUSTIFICATION = "The only hotel within reach of the plant during the trade fair."


def _png() -> bytes:
    """A valid 2x2 red PNG, built here so the test needs no fixture file."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = _png()


@pytest.fixture
def media_root(settings, tmp_path):
    """Receipts land in a temporary directory (the live server runs in this process)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _seed() -> dict:
    manager = person_with_role(roles.PROJECT_MANAGER, first_name="Morgan", last_name="Reyes")
    consultant = person_with_role(roles.CONSULTANT, first_name="Casey", last_name="Lee")
    stranger = person_with_role(roles.CONSULTANT, first_name="Sam", last_name="Other")
    project = ProjectFactory(code="ACME-042", name="Cloud migration", manager=manager,
                             contract=ContractFactory(client=ClientFactory(name="Acme")))
    ProjectMemberFactory(project=project, person=consultant)
    entity = project.legal_entity
    ExpensePolicyFactory(legal_entity=entity, category=ExpenseCategory.LODGING,
                         receipt_required_above=Decimal("25.00"),
                         limit_amount=Decimal("300.00"))
    ExpensePolicyFactory(legal_entity=entity, category=ExpenseCategory.MILEAGE,
                         receipt_required_above=Decimal("1000.00"), limit_amount=None,
                         unit_rate=Decimal("0.6700"))
    return {"manager": manager, "consultant": consultant, "stranger": stranger,
            "project": project}


def _signed_in(browser, base: str, person, failed: list, errors: list):
    """A new browser context (its own session) with one page, signed in as the person."""
    page = browser.new_context(viewport=DESKTOP).new_page()
    page.on("response", lambda r: failed.append(r.url) if r.status >= 500 else None)
    # A form answered with 400 (errors beside the fields) is expected; nothing else is.
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and "status of 400" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(person.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    return page


def _screenshots(page, out, name: str) -> None:
    page.screenshot(path=str(out / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    _no_horizontal_overflow(page)
    page.screenshot(path=str(out / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_expense_with_receipt_is_submitted_approved_and_receipt_is_private(
        live_server, browser, media_root):
    world = _seed()
    base = live_server.url
    out = _artifacts()
    failed: list[str] = []
    errors: list[str] = []
    page = _signed_in(browser, base, world["consultant"], failed, errors)

    # The consultant opens a new expense from the list.
    page.goto(f"{base}/expenses/")
    expect(page.get_by_role("heading", name="Expenses")).to_be_visible()
    expect(page.get_by_text("No expenses yet.")).to_be_visible()
    page.get_by_role("link", name="New expense").first.click()
    expect(page.get_by_role("heading", name="New expense")).to_be_visible()
    form = page.locator("#expense-form")
    amount = form.get_by_label("Amount paid", exact=True)
    distance = form.get_by_label("Distance", exact=True)
    form.get_by_label("Project", exact=True).select_option(label="ACME-042 · Cloud migration")
    form.get_by_label("Date", exact=True).fill(EXPENSE_DAY.isoformat())

    # Mileage asks for a distance and shows the amount the policy's rate gives.
    form.get_by_label("Category", exact=True).select_option(label="Mileage")
    expect(distance).to_be_visible()
    expect(amount).to_be_hidden()
    expect(form.get_by_label("Currency", exact=True)).to_be_hidden()
    distance.fill("120")
    expect(page.locator("#expense-computed")).to_have_text("120 \u00d7 0.6700 = 80.40 USD")
    expect(page.locator("#policy-warning")).to_be_hidden()

    # Lodging asks for the amount paid; above the limit the warning says to justify it.
    form.get_by_label("Category", exact=True).select_option(label="Lodging")
    expect(amount).to_be_visible()
    expect(distance).to_be_hidden()
    # Paid in the project currency: no exchange rate to give.
    expect(form.get_by_label("Exchange rate", exact=True)).to_be_hidden()
    amount.fill("420.00")
    form.get_by_label("Merchant", exact=True).fill("Hotel Messe")
    warning = page.locator("#policy-warning")
    expect(warning).to_be_visible()
    expect(warning).to_have_text("This expense is above the policy limit of 300.00 USD for its "
                                 "category: explain why in the justification.")
    expect(page.locator("#receipt-hint")).to_contain_text("A receipt is required above 25.00 USD")
    _screenshots(page, out, "expense-form-warning")

    # Submitting without a justification: the server's refusal stands beside the field.
    page.get_by_role("button", name="Save and submit").click()
    justification = form.get_by_label("Justification", exact=True)
    expect(justification).to_be_visible()
    expect(page.locator(".field-justification .field-error")).to_contain_text("justification")
    expect(warning).to_be_visible()
    assert not Expense.objects.exists()
    _screenshots(page, out, "expense-form-error")

    # With the justification and the receipt it is submitted.
    justification.fill(JUSTIFICATION)
    form.get_by_label("Receipt", exact=True).set_input_files(
        {"name": "hotel.png", "mimeType": "image/png", "buffer": PNG})
    page.get_by_role("button", name="Save and submit").click()
    expect(page.get_by_text("Expense submitted for approval.")).to_be_visible()
    expect(page.locator(".header-badges")).to_contain_text("Submitted")
    expect(page.locator(".header-badges")).to_contain_text("Over policy")
    expense = Expense.objects.get()
    assert expense.status == Expense.Status.SUBMITTED
    assert (expense.person, expense.project) == (world["consultant"], world["project"])
    assert (expense.amount, expense.currency) == (Decimal("420.00"), "USD")
    assert expense.is_over_policy and expense.justification == JUSTIFICATION
    assert expense.receipt_content_type == "image/png"
    assert expense.merchant == "Hotel Messe"
    _screenshots(page, out, "expense-submitted")

    # The manager approves it on /approvals/ (their own browser context).
    manager = _signed_in(browser, base, world["manager"], failed, errors)
    manager.goto(f"{base}/approvals/")
    table = manager.get_by_role("table", name="Waiting for your approval, by person and week")
    group = table.locator("tr.approval-group", has_text="Casey Lee")
    expect(group).to_contain_text("9 Mar 2026")
    expect(group).to_contain_text("420.00 USD")
    expect(group).to_contain_text("Over policy")
    button = group.locator("button[aria-controls]")
    expect(button).to_have_text("Show 1 expense")
    _screenshots(manager, out, "approvals-expense")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    items = manager.get_by_role("table", name="Expenses of Casey Lee, week of 9 Mar 2026")
    row = items.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Lodging")
    expect(row).to_contain_text("Hotel Messe")
    expect(row).to_contain_text("Over policy")
    expect(row).to_contain_text(f"Justification: {JUSTIFICATION}")
    # The date opens the expense with its receipt, which the project's manager may read.
    expect(row.get_by_role("link", name="Tue 10 Mar")).to_have_attribute(
        "href", f"/expenses/{expense.pk}/")
    assert manager.request.get(f"{base}/expenses/{expense.pk}/receipt/").body() == PNG
    _screenshots(manager, out, "approvals-expense-expanded")
    items.get_by_label("Select the lodging expense of Tue 10 Mar").check()
    expect(manager.locator("#approval-selected")).to_have_text("1 item selected")
    manager.get_by_role("button", name="Approve selected").click()
    expect(manager.get_by_text("Approved 1 expense.")).to_be_visible()
    expect(manager.get_by_text("Nothing waits for your approval.").first).to_be_visible()
    expense.refresh_from_db()
    assert expense.status == Expense.Status.APPROVED
    assert expense.approved_by == world["manager"].user

    # The consultant sees it approved, on the expense and in the list.
    page.reload()
    expect(page.locator(".header-badges")).to_contain_text("Approved")
    page.goto(f"{base}/expenses/")
    listed = page.locator("#results tbody tr")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("Approved")

    # The receipt downloads for its owner, exactly as uploaded; another consultant gets 404.
    href = listed.get_by_role("link", name="Receipt").get_attribute("href")
    assert href == f"/expenses/{expense.pk}/receipt/"
    owner = page.request.get(f"{base}{href}")
    assert owner.status == 200
    assert owner.headers["content-type"] == "image/png"
    assert owner.headers["x-content-type-options"] == "nosniff"
    assert owner.body() == PNG
    stranger = _signed_in(browser, base, world["stranger"], failed, errors)
    assert stranger.request.get(f"{base}{href}").status == 404
    assert stranger.request.get(f"{base}/expenses/{expense.pk}/").status == 404
    for context in {p.context for p in (page, manager, stranger)}:
        context.close()

    assert not failed, failed
    assert not errors, errors
