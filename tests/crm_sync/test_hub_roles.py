"""Every integration page, action and API endpoint for every role: allowed where
psa.roles.MATRIX grants the permission, 403 where it does not; anonymous visitors go to
sign-in (pages) or get 401 (API). Expectations come from the matrix itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from crm_sync.models import Connection, WebhookSubscription
from crm_sync.services.webhook_subscriptions import webhook_subscription_create
from psa import events, roles
from psa.models import Delivery, OutboxEvent, Person
from tests.crm_sync.conftest import make_connection
from tests.psa.factories import ClientFactory, UserFactory, person_with_role

pytestmark = pytest.mark.django_db
CLOSED_PORT_URL = "http://127.0.0.1:9"  # nothing listens: tests and polls fail at once


@dataclass
class World:
    person: Person
    connection: Connection
    dead: Delivery
    subscription: WebhookSubscription


def _dead_delivery() -> Delivery:
    client = ClientFactory()
    with transaction.atomic():
        event: OutboxEvent = events.publish("client.created", aggregate=client, payload={})
    delivery, _ = Delivery.objects.update_or_create(
        event=event, subscriber="webhooks.outbound",
        defaults={"state": Delivery.State.DEAD, "attempts": 8, "last_error": "boom",
                  "next_attempt_at": timezone.now()})
    return delivery


@pytest.fixture
def world_for():
    def make(role: str) -> World:
        person = person_with_role(role)
        connection = make_connection("hubspot", CLOSED_PORT_URL, {"access_token": "t0ps3cret"},
                                     name="crm")
        created = webhook_subscription_create(actor=UserFactory(role=roles.ADMINISTRATOR),
                                              url="https://x.test/h", event_types=["*"])
        return World(person=person, connection=connection, dead=_dead_delivery(),
                     subscription=created.subscription)

    return make


def allowed(role: str, perm: str) -> bool:
    return roles.scope_of(frozenset({role}), perm) is not None


PAGES: list[tuple[str, Callable[[World], str], str]] = [
    ("health", lambda w: reverse("crm_sync:health"), "crm_sync.view_synchealth"),
    ("messages", lambda w: reverse("crm_sync:messages"), "crm_sync.view_synchealth"),
    *[(f"backlog-{kind}", lambda w, kind=kind: reverse("crm_sync:backlog", args=[kind]),
       "crm_sync.view_synchealth") for kind in ("deals", "time", "invoices", "changes")],
    ("backlog-csv", lambda w: reverse("crm_sync:backlog", args=["changes"]) + "?format=csv",
     "crm_sync.view_synchealth"),
    ("connection", lambda w: reverse("crm_sync:connection", args=[w.connection.name]),
     "crm_sync.view_connection"),
]

# (name, (url, data), permission, whether the action happened)
ACTIONS: list[tuple[str, Callable[[World], tuple[str, dict]], str,
                    Callable[[World], bool]]] = [
    ("replay", lambda w: (reverse("crm_sync:replay"), {"delivery": [w.dead.pk]}),
     "psa.replay_delivery",
     lambda w: Delivery.objects.get(pk=w.dead.pk).state == Delivery.State.PENDING),
    ("test", lambda w: (reverse("crm_sync:connection-test", args=[w.connection.name]), {}),
     "crm_sync.change_connection",
     lambda w: Connection.objects.get(pk=w.connection.pk).last_tested_at is not None),
    ("poll", lambda w: (reverse("crm_sync:connection-poll", args=[w.connection.name]), {}),
     "crm_sync.change_connection", lambda w: w.connection.runs.filter(flow="poll").exists()),
    ("edit", lambda w: (reverse("crm_sync:connection", args=[w.connection.name]),
                        {"base_url": "https://api.example.test", "enabled": "on",
                         "options": "{}"}),
     "crm_sync.change_connection",
     lambda w: Connection.objects.get(pk=w.connection.pk).base_url
     == "https://api.example.test"),
]


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize(("name", "url_of", "perm"), PAGES, ids=[p[0] for p in PAGES])
def test_page_status_follows_the_role_matrix(role, name, url_of, perm, world_for, client):
    world = world_for(role)
    client.force_login(world.person.user)

    response = client.get(url_of(world))

    assert response.status_code == (200 if allowed(role, perm) else 403), (role, name)


@pytest.mark.parametrize(("name", "url_of", "perm"), PAGES, ids=[p[0] for p in PAGES])
def test_anonymous_visitors_are_sent_to_sign_in(name, url_of, perm, world_for, client):
    response = client.get(url_of(world_for(roles.FINANCE)))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize(("name", "request_of", "perm", "happened"), ACTIONS,
                         ids=[a[0] for a in ACTIONS])
def test_actions_follow_the_role_matrix(role, name, request_of, perm, happened, world_for,
                                        client):
    world = world_for(role)
    client.force_login(world.person.user)
    url, data = request_of(world)

    response = client.post(url, data)

    if allowed(role, perm):
        assert response.status_code == 302, (role, name)
        assert happened(world), (role, name)
    else:
        assert response.status_code == 403, (role, name)
        assert not happened(world), (role, name)


@pytest.mark.parametrize(("name", "request_of", "perm", "happened"), ACTIONS,
                         ids=[a[0] for a in ACTIONS])
def test_anonymous_actions_are_sent_to_sign_in(name, request_of, perm, happened, world_for,
                                               client):
    world = world_for(roles.ADMINISTRATOR)
    url, data = request_of(world)

    response = client.post(url, data)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not happened(world)


# (name, method, url, body, permission, success status)
ENDPOINTS: list[tuple[str, str, Callable[[World], str], dict | None, str, int]] = [
    ("subscriptions-list", "get", lambda w: "/api/v1/webhook-subscriptions/", None,
     "crm_sync.view_webhooksubscription", 200),
    ("subscriptions-detail", "get",
     lambda w: f"/api/v1/webhook-subscriptions/{w.subscription.pk}/", None,
     "crm_sync.view_webhooksubscription", 200),
    ("subscriptions-create", "post", lambda w: "/api/v1/webhook-subscriptions/",
     {"url": "https://y.test/h", "event_types": ["invoice.issued"]},
     "crm_sync.add_webhooksubscription", 201),
    ("subscriptions-delete", "delete",
     lambda w: f"/api/v1/webhook-subscriptions/{w.subscription.pk}/", None,
     "crm_sync.delete_webhooksubscription", 204),
    ("events-list", "get", lambda w: "/api/v1/events/", None, "psa.view_outboxevent", 200),
    ("deliveries-list", "get", lambda w: "/api/v1/sync/deliveries/?state=dead", None,
     "psa.view_outboxevent", 200),
    ("deliveries-replay", "post", lambda w: f"/api/v1/sync/deliveries/{w.dead.pk}/replay/",
     None, "psa.replay_delivery", 200),
]


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize(("name", "method", "url_of", "body", "perm", "success"), ENDPOINTS,
                         ids=[e[0] for e in ENDPOINTS])
def test_endpoint_status_follows_the_role_matrix(role, name, method, url_of, body, perm,
                                                 success, world_for, token_client):
    world = world_for(role)
    api = token_client(world.person.user)

    response = getattr(api, method)(url_of(world), body, format="json")

    expected = success if allowed(role, perm) else 403
    assert response.status_code == expected, (role, name, response.content)


@pytest.mark.parametrize(("name", "method", "url_of", "body", "perm", "success"), ENDPOINTS,
                         ids=[e[0] for e in ENDPOINTS])
def test_anonymous_api_calls_are_401(name, method, url_of, body, perm, success, world_for,
                                     api_client):
    world = world_for(roles.ADMINISTRATOR)

    response = getattr(api_client, method)(url_of(world), body, format="json")

    assert response.status_code == 401
    assert response.json()["type"] == "client_error"


@pytest.mark.parametrize("role", roles.ROLES)
def test_navigation_shows_integrations_to_those_allowed(role, world_for, client):
    world = world_for(role)
    client.force_login(world.person.user)

    response = client.get(reverse("home"))

    labels = [item["label"] for item in response.context["nav_items"]]
    assert ("Integrations" in labels) is allowed(role, "crm_sync.view_synchealth"), role
