"""The hub's API: webhook subscriptions (the secret shown once), the outbox's events with
their deliveries, dead deliveries and their replay, errors in API.md's shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from crm_sync.models import WebhookSubscription
from psa import events, roles
from psa.models import Delivery, IdempotencyRecord, OutboxEvent
from tests.psa.api.helpers import error_attrs, error_codes
from tests.psa.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db
SUBS = "/api/v1/webhook-subscriptions/"
EVENTS = "/api/v1/events/"
DELIVERIES = "/api/v1/sync/deliveries/"


@pytest.fixture
def admin_api(token_client):
    return token_client(UserFactory(role=roles.ADMINISTRATOR))


def make_event(event_type: str = "client.created", correlation_id: str | None = None,
               ) -> OutboxEvent:
    client = ClientFactory()
    with transaction.atomic():
        return events.publish(event_type, aggregate=client, payload={"client_id": client.pk},
                              correlation_id=correlation_id)


def delivery_in(state: str, *, subscriber: str = "hubspot.client.created",
                event: OutboxEvent | None = None) -> Delivery:
    """A delivery row in `state` (constructed: the states a worker would have left)."""
    event = event or make_event()
    delivery, _ = Delivery.objects.update_or_create(
        event=event, subscriber=subscriber, defaults={
            "state": state, "attempts": 8 if state == "dead" else 1,
            "next_attempt_at": timezone.now(),
            "last_error": "TransientRemoteError: 503" if state in ("dead", "failed") else "",
            "last_error_context": {"attempt": 8, "history": [{"error": "earlier"}]},
            "succeeded_at": timezone.now() if state == "succeeded" else None})
    return delivery


class TestWebhookSubscriptions:
    def test_create_returns_the_secret_once(self, admin_api):
        response = admin_api.post(SUBS, {"url": "https://hooks.example.test/psa",
                                         "event_types": ["invoice.issued", "client.created"],
                                         "description": "BI"}, format="json")

        assert response.status_code == 201, response.content
        body = response.json()
        secret = body["secret"]
        subscription = WebhookSubscription.objects.get(pk=body["id"])
        assert subscription.secret == secret
        assert body["event_types"] == ["invoice.issued", "client.created"]
        assert response["ETag"]

        listed = admin_api.get(SUBS).json()["results"]
        assert [row["id"] for row in listed] == [body["id"]]
        assert "secret" not in listed[0]
        detail = admin_api.get(f"{SUBS}{body['id']}/")
        assert detail.status_code == 200
        assert "secret" not in detail.json()
        assert secret not in detail.content.decode()

    def test_invalid_subscription_is_400_in_the_error_shape_and_writes_nothing(self,
                                                                                 admin_api):
        response = admin_api.post(SUBS, {"url": "ftp://x.test/", "event_types": ["*"]},
                                  format="json")
        assert response.status_code == 400
        assert error_attrs(response) == {"url"}

        response = admin_api.post(SUBS, {"url": "https://x.test/",
                                         "event_types": ["nope.happened"]}, format="json")
        assert response.status_code == 400
        assert error_attrs(response) == {"event_types"}

        response = admin_api.post(SUBS, {"url": "https://x.test/", "event_types": []},
                                  format="json")
        assert response.status_code == 400
        assert error_attrs(response) == {"event_types"}
        assert not WebhookSubscription.objects.exists()

    def test_idempotent_create_makes_one_subscription(self, admin_api):
        payload = {"url": "https://x.test/h", "event_types": ["*"]}
        first = admin_api.post(SUBS, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        again = admin_api.post(SUBS, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        assert WebhookSubscription.objects.count() == 1
        assert IdempotencyRecord.objects.count() == 1

    def test_delete(self, admin_api):
        created = admin_api.post(SUBS, {"url": "https://x.test/h", "event_types": ["*"]},
                                 format="json").json()

        response = admin_api.delete(f"{SUBS}{created['id']}/")

        assert response.status_code == 204
        assert not WebhookSubscription.objects.exists()
        assert admin_api.get(f"{SUBS}{created['id']}/").status_code == 404


class TestEvents:
    def test_events_list_each_event_with_its_deliveries(self, admin_api):
        event = make_event(correlation_id="deal-42")
        dead = delivery_in("dead", event=event)
        make_event("project.created")

        response = admin_api.get(EVENTS, {"correlation_id": "deal-42"})

        assert response.status_code == 200
        [row] = response.json()["results"]
        assert row["event_id"] == str(event.event_id)
        assert row["type"] == "client.created"
        assert row["aggregate_type"] == "psa.client"
        deliveries = {d["subscriber"]: d for d in row["deliveries"]}
        assert deliveries["hubspot.client.created"]["state"] == "dead"
        assert deliveries["hubspot.client.created"]["attempts"] == 8
        assert deliveries["hubspot.client.created"]["last_error"] == dead.last_error
        assert deliveries["webhooks.outbound"]["state"] == "pending"

    def test_filters(self, admin_api):
        first = make_event("client.created")
        second = make_event("project.created")
        OutboxEvent.objects.filter(pk=first.pk).update(
            created_at=timezone.now() - timedelta(days=2))

        def ids(**params):
            response = admin_api.get(EVENTS, params)
            assert response.status_code == 200, response.content
            return [row["id"] for row in response.json()["results"]]

        assert ids(type="project.created") == [second.pk]
        assert ids(aggregate_type="psa.client", aggregate_id=first.aggregate_id) == [first.pk]
        since = (timezone.now() - timedelta(days=1)).isoformat()
        assert ids(created_after=since) == [second.pk]
        assert ids() == [first.pk, second.pk]

    def test_pages_are_cursor_paginated(self, admin_api):
        made = [make_event() for _ in range(3)]

        page = admin_api.get(EVENTS, {"page_size": 2}).json()
        rest = admin_api.get(page["next"]).json()

        assert [r["id"] for r in page["results"] + rest["results"]] == [e.pk for e in made]
        assert rest["next"] is None


class TestDeliveries:
    def test_dead_deliveries_by_state_and_subscriber(self, admin_api):
        dead = delivery_in("dead")
        delivery_in("dead", subscriber="quickbooks.client.created")
        delivery_in("succeeded")

        response = admin_api.get(DELIVERIES, {"state": "dead",
                                              "subscriber": "hubspot.client.created"})

        assert response.status_code == 200
        [row] = response.json()["results"]
        assert row["id"] == dead.pk
        assert row["state"] == "dead"
        assert row["event"]["type"] == "client.created"
        assert row["last_error_context"]["history"] == [{"error": "earlier"}]

    def test_replay_then_409_once_it_is_not_replayable(self, admin_api):
        dead = delivery_in("dead")

        response = admin_api.post(f"{DELIVERIES}{dead.pk}/replay/")

        assert response.status_code == 200, response.content
        body = response.json()
        assert body["state"] == "pending"
        assert body["attempts"] == 0
        assert body["last_error_context"]["history"][-1]["error"] == dead.last_error
        assert body["last_error_context"]["replayed_by"]["from_state"] == "dead"

        again = admin_api.post(f"{DELIVERIES}{dead.pk}/replay/")
        assert again.status_code == 409
        assert error_codes(again) == {"invalid_state"}

    def test_replaying_a_succeeded_delivery_is_409(self, admin_api):
        done = delivery_in("succeeded")

        response = admin_api.post(f"{DELIVERIES}{done.pk}/replay/")

        assert response.status_code == 409
        assert response.json()["type"] == "client_error"
        assert error_codes(response) == {"invalid_state"}
        done.refresh_from_db()
        assert done.state == Delivery.State.SUCCEEDED

    def test_unknown_delivery_is_404_in_the_error_shape(self, admin_api):
        response = admin_api.post(f"{DELIVERIES}999999/replay/")

        assert response.status_code == 404
        error_attrs(response)

    def test_bad_filter_value_is_400_in_the_error_shape(self, admin_api):
        response = admin_api.get(DELIVERIES, {"state": "exploded"})

        assert response.status_code == 400
        assert error_attrs(response) == {"state"}
