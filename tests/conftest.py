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


def _role_fixture(role: str):
    """A fixture giving a Person whose login holds `role`."""

    @pytest.fixture
    def person(db):
        return person_with_role(role)

    person.__doc__ = f"A person in the {role} role."
    return person


# One fixture per role, named after it: consultant, project_manager, resource_manager, ...
consultant = _role_fixture(roles.CONSULTANT)
project_manager = _role_fixture(roles.PROJECT_MANAGER)
resource_manager = _role_fixture(roles.RESOURCE_MANAGER)
finance = _role_fixture(roles.FINANCE)
executive = _role_fixture(roles.EXECUTIVE)
administrator = _role_fixture(roles.ADMINISTRATOR)


@pytest.fixture
def token_client(db):
    """`token_client(user)` → an APIClient authenticated with a fresh bearer token."""

    def make(user, scopes=None) -> APIClient:
        _, raw = api_token_create(user=user, name="test", scopes=scopes)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make
