from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from psa import roles
from psa.rules import user_roles
from tests.psa.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def create(*scopes: str, username: str = "erp") -> str:
    out = StringIO()
    call_command("create_service_account", username, *[f"--scope={s}" for s in scopes],
                 stdout=out)
    return out.getvalue().strip()


def test_service_account_token_is_limited_to_its_scopes():
    raw = create("psa.view_project")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    ProjectFactory()
    assert client.get("/api/v1/projects/").status_code == 200
    assert client.get("/api/v1/clients/").status_code == 403


def test_service_account_cannot_sign_in_to_pages():
    create("psa.view_project")
    from django.contrib.auth.models import User

    user = User.objects.get(username="erp")
    assert not user.has_usable_password()
    assert user_roles(user) == frozenset({roles.SERVICE})


def test_unknown_scope_and_taken_name_are_refused():
    with pytest.raises(CommandError, match="Unknown scopes"):
        create("psa.fly_to_the_moon")
    create("psa.view_project")
    with pytest.raises(CommandError, match="taken"):
        create("psa.view_project")
    with pytest.raises(CommandError, match="at least one"):
        call_command("create_service_account", "nobody")


def test_admin_issues_a_token_shown_once(client):
    from psa.models import ApiToken
    from tests.psa.factories import UserFactory

    admin_user = UserFactory(is_staff=True, is_superuser=True)
    owner = UserFactory(role="finance")
    client.force_login(admin_user)
    response = client.post("/admin/psa/apitoken/add/", {
        "user": owner.pk, "name": "erp sync", "scopes_text": "psa.view_project\n"}, follow=True)
    assert response.status_code == 200
    token = ApiToken.objects.get(user=owner, name="erp sync")
    assert token.scopes == ["psa.view_project"]
    shown = [str(m) for m in response.context["messages"]]
    raw = shown[0].rsplit(" ", 1)[1]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/projects/").status_code == 200
    assert api.get("/api/v1/clients/").status_code == 403  # outside the token's scopes


def test_admin_refuses_unknown_scopes(client):
    from psa.models import ApiToken
    from tests.psa.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post("/admin/psa/apitoken/add/", {
        "user": UserFactory().pk, "name": "x", "scopes_text": "psa.nope"})
    assert "Unknown permissions: psa.nope" in response.content.decode()
    assert not ApiToken.objects.exists()
