"""The month-end close in a real browser: finance opens /revenue/close/, sees a submitted time
entry blocking last month, the manager approves it, finance runs recognition and watches it
finish, sees the checklist clear, closes the month and sees it closed; the page at 1280 px and
360 px. Uses Debian's Chromium; screenshots go to test-artifacts/.

No Celery worker runs here, so the test runs tasks eagerly (CELERY_TASK_ALWAYS_EAGER), as the
billing browser test does: the run started from the page executes in that request's
on_commit, and the page shows it finished when it loads.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from psa import roles
from psa.models import Period, TimeEntry
from psa.services.time_approval import time_entries_approve
from revenue.models import RecognitionRun
from tests.e2e.test_shell import PASSWORD, PHONE, _artifacts, browser  # noqa: F401
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    CostRateFactory,
    LegalEntityFactory,
    PersonFactory,
    ProjectFactory,
    ProjectMemberFactory,
    RateCardFactory,
    RateCardLineFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
    person_with_role,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
D = Decimal


@pytest.fixture
def eager_tasks(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True


def _seed():
    """Last month of the US entity: one approved entry, one submitted (the blocker)."""
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    entity = LegalEntityFactory()
    finance = person_with_role(roles.FINANCE, first_name="Fiona", last_name="Ledger",
                               legal_entity=entity)
    manager = person_with_role(roles.PROJECT_MANAGER, first_name="Morgan", last_name="Reyes")
    consultant_role = RoleFactory(code="CONS", name="Consultant")
    card = RateCardFactory(currency="USD")
    RateCardLineFactory(rate_card=card, role=consultant_role, hourly_rate=D("150.0000"))
    contract = ContractFactory(code="ACME-042", name="Cloud migration", rate_card=card,
                               client=ClientFactory(name="Acme Manufacturing",
                                                    legal_entity=entity),
                               start_date=last_month - timedelta(days=90),
                               end_date=last_month + timedelta(days=300))
    project = ProjectFactory(contract=contract, manager=manager)
    grace = PersonFactory(first_name="Grace", last_name="Hopper", role=consultant_role,
                          user=None)
    ProjectMemberFactory(project=project, person=grace)
    CostRateFactory(person=grace, hourly_cost=D("80.0000"))
    task = TaskFactory(project=project, name="Discovery workshops")
    TimeEntryFactory(person=grace, task=task, work_date=last_month + timedelta(days=3),
                     approved=True)
    blocker = TimeEntryFactory(person=grace, task=task, hours=D("6.00"), submitted=True,
                               work_date=last_month + timedelta(days=10))
    return finance, manager, blocker, last_month


def _no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def test_finance_works_through_the_checklist_and_closes_the_month(live_server,
                                                                   browser,  # noqa: F811
                                                                   eager_tasks):
    finance, manager, blocker, month = _seed()
    out = _artifacts()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    failed, errors = [], []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{live_server.url}/accounts/login/?next=/revenue/close/")
    page.get_by_label("Username").fill(finance.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/revenue/close/")
    expect(page.get_by_role("heading", name="Month-end close")).to_be_visible()
    # The defaults: Fiona's legal entity and last month (nothing is closed yet).
    expect(page.get_by_label("Month", exact=True)).to_have_value(f"{month:%Y-%m}")
    expect(page.locator(".context-line")).to_contain_text(f"{month:%B %Y}")

    checklist = page.get_by_role("table", name=re.compile("What blocks closing"))
    time_row = checklist.locator("tr[data-item=unapproved_time]")
    expect(time_row).to_have_attribute("data-status", "blocking")
    expect(time_row).to_contain_text("1 time entry")
    expect(time_row.get_by_role("link", name="Open approvals")).to_have_attribute(
        "href", "/approvals/")
    expect(checklist.locator("tr[data-item=stale_recognition]")).to_have_attribute(
        "data-status", "blocking")
    expect(page.get_by_role("button", name="Close the month")).to_be_disabled()
    page.screenshot(path=str(out / "month-end-blocked-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    _no_horizontal_overflow(page)
    page.screenshot(path=str(out / "month-end-blocked-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # The manager approves the submitted entry (the data layer, as the approvals page does).
    time_entries_approve(actor=manager.user, entries=[blocker])
    assert TimeEntry.objects.get(pk=blocker.pk).status == TimeEntry.Status.APPROVED
    page.reload()
    expect(checklist.locator("tr[data-item=unapproved_time]")).to_have_attribute(
        "data-status", "ok")

    # Run recognition: the run finishes and the bar reaches its end.
    page.get_by_role("button", name="Run recognition").click()
    page.wait_for_url(re.compile(r".*/revenue/close/\?legal_entity=\d+&month="))
    progress = page.locator("#run-progress")
    expect(progress).to_contain_text("Completed")
    expect(progress).to_contain_text("1 of 1 contract")
    expect(page.locator("progress#run-bar")).to_have_attribute("value", "1")
    run = RecognitionRun.objects.get()
    assert run.status == RecognitionRun.Status.COMPLETED
    assert run.amount_posted == D("2100.00")  # (8 + 6) h x 150.00

    # Everything is clear; the variances show what was recognised.
    expect(page.locator("[data-checklist-state]")).to_have_attribute("data-checklist-state",
                                                                     "clear")
    expect(page.locator("[data-checklist-state]")).to_contain_text("Nothing blocks closing")
    for key in ("unapproved_time", "unapproved_expenses", "unissued_drafts",
                "stale_recognition", "unbalanced_journals"):
        expect(checklist.locator(f"tr[data-item={key}]")).to_have_attribute("data-status",
                                                                            "ok")
    variances = page.get_by_role("table", name=re.compile("Planned and recognised"))
    expect(variances).to_contain_text("ACME-042")
    expect(variances).to_contain_text("2,100.00")
    page.screenshot(path=str(out / "month-end-clear-desktop.png"), full_page=True)

    # Close the month.
    close = page.get_by_role("button", name="Close the month")
    expect(close).to_be_enabled()
    close.click()
    expect(page.locator("[data-period-status]")).to_have_text("Closed")
    expect(page.locator("[data-closed-by]")).to_contain_text("closed by Fiona Ledger")
    expect(page.locator(".messages")).to_contain_text(f"Closed {month:%B %Y}")
    expect(page.get_by_role("button", name="Run recognition")).to_have_count(0)
    period = Period.objects.get(legal_entity=finance.legal_entity, month=month)
    assert period.status == Period.Status.CLOSED and period.closed_by == finance.user
    page.screenshot(path=str(out / "month-end-closed-desktop.png"), full_page=True)

    page.set_viewport_size(PHONE)
    page.reload()
    _no_horizontal_overflow(page)
    page.screenshot(path=str(out / "month-end-closed-phone.png"), full_page=True)
    assert not failed, failed
    assert not errors, errors  # no script error, no CSP violation raised as one


def test_the_close_page_polls_the_run_until_it_finishes(live_server, browser):  # noqa: F811
    month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    entity = LegalEntityFactory()
    finance = person_with_role(roles.FINANCE, legal_entity=entity)
    run = RecognitionRun.objects.create(legal_entity=entity, period=month,
                                        started_by=finance.user, total_units=4, done_units=1,
                                        status=RecognitionRun.Status.RUNNING)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/?next=/revenue/close/")
    page.get_by_label("Username").fill(finance.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/revenue/close/")
    bar = page.locator("progress#run-bar")
    expect(bar).to_have_attribute("value", "1")
    expect(page.locator("#run-progress")).to_contain_text("1 of 4 contracts")
    recognition = page.locator("tr[data-item=stale_recognition]")
    expect(recognition).to_contain_text("in progress")

    RecognitionRun.objects.filter(pk=run.pk).update(done_units=3)  # the poll picks it up
    expect(bar).to_have_attribute("value", "3")

    RecognitionRun.objects.filter(pk=run.pk).update(
        done_units=4, status=RecognitionRun.Status.COMPLETED, finished_at=timezone.now())
    # Finished: the page reloads itself, so the checklist shows the run's result.
    expect(recognition).to_have_attribute("data-status", "ok")
    expect(page.locator("#run-progress")).to_contain_text("Completed")
    assert page.locator("#run-progress[hx-trigger]").count() == 0
