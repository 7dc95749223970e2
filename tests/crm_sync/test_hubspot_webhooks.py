"""HubSpot's signed webhooks at our endpoint: v3 signatures, freshness, storing each event once."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from crm_sync.models import InboundMessage
from crm_sync.sandbox.hubspot import HubSpotEmulator
from psa.models import OutboxEvent
from tests.crm_sync.conftest import drain_outbox, make_connection

WEBHOOK_URL = "http://testserver/api/v1/integrations/hubspot/webhook/"
CREDENTIALS = {"access_token": "sandbox-hubspot-token", "client_secret": "sandbox-hubspot-secret"}


@pytest.fixture
def hubspot(run_emulator, db):
    server = run_emulator(HubSpotEmulator, seed=1)
    server.emulator.webhook_url = "capture"
    server.connection = make_connection("hubspot", server.url, CREDENTIALS)
    return server


def meta(headers: dict[str, str]) -> dict[str, str]:
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()
            if name != "Content-Type"}


def post(client, body: bytes, headers: dict[str, str]):
    return client.post(WEBHOOK_URL, data=body, content_type="application/json", **meta(headers))


def change_a_deal(hubspot) -> bytes:
    """One real webhook body from the emulator: a deal moved to another stage."""
    deal_id = httpx.post(f"{hubspot.url}/_sandbox/seed-deal", json={
        "company": {"name": "Acme"}, "deal": {"dealname": "Acme"}}).json()["deal_id"]
    hubspot.emulator.captured.clear()
    response = httpx.post(f"{hubspot.url}/_sandbox/deals/{deal_id}/properties",
                          json={"properties": {"dealstage": "qualifiedtobuy",
                                               "amount": "5000"}})
    assert response.status_code == 200
    (body,) = hubspot.emulator.captured
    return body


def assert_refused(response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "client_error"
    assert body["errors"][0]["code"] == "invalid_signature"
    assert not InboundMessage.objects.exists()
    assert not OutboxEvent.objects.filter(type="inbound.received").exists()


class TestSignedWebhooks:
    def test_valid_v3_request_is_accepted_and_each_event_stored_once(self, client, hubspot):
        body = change_a_deal(hubspot)
        headers = hubspot.emulator.signed_headers(body, WEBHOOK_URL)

        first = post(client, body, headers)
        again = post(client, body, headers)  # HubSpot's retry of the same request

        assert first.status_code == 202
        assert first.json() == {"received": 2, "duplicates": 0}
        assert again.status_code == 202
        assert again.json() == {"received": 0, "duplicates": 2}
        events = json.loads(body)
        stored = InboundMessage.objects.order_by("event_id")
        assert [m.event_id for m in stored] == sorted(str(e["eventId"]) for e in events)
        assert {m.topic for m in stored} == {"deal.propertyChange"}
        assert {m.object_id for m in stored} == {str(events[0]["objectId"])}
        assert [m.duplicates for m in stored] == [1, 1]
        assert OutboxEvent.objects.filter(type="inbound.received").count() == 2

    def test_tampered_body_is_refused(self, client, hubspot):
        body = change_a_deal(hubspot)
        headers = hubspot.emulator.signed_headers(body, WEBHOOK_URL)
        assert_refused(post(client, body.replace(b"5000", b"9000"), headers))

    def test_signature_with_another_secret_is_refused(self, client, hubspot, run_emulator):
        impostor = run_emulator(HubSpotEmulator, client_secret="not-the-apps-secret").emulator
        body = change_a_deal(hubspot)
        assert_refused(post(client, body, impostor.signed_headers(body, WEBHOOK_URL)))

    def test_missing_signature_headers_are_refused(self, client, hubspot):
        body = change_a_deal(hubspot)
        headers = hubspot.emulator.signed_headers(body, WEBHOOK_URL)
        for missing in ("X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"):
            assert_refused(post(client, body, {k: v for k, v in headers.items()
                                               if k != missing}))

    def test_correctly_signed_but_older_than_five_minutes_is_refused(self, client, hubspot):
        body = change_a_deal(hubspot)
        six_minutes_ago = int((time.time() - 360) * 1000)
        headers = hubspot.emulator.sign_webhook(body, WEBHOOK_URL, timestamp_ms=six_minutes_ago)
        assert_refused(post(client, body, headers))

    def test_signed_for_another_url_is_refused(self, client, hubspot):
        body = change_a_deal(hubspot)
        headers = hubspot.emulator.signed_headers(
            body, "http://testserver/api/v1/integrations/other/webhook/")
        assert_refused(post(client, body, headers))

    def test_signed_body_that_is_not_an_event_array_is_a_400(self, client, hubspot):
        body = b'{"eventId": 1}'
        response = post(client, body, hubspot.emulator.signed_headers(body, WEBHOOK_URL))
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "invalid_payload"
        assert not InboundMessage.objects.exists()


class TestOtherObjects:
    def test_non_deal_events_are_stored_and_handled_as_ignored(self, client, hubspot):
        body = json.dumps([{"eventId": 77, "subscriptionType": "contact.creation",
                            "objectId": 5, "portalId": 1, "occurredAt": 1,
                            "attemptNumber": 0}]).encode()
        response = post(client, body, hubspot.emulator.signed_headers(body, WEBHOOK_URL))
        assert response.status_code == 202
        drain_outbox(subscribers={"crm_sync.inbound"})

        message = InboundMessage.objects.get()
        assert message.state == InboundMessage.State.IGNORED
        assert message.result.startswith("ignored")
