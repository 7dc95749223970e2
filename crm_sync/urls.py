"""The integration pages (UI.md, Integrations), included at "integrations/" by psa/urls.py.

Fixed paths come before `<name>/`, so a connection cannot be named like one of them
("messages", "backlog", "replay").
"""

from django.urls import path

from crm_sync.views.backlog import BacklogListView
from crm_sync.views.connections import ConnectionDetailView
from crm_sync.views.health import (
    ConnectionPollView,
    ConnectionTestView,
    HealthView,
    ReplayView,
)
from crm_sync.views.messages import InboundMessageListView

app_name = "crm_sync"

urlpatterns = [
    path("", HealthView.as_view(), name="health"),
    path("replay/", ReplayView.as_view(), name="replay"),
    path("messages/", InboundMessageListView.as_view(), name="messages"),
    path("backlog/<slug:kind>/", BacklogListView.as_view(), name="backlog"),
    path("<slug:name>/", ConnectionDetailView.as_view(), name="connection"),
    path("<slug:name>/test/", ConnectionTestView.as_view(), name="connection-test"),
    path("<slug:name>/poll/", ConnectionPollView.as_view(), name="connection-poll"),
]
