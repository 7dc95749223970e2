"""Skills: proposed by the person, confirmed by their manager, never by themselves."""

from datetime import date

import pytest

from psa.common.errors import DomainError, StateConflictError
from resourcing.errors import NotAllowedError
from resourcing.models import Certification, PersonSkill, Skill
from resourcing.services import (
    certification_add,
    person_skill_confirm,
    person_skill_set,
    skill_create,
)
from tests.psa.factories import person_with_role
from tests.resourcing.factories import SkillFactory

pytestmark = pytest.mark.django_db

PROPOSED, CONFIRMED = PersonSkill.Status.PROPOSED, PersonSkill.Status.CONFIRMED


@pytest.fixture
def team():
    manager = person_with_role("project_manager")
    member = person_with_role("consultant", manager=manager)
    stranger = person_with_role("consultant")
    return manager, member, stranger


def test_skill_create_makes_its_category_and_refuses_duplicates(resource_manager):
    skill = skill_create(actor=resource_manager.user, category="Data", name="dbt")
    assert skill.category.name == "Data"
    with pytest.raises(DomainError):
        skill_create(actor=resource_manager.user, category="Data", name="DBT")
    assert Skill.objects.count() == 1


def test_person_proposes_and_manager_confirms(team):
    manager, member, _ = team
    skill = SkillFactory()
    held = person_skill_set(actor=member.user, person=member, skill=skill, level=3)
    assert held.status == PROPOSED
    with pytest.raises(NotAllowedError):
        person_skill_confirm(actor=member.user, person_skill=held)
    confirmed = person_skill_confirm(actor=manager.user, person_skill=held)
    assert (confirmed.status, confirmed.confirmed_by) == (CONFIRMED, manager.user)
    with pytest.raises(StateConflictError):
        person_skill_confirm(actor=manager.user, person_skill=confirmed)


def test_a_changed_level_goes_back_to_proposed(team):
    manager, member, _ = team
    held = person_skill_set(actor=member.user, person=member, skill=SkillFactory(), level=2)
    person_skill_confirm(actor=manager.user, person_skill=held)
    same = person_skill_set(actor=member.user, person=member, skill=held.skill, level=2)
    assert same.status == CONFIRMED
    raised = person_skill_set(actor=member.user, person=member, skill=held.skill, level=4)
    assert (raised.level, raised.status, raised.confirmed_by) == (4, PROPOSED, None)


def test_strangers_cannot_set_or_confirm(team):
    manager, member, stranger = team
    with pytest.raises(NotAllowedError):
        person_skill_set(actor=stranger.user, person=member, skill=SkillFactory(), level=3)
    assert not PersonSkill.objects.exists()
    held = person_skill_set(actor=manager.user, person=member, skill=SkillFactory(), level=3)
    with pytest.raises(NotAllowedError):
        person_skill_confirm(actor=stranger.user, person_skill=held)


def test_even_staffing_never_confirms_their_own_skill(resource_manager):
    held = person_skill_set(actor=resource_manager.user, person=resource_manager,
                            skill=SkillFactory(), level=5)
    with pytest.raises(NotAllowedError):
        person_skill_confirm(actor=resource_manager.user, person_skill=held)


def test_level_range_is_checked(team):
    _, member, _ = team
    with pytest.raises(DomainError):
        person_skill_set(actor=member.user, person=member, skill=SkillFactory(), level=6)


def test_certification_add_rules(team):
    manager, member, stranger = team
    cert = certification_add(actor=manager.user, person=member, name="AWS SA Pro",
                             issued_date=date(2025, 1, 1), expires_date=date(2028, 1, 1))
    assert cert.is_valid_on(date(2026, 1, 1))
    with pytest.raises(DomainError):
        certification_add(actor=member.user, person=member, name="X",
                          issued_date=date(2025, 1, 1), expires_date=date(2024, 1, 1))
    with pytest.raises(NotAllowedError):
        certification_add(actor=stranger.user, person=member, name="Y",
                          issued_date=date(2025, 1, 1))
    assert Certification.objects.count() == 1
