"""What each principal should get from each probe, derived from the role matrix.

The outcome comes from `psa.roles.scope_of` for the view's declared permission, the object
rules (`user.has_perm(perm, obj)`, psa/rules.py) for the row the URL points at, and the token's
scopes for the API; nothing here lists routes or roles by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from psa.models import ApiToken
from psa.roles import scope_of
from psa.rules import user_roles
from psa.views.approvals import APPROVE_PERMS
from tests.security import probes as p

ALLOW = "allowed"
LOGIN = "redirect to sign-in"
UNAUTHENTICATED = "401 in the error shape"
FORBIDDEN = "403"
REFUSED = "403 (a refused action on a visible row)"
HIDDEN = "403 or 404"
NOT_ALLOWED = "405"
ADMIN_LOGIN = "redirect to the admin sign-in"
ANSWERED = "answered, no 5xx"


@dataclass
class Principal:
    """Who walks: a role's signed-in person (pages by session, API by its own token), an
    anonymous visitor, or a service account's token with few scopes (API only)."""

    name: str
    client: Client
    user: User | None = None
    token: ApiToken | None = None
    has_session: bool = False

    @property
    def roles(self) -> frozenset[str]:
        return user_roles(self.user) if self.user is not None else frozenset()

    def holds(self, perm: str | None, *, via_api: bool) -> bool:
        """The role matrix grants `perm` (some rows at least), and the token allows it."""
        if perm is None or scope_of(self.roles, perm) is None:
            return False
        return not (via_api and self.token is not None and not self.token.allows(perm))

    def may(self, perm: str, obj: object) -> bool:
        return self.user is not None and self.user.has_perm(perm, obj)


def expected(principal: Principal, probe: p.Probe) -> str:
    """The outcome the role matrix asks for."""
    if probe.route.is_admin:
        staff = principal.has_session and principal.user is not None and principal.user.is_staff
        return ANSWERED if staff or probe.rule == p.PUBLIC else ADMIN_LOGIN
    if probe.rule == p.NOT_ALLOWED:
        return NOT_ALLOWED
    if probe.rule == p.WEBHOOK:
        return UNAUTHENTICATED  # no signature: refused whoever sends it
    if probe.rule == p.PUBLIC:
        return ALLOW
    signed_in = principal.token is not None if probe.is_api else principal.has_session
    if not signed_in:
        return UNAUTHENTICATED if probe.is_api else LOGIN
    if probe.rule == p.LOGIN:
        return ALLOW
    if probe.rule == p.ANY_APPROVER:
        return ALLOW if any(principal.holds(perm, via_api=probe.is_api)
                            for perm in APPROVE_PERMS) else FORBIDDEN
    if not principal.holds(probe.perm, via_api=probe.is_api):
        return FORBIDDEN
    if probe.obj is not None and probe.view_perm and not principal.may(probe.view_perm,
                                                                       probe.obj):
        return HIDDEN  # outside the role's OWN scope
    for perm, obj in probe.sub_perms:
        if not principal.may(perm, obj):
            return REFUSED
    return ALLOW


def refused_at_gate(principal: Principal, probe: p.Probe) -> bool:
    """Refused before the view reads any row: not signed in, or the permission not held."""
    if probe.rule != "perms":
        return False
    signed_in = principal.token is not None if probe.is_api else principal.has_session
    return not signed_in or not principal.holds(probe.perm, via_api=probe.is_api)


def is_denial(outcome: str) -> bool:
    return outcome not in (ALLOW, ANSWERED)


def _error_shape_problem(response: HttpResponse) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return "not JSON"
    errors = body.get("errors") if isinstance(body, dict) else None
    if body.get("type") != "client_error" or not errors:
        return f"not API.md's error shape: {str(body)[:120]}"
    if any(set(error) != {"code", "detail", "attr"} for error in errors):
        return f"error items not code/detail/attr: {errors}"
    return None


def verdict(outcome: str, probe: p.Probe, response: HttpResponse) -> str | None:
    """None when the response is what `outcome` asks for, else what is wrong."""
    status = response.status_code
    if status >= 500:
        return f"{status} server error"
    if outcome == ALLOW:
        top = 300 if probe.is_api else 400
        if 200 <= status < top or status in probe.ok_statuses:
            return None
        return f"{status}, expected success"
    if outcome == ANSWERED:
        return None
    if outcome == ADMIN_LOGIN:
        location = response.get("Location", "")
        if status == 302 and location.startswith(reverse("admin:login")):
            return None
        return f"{status} {location}, expected a redirect to the admin sign-in"
    if outcome == LOGIN:
        location = response.get("Location", "")
        if status == 302 and location.startswith(reverse("login")):
            return None
        return f"{status} {location}, expected a redirect to {reverse('login')}"
    if outcome == NOT_ALLOWED:
        return None if status == 405 else f"{status}, expected 405"
    wanted = {UNAUTHENTICATED: {401}, FORBIDDEN: {403}, REFUSED: {403},
              HIDDEN: {403, 404}}[outcome]
    if status not in wanted:
        return f"{status}, expected {outcome}"
    if probe.is_api:
        return _error_shape_problem(response)
    if outcome == FORBIDDEN and b"You may not open this page" not in response.content:
        return "403 without the 403 page (templates/403.html)"
    return None


# --- "Nothing was written": every table's row count and last change, in one query ----------

_SKIPPED_TABLES = {"django_session"}  # sign-in state, not business data


def _fingerprint_sql() -> str:
    quote = connection.ops.quote_name
    parts: list[str] = []
    seen: set[str] = set()
    for model in apps.get_models(include_auto_created=True):
        table = model._meta.db_table
        if model._meta.proxy or not model._meta.managed or table in seen:
            continue
        if table in _SKIPPED_TABLES or table.startswith("axes_"):
            continue
        seen.add(table)
        parts.append(f"(SELECT COUNT(*) FROM {quote(table)})")
        columns = {field.column for field in model._meta.local_concrete_fields}
        if "updated_at" in columns:
            parts.append(f"(SELECT MAX({quote('updated_at')}) FROM {quote(table)})")
    return "SELECT " + ", ".join(parts)


def db_fingerprint() -> tuple:
    """Row counts and latest `updated_at` of every table: equal before and after a refused
    request means it wrote nothing (the audit log counts updates of the other tables)."""
    with connection.cursor() as cursor:
        cursor.execute(_fingerprint_sql())
        return tuple(cursor.fetchone())
