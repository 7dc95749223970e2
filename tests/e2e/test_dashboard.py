"""The executive dashboard in a real browser: an executive opens /dashboard/, changes the legal
entity, clicks the utilization tile and lands on the people behind the figure; the pages at
1280 px and 360 px. Uses Debian's Chromium; screenshots go to test-artifacts/."""

import re

import pytest
from playwright.sync_api import expect

from psa import roles
from psa.models import Person
from tests.e2e.test_shell import PASSWORD, PHONE, _artifacts, browser  # noqa: F401
from tests.insight.world import build_world
from tests.psa.factories import person_with_role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def test_an_executive_filters_by_legal_entity_and_opens_the_utilization_rows(
        live_server, browser):  # noqa: F811
    world = build_world(engagements=2)
    executive = person_with_role(roles.EXECUTIVE, first_name="Erin", last_name="Chief")
    uk_people = set(Person.objects.filter(legal_entity=world.uk)
                    .values_list("last_name", flat=True))
    assert uk_people == {"ConsultantUK0", "ConsultantUK1"}
    out = _artifacts()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    failed, errors = [], []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{live_server.url}/accounts/login/?next=/dashboard/%3Fmonth%3D2026-03")
    page.get_by_label("Username").fill(executive.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/?month=2026-03")
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(page.locator(".context-line")).to_contain_text("all legal entities")
    expect(page.locator(".context-line")).to_contain_text("amounts in USD")
    expect(page.locator(".tile")).to_have_count(11)
    page.screenshot(path=str(out / "dashboard-desktop.png"), full_page=True)

    page.get_by_label("Legal entity", exact=True).select_option(label=str(world.uk))
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(rf".*legal_entity={world.uk.pk}.*"))
    expect(page.locator(".context-line")).to_contain_text("UK")
    expect(page.locator(".context-line")).to_contain_text("amounts in GBP")
    page.set_viewport_size(PHONE)
    _no_horizontal_overflow(page)
    page.screenshot(path=str(out / "dashboard-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.locator("#tile-billable_utilization a").click()
    page.wait_for_url(re.compile(r".*/dashboard/measures/billable_utilization/\?.*"))
    assert f"legal_entity={world.uk.pk}" in page.url
    table = page.locator("table.rows-table")
    expect(table).to_be_visible()
    shown = table.locator("tbody th").all_inner_texts()
    assert shown, "the rows behind the figure are listed"
    # Only the UK's people are behind the UK's figure.
    for name in shown:
        assert any(last in name for last in uk_people), name
    page.screenshot(path=str(out / "dashboard-utilization-rows.png"), full_page=True)
    page.set_viewport_size(PHONE)
    _no_horizontal_overflow(page)
    assert not errors, errors
    assert not failed, failed
