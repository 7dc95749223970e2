"""Resourcing's tables; import models from here."""

from resourcing.models.skills import Certification, PersonSkill, Skill, SkillCategory
from resourcing.models.staffing import Assignment, RequestSkill, ResourceRequest

__all__ = ["Assignment", "Certification", "PersonSkill", "RequestSkill", "ResourceRequest",
           "Skill", "SkillCategory"]
