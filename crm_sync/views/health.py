"""`/integrations/`: the sync health page (UI.md, Integrations) and its actions.

One card per connection (status, last success, lag, 24 h success rate, queue depth, its flows,
the last connection test and poll), the business view, the open alerts, and the failed and
dead deliveries with their full context and a replay of one or many. The page runs a fixed
number of grouped queries whatever the number of deliveries.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from crm_sync.forms import FailureFilterForm, ReplayForm
from crm_sync.models import Connection
from crm_sync.selectors.alerts import open_alerts
from crm_sync.selectors.backlog import backlog_figures
from crm_sync.selectors.deliveries import delivery_failures, failure_subscribers
from crm_sync.selectors.health import connection_health, connections_with_last_poll
from crm_sync.services.polling import connection_poll, connection_test
from crm_sync.views.common import (
    CHANGE_CONNECTION_PERM,
    HEALTH_PERM,
    REPLAY_PERM,
    badge,
    safe_next,
    tabs,
)
from psa import events
from psa.common.errors import StateConflictError
from psa.common.permissions import RequiredPermsMixin
from psa.models import Delivery

FAILURES_PAGE_SIZE = 25
OUTBOX_PERM = "psa.view_outboxevent"  # who may read event payloads and error context


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def failure_row(delivery: Delivery, *, with_payload: bool) -> dict[str, object]:
    """A failed or dead delivery with what a person needs to decide on a replay.

    The event's payload and the error context (which can carry people's and clients' data)
    only for those who may read the outbox (`psa.view_outboxevent`), as in the API.
    """
    context = dict(delivery.last_error_context or {})
    history = context.pop("history", [])
    if not with_payload:
        return {"delivery": delivery, "event": delivery.event,
                "badge": badge(delivery.state, delivery=True), "payload": "", "context": "",
                "history": []}
    return {"delivery": delivery, "event": delivery.event,
            "badge": badge(delivery.state, delivery=True),
            "payload": pretty_json(delivery.event.payload),
            "context": pretty_json(context) if context else "",
            "history": [pretty_json(item) for item in reversed(history)]}


def _erp_of(connections: list[Connection]) -> Connection | None:
    return next((c for c in connections
                 if c.vendor == Connection.Vendor.QUICKBOOKS and c.enabled), None)


class HealthView(RequiredPermsMixin, View):
    """GET: the sync health page. Filters of the failures list stay in the URL."""

    required_perms = {"get": HEALTH_PERM}

    def get(self, request: HttpRequest) -> HttpResponse:
        connections = list(connections_with_last_poll())
        cards = connection_health(connections=connections)
        for card in cards:
            card.badge = badge(card.status)
        erp = _erp_of(connections)
        form = FailureFilterForm(request.GET or None, subscribers=failure_subscribers())
        filters = form.filters()
        page = Paginator(delivery_failures(**filters), FAILURES_PAGE_SIZE).get_page(
            request.GET.get("page"))
        context = {
            "title": "Integrations",
            "context_line": "Connections, what is waiting, and what failed",
            "tabs": tabs(request, "crm_sync:health"),
            "cards": cards,
            "figures": backlog_figures(erp=erp),
            "alerts": list(open_alerts()),
            "form": form,
            "page_obj": page,
            "failures": [failure_row(delivery, with_payload=request.user.has_perm(OUTBOX_PERM))
                         for delivery in page.object_list],
            "failure_count": page.paginator.count,
            "is_filtered": bool(filters),
            "may_replay": request.user.has_perm(REPLAY_PERM),
            "may_change": request.user.has_perm(CHANGE_CONNECTION_PERM),
            "here": request.get_full_path(),
        }
        return render(request, "crm_sync/health.html", context)


class ReplayView(RequiredPermsMixin, View):
    """POST: replay the ticked failed or dead deliveries (each from attempt one)."""

    required_perms = {"post": REPLAY_PERM}

    def post(self, request: HttpRequest) -> HttpResponse:
        target = safe_next(request, reverse("crm_sync:health"))
        form = ReplayForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors.get("delivery", ["Nothing to replay."])))
            return redirect(target)
        ids = form.cleaned_data["delivery"]
        replayed, refused = 0, []
        for delivery in Delivery.objects.filter(pk__in=ids).select_related("event").order_by("pk"):
            try:
                events.delivery_replay(delivery=delivery, actor=request.user)
            except StateConflictError as exc:
                refused.append(f"#{delivery.pk} ({delivery.subscriber}): {exc.detail}")
            else:
                replayed += 1
        if replayed:
            noun = "delivery" if replayed == 1 else "deliveries"
            messages.success(request, f"Replayed {replayed} {noun}: they are attempted again now.")
        if refused:
            messages.error(request, "Not replayed: " + "; ".join(refused))
        elif not replayed:
            messages.error(request, "None of the ticked deliveries exists any more.")
        return redirect(target)


class ConnectionTestView(RequiredPermsMixin, View):
    """POST: call the vendor with the stored credentials and remember the outcome."""

    required_perms = {"post": CHANGE_CONNECTION_PERM}

    def post(self, request: HttpRequest, name: str) -> HttpResponse:
        connection = get_object_or_404(Connection, name=name)
        ok, message = connection_test(connection)
        if ok:
            messages.success(request, f"{connection.name}: connection works. {message}")
        else:
            messages.error(request, f"{connection.name}: connection test failed. {message}")
        return redirect(safe_next(request, reverse("crm_sync:health")))


class ConnectionPollView(RequiredPermsMixin, View):
    """POST: poll an enabled connection now (the same run the schedule makes)."""

    required_perms = {"post": CHANGE_CONNECTION_PERM}

    def post(self, request: HttpRequest, name: str) -> HttpResponse:
        connection = get_object_or_404(Connection, name=name)
        target = safe_next(request, reverse("crm_sync:health"))
        if not connection.enabled:
            messages.error(request, f"{connection.name} is disabled: enable it to poll it.")
            return redirect(target)
        run = connection_poll(connection, trigger="manual")
        if run.status == run.Status.SUCCEEDED:
            counts = ", ".join(f"{k} {v}" for k, v in sorted((run.counts or {}).items()))
            messages.success(request, f"{connection.name}: polled. {counts or 'Nothing new.'}")
        else:
            messages.error(request, f"{connection.name}: the poll failed. {run.error}")
        return redirect(target)
