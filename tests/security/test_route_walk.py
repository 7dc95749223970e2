"""Walk every URL of the project as every role, anonymously and with a scoped service token.

For each route the expectation is derived from the permission its view declares
(`required_perms`) and the role matrix (`psa.roles.scope_of`, the object rules), so a view
that forgets its check, or enforces another permission than it declares, fails here. (A wrong
declaration agrees with itself; its dangerous kind, a write gated by a read permission, fails
`test_writes_behind_a_view_permission_recheck_a_write_permission`.)

- anonymous: a page redirects to sign-in; the API answers 401 in API.md's error shape;
- a role without the permission: 403 (the 403 page; the API's error shape);
- a role with it: success, never 401/403/5xx; 403 or 404 when the row is outside its OWN
  scope (each object route is walked on a row the principals take part in and on a stranger's);
- unsafe methods (POST, PATCH, DELETE) are sent only by principals the matrix refuses, and
  must be refused with nothing written to the database; no GET may write either.

A route that is neither walked nor listed in UNWALKED fails `test_every_route_is_walked`.
"""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.views import View

from psa.views.home import AuditListView
from tests.security import probes as p
from tests.security.conftest import ANONYMOUS, PRINCIPALS, Firm
from tests.security.expect import (
    ANSWERED,
    Principal,
    db_fingerprint,
    expected,
    is_denial,
    refused_at_gate,
    verdict,
)
from tests.security.known_defects import KNOWN_DEFECTS, explain
from tests.security.routes import Route, all_routes, fill

pytestmark = pytest.mark.django_db

# Public pages answer everyone alike; the anonymous visitor walks them (the API schema alone
# takes seconds to build).
PUBLIC_WALKERS = (ANONYMOUS,)

# Routes the walk does not request, with the reason. Keep it empty if you can.
UNWALKED: dict[str, str] = {}

# Requests whose wrong answer is a known defect (tests/security/known_defects.py):
# (principal, METHOD, route key, label) -> the defect's key. They are left out of the
# per-principal failures; `test_no_known_defects_remain` keeps every defect in sight.
WALK_DEFECTS: dict[tuple[str, str, str, str], str] = {}


def send(principal: Principal, probe: p.Probe) -> HttpResponse:
    client = principal.client
    if probe.method == "get":
        return client.get(probe.url)
    if probe.method == "delete":
        return client.delete(probe.url)
    if probe.is_api:
        return client.generic(probe.method.upper(), probe.url, json.dumps(probe.data),
                              content_type="application/json")
    return client.post(probe.url, probe.data)


def worth_sending(principal: Principal, probe: p.Probe, outcome: str) -> bool:
    """Leave out requests that cannot tell anything new, to keep the walk quick."""
    if probe.is_unsafe and not is_denial(outcome):
        return False  # only refusals are walked with unsafe methods
    if probe.foreign and refused_at_gate(principal, probe):
        return False  # refused before any row is read: the own row's probe says it all
    return probe.rule != p.PUBLIC or principal.name in PUBLIC_WALKERS


def walk(principal: Principal, probes: list[p.Probe]) -> tuple[list[str], list[tuple], int]:
    """Send every probe worth sending; the failures, the known defects seen, how many sent.

    The database's fingerprint is taken after every request, so any request that writes is
    seen: a refused one must not, and neither may a GET (safe methods change nothing).
    """
    failures: list[str] = []
    known_seen: list[tuple] = []
    sent = 0
    last = db_fingerprint()
    for probe in probes:
        outcome = expected(principal, probe)
        if not worth_sending(principal, probe, outcome):
            continue
        response = send(principal, probe)
        sent += 1
        problem = verdict(outcome, probe, response)
        now = db_fingerprint()
        if now != last and (probe.method == "get" or is_denial(outcome)):
            problem = f"{problem or response.status_code}; and it wrote to the database"
        last = now
        key = (principal.name, probe.method.upper(), probe.route.key, probe.label)
        if problem is None:
            continue
        if key in WALK_DEFECTS:
            known_seen.append(key)
            continue
        error = getattr(response, "exc_info", None)
        cause = f" [{error[0].__name__}: {error[1]}]" if error else ""
        failures.append(f"{probe} as {principal.name}: {problem} "
                        f"(expected: {outcome}){cause}")
    return failures, known_seen, sent


@pytest.fixture(scope="module")
def route_probes(firm: Firm) -> list[p.Probe]:
    return p.build_probes(firm.world, skip=set(UNWALKED))


@pytest.mark.parametrize("name", PRINCIPALS)
def test_every_route_answers_as_the_role_matrix_says(firm, route_probes, name):
    failures, known_seen, sent = walk(firm.principals[name], route_probes)

    assert sent > 100
    assert set(known_seen) == {case for case in WALK_DEFECTS if case[0] == name}, (
        "a known defect no longer shows: delete it from WALK_DEFECTS and KNOWN_DEFECTS")
    assert not failures, f"{len(failures)} of {sent} requests wrong:\n" + "\n".join(failures)


# --- Django's admin: staff only -------------------------------------------------------------

ADMIN_WRITES = ("add/", "change/", "delete/", "password/")
# The admin's sign-in page answers everyone; its sign-out sends non-staff to the admin index.
ADMIN_PUBLIC = {"admin/login/", "admin/logout/"}


def _admin_kwargs(firm: Firm, route: Route) -> dict[str, object]:
    key = route.key
    if key == "admin/r/<path:content_type_id>/<path:object_id>/":
        project = firm.world.own.project
        return {"content_type_id": ContentType.objects.get_for_model(project).pk,
                "object_id": project.pk}
    if "app_label" in route.kwarg_names:
        return {"app_label": "psa"}
    if "url" in route.kwarg_names:
        return {"url": "no-such-page/"}
    if "object_id" in route.kwarg_names or "id" in route.kwarg_names:
        app_label, model_name = key.split("/")[1:3]
        row = apps.get_model(app_label, model_name).objects.order_by("pk").first()
        pk = row.pk if row is not None else 0
        return {"object_id": pk, "id": pk}
    return {}


def admin_probes(firm: Firm) -> list[p.Probe]:
    probes = []
    for route in all_routes().values():
        if not route.is_admin or route.key in UNWALKED:
            continue
        url = fill(route.key, _admin_kwargs(firm, route))
        rule = p.PUBLIC if route.key in ADMIN_PUBLIC else p.ADMIN
        probes.append(p.Probe(route=route, method="get", url=url, perm=None, rule=rule))
        if route.key.endswith(ADMIN_WRITES):
            probes.append(p.Probe(route=route, method="post", url=url, perm=None,
                                  rule=p.ADMIN))
    return probes


@pytest.mark.parametrize("name", PRINCIPALS)
def test_admin_is_for_staff_only(firm, name):
    probes = admin_probes(firm)
    principal = firm.principals[name]

    failures, _, sent = walk(principal, probes)

    assert sent > 150
    assert not failures, f"{len(failures)} of {sent} requests wrong:\n" + "\n".join(failures)
    index = next(probe for probe in probes if probe.route.key == "admin/")
    assert (expected(principal, index) == ANSWERED) is (name == "administrator")


# --- The inventory --------------------------------------------------------------------------

def test_every_route_is_walked(firm, route_probes):
    """A new route must be walked (fill it in probes.PAGE_FILLS) or listed in UNWALKED."""
    walked = {probe.route.key for probe in route_probes}
    walked |= {probe.route.key for probe in admin_probes(firm)}
    routes = set(all_routes())

    assert not routes - walked - set(UNWALKED), (
        "routes nobody walks: fill their URL parameters in probes.PAGE_FILLS (or API_ROWS), "
        "give their view required_perms (or a rule in probes.SPECIAL_RULES), or list them "
        "in UNWALKED with the reason")
    assert not set(UNWALKED) & walked, "listed as unwalked but walked"
    assert not set(UNWALKED) - routes, "UNWALKED names routes that no longer exist"


def test_every_filled_url_reaches_its_route(firm, route_probes):
    """A filled URL resolving elsewhere (a shadowing pattern) would test the wrong view."""

    def route_of(url: str) -> str:
        try:
            return resolve(url.split("?")[0]).route
        except Resolver404:
            return "(nothing)"

    everything = [*route_probes, *admin_probes(firm)]
    wrong = [f"{probe.url} -> {route_of(probe.url)}" for probe in everything
             if route_of(probe.url) != probe.route.key]
    assert not wrong


def test_writes_behind_a_view_permission_recheck_a_write_permission(route_probes):
    """A POST/PATCH/DELETE gated only by a `view_*` permission is a write anyone who may read
    could make, unless the view checks a write permission per sub-action; the walk must know
    that sub-action's permission (probes.PAGE_FILLS) for every request it sends there."""
    unchecked = sorted({
        str(probe) for probe in route_probes
        if probe.is_unsafe and probe.perm and probe.perm.split(".")[1].startswith("view_")
        and not any(not perm.split(".")[1].startswith("view_") for perm, _ in probe.sub_perms)})
    assert not unchecked


@pytest.mark.parametrize("sabotage", ["forgets its check", "checks another permission"])
def test_the_walk_catches_a_broken_view(firm, route_probes, monkeypatch, sabotage):
    """The walk can fail: break the audit page's check and the consultant gets in."""
    if sabotage == "forgets its check":
        monkeypatch.setattr(AuditListView, "dispatch", View.dispatch)
    else:
        monkeypatch.setattr(AuditListView, "required_perms", {"get": "psa.view_role"})
    audit = [probe for probe in route_probes if probe.route.key == "audit/"]

    failures, _, sent = walk(firm.principals["consultant"], audit)

    assert sent == 1
    assert failures and "200, expected 403" in failures[0]


def test_no_known_defects_remain():
    """Fails while the security tests know of defects in product code."""
    assert set(WALK_DEFECTS.values()) <= set(KNOWN_DEFECTS)
    assert not KNOWN_DEFECTS, f"{len(KNOWN_DEFECTS)} known defects:\n" + "\n".join(
        explain(key) for key in KNOWN_DEFECTS)
