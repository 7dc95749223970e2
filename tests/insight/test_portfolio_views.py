"""The portfolio page and the project health fragment: who sees what, the order by risk, the
exports and the empty state."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from psa.models import Project
from tests.psa.factories import (
    ChangeOrderFactory,
    MilestoneFactory,
    PersonFactory,
    ProjectFactory,
    ProjectMemberFactory,
    TaskFactory,
    TimeEntryFactory,
)

PORTFOLIO = reverse("insight:portfolio")


def health_url(project: Project) -> str:
    return reverse("insight:project-health", args=[project.pk])


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2026, 6, 17, 12, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def two_projects(project_manager):
    """The project manager's own project and another manager's."""
    own = ProjectFactory(code="OWN-1", manager=project_manager, start_date=date(2026, 6, 1))
    TimeEntryFactory(task=TaskFactory(project=own), work_date=date(2026, 6, 2), approved=True)
    MilestoneFactory(project=own, due_date=date(2026, 6, 1))
    other = ProjectFactory(code="OTHER-1")
    return own, other


def codes(response) -> list[str]:
    return [p.code for p in (risk.project for risk in response.context["rows"])]


@pytest.mark.django_db
class TestRoleMatrix:
    @pytest.mark.parametrize("role", ["executive", "finance", "administrator"])
    def test_firm_wide_roles_see_every_project(self, request, client, role, two_projects):
        client.force_login(request.getfixturevalue(role).user)

        response = client.get(PORTFOLIO)

        assert response.status_code == 200
        assert sorted(codes(response)) == ["OTHER-1", "OWN-1"]
        for project in two_projects:
            assert client.get(health_url(project)).status_code == 200

    def test_project_manager_sees_only_their_own(self, client, project_manager, two_projects):
        own, other = two_projects
        client.force_login(project_manager.user)

        assert codes(client.get(PORTFOLIO)) == ["OWN-1"]
        assert client.get(health_url(own)).status_code == 200
        assert client.get(health_url(other)).status_code == 404

    def test_project_manager_on_anothers_team_is_refused_its_financials(
            self, client, project_manager, two_projects):
        _, other = two_projects
        ProjectMemberFactory(project=other, person=project_manager)
        client.force_login(project_manager.user)

        assert client.get(health_url(other)).status_code == 403

    def test_consultant_is_refused(self, client, consultant, two_projects):
        own, _ = two_projects
        ProjectMemberFactory(project=own, person=consultant)
        client.force_login(consultant.user)

        assert client.get(PORTFOLIO).status_code == 403
        assert client.get(health_url(own)).status_code == 403

    def test_resource_manager_has_no_portfolio(self, client, resource_manager, two_projects):
        # Resource managers see no project financials, so the portfolio is not theirs.
        client.force_login(resource_manager.user)

        assert client.get(PORTFOLIO).status_code == 403

    def test_anonymous_is_sent_to_sign_in(self, client, two_projects):
        response = client.get(PORTFOLIO)

        assert response.status_code == 302
        assert "login" in response["Location"]


@pytest.fixture
def ranked(db):
    """Scores: TOP 4 (high + medium), TWO-LATE 3 with 2 overdue, ONE-LATE 3 with 1, CALM 0."""
    calm = ProjectFactory(code="CALM")
    one = ProjectFactory(code="ONE-LATE")
    MilestoneFactory(project=one, due_date=date(2026, 6, 1))
    two = ProjectFactory(code="TWO-LATE")
    MilestoneFactory(project=two, due_date=date(2026, 6, 1))
    MilestoneFactory(project=two, due_date=date(2026, 6, 2))
    top = ProjectFactory(code="TOP")
    MilestoneFactory(project=top, due_date=date(2026, 6, 10))
    for effective in (date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)):
        ChangeOrderFactory(contract=top.contract, effective_date=effective)
    ProjectFactory(code="SHUT", status=Project.Status.CLOSED)  # not in the portfolio
    return [top, two, one, calm]


@pytest.mark.django_db
class TestPortfolio:
    def test_sorted_by_score_then_overdue_milestones(self, client, executive, ranked):
        client.force_login(executive.user)

        response = client.get(PORTFOLIO)

        assert codes(response) == ["TOP", "TWO-LATE", "ONE-LATE", "CALM"]
        assert [risk.score for risk in response.context["rows"]] == [4, 3, 3, 0]
        html = response.content.decode()
        assert html.index('data-project="TOP"') < html.index('data-project="CALM"')
        assert "Milestone overdue" in html and "Repeated change orders" in html
        assert "2 milestones past due and not completed" in html

    def test_csv_export(self, client, finance, ranked):
        client.force_login(finance.user)

        response = client.get(PORTFOLIO, {"format": "csv"})

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert 'filename="portfolio-2026-06-17.csv"' in response["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        header = rows[0]
        assert header[:3] == ["Project", "Name", "Client"]
        assert [row[0] for row in rows[1:]] == ["TOP", "TWO-LATE", "ONE-LATE", "CALM"]
        top = dict(zip(header, rows[1], strict=True))
        assert top["Risk score"] == "4"
        assert top["Flags"] == "milestone_overdue repeated_change_orders"
        assert top["Milestones overdue"] == "1"
        assert "3 change orders on contract" in top["Explanations"]

    def test_xlsx_export(self, client, administrator, ranked):
        client.force_login(administrator.user)

        response = client.get(PORTFOLIO, {"format": "xlsx"})

        assert response.status_code == 200
        assert "spreadsheetml" in response["Content-Type"]
        sheet = openpyxl.load_workbook(io.BytesIO(response.content))["Portfolio"]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == "Project"
        assert [row[0] for row in rows[1:]] == ["TOP", "TWO-LATE", "ONE-LATE", "CALM"]
        assert rows[1][6] == 4  # the score stays a number

    def test_empty_state(self, client, executive):
        client.force_login(executive.user)

        response = client.get(PORTFOLIO)

        assert response.status_code == 200
        html = response.content.decode()
        assert "0 projects" in html
        assert "No projects to show" in html
        assert "format=csv" not in html


@pytest.mark.django_db
class TestHealthFragment:
    def test_renders_flags_figures_and_the_burn_chart_on_its_own(self, client, project_manager,
                                                                  two_projects):
        own, _ = two_projects
        ProjectMemberFactory(project=own, person=PersonFactory(first_name="Quinn"))
        client.force_login(project_manager.user)

        response = client.get(health_url(own), HTTP_HX_REQUEST="true")

        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in html  # the fragment HTMX swaps into the project page
        assert "Milestone overdue" in html
        assert "1 milestone past due and not completed; the oldest was due 2026-06-01" in html
        assert '<svg class="burn-chart"' in html and "burn-actual" in html
        assert "Quinn" in html  # no time last week
        assert "<script" not in html
        health = response.context["health"]
        assert health.actual_hours == Decimal("8.00")
        assert [p.week_start for p in health.burn_chart] == [date(2026, 6, 1), date(2026, 6, 8),
                                                             date(2026, 6, 15)]

    def test_opened_without_htmx_it_is_a_whole_page(self, client, project_manager,
                                                    two_projects):
        own, _ = two_projects
        client.force_login(project_manager.user)

        html = client.get(health_url(own)).content.decode()

        assert html.lstrip().lower().startswith("<!doctype html>")
        assert "Milestone overdue" in html and own.code in html

    def test_project_not_started_has_no_chart(self, client, finance):
        project = ProjectFactory(start_date=date(2026, 9, 1), end_date=date(2026, 12, 31))
        client.force_login(finance.user)

        response = client.get(health_url(project))

        assert response.status_code == 200
        assert "its burn chart begins in its first week" in response.content.decode()
        assert "No risk flags" in response.content.decode()

    def test_unknown_project_is_404(self, client, finance):
        client.force_login(finance.user)

        assert client.get(reverse("insight:project-health", args=[999999])).status_code == 404


def _page_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(PORTFOLIO).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.django_db
def test_portfolio_page_costs_the_same_queries_for_3_and_9_projects(client, executive):
    def add_project() -> None:
        project = ProjectFactory()
        person = PersonFactory()
        ProjectMemberFactory(project=project, person=person)
        TimeEntryFactory(task=TaskFactory(project=project), person=person,
                         work_date=date(2026, 6, 9), approved=True)
        MilestoneFactory(project=project, due_date=date(2026, 6, 1))
        ChangeOrderFactory(contract=project.contract, effective_date=date(2026, 5, 1))

    client.force_login(executive.user)
    for _ in range(3):
        add_project()
    three = _page_queries(client)
    for _ in range(6):
        add_project()

    assert _page_queries(client) == three
