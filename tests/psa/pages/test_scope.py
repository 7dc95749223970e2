"""OWN scope on the pages: a consultant sees their projects only; outside the scope is 404."""

import pytest
from django.urls import reverse

from psa import roles
from tests.psa.factories import PersonFactory, ProjectFactory, ProjectMemberFactory


@pytest.mark.django_db
class TestConsultantScope:
    def test_project_list_shows_only_their_projects(self, world_for, browser_for):
        world = world_for(roles.CONSULTANT)

        response = browser_for(world.person).get(reverse("project-list"))

        codes = [p.code for p in response.context["rows"]]
        assert codes == [world.own_project.code]
        assert response.context["count"] == 1
        assert world.other_project.code not in response.content.decode()

    def test_other_project_page_is_not_found(self, world_for, browser_for):
        world = world_for(roles.CONSULTANT)
        browser = browser_for(world.person)

        own = browser.get(reverse("project-detail", args=[world.own_project.pk]))
        response = browser.get(reverse("project-detail", args=[world.other_project.pk]))

        assert own.status_code == 200
        assert response.status_code == 404

    def test_other_client_page_is_not_found(self, world_for, browser_for):
        world = world_for(roles.CONSULTANT)

        response = browser_for(world.person).get(
            reverse("client-detail", args=[world.other_project.client_id]))

        assert response.status_code == 404

    def test_people_list_shows_self_and_reports_only(self, world_for, browser_for):
        world = world_for(roles.CONSULTANT)
        report = PersonFactory(manager=world.person, first_name="Report")
        stranger = PersonFactory(first_name="Stranger")

        response = browser_for(world.person).get(reverse("person-list"))

        shown = {p.pk for p in response.context["rows"]}
        assert shown == {world.person.pk, report.pk}
        assert browser_for(world.person).get(
            reverse("person-detail", args=[stranger.pk])).status_code == 404

    def test_membership_alone_makes_a_project_visible(self, browser_for, world_for):
        world = world_for(roles.CONSULTANT)
        staffed = ProjectFactory(name="Staffed elsewhere")
        ProjectMemberFactory(project=staffed, person=world.person)

        response = browser_for(world.person).get(reverse("project-detail", args=[staffed.pk]))

        assert response.status_code == 200
        assert "Staffed elsewhere" in response.content.decode()


@pytest.mark.django_db
class TestProjectManagerScope:
    def test_contract_of_another_managers_project_is_not_found(self, world_for, browser_for):
        world = world_for(roles.PROJECT_MANAGER)
        browser = browser_for(world.person)

        own = browser.get(reverse("contract-detail", args=[world.own_project.contract_id]))
        other = browser.get(reverse("contract-detail", args=[world.other_project.contract_id]))

        assert own.status_code == 200
        assert other.status_code == 404

    def test_client_page_lists_only_visible_projects(self, world_for, browser_for):
        world = world_for(roles.PROJECT_MANAGER)
        hidden = ProjectFactory(contract=world.own_project.contract, name="Hidden sibling")

        response = browser_for(world.person).get(
            reverse("client-detail", args=[world.own_project.client_id]))

        assert [p.pk for p in response.context["page"].projects] == [world.own_project.pk]
        assert hidden.name not in response.content.decode()

    def test_resource_manager_sees_every_project(self, world_for, browser_for):
        world = world_for(roles.RESOURCE_MANAGER)

        response = browser_for(world.person).get(reverse("project-list"))

        assert response.context["count"] == 2
