"""What the pages show: the project page, person page, lists, search, home and audit trail."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from psa import roles
from psa.models import Contract, Project, Task
from psa.selectors.pages import wbs_tree
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    CostRateFactory,
    MilestoneFactory,
    PersonFactory,
    ProjectFactory,
    ProjectMemberFactory,
    TaskFactory,
)


@pytest.mark.django_db
class TestProjectPage:
    def _project_with_wbs(self, manager):
        project = ProjectFactory(manager=manager, code="ACME-042", name="Cloud migration")
        phase = TaskFactory(project=project, wbs_code="1", name="Discovery", position=1)
        TaskFactory(project=project, wbs_code="1.2", name="Data mapping", parent=phase,
                    position=2, is_billable=False)
        TaskFactory(project=project, wbs_code="1.1", name="Workshops", parent=phase,
                    position=1, is_open=False)
        TaskFactory(project=project, wbs_code="2", name="Cut-over", position=2)
        MilestoneFactory(project=project, name="Go-live", amount=Decimal("25000.00"))
        return project

    def test_shows_wbs_as_an_indented_tree_and_milestones(self, world_for, browser_for):
        world = world_for(roles.PROJECT_MANAGER)
        project = self._project_with_wbs(world.person)

        response = browser_for(world.person).get(reverse("project-detail", args=[project.pk]))

        rows = response.context["page"].tasks
        assert [(r.task.wbs_code, r.depth) for r in rows] == [
            ("1", 0), ("1.1", 1), ("1.2", 1), ("2", 0)]
        html = response.content.decode()
        assert 'class="depth-1' in html and 'aria-level="2"' in html
        assert "Non-billable" in html and "Closed" in html
        assert "Go-live" in html and "25,000.00" in html

    def test_budget_shows_approved_time_as_actuals(self, world_for, browser_for):
        from psa.models import TimeEntry
        from tests.psa.factories import TimeEntryFactory

        world = world_for(roles.PROJECT_MANAGER)
        project = self._project_with_wbs(world.person)
        leaf = project.tasks.get(wbs_code="1.1")
        TimeEntryFactory(task=leaf, approved=True, hours=Decimal("12.50"),
                         cost_rate=Decimal("80.0000"))
        TimeEntryFactory(task=leaf, hours=Decimal("3.00"), work_date=date(2026, 3, 11),
                         status=TimeEntry.Status.SUBMITTED)

        response = browser_for(world.person).get(reverse("project-detail", args=[project.pk]))

        page = response.context["page"]
        assert page.actual_hours == Decimal("12.50")
        assert page.actual_cost == Decimal("1000.00")
        html = response.content.decode()
        assert '<td data-label="Actual" class="num">12.50</td>' in html
        assert '<td data-label="Actual" class="num">1,000.00</td>' in html

    def test_money_is_hidden_from_a_consultant_on_the_team(self, world_for, browser_for):
        world = world_for(roles.CONSULTANT)
        project = self._project_with_wbs(PersonFactory())
        ProjectMemberFactory(project=project, person=world.person)

        response = browser_for(world.person).get(reverse("project-detail", args=[project.pk]))

        html = response.content.decode()
        assert response.status_code == 200
        assert "Go-live" in html and "Workshops" in html
        assert "25,000.00" not in html  # milestone amount
        assert "100,000.00" not in html  # contract value
        assert "150,000.00" not in html  # revenue budget
        assert "Not visible to your role" in html

    def test_manager_sees_contract_money_and_budget(self, world_for, browser_for):
        world = world_for(roles.PROJECT_MANAGER)
        contract = ContractFactory(billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP,
                                   cap_amount=Decimal("120000.00"))
        project = ProjectFactory(manager=world.person, contract=contract)

        html = browser_for(world.person).get(
            reverse("project-detail", args=[project.pk])).content.decode()

        assert "T&amp;M with a cap" in html
        assert "100,000.00 USD" in html and "120,000.00 USD" in html
        assert "150,000.00" in html and "80,000.00" in html
        assert "10.00 %" in html  # expense markup

    def test_unknown_project_is_not_found(self, world_for, browser_for):
        world = world_for(roles.ADMINISTRATOR)

        response = browser_for(world.person).get(reverse("project-detail", args=[999999]))

        assert response.status_code == 404


def test_wbs_tree_keeps_orphans_and_orders_depth_first():
    root = Task(pk=1, wbs_code="1", name="A", parent_id=None)
    child = Task(pk=2, wbs_code="1.1", name="B", parent_id=1)
    orphan = Task(pk=3, wbs_code="3.1", name="C", parent_id=99)
    grandchild = Task(pk=4, wbs_code="1.1.1", name="D", parent_id=2)

    rows = wbs_tree([root, child, orphan, grandchild])

    assert [(r.task.pk, r.depth, r.has_children) for r in rows] == [
        (1, 0, True), (2, 1, True), (4, 2, False), (3, 0, False)]


@pytest.mark.django_db
class TestPersonPage:
    def test_cost_rates_only_with_view_costrate(self, world_for, browser_for):
        someone = PersonFactory(first_name="Rated")
        CostRateFactory(person=someone, hourly_cost=Decimal("87.5000"))
        url = reverse("person-detail", args=[someone.pk])
        for role in (roles.FINANCE, roles.PROJECT_MANAGER):
            world = world_for(role)

            html = browser_for(world.person).get(url).content.decode()

            allowed = roles.scope_of(frozenset({role}), "psa.view_costrate") is not None
            assert ("87.5000" in html) is allowed, role
            assert ("Cost rates" in html) is allowed, role


@pytest.mark.django_db
class TestLists:
    def test_filters_stay_in_the_url_and_narrow_the_list(self, world_for, browser_for):
        world = world_for(roles.FINANCE)
        client = ClientFactory(name="Acme Corp")
        held = ProjectFactory(contract=ContractFactory(client=client), name="Acme data",
                              status=Project.Status.ON_HOLD, service_line="Data")

        response = browser_for(world.person).get(
            reverse("project-list"),
            {"client": client.pk, "status": "on_hold", "service_line": "Data"})

        assert [p.pk for p in response.context["rows"]] == [held.pk]
        html = response.content.decode()
        assert "1 project" in html and "(filtered)" in html
        assert f'value="{client.pk}" selected' in html
        assert "format=csv" in response.context["export_url"]
        assert f"client={client.pk}" in response.context["export_url"]

    def test_unknown_sort_falls_back_to_the_default(self, world_for, browser_for):
        world = world_for(roles.FINANCE)
        ProjectFactory(code="B-1")
        ProjectFactory(code="A-1")

        response = browser_for(world.person).get(reverse("project-list"),
                                                 {"sort": "contract__value_amount"})

        codes = [p.code for p in response.context["rows"]]
        assert codes == sorted(codes)

    def test_sorting_by_a_column_descends_on_the_second_click(self, world_for, browser_for):
        world = world_for(roles.FINANCE)
        ProjectFactory(code="B-1", budget_hours=Decimal("10.00"))
        ProjectFactory(code="A-1", budget_hours=Decimal("900.00"))
        browser = browser_for(world.person)

        response = browser.get(reverse("project-list"), {"sort": "-budget_hours"})

        hours = [p.budget_hours for p in response.context["rows"]]
        assert hours == sorted(hours, reverse=True)
        header = next(h for h in response.context["headers"] if h["label"] == "Budget hours")
        assert header["aria_sort"] == "descending"
        assert "sort=budget_hours" in header["url"]

    def test_pagination_keeps_filters(self, world_for, browser_for):
        world = world_for(roles.FINANCE)
        for i in range(55):
            ProjectFactory(code=f"P-{i:03d}", service_line="Data")

        response = browser_for(world.person).get(reverse("project-list"),
                                                 {"service_line": "Data", "page": 2})

        assert len(response.context["rows"]) == 5
        assert response.context["count"] == 55
        assert "service_line=Data&amp;page=1" in response.content.decode()

    def test_htmx_filter_request_gets_only_the_results(self, world_for, browser_for):
        world = world_for(roles.FINANCE)

        response = browser_for(world.person).get(
            reverse("project-list"), {"q": "Own"},
            HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")

        html = response.content.decode()
        assert html.lstrip().startswith('<div id="results"')
        assert "<html" not in html
        assert world.own_project.code in html
        assert "HX-Request" in response["Vary"]

    def test_empty_list_says_what_to_do_next(self, world_for, browser_for):
        world = world_for(roles.FINANCE)

        response = browser_for(world.person).get(reverse("client-list"), {"q": "no-such"})

        assert "No clients match these filters" in response.content.decode()

    def test_client_list_counts_only_visible_projects(self, world_for, browser_for):
        world = world_for(roles.CONSULTANT)
        ProjectFactory(contract=world.own_project.contract)  # same client, not visible

        response = browser_for(world.person).get(reverse("client-list"))

        assert [(c.pk, c.project_count) for c in response.context["rows"]] == [
            (world.own_project.client_id, 1)]


@pytest.mark.django_db
class TestSearch:
    def test_finds_clients_projects_and_people_within_scope(self, world_for, browser_for):
        world = world_for(roles.CONSULTANT)
        ProjectFactory(name="Cloud hidden")

        response = browser_for(world.person).get(reverse("search"), {"q": "cloud"})

        results = response.context["results"]
        assert [p.pk for p in results.projects] == [world.own_project.pk]
        assert results.clients == []

    def test_finds_people_by_name(self, world_for, browser_for):
        world = world_for(roles.RESOURCE_MANAGER)
        wanted = PersonFactory(first_name="Zelda", last_name="Quill")

        response = browser_for(world.person).get(reverse("search"), {"q": "quill"})

        assert [p.pk for p in response.context["results"].people] == [wanted.pk]
        assert "Zelda Quill" in response.content.decode()


@pytest.mark.django_db
class TestHome:
    def test_consultant_sees_their_projects_and_their_week(self, world_for, browser_for):
        from django.utils import timezone

        from psa.models import Task
        from tests.psa.factories import TimeEntryFactory

        world = world_for(roles.CONSULTANT)
        task = Task.objects.create(project=world.own_project, wbs_code="77", name="Build")
        monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
        TimeEntryFactory(person=world.person, task=task, work_date=monday,
                         hours=Decimal("6.50"))

        html = browser_for(world.person).get(reverse("home")).content.decode()

        assert "<strong class=\"tabular\">6.50</strong>" in html
        assert "1 entry still to submit" in html
        assert reverse("timesheet") in html
        assert world.own_project.code in html
        assert world.other_project.code not in html

    def test_project_manager_sees_budget_and_milestones_due(self, world_for, browser_for):
        world = world_for(roles.PROJECT_MANAGER)
        MilestoneFactory(project=world.own_project, name="Soon due",
                         due_date=timezone.localdate() + timedelta(days=5))
        MilestoneFactory(project=world.own_project, name="Far away",
                         due_date=timezone.localdate() + timedelta(days=300))

        html = browser_for(world.person).get(reverse("home")).content.decode()

        assert "Projects you manage" in html
        assert "150,000.00 USD" in html
        assert "Soon due" in html and "Far away" not in html

    def test_resource_manager_sees_counts_and_unstaffed(self, world_for, browser_for):
        world = world_for(roles.RESOURCE_MANAGER)

        response = browser_for(world.person).get(reverse("home"))

        staffing = next(p for p in response.context["panels"] if p["name"] == "staffing")
        assert staffing["data"].active_projects == 2
        assert staffing["data"].unstaffed_projects == 1
        assert "nobody on the team" in response.content.decode()

    def test_finance_sees_contracts_by_billing_model(self, world_for, browser_for):
        world = world_for(roles.FINANCE)
        ContractFactory(billing_model=Contract.BillingModel.RETAINER,
                        retainer_amount=Decimal("5000.00"), value_amount=Decimal("60000.00"))

        html = browser_for(world.person).get(reverse("home")).content.decode()

        assert "Time and materials" in html and "200,000.00 USD" in html
        assert "Retainer" in html and "60,000.00 USD" in html

    def test_executive_sees_firm_totals(self, world_for, browser_for):
        world = world_for(roles.EXECUTIVE)

        response = browser_for(world.person).get(reverse("home"))

        totals = next(p for p in response.context["panels"] if p["name"] == "firm_totals")
        assert totals["data"].active_contract_value == [("USD", 2, Decimal("200000.00"))]
        assert ("active", "Active", 2) in totals["data"].projects_by_status

    def test_administrator_sees_recent_audit_entries(self, world_for, browser_for):
        world = world_for(roles.ADMINISTRATOR)

        html = browser_for(world.person).get(reverse("home")).content.decode()

        assert "Recent changes" in html and "Own cloud migration" in html


@pytest.mark.django_db
class TestAuditTrail:
    def test_shows_changes_and_filters_by_model(self, world_for, browser_for):
        from django.contrib.contenttypes.models import ContentType

        world = world_for(roles.ADMINISTRATOR)
        project = world.own_project
        project.name = "Renamed migration"
        project.save()
        browser = browser_for(world.person)

        response = browser.get(reverse("audit-list"),
                               {"content_type": ContentType.objects.get_for_model(Project).pk})

        rows = response.context["rows"]
        assert rows and all(r.entry.content_type.model == "project" for r in rows)
        html = response.content.decode()
        assert "Own cloud migration" in html and "Renamed migration" in html
        assert "<del>Own cloud migration</del>" in html

    def test_filters_by_actor(self, world_for, browser_for):
        from auditlog.context import set_actor

        world = world_for(roles.ADMINISTRATOR)
        with set_actor(world.person.user):
            ClientFactory(name="Made by admin")

        response = browser_for(world.person).get(reverse("audit-list"),
                                                 {"actor": world.person.user.pk})

        assert [r.entry.object_repr for r in response.context["rows"]] == ["Made by admin"]


@pytest.mark.django_db
def test_audit_creation_entries_leave_out_bookkeeping_and_relation_placeholders(world_for,
                                                                               browser_for):
    world = world_for(roles.ADMINISTRATOR)

    response = browser_for(world.person).get(reverse("audit-list"))

    created = next(r for r in response.context["rows"]
                   if r.entry.object_repr.endswith("Own cloud migration"))
    fields = {c.field for c in created.changes}
    assert created.is_create and "name" in fields
    assert not fields & {"id", "created_at", "updated_at", "tasks", "milestones"}
    assert "psa.Task.None" not in response.content.decode()
