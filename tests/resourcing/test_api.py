"""Resourcing's API: happy paths, errors in the error shape with nothing written, role matrix."""

from datetime import date
from decimal import Decimal

import pytest

from psa import roles
from psa.models import OutboxEvent, ProjectMember
from resourcing.models import Assignment, PersonSkill, ResourceRequest, Skill
from tests.psa.factories import PersonFactory, ProjectFactory, RoleFactory, person_with_role
from tests.resourcing.factories import (
    AssignmentFactory,
    PersonSkillFactory,
    ResourceRequestFactory,
    SkillFactory,
)

pytestmark = pytest.mark.django_db


def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["type"] in ("client_error", "validation_error")
    assert code in [error["code"] for error in body["errors"]], body
    return body["errors"]


def test_skills_list_and_create(token_client, resource_manager, consultant):
    client = token_client(resource_manager.user)
    response = client.post("/api/v1/skills/", {"category": "Cloud", "name": "Terraform"},
                           format="json")
    assert response.status_code == 201, response.content
    assert response.json()["category"] == "Cloud"
    listed = token_client(consultant.user).get("/api/v1/skills/").json()["results"]
    assert [row["name"] for row in listed] == ["Terraform"]
    refused = token_client(consultant.user).post("/api/v1/skills/",
                                                 {"category": "Cloud", "name": "K8s"},
                                                 format="json")
    _error(refused, 403, "permission_denied")
    assert Skill.objects.count() == 1


def test_person_skill_propose_and_confirm(token_client):
    manager = person_with_role(roles.PROJECT_MANAGER)
    member = person_with_role(roles.CONSULTANT, manager=manager)
    skill = SkillFactory()
    response = token_client(member.user).post(
        "/api/v1/person-skills/", {"person": member.pk, "skill": skill.pk, "level": 4},
        format="json")
    assert response.status_code == 201, response.content
    held = response.json()
    assert held["status"] == "proposed"
    own = token_client(member.user).post(f"/api/v1/person-skills/{held['id']}/confirm/")
    assert own.status_code == 403
    confirmed = token_client(manager.user).post(f"/api/v1/person-skills/{held['id']}/confirm/")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    changed = token_client(member.user).patch(f"/api/v1/person-skills/{held['id']}/",
                                              {"level": 5}, format="json")
    assert changed.status_code == 200 and changed.json()["status"] == "proposed"
    bad = token_client(member.user).patch(f"/api/v1/person-skills/{held['id']}/",
                                          {"level": 9}, format="json")
    _error(bad, 400, "max_value")
    assert PersonSkill.objects.get().level == 5


def test_resource_request_create_update_cancel(token_client, resource_manager):
    client = token_client(resource_manager.user)
    project, role, skill = ProjectFactory(), RoleFactory(), SkillFactory()
    body = {"project": project.pk, "role": role.pk, "hours_per_week": "32.00",
            "start_date": "2026-03-02", "end_date": "2026-04-24", "bill_rate": "150.0000",
            "skills": [{"skill": skill.pk, "min_level": 4}]}
    response = client.post("/api/v1/resource-requests/", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["skills"] == [{"skill": skill.pk, "min_level": 4,
                                  "requires_certification": False}]
    assert created["currency"] == project.currency
    patched = client.patch(f"/api/v1/resource-requests/{created['id']}/",
                           {"hours_per_week": "16.00"}, format="json")
    assert patched.status_code == 200 and patched.json()["hours_per_week"] == "16.00"
    cancelled = client.post(f"/api/v1/resource-requests/{created['id']}/cancel/")
    assert cancelled.json()["status"] == "cancelled"
    _error(client.post(f"/api/v1/resource-requests/{created['id']}/cancel/"), 409,
           "invalid_state")


def test_resource_request_errors_write_nothing(token_client, resource_manager):
    client = token_client(resource_manager.user)
    base = {"role": RoleFactory().pk, "hours_per_week": "32.00", "start_date": "2026-03-02",
            "end_date": "2026-04-24"}
    errors = _error(client.post("/api/v1/resource-requests/", base, format="json"), 400,
                    "invalid")
    assert errors[0]["attr"] == "project"
    _error(client.post("/api/v1/resource-requests/",
                       {**base, "project": ProjectFactory().pk, "end_date": "2026-03-01"},
                       format="json"), 400, "invalid")
    _error(client.post("/api/v1/resource-requests/",
                       {**base, "deal_name": "Acme", "probability": "140"}, format="json"),
           400, "max_value")
    assert not ResourceRequest.objects.exists()


def test_project_manager_requests_only_for_own_projects(token_client, project_manager):
    client = token_client(project_manager.user)
    body = {"role": RoleFactory().pk, "hours_per_week": "20.00", "start_date": "2026-03-02",
            "end_date": "2026-03-27"}
    own = ProjectFactory(manager=project_manager)
    assert client.post("/api/v1/resource-requests/", {**body, "project": own.pk},
                       format="json").status_code == 201
    other = ProjectFactory()
    refused = client.post("/api/v1/resource-requests/", {**body, "project": other.pk},
                          format="json")
    assert refused.status_code == 400  # another's project is unknown to them
    assert ResourceRequest.objects.count() == 1


def test_assignment_overbooking_409_then_confirmed(token_client, resource_manager):
    client = token_client(resource_manager.user)
    person, project = PersonFactory(), ProjectFactory()
    AssignmentFactory(person=person, start_date=date(2026, 3, 16), end_date=date(2026, 3, 20),
                      hours_per_week=Decimal("30.00"))
    body = {"person": person.pk, "project": project.pk, "start_date": "2026-03-16",
            "end_date": "2026-03-27", "hours_per_week": "20.00", "booking": "hard"}
    errors = _error(client.post("/api/v1/assignments/", body, format="json"), 409, "overbooked")
    assert "week of 2026-03-16" in errors[0]["detail"]
    assert "2026-03-23" not in errors[0]["detail"]
    assert Assignment.objects.count() == 1
    assert not ProjectMember.objects.filter(person=person, project=project).exists()
    response = client.post("/api/v1/assignments/", {**body, "confirm_overbooking": True},
                           format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["overbooking_confirmed"] is True and created["role"] == person.role_id
    assert ProjectMember.objects.filter(person=person, project=project).exists()

    patched = client.patch(f"/api/v1/assignments/{created['id']}/",
                           {"hours_per_week": "8.00"}, format="json")
    assert patched.status_code == 200 and patched.json()["overbooking_confirmed"] is False
    deleted = client.delete(f"/api/v1/assignments/{created['id']}/?end_date=2026-03-01")
    assert deleted.status_code == 204
    assert not Assignment.objects.filter(pk=created["id"]).exists()
    assert OutboxEvent.objects.filter(type="assignment.ended").exists()


def test_assignment_beyond_termination_is_refused(token_client, resource_manager):
    person = PersonFactory(termination_date=date(2026, 3, 20))
    response = token_client(resource_manager.user).post("/api/v1/assignments/", {
        "person": person.pk, "project": ProjectFactory().pk, "start_date": "2026-03-16",
        "end_date": "2026-03-27", "hours_per_week": "20.00", "booking": "soft"}, format="json")
    errors = _error(response, 400, "beyond_employment")
    assert errors[0]["attr"] == "end_date"
    assert not Assignment.objects.exists()


def test_capacity_endpoint(token_client, resource_manager):
    person = PersonFactory()
    AssignmentFactory(person=person, start_date=date(2026, 3, 16), end_date=date(2026, 3, 20),
                      hours_per_week=Decimal("30.00"), booking="hard")
    AssignmentFactory(person=person, start_date=date(2026, 3, 16), end_date=date(2026, 3, 27),
                      hours_per_week=Decimal("5.00"), booking="soft")
    client = token_client(resource_manager.user)
    response = client.get(f"/api/v1/capacity/?person={person.pk}&start=2026-03-16"
                          f"&end=2026-03-29")
    assert response.status_code == 200, response.content
    assert response.json() == [
        {"person": person.pk, "week_start": "2026-03-16", "capacity": "40.00", "hard": "30.00",
         "soft": "5.00", "available": "10.00", "overbooked": False},
        {"person": person.pk, "week_start": "2026-03-23", "capacity": "40.00", "hard": "0.00",
         "soft": "5.00", "available": "40.00", "overbooked": False},
    ]
    _error(client.get("/api/v1/capacity/?person=x&start=2026-03-16&end=2026-03-29"), 400,
           "invalid")
    _error(client.get(f"/api/v1/capacity/?person={person.pk}&start=2026-03-16"), 400,
           "required")


LIST_PERMS = {
    "/api/v1/skills/": "resourcing.view_skill",
    "/api/v1/person-skills/": "resourcing.view_personskill",
    "/api/v1/resource-requests/": "resourcing.view_resourcerequest",
    "/api/v1/assignments/": "resourcing.view_assignment",
}


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize("url", sorted(LIST_PERMS))
def test_role_matrix_for_lists(token_client, role, url):
    person = person_with_role(role)
    managed = ProjectFactory(manager=person)
    ResourceRequestFactory(project=managed)
    ResourceRequestFactory()
    AssignmentFactory(person=person, project=ProjectFactory())
    AssignmentFactory()
    PersonSkillFactory()
    response = token_client(person.user).get(url)
    scope = roles.MATRIX[LIST_PERMS[url]].get(role)
    if scope is None:
        assert response.status_code == 403, response.content
        return
    assert response.status_code == 200, response.content
    count = len(response.json()["results"])
    if url == "/api/v1/resource-requests/":
        assert count == (2 if scope == roles.ALL else 1)
    elif url == "/api/v1/assignments/":
        expected = {roles.ALL: 2, roles.OWN: 1}[scope]
        assert count == expected
    else:
        assert count >= 1


@pytest.mark.parametrize("role", roles.ROLES)
def test_role_matrix_for_capacity(token_client, role):
    person = person_with_role(role)
    response = token_client(person.user).get(
        f"/api/v1/capacity/?person={person.pk}&start=2026-03-16&end=2026-03-22")
    allowed = role in roles.MATRIX["resourcing.view_capacity"]
    assert response.status_code == (200 if allowed else 403), response.content
