"""Sign in, sign out, and the lockout after five failed attempts (django-axes)."""

import pytest
from django.conf import settings
from django.urls import reverse

from psa import roles
from tests.psa.factories import person_with_role

PASSWORD = "secret-pass-123"  # UserFactory's password


@pytest.mark.django_db
class TestSignIn:
    def test_correct_password_signs_in_and_lands_home(self, client):
        person = person_with_role(roles.CONSULTANT)

        response = client.post(reverse("login"),
                               {"username": person.user.username, "password": PASSWORD})

        assert response.status_code == 302
        assert response["Location"] == reverse("home")
        assert client.get(reverse("home")).status_code == 200

    def test_wrong_password_shows_the_error_beside_the_form(self, client):
        person = person_with_role(roles.CONSULTANT)

        response = client.post(reverse("login"),
                               {"username": person.user.username, "password": "nope"})

        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_sign_out_is_a_post_and_ends_the_session(self, client):
        person = person_with_role(roles.CONSULTANT)
        client.force_login(person.user)

        assert client.get(reverse("logout")).status_code == 405
        response = client.post(reverse("logout"))

        assert response.status_code == 302
        assert client.get(reverse("home")).status_code == 302

    def test_login_page_has_labelled_inputs(self, client):
        html = client.get(reverse("login")).content.decode()

        assert '<label for="id_username">' in html
        assert '<label for="id_password">' in html


@pytest.mark.django_db
def test_five_failures_lock_the_account_and_refuse_the_right_password(client):
    person = person_with_role(roles.CONSULTANT)
    username = person.user.username
    limit = settings.AXES_FAILURE_LIMIT

    for _ in range(limit - 1):
        response = client.post(reverse("login"), {"username": username, "password": "bad"})
        assert response.status_code == 200
    locked = client.post(reverse("login"), {"username": username, "password": "bad"})
    again = client.post(reverse("login"), {"username": username, "password": PASSWORD})

    for response in (locked, again):
        assert response.status_code == settings.AXES_HTTP_RESPONSE_CODE
        html = response.content.decode()
        assert "Sign-in is locked" in html
        assert "A correct password is refused too" in html
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_lockout_counts_per_client_address(client, settings):
    """One proxy in front: REMOTE_ADDR is the proxy's for everyone; the address it appended to
    X-Forwarded-For tells the clients apart, and what a client wrote there itself does not."""
    settings.TRUSTED_PROXY_COUNT = 1
    username = person_with_role(roles.CONSULTANT).user.username
    attacker = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.7"}
    owner = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.7, 198.51.100.20"}

    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": username, "password": "bad"}, **attacker)
    attacker_again = client.post(reverse("login"), {"username": username, "password": PASSWORD},
                                 **attacker)
    owner_signs_in = client.post(reverse("login"), {"username": username, "password": PASSWORD},
                                 **owner)

    assert attacker_again.status_code == settings.AXES_HTTP_RESPONSE_CODE
    assert owner_signs_in.status_code == 302
