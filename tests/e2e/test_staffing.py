"""The staffing board in a real browser: a resource manager opens a request, reads the ranked
candidates, books one hard and sees the board cell change; the page at 1280 px and 360 px.
Uses Debian's Chromium; screenshots go to test-artifacts/.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from psa import roles
from tests.e2e.test_shell import PASSWORD, PHONE, _artifacts, browser  # noqa: F401
from tests.psa.factories import PersonFactory, ProjectFactory, RoleFactory, person_with_role
from tests.resourcing.factories import (
    AssignmentFactory,
    PersonSkillFactory,
    RequestSkillFactory,
    ResourceRequestFactory,
    SkillFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _seed():
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    manager = person_with_role(roles.RESOURCE_MANAGER, first_name="Rita", last_name="Manager")
    role = RoleFactory(code="CLA", name="Cloud architect", level=3)
    skill = SkillFactory(name="Kubernetes")
    project = ProjectFactory(code="ACME-042", name="Cloud migration")
    demand = ResourceRequestFactory(project=project, role=role, hours_per_week=Decimal("24.00"),
                                    start_date=monday + timedelta(weeks=1),
                                    end_date=monday + timedelta(weeks=4, days=4), country="")
    RequestSkillFactory(request=demand, skill=skill, min_level=3)
    grace = PersonFactory(first_name="Grace", last_name="Hopper", role=role, user=None,
                          country="GB", city="London")
    PersonSkillFactory(person=grace, skill=skill, level=5)
    alan = PersonFactory(first_name="Alan", last_name="Turing", role=role, user=None,
                         country="GB")
    PersonSkillFactory(person=alan, skill=skill, level=3)
    AssignmentFactory(person=alan, start_date=monday, end_date=monday + timedelta(weeks=8),
                      hours_per_week=Decimal("32.00"))
    AssignmentFactory(person=alan, start_date=monday, end_date=monday + timedelta(weeks=3),
                      hours_per_week=Decimal("8.00"), booking="soft")
    AssignmentFactory(person=grace, start_date=monday + timedelta(weeks=6),
                      end_date=monday + timedelta(weeks=7), hours_per_week=Decimal("48.00"))
    for i in range(12):
        PersonFactory(first_name=f"Person{i:02d}", last_name="Bench", user=None)
    return manager, demand, grace, monday


def _no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def test_resource_manager_books_a_candidate_hard(live_server, browser):  # noqa: F811
    manager, demand, grace, monday = _seed()
    out = _artifacts()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    failed = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 and
            "/book/" not in r.url else None)
    page.goto(f"{live_server.url}/accounts/login/?next=/staffing/")
    page.get_by_label("Username").fill(manager.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staffing/")
    expect(page.get_by_role("heading", name="Staffing")).to_be_visible()

    week = (monday + timedelta(weeks=1)).isoformat()
    cell = page.locator(f'tr[data-person="{grace.pk}"] td[data-week="{week}"]')
    expect(cell).to_contain_text("0 h / 40")
    expect(cell).to_have_class("cell state-under")

    page.get_by_role("link", name="Cloud architect · ACME-042").click()
    candidates = page.locator("#candidates")
    expect(candidates).to_contain_text("Candidates for Cloud architect")
    first = candidates.locator("li.candidate").first
    expect(first).to_contain_text("Grace Hopper")  # free, level 5: ranks first
    expect(first.locator("dt")).to_have_text(["Skills", "Availability", "Role fit", "Margin",
                                             "Utilization gap", "Location"])
    expect(first).to_contain_text("Kubernetes 5/3")
    expect(candidates.locator("li.candidate")).to_have_count(2)
    page.screenshot(path=str(out / "staffing-desktop.png"), full_page=True)

    # a cell opens the person's assignments in that week
    alan_cell = page.locator('tr:has-text("Alan Turing") td.cell').first
    alan_cell.locator("a").click()
    expect(page.locator("#cell-detail")).to_contain_text("Alan Turing · week of")
    expect(page.locator("#cell-detail li.assignment")).to_have_count(2)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(out / "staffing-cell-desktop.png"), full_page=True)

    first.get_by_role("button", name="Book Grace Hopper hard").click()
    page.wait_for_url(f"**/staffing/?request={demand.pk}*")
    expect(page.locator(".messages")).to_contain_text("Booked Grace Hopper hard on ACME-042")
    cell = page.locator(f'tr[data-person="{grace.pk}"] td[data-week="{week}"]')
    expect(cell).to_contain_text("24 h / 40")
    over = page.locator(f'tr[data-person="{grace.pk}"] '
                        f'td[data-week="{(monday + timedelta(weeks=6)).isoformat()}"]')
    expect(over).to_have_class("cell state-over")
    expect(over).to_contain_text("▲ 48 h /")
    page.screenshot(path=str(out / "staffing-booked-desktop.png"), full_page=True)

    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.get_by_role("heading", name="Staffing")).to_be_visible()
    _no_horizontal_overflow(page)
    scroller = page.locator(".board-scroll")
    assert scroller.evaluate("e => e.scrollWidth > e.clientWidth"), "the board should scroll"
    page.screenshot(path=str(out / "staffing-phone.png"), full_page=True)
    assert not failed, failed
