"""The skills catalogue, people's skills with levels, and certifications."""

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from psa.models.base import BaseModel


class SkillCategory(BaseModel):
    """A group of skills in the catalogue (Cloud, Data, Security, …)."""

    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "skill categories"

    def __str__(self) -> str:
        return self.name


class Skill(BaseModel):
    """One skill of the catalogue that requests can require and people can hold."""

    category = models.ForeignKey(SkillCategory, on_delete=models.PROTECT, related_name="skills")
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "name"]

    def __str__(self) -> str:
        return self.name


class PersonSkill(BaseModel):
    """A person's level (1 to 5) in a skill: proposed by the person, confirmed by their manager."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        CONFIRMED = "confirmed", _("Confirmed")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PROPOSED: frozenset({Status.CONFIRMED}),
        Status.CONFIRMED: frozenset({Status.PROPOSED}),  # a changed level needs confirming again
    }

    person = models.ForeignKey("psa.Person", on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="holders")
    level = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status, default=Status.PROPOSED,
                              db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+")

    class Meta:
        ordering = ["person", "skill"]
        constraints = [
            models.UniqueConstraint(fields=["person", "skill"],
                                    name="resourcing_personskill_person_skill_unique"),
            models.CheckConstraint(condition=Q(level__gte=1) & Q(level__lte=5),
                                   name="resourcing_personskill_level_range"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.skill} {self.level}"

    def can_transition_to(self, target: str) -> bool:
        return target in self.TRANSITIONS[self.status]


class Certification(BaseModel):
    """A certificate a person holds, optionally proving a skill, valid until its expiry."""

    person = models.ForeignKey("psa.Person", on_delete=models.CASCADE,
                               related_name="certifications")
    name = models.CharField(max_length=200)
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="certifications")
    issuer = models.CharField(max_length=200, blank=True)
    issued_date = models.DateField()
    expires_date = models.DateField(null=True, blank=True, help_text=_("Last valid day."))

    class Meta:
        ordering = ["person", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_date__isnull=True) | Q(expires_date__gte=F("issued_date")),
                name="resourcing_certification_valid_dates"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.name}"

    def is_valid_on(self, day: object) -> bool:
        return self.issued_date <= day and (self.expires_date is None or day <= self.expires_date)
