"""Factories for resourcing: skills, people's skills, requests and assignments."""

from datetime import date
from decimal import Decimal

import factory

from resourcing import models
from tests.psa.factories import PersonFactory, ProjectFactory, RoleFactory


class SkillCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.SkillCategory
        django_get_or_create = ("name",)

    name = "Cloud"


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Skill
        django_get_or_create = ("name",)

    category = factory.SubFactory(SkillCategoryFactory)
    name = factory.Sequence(lambda n: f"Skill {n}")


class PersonSkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.PersonSkill

    person = factory.SubFactory(PersonFactory)
    skill = factory.SubFactory(SkillFactory)
    level = 3
    status = models.PersonSkill.Status.CONFIRMED


class CertificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Certification

    person = factory.SubFactory(PersonFactory)
    name = factory.Sequence(lambda n: f"Certificate {n}")
    issued_date = date(2025, 1, 1)
    expires_date = date(2027, 12, 31)


class ResourceRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ResourceRequest

    project = factory.SubFactory(ProjectFactory)
    role = factory.SubFactory(RoleFactory)
    hours_per_week = Decimal("40.00")
    start_date = date(2026, 3, 2)
    end_date = date(2026, 4, 24)
    bill_rate = Decimal("150.0000")
    currency = factory.SelfAttribute("project.currency")


class RequestSkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.RequestSkill

    request = factory.SubFactory(ResourceRequestFactory)
    skill = factory.SubFactory(SkillFactory)
    min_level = 3


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Assignment

    person = factory.SubFactory(PersonFactory)
    project = factory.SubFactory(ProjectFactory)
    role = factory.SelfAttribute("person.role")
    start_date = date(2026, 3, 2)
    end_date = date(2026, 4, 24)
    hours_per_week = Decimal("20.00")
    booking = models.Assignment.Booking.HARD
