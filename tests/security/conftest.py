"""The walk's world, built once per test module inside a transaction rolled back at its end.

Each test still runs in its own savepoint (pytest-django's `django_db`), so a request that
writes despite a refusal cannot leak into the next test. Time starts at Wednesday
2026-03-18 (it ticks, so a write still moves `updated_at`), the week after the world's
time entries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import transaction
from django.test import Client, override_settings

from psa import roles
from psa.common.tokens import api_token_create
from psa.models import ApiToken
from tests.security.expect import Principal
from tests.security.world import World, build_world

ANONYMOUS = "anonymous"
SERVICE_TOKEN = "service_token"
ROLE_PRINCIPALS = tuple(role for role in roles.ROLES if role != roles.SERVICE)
PRINCIPALS = (*ROLE_PRINCIPALS, ANONYMOUS, SERVICE_TOKEN)
NOW = datetime(2026, 3, 18, 10, 0, tzinfo=UTC)


@dataclass
class Firm:
    world: World
    principals: dict[str, Principal]


def _principals(world: World) -> dict[str, Principal]:
    found: dict[str, Principal] = {}
    for role in ROLE_PRINCIPALS:
        user = world.people[role].user
        token, raw = api_token_create(user=user, name="walk")
        client = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {raw}"})
        client.force_login(user)
        found[role] = Principal(name=role, client=client, user=user, token=token,
                                has_session=True)
    found[ANONYMOUS] = Principal(name=ANONYMOUS, client=Client(raise_request_exception=False))
    service_token = ApiToken.objects.get(user=world.service_user)
    found[SERVICE_TOKEN] = Principal(
        name=SERVICE_TOKEN, user=world.service_user, token=service_token,
        client=Client(raise_request_exception=False,
                      headers={"Authorization": f"Bearer {world.service_token}"}))
    return found


@pytest.fixture(scope="module")
def firm(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Firm]:
    """The world and one reusable client per principal, for every test of the module."""
    media = tmp_path_factory.mktemp("media")
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=hashers,
                                                         MEDIA_ROOT=media),
          time_machine.travel(NOW, tick=True)):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            world = build_world()
            yield Firm(world=world, principals=_principals(world))
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
