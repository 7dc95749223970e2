"""`/integrations/<name>/`: one connection: its settings, runs and cursors, and for
administrators the edit form (credentials are write-only: the page only says set or not set).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from crm_sync.connectors import CONNECTOR_CLASSES, connector_class
from crm_sync.crypto import SecretUnreadableError
from crm_sync.forms import ConnectionForm
from crm_sync.models import Connection
from crm_sync.selectors.health import (
    connection_health,
    connection_runs,
    connections_with_last_poll,
)
from crm_sync.services.connections import ConnectionInvalidError, connection_update
from crm_sync.views.common import (
    CHANGE_CONNECTION_PERM,
    VIEW_CONNECTION_PERM,
    badge,
    tabs,
)
from crm_sync.views.health import pretty_json
from psa.common.permissions import RequiredPermsMixin

RUNS_PAGE_SIZE = 25


def expected_credential_keys(connection: Connection) -> list[str]:
    """The keys the vendor's connector declares it reads (`CREDENTIAL_KEYS`), if it does."""
    if connection.vendor not in CONNECTOR_CLASSES:
        return []
    try:
        declared = getattr(connector_class(connection.vendor), "CREDENTIAL_KEYS", ())
    except ImportError:
        return []
    return list(declared)


def credential_status(connection: Connection) -> tuple[list[tuple[str, bool]], bool]:
    """[(key, is set)] for the declared and the stored keys, and whether they were readable."""
    try:
        stored = connection.credentials
        readable = True
    except SecretUnreadableError:
        stored, readable = {}, False
    keys = list(dict.fromkeys([*expected_credential_keys(connection), *sorted(stored)]))
    return [(key, bool(stored.get(key))) for key in keys], readable


def _initial(connection: Connection) -> dict[str, object]:
    return {"base_url": connection.base_url, "enabled": connection.enabled,
            "options": pretty_json(connection.options or {})}


class ConnectionDetailView(RequiredPermsMixin, View):
    """GET: the connection's page; POST (administrators): change its settings."""

    required_perms = {"get": VIEW_CONNECTION_PERM, "post": CHANGE_CONNECTION_PERM}

    def get(self, request: HttpRequest, name: str) -> HttpResponse:
        connection = get_object_or_404(connections_with_last_poll(), name=name)
        return self.page(request, connection, form=None)

    def post(self, request: HttpRequest, name: str) -> HttpResponse:
        connection = get_object_or_404(connections_with_last_poll(), name=name)
        keys = [key for key, _ in credential_status(connection)[0]]
        form = ConnectionForm(request.POST, credential_keys=keys)
        if form.is_valid():
            data = form.cleaned_data
            try:
                connection_update(connection=connection, actor=request.user,
                                  base_url=data["base_url"], enabled=data["enabled"],
                                  options=data["options"], credentials=form.credentials())
            except ConnectionInvalidError as exc:
                field = exc.attr if exc.attr in form.fields else None
                form.add_error(field, exc.detail)
            else:
                messages.success(request, f"Saved {connection.name}.")
                return redirect("crm_sync:connection", name=connection.name)
        return self.page(request, connection, form=form, status=400)

    def page(self, request: HttpRequest, connection: Connection, *,
             form: ConnectionForm | None, status: int = 200) -> HttpResponse:
        credentials, readable = credential_status(connection)
        may_change = request.user.has_perm(CHANGE_CONNECTION_PERM)
        if form is None and may_change:
            form = ConnectionForm(initial=_initial(connection),
                                  credential_keys=[key for key, _ in credentials])
        runs = Paginator(connection_runs(connection=connection), RUNS_PAGE_SIZE).get_page(
            request.GET.get("page"))
        health = connection_health(connections=[connection])[0]
        return render(request, "crm_sync/connection_detail.html", {
            "title": connection.name,
            "context_line": f"{connection.get_vendor_display()} · "
                            f"{connection.get_kind_display()} · "
                            f"{'enabled' if connection.enabled else 'disabled'}",
            "breadcrumbs": [("Integrations", reverse("crm_sync:health")),
                            (connection.name, None)],
            "tabs": tabs(request, ""),
            "connection": connection, "health": health, "health_badge": badge(health.status),
            "credentials": credentials, "credentials_readable": readable,
            "options": pretty_json(connection.options or {}),
            "cursors": list(connection.cursors.order_by("stream")),
            "page_obj": runs,
            "runs": [{"run": run, "badge": badge(run.status)} for run in runs.object_list],
            "form": form, "may_change": may_change,
            "here": request.get_full_path(),
        }, status=status)
