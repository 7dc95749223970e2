"""CSV export: the filtered list, streamed, with money only where the reader may see it."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from psa import roles
from psa.models import Project
from tests.psa.factories import ClientFactory, ProjectFactory, ProjectMemberFactory


def _rows(response) -> list[list[str]]:
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.django_db
class TestProjectExport:
    def test_export_respects_filters_and_sort(self, world_for, browser_for):
        world = world_for(roles.FINANCE)
        ProjectFactory(code="ZZ-9", name="Held work", status=Project.Status.ON_HOLD)
        ProjectFactory(code="AA-1", name="Paused pilot", status=Project.Status.ON_HOLD,
                       budget_revenue_amount=Decimal("1234.50"))

        response = browser_for(world.person).get(
            reverse("project-list"), {"status": "on_hold", "sort": "-code", "format": "csv"})

        assert response["Content-Type"].startswith("text/csv")
        assert 'filename="projects.csv"' in response["Content-Disposition"]
        rows = _rows(response)
        assert rows[0][:3] == ["Code", "Name", "Client"]
        assert [row[0] for row in rows[1:]] == ["ZZ-9", "AA-1"]
        assert rows[2][12] == "1234.50"

    def test_export_url_path_gives_the_same_rows(self, world_for, browser_for):
        world = world_for(roles.FINANCE)
        browser = browser_for(world.person)

        by_param = _rows(browser.get(reverse("project-list"), {"q": "Own", "format": "csv"}))
        by_path = _rows(browser.get(reverse("project-export"), {"q": "Own"}))

        assert by_param == by_path
        assert [row[0] for row in by_path[1:]] == [world.own_project.code]

    def test_consultant_export_has_their_projects_without_money(self, world_for, browser_for):
        world = world_for(roles.CONSULTANT)

        rows = _rows(browser_for(world.person).get(reverse("project-export")))

        assert [row[0] for row in rows[1:]] == [world.own_project.code]
        assert rows[1][10] == "1000.00"  # budget hours are not money
        assert rows[1][11] == "" and rows[1][12] == ""

    def test_manager_sees_money_only_on_projects_they_manage(self, world_for, browser_for):
        world = world_for(roles.PROJECT_MANAGER)
        staffed = ProjectFactory(code="ZZ-TEAM")
        ProjectMemberFactory(project=staffed, person=world.person)

        rows = {row[0]: row for row in
                _rows(browser_for(world.person).get(reverse("project-export")))[1:]}

        assert rows[world.own_project.code][12] == "150000.00"
        assert rows["ZZ-TEAM"][12] == ""


@pytest.mark.django_db
def test_client_export_defuses_spreadsheet_formulas(world_for, browser_for):
    world = world_for(roles.FINANCE)
    ClientFactory(name="=HYPERLINK(1)", code="EVIL")

    rows = _rows(browser_for(world.person).get(reverse("client-list"),
                                               {"q": "EVIL", "format": "csv"}))

    assert rows[1][:2] == ["EVIL", "'=HYPERLINK(1)"]


@pytest.mark.django_db
def test_person_export_filters_by_status(world_for, browser_for):
    from tests.psa.factories import PersonFactory

    world = world_for(roles.ADMINISTRATOR)
    PersonFactory(first_name="Leaver", employment_status="terminated")

    rows = _rows(browser_for(world.person).get(reverse("person-export"),
                                               {"status": "terminated"}))

    assert [row[1] for row in rows[1:]] == ["Leaver"]
