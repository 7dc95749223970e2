"""My week in a real browser: a consultant fills a week with the keyboard, sees each cell's
saved state, submits; a manager rejects a day with a reason; the consultant fixes and
resubmits; the manager approves. Screenshots at 1280 and 360 px go to test-artifacts/.

Same launch options as tests/e2e/test_shell.py (Debian's Chromium, never `playwright install`).
The manager works in a second browser context (their own session) on /approvals/.
"""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from psa import roles
from psa.models import TimeEntry
from tests.e2e.test_shell import PASSWORD, PHONE, _artifacts, _no_horizontal_overflow, browser
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    CostRateFactory,
    ProjectFactory,
    ProjectMemberFactory,
    RateCardFactory,
    RateCardLineFactory,
    TaskFactory,
    TimeEntryFactory,
    person_with_role,
)

__all__ = ["browser"]  # the fixture, shared with the shell's browser tests

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MON = date(2026, 11, 16)
WEEK = MON.isoformat()
REASON = "Tuesday's workshop was cancelled: please book it on the day it happened."


def _day(offset: int) -> str:
    return (MON + timedelta(days=offset)).strftime("%Y%m%d")


def _seed() -> dict:
    manager = person_with_role(roles.PROJECT_MANAGER, first_name="Morgan", last_name="Reyes")
    consultant = person_with_role(roles.CONSULTANT, first_name="Casey", last_name="Lee")
    acme = ClientFactory(name="Acme Manufacturing")
    project = ProjectFactory(code="ACME-042", name="Cloud migration", manager=manager,
                             contract=ContractFactory(client=acme))
    phase = TaskFactory(project=project, wbs_code="1", name="Discovery", position=1)
    workshops = TaskFactory(project=project, wbs_code="1.1", name="Discovery workshops",
                            parent=phase, position=1)
    mapping = TaskFactory(project=project, wbs_code="1.2", name="Data mapping",
                          parent=phase, position=2, is_billable=False)
    cutover = TaskFactory(project=project, wbs_code="2", name="Cut-over", position=2)
    internal = ProjectFactory(code="INT-001", name="Internal training", manager=manager,
                              contract=None, client=None, is_internal=True,
                              legal_entity=project.legal_entity, currency=project.currency)
    training = TaskFactory(project=internal, wbs_code="1", name="Courses", is_billable=False)
    for project_ in (project, internal):
        ProjectMemberFactory(project=project_, person=consultant)
    # Two weeks ago: these pairs become the rows of this week.
    for task in (workshops, mapping, training):
        TimeEntryFactory(person=consultant, task=task, work_date=MON - timedelta(days=14),
                         hours=Decimal("1.00"), approved=True)
    # Rates, so the manager can approve (approval freezes them).
    standard = RateCardFactory(standard=True)
    RateCardLineFactory(rate_card=standard, role=consultant.role)
    CostRateFactory(person=consultant)
    return {"manager": manager, "consultant": consultant, "workshops": workshops,
            "mapping": mapping, "training": training, "cutover": cutover}


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def _manager_page(browser, base: str, manager, failed: list, errors: list):
    """The manager's own browser context and page, signed in, on /approvals/."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("response", lambda r: failed.append(r.url) if r.status >= 500 else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    _sign_in(page, base, manager.user.username)
    page.goto(f"{base}/approvals/")
    expect(page.get_by_role("heading", name="Approvals")).to_be_visible()
    return page


def _week_group(page, person):
    """The row of the person's week on /approvals/."""
    table = page.get_by_role("table", name="Waiting for your approval, by person and week")
    return table.locator("tr.approval-group", has_text=person.full_name)


def _expand(page, group, label: str) -> None:
    """Open a week's items (HTMX loads them once) and wait for them."""
    button = group.locator("button[aria-controls]")  # its name changes to "Hide items"
    expect(button).to_have_text(label)
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(button).to_have_text("Hide items")
    items = page.locator(f"#{button.get_attribute('aria-controls')}")
    expect(items).to_be_visible()
    expect(items.locator("input[name=items]").first).to_be_visible()


def _approvals_screenshots(page, out, name: str, *, expanded: bool) -> None:
    """/approvals/ at 1280 and 360 px: no sideways scrolling on a phone, and a collapsed
    week shows no (empty) items card."""
    items = page.locator("tr.approval-items").first
    page.screenshot(path=str(out / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    _no_horizontal_overflow(page)
    if expanded:
        expect(items).to_be_visible()
    else:
        expect(items).to_be_hidden()
    page.screenshot(path=str(out / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _cell(page, task, offset: int):
    return page.locator(f"#cell-{task.pk}-{_day(offset)}")


def _type_and_expect_saved(page, task, offset, typed, shown):
    """Type into the focused cell, leave it with Tab, and see it saved in place."""
    page.keyboard.type(typed)
    page.keyboard.press("Tab")
    cell = _cell(page, task, offset)
    expect(cell).to_have_attribute("data-state", "saved")
    expect(cell.locator("input.ts-hours")).to_have_value(shown)
    expect(cell.locator(".ts-saved")).to_have_text("saved ✓")


def test_consultant_fills_submits_fixes_and_gets_approved(live_server, browser):
    world = _seed()
    workshops, mapping, training = world["workshops"], world["mapping"], world["training"]
    out = _artifacts()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    failed = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 500 else None)
    errors = []
    # 4xx answers are expected (a refused cell); anything else in the console is a bug
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and "status of 4" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    _sign_in(page, live_server.url, world["consultant"].user.username)

    page.goto(f"{live_server.url}/time/?week={WEEK}")
    expect(page.get_by_role("heading", name="My week")).to_be_visible()
    grid = page.get_by_role("table", name="Hours for the week of 16 Nov 2026")
    expect(grid.get_by_text("ACME-042", exact=True)).to_be_visible()
    expect(page.locator("tr.ts-row")).to_have_count(3)

    # Fill the week with the keyboard: type, Tab along the row, arrows between rows.
    page.get_by_label("ACME-042 Discovery workshops, Mon 16 Nov").click()
    _type_and_expect_saved(page, workshops, 0, "8", "8.00")
    _type_and_expect_saved(page, workshops, 1, "7:30", "7.50")
    _type_and_expect_saved(page, workshops, 2, "7h30", "7.50")
    page.keyboard.type("6,5")
    page.keyboard.press("ArrowDown")  # leaving the cell saves it; the focus goes to mapping Thu
    expect(_cell(page, workshops, 3)).to_have_attribute("data-state", "saved")
    expect(page.get_by_label("ACME-042 Data mapping, Thu 19 Nov")).to_be_focused()
    page.keyboard.type("1.5")
    page.keyboard.press("ArrowRight")
    expect(_cell(page, mapping, 3)).to_have_attribute("data-state", "saved")
    expect(page.get_by_label("ACME-042 Data mapping, Fri 20 Nov")).to_be_focused()
    page.keyboard.type("4")
    page.keyboard.press("Enter")  # Enter saves and moves down
    expect(_cell(page, mapping, 4)).to_have_attribute("data-state", "saved")
    expect(page.get_by_label("INT-001 Courses, Fri 20 Nov")).to_be_focused()
    page.keyboard.type("4")
    page.keyboard.press("ArrowUp")
    expect(_cell(page, training, 4)).to_have_attribute("data-state", "saved")
    expect(page.locator("#week-total")).to_have_text("39.00")
    expect(page.locator("#day-total-4")).to_have_text("8.00")

    # A wrong value: the error stands beside the cell, the typed value stays; Escape restores.
    page.get_by_label("ACME-042 Discovery workshops, Fri 20 Nov").click()
    page.keyboard.type("0.1")
    page.keyboard.press("Tab")
    bad = _cell(page, workshops, 4)
    expect(bad).to_have_attribute("data-state", "error")
    expect(bad.locator(".ts-error")).to_contain_text("quarter hour")
    expect(bad.locator("input.ts-hours")).to_have_value("0.1")
    expect(page.locator("#ts-live")).to_contain_text("Not saved")
    bad.locator("input.ts-hours").focus()
    page.keyboard.press("Escape")
    expect(bad.locator("input.ts-hours")).to_have_value("")
    expect(bad).not_to_have_class("has-error")
    assert not TimeEntry.objects.filter(task=workshops, work_date=MON + timedelta(days=4)).exists()

    # A note: Shift+Enter opens the cell's note below the grid; Enter saves it with the cell.
    page.get_by_label("ACME-042 Discovery workshops, Mon 16 Nov").click()
    page.keyboard.press("Shift+Enter")
    expect(page.get_by_label("Note", exact=True)).to_be_focused()
    page.keyboard.type("Kick-off with the client's IT team")
    page.keyboard.press("Enter")
    expect(_cell(page, workshops, 0)).to_have_class(re.compile(r"\bhas-note\b"))
    assert TimeEntry.objects.get(task=workshops, work_date=MON).notes.startswith("Kick-off")

    # + Add row: find a task of my projects and type into its new row.
    page.get_by_role("button", name="+ Add row").click()
    page.get_by_label("Find a project or task").fill("cut")
    page.get_by_role("button", name="ACME-042 Cloud migration 2 Cut-over").click()
    new_cell = page.get_by_label("ACME-042 Cut-over, Mon 16 Nov")
    expect(new_cell).to_be_focused()
    _type_and_expect_saved(page, world["cutover"], 0, "0.5", "0.50")

    # `?` shows the shortcuts.
    page.get_by_label("ACME-042 Discovery workshops, Sat 21 Nov").click()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    page.screenshot(path=str(out / "timesheet-shortcuts-desktop.png"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.locator("#ts-note").blur()
    page.get_by_label("ACME-042 Discovery workshops, Tue 17 Nov").focus()
    page.screenshot(path=str(out / "timesheet-desktop.png"), full_page=True)

    # Submit week: a summary, then the submission; the cells become read-only.
    page.get_by_role("link", name="Submit week").click()
    expect(page.get_by_role("heading", name="Submit week")).to_be_visible()
    expect(page.locator("tr", has_text="ACME-042 Cloud migration")).to_contain_text("35.50")
    page.screenshot(path=str(out / "timesheet-submit-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    _no_horizontal_overflow(page)
    page.screenshot(path=str(out / "timesheet-submit-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Submit week").click()
    expect(page.get_by_text("Submitted 8 entries (39.50 h) for approval.")).to_be_visible()
    monday = page.get_by_label("ACME-042 Discovery workshops, Mon 16 Nov")
    expect(monday).to_have_attribute("aria-readonly", "true")
    expect(_cell(page, workshops, 0)).to_contain_text("submitted")

    # The manager signs in (their own browser context) and rejects Tuesday on /approvals/.
    manager_page = _manager_page(browser, live_server.url, world["manager"], failed, errors)
    group = _week_group(manager_page, world["consultant"])
    expect(group).to_contain_text("39.50")
    expect(group).to_contain_text("16 Nov 2026 \u2013 22 Nov")
    _approvals_screenshots(manager_page, out, "approvals", expanded=False)
    _expand(manager_page, group, "Show 8 entries")
    _approvals_screenshots(manager_page, out, "approvals-expanded", expanded=True)
    items = manager_page.get_by_role(
        "table", name="Time of Casey Lee, week of 16 Nov 2026")
    tuesday_box = items.get_by_label("Select 7.50 h on Tue 17 Nov")
    tuesday_box.check()
    expect(manager_page.locator("#approval-selected")).to_have_text("1 item selected")
    expect(items.locator("input[type=checkbox]:checked")).to_have_count(1)
    manager_page.get_by_label("Reason (required to reject; the person sees it)").fill(REASON)
    manager_page.get_by_role("button", name="Reject selected").click()
    expect(manager_page.get_by_text("Rejected 1 time entry. The people were told why.")
           ).to_be_visible()
    group = _week_group(manager_page, world["consultant"])
    expect(group).to_contain_text("32.00")  # 39.50 h less Tuesday's 7.50 h
    expect(group.get_by_role("button", name="Show 7 entries")).to_be_visible()
    tuesday = TimeEntry.objects.get(person=world["consultant"], work_date=MON + timedelta(days=1))
    assert tuesday.status == TimeEntry.Status.REJECTED
    assert tuesday.rejection_reason == REASON
    assert tuesday.rejected_by == world["manager"].user
    assert TimeEntry.objects.filter(person=world["consultant"],
                                    status=TimeEntry.Status.SUBMITTED).count() == 7

    page.reload()
    rejected = _cell(page, workshops, 1)
    expect(rejected).to_have_class(re.compile(r"\bst-rejected\b"))
    expect(rejected).to_contain_text("rejected")
    rejected.locator("input.ts-hours").focus()
    expect(page.locator("#ts-detail-reason")).to_have_text(f"Rejected: {REASON}")
    page.screenshot(path=str(out / "timesheet-rejected-desktop.png"), full_page=True)

    # The consultant fixes the day and resubmits.
    page.keyboard.type("6")
    page.keyboard.press("Tab")
    expect(rejected).to_have_attribute("data-state", "saved")
    expect(rejected.locator("input.ts-hours")).to_have_value("6.00")
    page.get_by_role("link", name="Submit week").click()
    page.get_by_role("button", name="Submit week").click()
    expect(page.get_by_text("Submitted 1 entries (6.00 h) for approval.")).to_be_visible()

    # The manager selects the whole week on /approvals/ and approves it.
    manager_page.reload()
    group = _week_group(manager_page, world["consultant"])
    expect(group).to_contain_text("38.00")
    group.get_by_label("Select Casey Lee, week of 16 Nov 2026").check()
    expect(manager_page.locator("#approval-selected")).to_have_text("8 items selected")
    manager_page.get_by_role("button", name="Approve selected").click()
    expect(manager_page.get_by_text("Approved 8 time entries.")).to_be_visible()
    expect(manager_page.get_by_text("Nothing waits for your approval.").first).to_be_visible()
    entries = list(TimeEntry.objects.filter(person=world["consultant"], work_date__gte=MON,
                                            work_date__lt=MON + timedelta(days=7)))
    assert len(entries) == 8
    for entry in entries:
        assert entry.status == TimeEntry.Status.APPROVED, entry
        assert entry.approved_by == world["manager"].user
        assert entry.cost_rate == Decimal("80.0000") and entry.cost_currency == "USD"
        if entry.is_billable:  # priced from the standard rate card
            assert (entry.bill_rate, entry.bill_currency) == (Decimal("150.0000"), "USD")
            assert entry.rate_source
        else:
            assert entry.bill_rate is None
    assert sum(e.is_billable for e in entries) == 5  # workshops Mon-Thu and cut-over Mon
    manager_page.context.close()

    page.reload()
    expect(page.locator("td.ts-cell.st-approved")).to_have_count(8)
    expect(page.locator(".badge-approved").first).to_contain_text("Approved")

    # Phone width: one day at a time with a day switcher, no horizontal overflow.
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/time/?week={(MON + timedelta(days=7)).isoformat()}")
    _no_horizontal_overflow(page)
    switcher = page.get_by_role("group", name="Day shown")
    expect(switcher).to_be_visible()
    switcher.get_by_role("button", name="Tue 24 Nov").click()
    tuesday_cell = page.get_by_label("ACME-042 Discovery workshops, Tue 24 Nov")
    expect(tuesday_cell).to_be_visible()
    expect(page.get_by_label("ACME-042 Discovery workshops, Mon 23 Nov")).to_be_hidden()
    tuesday_cell.click()
    _type_and_expect_saved(page, workshops, 8, "7.5", "7.50")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("ArrowRight")  # the next day is hidden: the switcher follows
    expect(page.get_by_label("ACME-042 Discovery workshops, Wed 25 Nov")).to_be_focused()
    expect(switcher.get_by_role("button", name="Wed 25 Nov")).to_have_attribute(
        "aria-pressed", "true")
    switcher.get_by_role("button", name="Thu 26 Nov").click()  # Thanksgiving
    expect(page.get_by_role("columnheader", name="Thu 26 Nov")).to_contain_text("Thanksgiving")
    switcher.get_by_role("button", name="Tue 24 Nov").click()
    _no_horizontal_overflow(page)
    page.screenshot(path=str(out / "timesheet-phone.png"), full_page=True)
    page.goto(f"{live_server.url}/time/?week={WEEK}")
    _no_horizontal_overflow(page)
    page.screenshot(path=str(out / "timesheet-approved-phone.png"), full_page=True)

    assert not failed, failed
    assert not errors, errors
