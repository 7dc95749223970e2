"""Shared fixtures: an API client and one user per role."""

import pytest
from rest_framework.test import APIClient

from psa import roles
from psa.common.tokens import api_token_create
from tests.psa.factories import person_with_role


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Factories give every user a password; PBKDF2 would spend most of the suite hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttle counters live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def _person(role: str):
    return person_with_role(role)


@pytest.fixture
def consultant(db):
    return _person(roles.CONSULTANT)


@pytest.fixture
def project_manager(db):
    return _person(roles.PROJECT_MANAGER)


@pytest.fixture
def resource_manager(db):
    return _person(roles.RESOURCE_MANAGER)


@pytest.fixture
def finance(db):
    return _person(roles.FINANCE)


@pytest.fixture
def executive(db):
    return _person(roles.EXECUTIVE)


@pytest.fixture
def administrator(db):
    return _person(roles.ADMINISTRATOR)


@pytest.fixture
def token_client(db):
    """`token_client(user)` → an APIClient authenticated with a fresh bearer token."""

    def make(user, scopes=None) -> APIClient:
        _, raw = api_token_create(user=user, name="test", scopes=scopes)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make
