"""Writes on the skills catalogue, people's skill levels and certifications.

A person proposes their own levels (or their manager sets them); only the person's manager
confirms a level, never the person themself; a changed level goes back to proposed.
"""

from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from psa.common.errors import DomainError, StateConflictError
from psa.models import Person
from psa.services.common import lock_for_change, save_validated
from resourcing.errors import NotAllowedError
from resourcing.models import Certification, PersonSkill, Skill, SkillCategory


def _ensure_allowed(actor: User, perm: str, obj: object, message: str) -> None:
    if not actor.has_perm(perm, obj):
        raise NotAllowedError(message)


@transaction.atomic
def skill_create(*, actor: User, category: SkillCategory | str, name: str,
                 description: str = "") -> Skill:
    """Add a skill to the catalogue; a category given by name is created if new."""
    if isinstance(category, str):
        if not category.strip():
            raise DomainError("Give the skill's category.", attr="category")
        category, _ = SkillCategory.objects.get_or_create(name=category.strip())
    if Skill.objects.filter(name__iexact=name.strip()).exists():
        raise DomainError(f"The catalogue already has a skill named {name.strip()}.",
                          code="unique", attr="name")
    skill = Skill(category=category, name=name.strip(), description=description)
    save_validated(skill)
    return skill


def _ensure_level(level: int) -> None:
    if not 1 <= level <= 5:
        raise DomainError("A skill level is from 1 to 5.", attr="level")


@transaction.atomic
def person_skill_set(*, actor: User, person: Person, skill: Skill, level: int) -> PersonSkill:
    """Set `person`'s level in `skill` (the person themself, their manager, or staffing).

    A new level, or a changed one, is `proposed` until the manager confirms it; setting the
    same level again changes nothing. Raises DomainError (level, inactive skill) or
    NotAllowedError.
    """
    _ensure_level(level)
    existing = (PersonSkill.objects.select_for_update(of=("self",))
                .filter(person=person, skill=skill).first())
    if existing is None:
        if not skill.is_active:
            raise DomainError(f"{skill.name} is no longer in use.", attr="skill")
        person_skill = PersonSkill(person=person, skill=skill, level=level)
        save_validated(person_skill)
        _ensure_allowed(actor, "resourcing.add_personskill", person_skill,
                        "Only the person, their manager or staffing may set their skills.")
        return person_skill
    _ensure_allowed(actor, "resourcing.change_personskill", existing,
                    "Only the person, their manager or staffing may change their skills.")
    if existing.level == level:
        return existing
    existing.level = level
    existing.status = PersonSkill.Status.PROPOSED
    existing.confirmed_at = None
    existing.confirmed_by = None
    save_validated(existing, update_fields=["level", "status", "confirmed_at", "confirmed_by"])
    return existing


@transaction.atomic
def person_skill_update(*, actor: User, person_skill: PersonSkill, level: int,
                        expected_version: str | None = None) -> PersonSkill:
    """Change a held skill's level (the API's PATCH); same rules as `person_skill_set`."""
    person_skill = lock_for_change(person_skill, expected_version=expected_version)
    return person_skill_set(actor=actor, person=person_skill.person, skill=person_skill.skill,
                            level=level)


@transaction.atomic
def person_skill_confirm(*, actor: User, person_skill: PersonSkill,
                         expected_version: str | None = None) -> PersonSkill:
    """Confirm a proposed level: the person's manager (or staffing), never the person themself.

    Raises NotAllowedError or StateConflictError (already confirmed).
    """
    person_skill = lock_for_change(person_skill, expected_version=expected_version)
    if person_skill.person.user_id is not None and person_skill.person.user_id == actor.pk:
        raise NotAllowedError("Nobody confirms their own skill level; their manager does.")
    _ensure_allowed(actor, "resourcing.confirm_personskill", person_skill,
                    "Only the person's manager confirms their skill levels.")
    if not person_skill.can_transition_to(PersonSkill.Status.CONFIRMED):
        raise StateConflictError("This level is already confirmed.", attr="status")
    person_skill.status = PersonSkill.Status.CONFIRMED
    person_skill.confirmed_at = timezone.now()
    person_skill.confirmed_by = actor
    save_validated(person_skill, update_fields=["status", "confirmed_at", "confirmed_by"])
    return person_skill


@transaction.atomic
def certification_add(*, actor: User, person: Person, name: str, issued_date: date,
                      skill: Skill | None = None, issuer: str = "",
                      expires_date: date | None = None) -> Certification:
    """Record a certificate `person` holds (the person, their manager, or staffing)."""
    if expires_date is not None and expires_date < issued_date:
        raise DomainError("The certificate expires before it was issued.", attr="expires_date")
    certification = Certification(person=person, name=name, skill=skill, issuer=issuer,
                                  issued_date=issued_date, expires_date=expires_date)
    save_validated(certification)
    _ensure_allowed(actor, "resourcing.add_personskill", certification,
                    "Only the person, their manager or staffing may add their certificates.")
    return certification
