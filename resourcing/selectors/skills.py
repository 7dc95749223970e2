"""Reads of the skills catalogue, people's skills and certifications, scoped to the actor."""

from django.db.models import QuerySet

from psa.rules import UserLike, visible
from resourcing.models import Certification, PersonSkill, Skill


def skill_list(*, actor: UserLike) -> QuerySet[Skill]:
    """The catalogue, with each skill's category."""
    return visible(Skill.objects.select_related("category"), actor, "resourcing.view_skill")


def person_skill_list(*, actor: UserLike) -> QuerySet[PersonSkill]:
    """People's skills the actor may see."""
    return visible(PersonSkill.objects.select_related("skill"), actor,
                   "resourcing.view_personskill")


def certification_list(*, actor: UserLike) -> QuerySet[Certification]:
    """Certifications, visible to whoever may see people's skills."""
    return visible(Certification.objects.all(), actor, "resourcing.view_personskill")
