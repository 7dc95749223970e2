"""The browser shell in a real browser: sign in, filter projects, open one, and a phone-sized
screen. Uses Debian's Chromium (never `playwright install`); screenshots go to test-artifacts/.
"""

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from psa import roles
from psa.models import Project
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    MilestoneFactory,
    ProjectFactory,
    ProjectMemberFactory,
    TaskFactory,
    person_with_role,
)

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "secret-pass-123"  # UserFactory's password
PHONE = {"width": 360, "height": 740}

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _artifacts() -> Path:
    path = Path(settings.BASE_DIR) / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


def _seed() -> tuple[str, Project]:
    manager = person_with_role(roles.PROJECT_MANAGER, first_name="Morgan", last_name="Reyes")
    acme = ClientFactory(name="Acme Manufacturing")
    project = ProjectFactory(code="ACME-042", name="Cloud migration", manager=manager,
                             contract=ContractFactory(client=acme), service_line="Cloud")
    discovery = TaskFactory(project=project, wbs_code="1", name="Discovery", position=1)
    TaskFactory(project=project, wbs_code="1.1", name="Discovery workshops", parent=discovery)
    TaskFactory(project=project, wbs_code="1.2", name="Data mapping with a rather long name "
                "that has to wrap on a phone", parent=discovery, is_billable=False)
    TaskFactory(project=project, wbs_code="2", name="Cut-over", position=2)
    MilestoneFactory(project=project, name="Design signed off", amount=Decimal("25000.00"))
    ProjectMemberFactory(project=project)
    for i in range(6):
        ProjectFactory(code=f"GLOBEX-{i:03d}", name=f"Globex rollout wave {i}", manager=manager,
                       status=Project.Status.ON_HOLD if i % 2 else Project.Status.ACTIVE)
    return manager.user.username, project


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    # Playwright's sync API keeps an event loop in this thread; the ORM work is done by then.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"])
        yield chromium
        chromium.close()


def _no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def test_project_manager_signs_in_filters_and_opens_a_project(live_server, browser):
    username, project = _seed()
    out = _artifacts()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    failed_assets = []
    page.on("response", lambda r: failed_assets.append(r.url) if r.status >= 400 else None)

    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", name="Projects you manage").is_visible()
    assert page.evaluate("typeof window.htmx") == "object", "HTMX did not load from /static/"
    page.screenshot(path=str(out / "home-desktop.png"), full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    page.wait_for_url("**/projects/")
    assert "7 projects" in page.locator("[data-count]").inner_text()

    page.get_by_label("Status").select_option("on_hold")  # HTMX swaps the results
    expect(page.locator("[data-count]")).to_contain_text("3 projects")
    assert "status=on_hold" in page.url  # the filter stays in the URL
    assert page.locator("#results tbody tr").count() == 3
    page.get_by_label("Status").select_option("")
    page.get_by_label("Search", exact=True).fill("ACME")
    expect(page.locator("[data-count]")).to_contain_text("1 project")
    assert "q=ACME" in page.url
    page.screenshot(path=str(out / "project-list-desktop.png"), full_page=True)

    page.get_by_role("link", name="ACME-042").click()
    page.wait_for_url(f"**/projects/{project.pk}/")
    assert page.get_by_role("heading", name="ACME-042 Cloud migration").is_visible()
    wbs = page.get_by_role("table", name="Work breakdown structure")
    assert wbs.get_by_text("Discovery workshops").is_visible()
    assert wbs.locator("tr.depth-1").count() == 2
    assert page.get_by_text("Design signed off").is_visible()
    assert page.get_by_text("25,000.00").first.is_visible()
    page.screenshot(path=str(out / "project-desktop.png"), full_page=True)

    page.set_viewport_size(PHONE)
    page.reload()
    toggle = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    assert toggle.is_visible() and not nav.is_visible()
    _no_horizontal_overflow(page)
    page.screenshot(path=str(out / "project-phone.png"), full_page=True)
    toggle.click()
    assert nav.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    page.screenshot(path=str(out / "project-phone-nav-open.png"))

    for path, name in (("/projects/", "project-list"), ("/", "home"), ("/people/", "people")):
        page.goto(f"{live_server.url}{path}")
        _no_horizontal_overflow(page)
        page.screenshot(path=str(out / f"{name}-phone.png"), full_page=True)
    assert not failed_assets, failed_assets


def test_sign_in_errors_and_lockout_page_at_phone_width(live_server, browser):
    person = person_with_role(roles.CONSULTANT)
    out = _artifacts()
    page = browser.new_page(viewport=PHONE)

    page.goto(f"{live_server.url}/accounts/login/")
    _no_horizontal_overflow(page)
    page.screenshot(path=str(out / "login-phone.png"), full_page=True)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Username").fill(person.user.username)
        page.get_by_label("Password").fill("wrong-password")
        page.get_by_role("button", name="Sign in").click()
        if attempt == 0:
            assert page.get_by_role("alert").is_visible()
            page.screenshot(path=str(out / "login-error-phone.png"), full_page=True)
    assert page.get_by_role("heading", name="Sign-in is locked").is_visible()
    _no_horizontal_overflow(page)
    page.screenshot(path=str(out / "locked-phone.png"), full_page=True)
