"""Skills pages: my skills and certificates, a person's skills confirmed by their manager, the
catalogue; and the nested API `/api/v1/people/{id}/skills/`."""

from datetime import date

import pytest
from django.urls import reverse

from psa import roles
from resourcing.models import Certification, PersonSkill, Skill
from tests.psa.factories import person_with_role
from tests.resourcing.factories import PersonSkillFactory, SkillCategoryFactory, SkillFactory

pytestmark = pytest.mark.django_db


def _roles_with(perm):
    return sorted(role for role, scope in roles.MATRIX[perm].items() if scope)


def _roles_without(perm):
    return sorted(set(roles.ROLES) - set(_roles_with(perm)))


def test_my_skills_adds_a_proposed_level_and_a_changed_level_goes_back_to_proposed(
        client, consultant):
    skill = SkillFactory(name="Kubernetes")
    client.force_login(consultant.user)
    response = client.post(reverse("my-skills"), {"action": "level", "skill": skill.pk,
                                                  "level": 3})
    assert response.status_code == 302
    held = PersonSkill.objects.get(person=consultant, skill=skill)
    assert (held.level, held.status) == (3, "proposed")
    held.status = "confirmed"
    held.save()
    client.post(reverse("my-skills"), {"action": "level", "skill": skill.pk, "level": 4})
    held.refresh_from_db()
    assert (held.level, held.status) == (4, "proposed")
    page = client.get(reverse("my-skills"))
    assert page.status_code == 200
    assert b"Kubernetes" in page.content and b"Proposed" in page.content


def test_my_skills_level_out_of_range_shows_error_beside_field_and_writes_nothing(
        client, consultant):
    skill = SkillFactory()
    client.force_login(consultant.user)
    response = client.post(reverse("my-skills"), {"action": "level", "skill": skill.pk,
                                                  "level": 9})
    assert response.status_code == 400
    assert "level" in response.context["level_form"].errors
    assert not PersonSkill.objects.exists()


def test_inactive_skill_refused_by_the_service_with_its_sentence(client, consultant):
    skill = SkillFactory(is_active=False)
    client.force_login(consultant.user)
    response = client.post(reverse("my-skills"), {"action": "level", "skill": skill.pk,
                                                  "level": 2})
    assert response.status_code == 400
    assert response.context["level_form"].errors
    assert not PersonSkill.objects.exists()


def test_certificate_added_with_expiry_and_bad_dates_refused(client, consultant):
    client.force_login(consultant.user)
    bad = client.post(reverse("my-skills"), {"action": "certification", "name": "CKA",
                                             "issued_date": "2026-01-10",
                                             "expires_date": "2025-01-10"})
    assert bad.status_code == 400
    assert "expires_date" in bad.context["cert_form"].errors
    assert not Certification.objects.exists()
    ok = client.post(reverse("my-skills"), {"action": "certification", "name": "CKA",
                                            "issuer": "CNCF", "issued_date": "2026-01-10",
                                            "expires_date": "2029-01-09"})
    assert ok.status_code == 302
    cert = Certification.objects.get(person=consultant)
    assert cert.expires_date == date(2029, 1, 9)
    assert b"expires 2029-01-09" in client.get(reverse("my-skills")).content


def test_consultant_cannot_confirm_own_skill_but_their_manager_can(client, consultant):
    manager = person_with_role("project_manager")
    consultant.manager = manager
    consultant.save()
    held = PersonSkillFactory(person=consultant, status="proposed", level=4)
    url = reverse("person-skills", args=[consultant.pk])

    client.force_login(consultant.user)
    page = client.get(url)
    assert page.status_code == 200
    assert not any(row["can_confirm"] for row in page.context["rows"])
    refused = client.post(url, {"person_skill": held.pk})
    assert refused.status_code == 403
    held.refresh_from_db()
    assert held.status == "proposed"

    client.force_login(manager.user)
    page = client.get(url)
    assert [row["can_confirm"] for row in page.context["rows"]] == [True]
    assert b">Confirm</button>" in page.content
    assert client.post(url, {"person_skill": held.pk}).status_code == 302
    held.refresh_from_db()
    assert held.status == "confirmed" and held.confirmed_by == manager.user


def test_another_consultant_cannot_confirm(client, consultant):
    other = person_with_role("consultant")
    held = PersonSkillFactory(person=consultant, status="proposed")
    client.force_login(other.user)
    response = client.post(reverse("person-skills", args=[consultant.pk]),
                           {"person_skill": held.pk})
    assert response.status_code in (403, 404)
    held.refresh_from_db()
    assert held.status == "proposed"


@pytest.mark.parametrize("role", _roles_without("resourcing.confirm_personskill"))
def test_roles_without_confirm_are_refused(client, role):
    person = person_with_role(role)
    target = person_with_role("consultant", manager=person)
    held = PersonSkillFactory(person=target, status="proposed")
    client.force_login(person.user)
    response = client.post(reverse("person-skills", args=[target.pk]),
                           {"person_skill": held.pk})
    assert response.status_code == 403
    held.refresh_from_db()
    assert held.status == "proposed"


@pytest.mark.parametrize("role", _roles_without("resourcing.add_personskill"))
def test_roles_without_add_personskill_cannot_post_my_skills(client, role):
    person = person_with_role(role)
    skill = SkillFactory()
    client.force_login(person.user)
    response = client.post(reverse("my-skills"), {"action": "level", "skill": skill.pk,
                                                  "level": 2})
    assert response.status_code == 403
    assert not PersonSkill.objects.exists()


def test_catalogue_counts_holders_and_resource_manager_adds_a_skill(client, resource_manager):
    cloud = SkillCategoryFactory(name="Cloud")
    aws = SkillFactory(name="AWS", category=cloud)
    PersonSkillFactory(skill=aws)
    PersonSkillFactory(skill=aws)
    client.force_login(resource_manager.user)
    page = client.get(reverse("skill-catalogue"))
    assert page.status_code == 200
    assert [s.holders_count for s in page.context["categories"]["Cloud"]] == [2]
    assert page.context["form"] is not None
    response = client.post(reverse("skill-catalogue"), {"category": "Data", "name": "dbt"})
    assert response.status_code == 302
    assert Skill.objects.get(name="dbt").category.name == "Data"
    duplicate = client.post(reverse("skill-catalogue"), {"category": "Data", "name": "DBT"})
    assert duplicate.status_code == 400
    assert "name" in duplicate.context["form"].errors
    assert Skill.objects.filter(name__iexact="dbt").count() == 1


@pytest.mark.parametrize("role", _roles_without("resourcing.add_skill"))
def test_catalogue_add_refused_without_add_skill(client, role):
    person = person_with_role(role)
    client.force_login(person.user)
    if "resourcing.view_skill" in {p for p, g in roles.MATRIX.items() if g.get(role)}:
        assert client.get(reverse("skill-catalogue")).context["form"] is None
    response = client.post(reverse("skill-catalogue"), {"category": "Data", "name": "dbt"})
    assert response.status_code == 403
    assert not Skill.objects.filter(name="dbt").exists()


def test_nested_api_lists_and_sets_a_persons_skills(token_client, consultant):
    skill = SkillFactory(name="Terraform")
    api = token_client(consultant.user)
    url = f"/api/v1/people/{consultant.pk}/skills/"
    created = api.post(url, {"skill": skill.pk, "level": 2}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "proposed"
    assert created.json()["person"] == consultant.pk
    listed = api.get(url)
    assert listed.status_code == 200
    assert [row["skill_name"] for row in listed.json()["results"]] == ["Terraform"]
    bad = api.post(url, {"skill": skill.pk, "level": 7}, format="json")
    assert bad.status_code == 400
    assert PersonSkill.objects.get().level == 2


def test_nested_api_refuses_setting_someone_elses_skill(token_client, consultant):
    other = person_with_role("consultant")
    skill = SkillFactory()
    api = token_client(consultant.user)
    response = api.post(f"/api/v1/people/{other.pk}/skills/", {"skill": skill.pk, "level": 2},
                        format="json")
    assert response.status_code in (403, 404)
    assert not PersonSkill.objects.exists()


def test_roles_that_may_not_add_skills_see_no_forms(client):
    from psa import roles
    from tests.psa.factories import person_with_role

    executive = person_with_role(roles.EXECUTIVE)
    client.force_login(executive.user)
    html = client.get("/skills/mine/").content.decode()
    assert 'id="level-form"' not in html
    assert "Add a certificate" not in html
