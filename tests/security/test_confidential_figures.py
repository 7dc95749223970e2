"""Cost rates and margins reach only the roles the matrix lets see them.

`psa.view_costrate` (finance, administrators, services) opens cost rates;
`psa.view_project_financials` (a manager on the projects they manage; finance, executives,
administrators) opens a project's cost and revenue figures. Every check below is paired with
the role that may see the figure, so it fails if the figure is hidden from everyone.
The world's cost rate (93.1700) and cost budget (81,234.00) are distinctive on purpose.
"""

from __future__ import annotations

import pytest

from psa import roles
from tests.security.conftest import Firm
from tests.security.known_defects import explain
from tests.security.world import SECRET_BUDGET_COST, SECRET_COST_RATE

pytestmark = pytest.mark.django_db

COST_RATE = str(SECRET_COST_RATE)  # "93.1700" as the API writes rates
COST_RATE_SHOWN = "93.17"  # as the pages show it (floatformat)
BUDGET_COST_SHOWN = "81,234.00"


def api_json(firm: Firm, role: str, url: str) -> dict:
    response = firm.principals[role].client.get(url)
    assert response.status_code == 200, (role, url, response.status_code)
    return response.json()


def page_html(firm: Firm, role: str, url: str) -> str:
    response = firm.principals[role].client.get(url)
    assert response.status_code == 200, (role, url, response.status_code)
    return response.content.decode()


class TestCostRates:
    @pytest.mark.parametrize(("role", "sees"), [
        (roles.CONSULTANT, False), (roles.PROJECT_MANAGER, False),
        (roles.RESOURCE_MANAGER, False), (roles.EXECUTIVE, False), (roles.FINANCE, True),
        (roles.ADMINISTRATOR, True)])
    def test_person_api_has_cost_rates_only_for_finance_and_admins(self, firm, role, sees):
        consultant = firm.world.own.member

        body = api_json(firm, role, f"/api/v1/people/{consultant.pk}/")
        listed = api_json(firm, role, "/api/v1/people/?page_size=500")["results"]

        assert ("cost_rates" in body) is sees
        assert (COST_RATE in str(body)) is sees
        assert all(("cost_rates" in row) is sees for row in listed)

    @pytest.mark.parametrize(("role", "sees"), [
        (roles.CONSULTANT, False), (roles.PROJECT_MANAGER, False), (roles.FINANCE, True)])
    def test_time_entry_api_has_the_frozen_cost_rate_only_for_finance(self, firm, role, sees):
        entry = firm.world.own.approved_entry

        body = api_json(firm, role, f"/api/v1/time-entries/{entry.pk}/")

        assert ("cost_rate" in body) is sees
        assert (COST_RATE in str(body)) is sees

    @pytest.mark.parametrize(("role", "sees"), [
        (roles.CONSULTANT, False), (roles.PROJECT_MANAGER, False), (roles.FINANCE, True)])
    def test_person_page_shows_cost_rates_only_for_finance(self, firm, role, sees):
        html = page_html(firm, role, f"/people/{firm.world.own.member.pk}/")

        assert ('id="cost-title"' in html) is sees
        assert (COST_RATE_SHOWN in html) is sees

    @pytest.mark.parametrize("role", [roles.PROJECT_MANAGER, roles.RESOURCE_MANAGER])
    def test_candidates_api_has_no_cost_rate_without_view_costrate(self, firm, role):
        """API.md: cost rates are visible to finance and admins only (STYLE.md §15: output
        serializers drop them for everyone else)."""
        request = firm.world.own.resource_request

        body = api_json(firm, role, f"/api/v1/resource-requests/{request.pk}/candidates/")

        factors = [row["factors"]["cost"] for row in body]
        assert factors, "the request has candidates"
        leaked = [f for f in factors if f.get("cost_rate") is not None]
        assert not leaked, f"{role} reads {leaked[:1]}. " + explain("candidates-cost-rate")

    def test_candidates_api_has_the_cost_rate_for_admins(self, firm):
        request = firm.world.own.resource_request

        body = api_json(firm, roles.ADMINISTRATOR,
                        f"/api/v1/resource-requests/{request.pk}/candidates/")

        assert any(row["factors"]["cost"]["cost_rate"] == COST_RATE for row in body)


class TestProjectFinancials:
    @pytest.mark.parametrize(("role", "sees"), [
        (roles.CONSULTANT, False), (roles.RESOURCE_MANAGER, False),
        (roles.PROJECT_MANAGER, True), (roles.FINANCE, True)])
    def test_project_page_shows_cost_and_margin_only_with_financials(self, firm, role, sees):
        from psa.selectors.projects import project_actuals

        project = firm.world.own.project
        _, actual_cost, _ = project_actuals(project=project)

        html = page_html(firm, role, f"/projects/{project.pk}/")

        assert actual_cost > 0
        assert (BUDGET_COST_SHOWN in html) is sees
        assert (f"{actual_cost:,.2f}" in html) is sees
        assert ("Cost and revenue budgets are not visible to your role." in html) is not sees

    @pytest.mark.parametrize(("role", "sees"), [
        (roles.CONSULTANT, False), (roles.RESOURCE_MANAGER, False),
        (roles.PROJECT_MANAGER, True), (roles.EXECUTIVE, True)])
    def test_project_api_has_budget_amounts_only_with_financials(self, firm, role, sees):
        body = api_json(firm, role, f"/api/v1/projects/{firm.world.own.project.pk}/")

        assert ("budget_cost_amount" in body) is sees
        assert (str(SECRET_BUDGET_COST) in str(body)) is sees

    def test_manager_on_someone_elses_project_sees_no_budget_amounts(self, firm):
        """A manager who is only on the team of another manager's project may see the project
        (view_project OWN covers membership) but not its financials (OWN covers managing)."""
        from tests.psa.factories import ProjectMemberFactory

        foreign = firm.world.foreign.project
        ProjectMemberFactory(project=foreign, person=firm.world.people[roles.PROJECT_MANAGER])

        page = page_html(firm, roles.PROJECT_MANAGER, f"/projects/{foreign.pk}/")
        body = api_json(firm, roles.PROJECT_MANAGER, f"/api/v1/projects/{foreign.pk}/")
        listed = api_json(firm, roles.PROJECT_MANAGER, "/api/v1/projects/")["results"]

        assert BUDGET_COST_SHOWN not in page  # the page asks the object rule
        row = next(row for row in listed if row["id"] == foreign.pk)
        leaked = sorted({"budget_cost_amount", "budget_revenue_amount"} & (set(body) | set(row)))
        assert not leaked, f"the API shows {leaked}. " + explain("project-budget-amounts")
