"""`/integrations/messages/`: the inbound message log, latest first, by connection and state."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from crm_sync.forms import MessageFilterForm
from crm_sync.models import Connection
from crm_sync.selectors.health import inbound_message_list
from crm_sync.views.common import HEALTH_PERM, badge, tabs
from crm_sync.views.health import OUTBOX_PERM, pretty_json
from psa.common.permissions import RequiredPermsMixin

PAGE_SIZE = 50


class InboundMessageListView(RequiredPermsMixin, View):
    """GET: every vendor event stored (webhooks and polls) with what was done with it."""

    required_perms = {"get": HEALTH_PERM}

    def get(self, request: HttpRequest) -> HttpResponse:
        names = list(Connection.objects.order_by("name").values_list("name", flat=True))
        form = MessageFilterForm(request.GET or None, connections=names)
        filters = form.filters()
        page = Paginator(inbound_message_list(**filters), PAGE_SIZE).get_page(
            request.GET.get("page"))
        # Vendor payloads (an HRIS record carries pay) only for those who may read the outbox.
        with_payload = request.user.has_perm(OUTBOX_PERM)
        rows = [{"message": message, "badge": badge(message.state),
                 "payload": pretty_json(message.payload) if with_payload else ""}
                for message in page.object_list]
        return render(request, "crm_sync/messages.html", {
            "title": "Inbound messages",
            "context_line": "Vendor events as they arrived, latest first",
            "tabs": tabs(request, "crm_sync:messages"),
            "form": form, "page_obj": page, "rows": rows, "count": page.paginator.count,
            "is_filtered": bool(filters),
        })
