"""Helpers for the page tests: a signed-in browser per role and a small world of rows."""

from dataclasses import dataclass

import pytest
from django.test import Client as BrowserClient

from psa import models
from tests.psa.factories import (
    MilestoneFactory,
    ProjectFactory,
    ProjectMemberFactory,
    TaskFactory,
    person_with_role,
)


@dataclass
class World:
    """A person with their own project (managed and staffed by them) and someone else's."""

    person: models.Person
    own_project: models.Project
    other_project: models.Project


def make_world(role: str) -> World:
    person = person_with_role(role)
    own = ProjectFactory(manager=person, name="Own cloud migration")
    ProjectMemberFactory(project=own, person=person)
    TaskFactory(project=own, name="Discovery workshops")
    MilestoneFactory(project=own, name="Design signed off")
    other = ProjectFactory(name="Someone else's audit")
    return World(person=person, own_project=own, other_project=other)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Factories hash a password per user; the slow default hasher adds nothing to these tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world_for(db):
    return make_world


@pytest.fixture
def browser_for(db):
    """`browser_for(person)` → a Django test client signed in as that person's user."""

    def make(person: models.Person) -> BrowserClient:
        browser = BrowserClient()
        browser.force_login(person.user)
        return browser

    return make
