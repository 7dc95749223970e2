"""BambooHR's signed event webhooks and the changed-since poll, into stored inbound messages."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest

from crm_sync.models import InboundMessage, SyncCursor
from crm_sync.sandbox.bamboohr import BambooHREmulator
from crm_sync.services.inbound import INBOUND_SUBSCRIBER
from crm_sync.services.polling import connection_poll
from crm_sync.services.refs import ref_lookup
from psa.models import Person
from tests.crm_sync.conftest import drain_outbox, make_connection
from tests.psa.factories import LegalEntityFactory, RoleFactory

URL = "http://testserver/api/v1/integrations/bamboohr/webhook/"
CREDENTIALS = {"api_key": "sandbox-bamboohr-key", "webhook_key": "sandbox-bamboohr-webhook-key"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def server(run_emulator):
    running = run_emulator(BambooHREmulator, seed=1)
    running.emulator.webhook_url = "capture"
    return running


@pytest.fixture
def connection(server):
    RoleFactory(code="ANL", name="Analyst", level=1)
    return make_connection("bamboohr", server.url, CREDENTIALS,
                           options={"role_map": {"Analytics": "ANL"}},
                           legal_entity=LegalEntityFactory())


def captured_update(server) -> bytes:
    """Change Sofia's title in BambooHR; return the webhook body it sent."""
    httpx.post(f"{server.url}/api/v1/employees/104", json={"jobTitle": "Senior Data Analyst"},
               auth=(CREDENTIALS["api_key"], "x"), timeout=5)
    return server.emulator.captured[-1]


def post(client, body: bytes, headers: dict[str, str]):
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()
             if name.lower() != "content-type"}
    return client.post(URL, data=body, content_type="application/json", **extra)


def signed(body: bytes, *, key: str = CREDENTIALS["webhook_key"],
           timestamp: int | None = None) -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = hmac.new(key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    return {"X-BambooHR-Timestamp": stamp, "X-BambooHR-Signature": signature}


def assert_refused(response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "client_error"
    assert body["errors"][0]["code"] == "invalid_signature"
    assert InboundMessage.objects.count() == 0


class TestWebhook:
    def test_valid_webhook_is_stored_once_and_duplicates_counted(self, client, server,
                                                                 connection):
        body = captured_update(server)
        headers = server.emulator.signed_headers(body, URL)

        first = post(client, body, headers)
        second = post(client, body, headers)

        assert first.status_code == 202
        assert first.json() == {"received": 1, "duplicates": 0}
        assert second.json() == {"received": 0, "duplicates": 1}
        message = InboundMessage.objects.get()
        assert (message.topic, message.object_id, message.duplicates) == (
            "employee.updated", "104", 1)
        assert message.payload["data"]["changedFields"] == ["jobTitle"]

    def test_stored_webhook_is_applied_by_the_worker(self, client, server, connection):
        body = captured_update(server)
        post(client, body, server.emulator.signed_headers(body, URL))

        drain_outbox(subscribers={INBOUND_SUBSCRIBER})

        message = InboundMessage.objects.get()
        assert message.state == InboundMessage.State.PROCESSED, message.result
        sofia = ref_lookup(connection, Person, "104")
        assert sofia is not None
        assert sofia.email == "sofia.marin@northwind.example"

    def test_tampered_body_is_refused(self, client, server, connection):
        body = captured_update(server)
        headers = server.emulator.signed_headers(body, URL)

        assert_refused(post(client, body.replace(b"104", b"101"), headers))

    def test_wrong_key_is_refused(self, client, server, connection):
        body = captured_update(server)

        assert_refused(post(client, body, signed(body, key="another-key")))

    def test_missing_signature_is_refused(self, client, server, connection):
        body = captured_update(server)
        headers = signed(body)
        del headers["X-BambooHR-Signature"]

        assert_refused(post(client, body, headers))

    def test_old_timestamp_is_refused(self, client, server, connection, settings):
        body = captured_update(server)
        old = int(time.time()) - settings.SYNC_WEBHOOK_TOLERANCE_SECONDS - 60

        assert_refused(post(client, body, signed(body, timestamp=old)))

    @pytest.mark.parametrize("content_type", [
        "text/plain", "application/x-www-form-urlencoded", "application/xml"])
    def test_the_body_reaches_the_signature_check_whatever_its_declared_type(
            self, client, server, connection, content_type):
        """The API takes JSON only, but a vendor's webhook is read as raw bytes: a body the
        vendor labels otherwise is verified and stored, never refused as 415."""
        body = captured_update(server)
        headers = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in
                   server.emulator.signed_headers(body, URL).items()
                   if name.lower() != "content-type"}

        response = client.post(URL, data=body, content_type=content_type, **headers)

        assert response.status_code == 202 and InboundMessage.objects.count() == 1

    def test_delete_event_is_ignored_with_a_reason(self, client, server, connection):
        httpx.post(f"{server.url}/_sandbox/employees/104/delete", timeout=5)
        body = server.emulator.captured[-1]
        post(client, body, server.emulator.signed_headers(body, URL))

        drain_outbox(subscribers={INBOUND_SUBSCRIBER})

        message = InboundMessage.objects.get()
        assert json.loads(body)["type"] == "employee.deleted"
        assert message.state == InboundMessage.State.IGNORED
        assert "deleted in BambooHR" in message.result


class TestPoll:
    def test_poll_stores_changes_and_advances_the_cursor(self, server, connection):
        emulator = server.emulator
        for change in emulator.changes.values():
            change["lastChanged"] = "2026-01-01T00:00:00+00:00"

        first = connection_poll(connection, trigger="manual")

        assert first.counts["employees_changed"] == 7
        assert first.counts["stored"] == 7
        assert InboundMessage.objects.filter(topic="employee.created").count() == 7
        assert SyncCursor.objects.get(connection=connection,
                                      stream="employees").value == "2026-01-01T00:00:00+00:00"

        captured_update(server)
        second = connection_poll(connection, trigger="manual")

        latest = emulator.changes["104"]["lastChanged"]
        # `since` is inclusive: the six changes at the cursor's second come back, deduplicated.
        assert (second.counts["stored"], second.counts["duplicates"]) == (1, 6)
        updated = InboundMessage.objects.get(topic="employee.updated")
        assert (updated.object_id, updated.event_id) == ("104", f"poll:104:{latest}")
        assert SyncCursor.objects.get(connection=connection, stream="employees").value == latest

    def test_a_repeated_poll_stores_nothing_new(self, server, connection):
        for change in server.emulator.changes.values():
            change["lastChanged"] = "2026-01-01T00:00:00+00:00"
        connection_poll(connection, trigger="manual")

        again = connection_poll(connection, trigger="manual")

        assert again.counts["stored"] == 0
        assert again.counts["duplicates"] == 7
        assert InboundMessage.objects.count() == 7

    def test_a_change_in_an_unfinished_second_is_stored_again(self, server, connection):
        # lastChanged has whole seconds: a message received within that second may have read
        # the employee before a second change in the same second, so it does not settle it.
        soon = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 30))
        server.emulator.changes = {"104": {"id": "104", "action": "Updated",
                                           "lastChanged": soon}}
        connection_poll(connection, trigger="manual")

        again = connection_poll(connection, trigger="manual")

        assert again.counts["stored"] == 1
        assert sorted(InboundMessage.objects.values_list("event_id", flat=True)) == [
            f"poll:104:{soon}", f"poll:104:{soon}:1"]

    def test_poll_of_a_throttled_api_fails_the_run_and_keeps_the_cursor(self, server,
                                                                        connection):
        httpx.post(f"{server.url}/_sandbox/faults", json={"rate_limit_rate": 1,
                                                          "retry_after": 45}, timeout=5)

        run = connection_poll(connection, trigger="manual")

        assert run.status == run.Status.FAILED
        assert "429" in run.error
        assert run.counts == {"retry_after": 45.0}  # what the poll's retry waits for
        assert not SyncCursor.objects.filter(connection=connection).exists()
        assert InboundMessage.objects.count() == 0
