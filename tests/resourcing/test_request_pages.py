"""Resource request pages: create on a project or a deal with required skills, edit, cancel;
errors beside fields with nothing written; who may do what per psa.roles.MATRIX."""

from decimal import Decimal

import pytest
from django.urls import reverse

from psa import roles
from psa.models import OutboxEvent
from resourcing.models import RequestSkill, ResourceRequest
from tests.psa.factories import ProjectFactory, RoleFactory, person_with_role
from tests.resourcing.factories import ResourceRequestFactory, SkillFactory

pytestmark = pytest.mark.django_db


def _form(role, project=None, skills=(), **extra):
    data = {"project": project.pk if project else "", "deal_name": "", "deal_ref": "",
            "probability": "100", "role": role.pk, "hours_per_week": "32",
            "start_date": "2026-03-02", "end_date": "2026-04-24", "country": "DE",
            "remote_ok": "on", "priority": "high", "bill_rate": "150.00", "currency": "EUR",
            "notes": "", "skills-TOTAL_FORMS": "5", "skills-INITIAL_FORMS": "0",
            "skills-MIN_NUM_FORMS": "0", "skills-MAX_NUM_FORMS": "5"}
    for i in range(5):
        data[f"skills-{i}-skill"] = ""
        data[f"skills-{i}-min_level"] = "3"
    for i, (skill, level) in enumerate(skills):
        data[f"skills-{i}-skill"] = skill.pk
        data[f"skills-{i}-min_level"] = str(level)
    data.update(extra)
    return data


def test_resource_manager_opens_a_project_request_with_skills(client, resource_manager):
    project, role = ProjectFactory(), RoleFactory()
    aws, k8s = SkillFactory(name="AWS"), SkillFactory(name="K8s")
    client.force_login(resource_manager.user)
    assert client.get(reverse("request-create")).status_code == 200
    response = client.post(reverse("request-create"),
                           _form(role, project, skills=[(aws, 4), (k8s, 2)]))
    assert response.status_code == 302, response.context and response.context["form"].errors
    demand = ResourceRequest.objects.get()
    assert (demand.project, demand.hours_per_week, demand.priority) == (
        project, Decimal("32.00"), "high")
    assert demand.bill_rate == Decimal("150.00") and not demand.is_tentative
    assert sorted(RequestSkill.objects.values_list("skill__name", "min_level")) == [
        ("AWS", 4), ("K8s", 2)]
    assert OutboxEvent.objects.filter(type="resource_request.created").count() == 1


def test_pipeline_deal_request_is_tentative_with_probability(client, resource_manager):
    client.force_login(resource_manager.user)
    response = client.post(reverse("request-create"),
                           _form(RoleFactory(), None, deal_name="Acme rollout",
                                 probability="40"))
    assert response.status_code == 302
    demand = ResourceRequest.objects.get()
    assert demand.is_tentative and demand.probability == Decimal("40.00")
    assert demand.deal_name == "Acme rollout"


def test_errors_beside_fields_and_nothing_written(client, resource_manager):
    role = RoleFactory()
    client.force_login(resource_manager.user)
    neither = client.post(reverse("request-create"), _form(role, None))
    assert neither.status_code == 400
    assert "project" in neither.context["form"].errors
    dates = client.post(reverse("request-create"),
                        _form(role, ProjectFactory(), end_date="2026-01-01"))
    assert dates.status_code == 400
    assert "end_date" in dates.context["form"].errors
    skill = SkillFactory()
    twice = client.post(reverse("request-create"),
                        _form(role, ProjectFactory(), skills=[(skill, 2), (skill, 3)]))
    assert twice.status_code == 400
    assert twice.context["form"].non_field_errors()
    assert not ResourceRequest.objects.exists()
    assert not RequestSkill.objects.exists()


def test_project_manager_only_on_projects_they_manage(client, project_manager):
    own, other, role = ProjectFactory(manager=project_manager), ProjectFactory(), RoleFactory()
    client.force_login(project_manager.user)
    refused = client.post(reverse("request-create"), _form(role, other))
    assert refused.status_code == 400
    assert "project" in refused.context["form"].errors
    assert not ResourceRequest.objects.exists()
    assert client.post(reverse("request-create"), _form(role, own)).status_code == 302
    assert ResourceRequest.objects.get().project == own


@pytest.mark.parametrize("role", sorted(set(roles.ROLES)
                                        - set(roles.MATRIX["resourcing.add_resourcerequest"])))
def test_roles_without_add_resourcerequest_are_refused(client, role):
    person = person_with_role(role)
    client.force_login(person.user)
    assert client.get(reverse("request-create")).status_code == 403
    assert client.post(reverse("request-create"),
                       _form(RoleFactory(), ProjectFactory())).status_code == 403
    assert not ResourceRequest.objects.exists()


def test_edit_replaces_skills_and_cancel(client, resource_manager):
    demand = ResourceRequestFactory()
    skill = SkillFactory(name="Go")
    client.force_login(resource_manager.user)
    url = reverse("request-edit", args=[demand.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = _form(demand.role, demand.project, skills=[(skill, 5)], hours_per_week="16",
                 version=demand.version)
    assert client.post(url, data).status_code == 302
    demand.refresh_from_db()
    assert demand.hours_per_week == Decimal("16.00")
    assert list(demand.required_skills.values_list("skill__name", "min_level")) == [("Go", 5)]
    assert client.post(url, {"action": "cancel"}).status_code == 302
    demand.refresh_from_db()
    assert demand.status == "cancelled"
    refused = client.post(url, data)
    assert refused.status_code == 400
    assert refused.context["form"].errors


def test_edit_with_stale_version_writes_nothing(client, resource_manager):
    demand = ResourceRequestFactory()
    client.force_login(resource_manager.user)
    data = _form(demand.role, demand.project, hours_per_week="8", version="19990101T000000.0")
    response = client.post(reverse("request-edit", args=[demand.pk]), data)
    assert response.status_code == 400
    demand.refresh_from_db()
    assert demand.hours_per_week == Decimal("40.00")


def test_project_manager_cannot_edit_another_managers_request(client, project_manager):
    demand = ResourceRequestFactory()
    client.force_login(project_manager.user)
    url = reverse("request-edit", args=[demand.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "cancel"}).status_code == 404
    demand.refresh_from_db()
    assert demand.status == "open"


def test_board_links_new_request(client, resource_manager):
    client.force_login(resource_manager.user)
    page = client.get(reverse("staffing-board"))
    assert reverse("request-create").encode() in page.content
