"""A stolen API token: stored only as a digest, dead once revoked or expired, never more than
its user, and never a way into the pages. (No token and a made-up token: 401, already in
tests/psa/api/test_platform.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from psa import roles
from psa.common.tokens import api_token_create, api_token_revoke, token_digest
from psa.models import ApiToken
from tests.psa.factories import person_with_role

pytestmark = pytest.mark.django_db

PROJECTS = "/api/v1/projects/"


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def assert_refused_401(response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "client_error"
    assert body["errors"][0]["code"] == "authentication_failed"


@pytest.fixture
def finance_token():
    user = person_with_role(roles.FINANCE).user
    return api_token_create(user=user, name="erp")


def test_only_the_digest_is_stored(finance_token):
    token, raw = finance_token

    stored = ApiToken.objects.filter(pk=token.pk).values().get()

    assert raw not in {str(value) for value in stored.values()}
    assert stored["digest"] == token_digest(raw) and len(stored["digest"]) == 64
    assert raw.startswith("psa_") and len(raw) > 40  # 32 random bytes


def test_a_revoked_token_is_refused(finance_token):
    token, raw = finance_token
    assert bearer(raw).get(PROJECTS).status_code == 200

    api_token_revoke(token=token)

    assert_refused_401(bearer(raw).get(PROJECTS))


def test_an_expired_token_is_refused(finance_token):
    token, raw = finance_token
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_refused_401(bearer(raw).get(PROJECTS))


def test_a_new_token_expires_after_the_default_lifetime(settings, time_machine):
    settings.API_TOKEN_DAYS = 90
    time_machine.move_to(timezone.now(), tick=False)
    user = person_with_role(roles.FINANCE).user

    token, raw = api_token_create(user=user, name="erp")

    assert token.expires_at == timezone.now() + timedelta(days=90)
    time_machine.shift(timedelta(days=90, seconds=1))
    assert_refused_401(bearer(raw).get(PROJECTS))


def test_a_token_that_never_expires_must_be_asked_for(capsys):
    from django.core.management import call_command

    user = person_with_role(roles.FINANCE).user

    call_command("create_api_token", user.username, "--days", "0")

    assert ApiToken.objects.get(user=user).expires_at is None
    assert "never expires" in capsys.readouterr().err


def test_a_deactivated_users_token_is_refused(finance_token):
    token, raw = finance_token
    token.user.is_active = False
    token.user.save(update_fields=["is_active"])

    assert_refused_401(bearer(raw).get(PROJECTS))


def test_a_token_never_opens_a_page(finance_token):
    _, raw = finance_token

    response = bearer(raw).get("/projects/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_token_cannot_exceed_its_user(finance_token):
    """Scopes narrow a token; naming a permission the role lacks grants nothing."""
    user = person_with_role(roles.CONSULTANT).user
    _, raw = api_token_create(user=user, name="wide", scopes=["psa.view_auditlog",
                                                                "psa.view_contract"])

    assert bearer(raw).get("/api/v1/contracts/").status_code == 403
