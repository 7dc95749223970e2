"""CSRF: every form a page renders carries the token, and a POST without it is refused.

Pages rely on Django's CsrfViewMiddleware; HTMX requests carry the token in the
`X-CSRFToken` header that templates/base.html puts on `<body hx-headers>`. The API refuses
a session-authenticated write without the token (DRF's SessionAuthentication), while a bearer
token, which a browser never sends by itself, needs none.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.test import Client

from psa import roles
from psa.models import Expense, TimeEntry
from resourcing.models import Skill
from tests.security import probes as p
from tests.security.conftest import Firm
from tests.security.expect import ALLOW, expected

pytestmark = pytest.mark.django_db

FORM_WALKERS = (roles.ADMINISTRATOR, roles.CONSULTANT)  # between them, every form there is


class _Forms(HTMLParser):
    """The POST forms of a page: (action, has a csrfmiddlewaretoken input)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[list] = []
        self._open: list | None = None
        self.hx_writes = 0
        self.hx_headers = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "body":
            self.hx_headers = found.get("hx-headers") or ""
        if any(f"hx-{verb}" in found for verb in ("post", "put", "patch", "delete")):
            self.hx_writes += 1
        if tag == "form" and (found.get("method") or "get").lower() == "post":
            self._open = [found.get("action") or "(this page)", False]
            self.forms.append(self._open)
        elif (tag == "input" and self._open is not None
              and found.get("name") == "csrfmiddlewaretoken" and found.get("value")):
            self._open[1] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


@pytest.mark.parametrize("role", FORM_WALKERS)
def test_every_page_form_carries_a_csrf_token(firm: Firm, role: str):
    principal = firm.principals[role]
    pages = [probe for probe in p.build_probes(firm.world, skip=set())
             if probe.method == "get" and not probe.is_api and probe.rule != p.PUBLIC
             and expected(principal, probe) == ALLOW]
    missing: list[str] = []
    forms_seen = 0

    for probe in pages:
        response = principal.client.get(probe.url)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        parser = _Forms()
        parser.feed(response.content.decode())
        forms_seen += len(parser.forms)
        missing += [f"{probe.url}: form to {action}" for action, ok in parser.forms if not ok]
        # A whole page with HTMX writes must hand htmx the token; a fragment inherits it.
        if (parser.hx_writes and "<body" in response.content.decode()
                and "X-CSRFToken" not in parser.hx_headers):
            missing.append(f"{probe.url}: hx-post without the X-CSRFToken header")

    assert forms_seen > 10
    assert not missing


@pytest.fixture
def strict(firm: Firm):
    """`strict(role)`: a browser signed in as the role whose POSTs must carry the token."""

    def make(role: str) -> Client:
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(firm.world.people[role].user)
        return browser

    return make


def _token(browser: Client, url: str) -> str:
    assert browser.get(url).status_code == 200
    return browser.cookies[settings.CSRF_COOKIE_NAME].value


class TestPostWithoutTokenIsRefused:
    def test_expense_form(self, firm, strict):
        browser = strict(roles.CONSULTANT)
        form = {"project": firm.world.own.project.pk, "expense_date": "2026-03-16",
                "category": "meals", "merchant": "Forged", "amount": "12.00",
                "currency": "USD"}
        before = Expense.objects.count()

        refused = browser.post("/expenses/new/", form)
        written = Expense.objects.count() - before
        token = _token(browser, "/expenses/new/")
        accepted = browser.post("/expenses/new/", {**form, "csrfmiddlewaretoken": token})

        assert refused.status_code == 403 and b"CSRF" in refused.content
        assert written == 0
        assert accepted.status_code == 302  # the refusal was the CSRF check, nothing else
        assert Expense.objects.filter(merchant="Forged").count() == 1

    def test_timesheet_autosave_needs_the_htmx_header(self, firm, strict):
        browser = strict(roles.CONSULTANT)
        url = f"/time/cell/{firm.world.own.task.pk}/2026-03-16/"
        before = TimeEntry.objects.count()

        refused = browser.post(url, {"hours": "2"}, headers={"HX-Request": "true"})
        token = _token(browser, "/time/")
        accepted = browser.post(url, {"hours": "2"},
                                headers={"HX-Request": "true", "X-CSRFToken": token})

        assert refused.status_code == 403 and b"CSRF" in refused.content
        assert accepted.status_code == 200
        assert TimeEntry.objects.count() == before + 1

    def test_skill_catalogue(self, strict):
        browser = strict(roles.ADMINISTRATOR)

        refused = browser.post("/skills/", {"name": "Forged skill", "category": "Cloud"})

        assert refused.status_code == 403 and b"CSRF" in refused.content
        assert not Skill.objects.filter(name="Forged skill").exists()

    def test_sign_in_form(self):
        browser = Client(enforce_csrf_checks=True)

        refused = browser.post("/accounts/login/", {"username": "x", "password": "y"})

        assert refused.status_code == 403 and b"CSRF" in refused.content


class TestApi:
    def test_session_authenticated_write_needs_the_token(self, firm, strict):
        browser = strict(roles.CONSULTANT)
        body = json.dumps({"task": firm.world.own.task.pk, "work_date": "2026-03-16",
                           "hours": "1.00"})
        before = TimeEntry.objects.count()

        refused = browser.post("/api/v1/time-entries/", body, content_type="application/json")

        assert refused.status_code == 403
        assert "CSRF" in refused.json()["errors"][0]["detail"]
        assert TimeEntry.objects.count() == before

    def test_bearer_token_write_needs_no_csrf_token(self, firm):
        principal = firm.principals[roles.CONSULTANT]
        api = Client(enforce_csrf_checks=True,
                     headers={"Authorization": principal.client.defaults["HTTP_AUTHORIZATION"]})
        body = json.dumps({"task": firm.world.own.task.pk, "work_date": "2026-03-16",
                           "hours": "1.00"})

        response = api.post("/api/v1/time-entries/", body, content_type="application/json")

        assert response.status_code == 201, response.content
