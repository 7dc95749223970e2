"""QuickBooks webhooks at our endpoint: `intuit-signature` checked against the verifier token
(202 and one message per entity change), anything else refused with 401 and nothing stored."""

import json

import httpx
import pytest
from django.test import Client as HttpClient

from crm_sync.models import InboundMessage
from crm_sync.sandbox.quickbooks import QuickBooksEmulator
from crm_sync.services.inbound import inbound_process
from psa.models import OutboxEvent
from tests.crm_sync.conftest import make_connection

pytestmark = pytest.mark.django_db
REALM = "9130357766900000"
WEBHOOK_URL = "http://testserver/api/v1/integrations/quickbooks/webhook/"


@pytest.fixture
def qbo(run_emulator):
    emulator = run_emulator(QuickBooksEmulator, seed=1)
    emulator.emulator.webhook_url = "capture"
    return emulator


@pytest.fixture
def connection(qbo):
    return make_connection("quickbooks", qbo.url, {"access_token": "sandbox-qbo-token",
                                                   "verifier_token": "sandbox-qbo-verifier"},
                           {"realm_id": REALM})


def notification(qbo) -> bytes:
    """The webhook QuickBooks sends when a customer is created."""
    created = httpx.post(f"{qbo.url}/v3/company/{REALM}/customer",
                         json={"DisplayName": "Acme"},
                         headers={"Authorization": "Bearer sandbox-qbo-token"})
    assert created.status_code == 200
    [body] = qbo.emulator.captured
    return body


def post(body: bytes, signature: str | None):
    headers = {} if signature is None else {"HTTP_INTUIT_SIGNATURE": signature}
    return HttpClient().post(WEBHOOK_URL, data=body, content_type="application/json",
                             **headers)


def assert_refused(response) -> None:
    assert response.status_code == 401
    assert response.json() == {"type": "client_error", "errors": [{
        "code": "invalid_signature", "detail": response.json()["errors"][0]["detail"],
        "attr": None}]}
    assert "intuit-signature" in response.json()["errors"][0]["detail"]
    assert not InboundMessage.objects.exists()
    assert not OutboxEvent.objects.filter(type="inbound.received").exists()


class TestWebhookSignature:
    def test_a_valid_signature_is_accepted_and_each_entity_stored_once(self, qbo, connection):
        body = notification(qbo)
        signature = qbo.emulator.signed_headers(body, WEBHOOK_URL)["intuit-signature"]

        first = post(body, signature)
        second = post(body, signature)

        assert first.status_code == second.status_code == 202
        assert (first.json(), second.json()) == ({"received": 1, "duplicates": 0},
                                                 {"received": 0, "duplicates": 1})
        [message] = InboundMessage.objects.all()
        entity = json.loads(body)["eventNotifications"][0]["dataChangeEvent"]["entities"][0]
        assert (message.topic, message.object_id, message.duplicates) == (
            "Customer.Create", entity["id"], 1)
        assert message.headers["intuit-signature"] == signature
        inbound_process(message.pk)
        message.refresh_from_db()
        assert message.state == InboundMessage.State.IGNORED
        assert message.result.startswith("ignored: Customer.Create")

    def test_a_tampered_body_is_refused(self, qbo, connection):
        body = notification(qbo)
        signature = qbo.emulator.signed_headers(body, WEBHOOK_URL)["intuit-signature"]

        assert_refused(post(body.replace(b"Create", b"Delete"), signature))

    def test_a_missing_signature_is_refused(self, qbo, connection):
        assert_refused(post(notification(qbo), None))

    def test_a_signature_with_another_verifier_token_is_refused(self, run_emulator,
                                                                connection):
        stranger = run_emulator(QuickBooksEmulator, verifier_token="someone-else")
        stranger.emulator.webhook_url = "capture"
        body = notification(stranger)

        assert_refused(post(body, stranger.emulator.signed_headers(body, WEBHOOK_URL)[
            "intuit-signature"]))

    def test_changes_of_another_company_are_not_stored(self, run_emulator, connection):
        other = run_emulator(QuickBooksEmulator, realm_id="4620816365000000")
        other.emulator.webhook_url = "capture"
        created = httpx.post(f"{other.url}/v3/company/4620816365000000/customer",
                             json={"DisplayName": "Acme"},
                             headers={"Authorization": "Bearer sandbox-qbo-token"})
        assert created.status_code == 200
        [body] = other.emulator.captured

        response = post(body, other.emulator.signed_headers(body, WEBHOOK_URL)[
            "intuit-signature"])

        assert response.status_code == 202
        assert response.json() == {"received": 0, "duplicates": 0}
        assert not InboundMessage.objects.exists()
