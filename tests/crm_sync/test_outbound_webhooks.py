"""Outbound webhooks delivered over real HTTP to a receiver on loopback, through the outbox:
signed, filtered by event type, retried only where they failed."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from crm_sync.models import WebhookReceipt, WebhookSubscription
from crm_sync.services.webhook_subscriptions import (
    EVENT_TYPES,
    WebhookSubscriptionInvalidError,
    webhook_subscription_create,
)
from crm_sync.services.webhooks_out import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature_for,
    signature_valid,
    webhooks_send,
)
from psa import events
from psa.models import Delivery, OutboxEvent
from tests.crm_sync.conftest import drain_outbox
from tests.psa.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db
SUBSCRIBER = "webhooks.outbound"
ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    """A tiny HTTP server that records each POST and answers what a test asks per path."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: dict[str, list[tuple[int, dict[str, str], float]]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body})
                queue = receiver.answers.get(self.path) or []
                status, headers, delay = queue.pop(0) if queue else (200, {}, 0.0)
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def answer(self, path: str, *statuses: int, headers: dict[str, str] | None = None,
               delay: float = 0.0) -> None:
        """The next requests to `path` get these statuses (then 200 again)."""
        self.answers.setdefault(path, []).extend(
            (status, headers or {}, delay) for status in statuses)

    def to(self, path: str) -> list[dict]:
        return [request for request in self.requests if request["path"] == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def admin_user():
    return UserFactory(role="administrator")


def subscribe(admin_user, receiver: Receiver, path: str, types=("*",)):
    return webhook_subscription_create(actor=admin_user, url=receiver.url(path),
                                       event_types=list(types))


def publish(event_type: str = "client.created", **payload) -> OutboxEvent:
    client = ClientFactory()
    with transaction.atomic():
        return events.publish(event_type, aggregate=client,
                              payload={"client_id": client.pk, **payload})


def outbound(event: OutboxEvent) -> Delivery:
    return Delivery.objects.get(event=event, subscriber=SUBSCRIBER)


class TestDelivery:
    def test_signed_post_carries_the_event_and_verifies_with_the_secret(self, receiver,
                                                                         admin_user):
        created = subscribe(admin_user, receiver, "/hook?tenant=7")
        event = publish(name="Acme")

        drain_outbox(subscribers={SUBSCRIBER})

        assert outbound(event).state == Delivery.State.SUCCEEDED
        [request] = receiver.requests
        assert request["path"] == "/hook?tenant=7"
        headers, body = request["headers"], request["body"]
        assert headers[EVENT_ID_HEADER] == str(event.event_id)
        assert headers["Content-Type"] == "application/json"
        timestamp = headers[TIMESTAMP_HEADER]
        assert abs(int(timestamp) - time.time()) < 30
        assert headers[SIGNATURE_HEADER].startswith("v1=")
        assert signature_valid(created.secret, timestamp, body, headers[SIGNATURE_HEADER],
                               now=time.time())
        assert not signature_valid("another-secret", timestamp, body,
                                   headers[SIGNATURE_HEADER], now=time.time())
        assert not signature_valid(created.secret, timestamp, body + b" ",
                                   headers[SIGNATURE_HEADER], now=time.time())
        document = json.loads(body)
        assert document == {"id": str(event.event_id), "type": "client.created",
                            "occurred_at": document["occurred_at"],
                            "correlation_id": event.correlation_id, "data": event.payload}
        assert datetime.fromisoformat(document["occurred_at"]).utcoffset() == timedelta(0)
        assert WebhookReceipt.objects.filter(subscription=created.subscription,
                                             event=event, status_code=200).exists()

    def test_a_failing_receiver_is_retried_alone(self, receiver, admin_user):
        good = subscribe(admin_user, receiver, "/good")
        flaky = subscribe(admin_user, receiver, "/flaky")
        receiver.answer("/flaky", 500)
        event = publish()

        drain_outbox(rounds=1, subscribers={SUBSCRIBER})

        delivery = outbound(event)
        assert delivery.state == Delivery.State.FAILED
        assert f"subscription {flaky.subscription.pk}" in delivery.last_error
        assert f"subscription {good.subscription.pk}" not in delivery.last_error
        assert len(receiver.to("/good")) == 1
        assert len(receiver.to("/flaky")) == 1

        drain_outbox(subscribers={SUBSCRIBER})

        assert outbound(event).state == Delivery.State.SUCCEEDED
        assert len(receiver.to("/good")) == 1, "the receiver that answered 2xx is not re-sent"
        assert len(receiver.to("/flaky")) == 2
        first, second = receiver.to("/flaky")
        assert first["body"] == second["body"]
        assert WebhookReceipt.objects.filter(event=event).count() == 2

    def test_throttled_receiver_sets_the_next_attempt_after_its_retry_after(self, receiver,
                                                                            admin_user):
        subscribe(admin_user, receiver, "/slow")
        subscribe(admin_user, receiver, "/slower")
        receiver.answer("/slow", 429, headers={"Retry-After": "30"})
        receiver.answer("/slower", 429, headers={"Retry-After": "120"})
        event = publish()

        drain_outbox(rounds=1, subscribers={SUBSCRIBER})

        delivery = outbound(event)
        assert delivery.state == Delivery.State.FAILED
        assert delivery.last_error_context["retry_after"] == 120.0
        assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=110)

    def test_errors_never_show_the_query_where_receivers_keep_tokens(self, receiver,
                                                                     admin_user):
        subscribe(admin_user, receiver, "/hook?token=s3cr3t&x=")
        receiver.answer("/hook?token=s3cr3t&x=", 500)
        event = publish()

        drain_outbox(rounds=1, subscribers={SUBSCRIBER})

        delivery = outbound(event)
        assert delivery.state == Delivery.State.FAILED
        assert "/hook" in delivery.last_error
        assert "s3cr3t" not in delivery.last_error
        assert receiver.requests[0]["path"] == "/hook?token=s3cr3t&x="

    def test_a_timeout_is_a_failure_and_the_others_still_get_the_event(self, receiver,
                                                                       admin_user):
        subscribe(admin_user, receiver, "/stuck")
        subscribe(admin_user, receiver, "/fine")
        receiver.answer("/stuck", 200, delay=1.5)  # the client gives up after 1 s (conftest)
        event = publish()

        drain_outbox(rounds=1, subscribers={SUBSCRIBER})

        delivery = outbound(event)
        assert delivery.state == Delivery.State.FAILED
        assert "timed out" in delivery.last_error
        assert len(receiver.to("/fine")) == 1

    def test_event_types_filter_what_each_subscription_receives(self, receiver, admin_user):
        subscribe(admin_user, receiver, "/clients", types=["client.created"])
        subscribe(admin_user, receiver, "/invoices", types=["invoice.issued"])
        subscribe(admin_user, receiver, "/all", types=["*"])
        publish("client.created")
        publish("project.created")

        drain_outbox(subscribers={SUBSCRIBER})

        assert [json.loads(r["body"])["type"] for r in receiver.to("/clients")] == [
            "client.created"]
        assert receiver.to("/invoices") == []
        assert sorted(json.loads(r["body"])["type"] for r in receiver.to("/all")) == [
            "client.created", "project.created"]

    def test_inactive_subscriptions_are_skipped(self, receiver, admin_user):
        created = subscribe(admin_user, receiver, "/off")
        WebhookSubscription.objects.filter(pk=created.subscription.pk).update(active=False)
        event = publish()

        drain_outbox(subscribers={SUBSCRIBER})

        assert outbound(event).state == Delivery.State.SUCCEEDED
        assert receiver.requests == []

    def test_internal_inbound_events_are_never_sent(self, receiver, admin_user):
        subscribe(admin_user, receiver, "/all")
        event = publish("inbound.received")

        webhooks_send(event)

        assert receiver.requests == []


class TestCost:
    def test_one_query_when_no_active_subscription_exists(self, admin_user,
                                                          django_assert_num_queries):
        event = publish()
        inactive = webhook_subscription_create(actor=admin_user, url="http://127.0.0.1:9/x",
                                               event_types=["*"])
        WebhookSubscription.objects.filter(pk=inactive.subscription.pk).update(active=False)

        with django_assert_num_queries(1):
            webhooks_send(event)


class TestSignature:
    def test_old_or_future_timestamps_are_refused(self):
        body = b'{"id":"1"}'
        now = 1_800_000_000
        header = signature_for("s3cret", now, body)
        assert signature_valid("s3cret", str(now), body, header, now=now + 299)
        assert not signature_valid("s3cret", str(now), body, header, now=now + 301)
        assert not signature_valid("s3cret", str(now), body, header, now=now - 301)

    def test_missing_or_malformed_parts_are_refused(self):
        body = b"{}"
        header = signature_for("k", 100, body)
        assert not signature_valid("k", None, body, header, now=100)
        assert not signature_valid("k", "abc", body, header, now=100)
        assert not signature_valid("k", "100", body, None, now=100)
        assert not signature_valid("k", "100", body, "v1=00", now=100)
        assert signature_valid("k", "100", body, f"v1=00, {header}", now=100)

    def test_signature_is_hmac_sha256_of_timestamp_dot_body(self):
        # A receiver's check written from API.md alone agrees with ours.
        import hashlib
        import hmac

        expected = hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest()
        assert signature_for("key", 1700000000, "{}") == f"v1={expected}"


class TestSubscriptions:
    def test_create_returns_a_secret_stored_encrypted(self, admin_user):
        created = webhook_subscription_create(actor=admin_user, url="https://example.test/h",
                                              event_types=["invoice.issued", "invoice.issued"])

        subscription = WebhookSubscription.objects.get(pk=created.subscription.pk)
        assert len(created.secret) >= 40
        assert created.secret not in subscription.secret_encrypted
        assert subscription.secret == created.secret
        assert subscription.event_types == ["invoice.issued"]
        assert subscription.created_by == admin_user

    @pytest.mark.parametrize(("url", "types", "attr"), [
        ("ftp://example.test/h", ["*"], "url"),
        ("not a url", ["*"], "url"),
        ("https://example.test/h", [], "event_types"),
        ("https://example.test/h", ["invoice.exploded"], "event_types"),
    ])
    def test_invalid_input_writes_nothing(self, admin_user, url, types, attr):
        with pytest.raises(WebhookSubscriptionInvalidError) as error:
            webhook_subscription_create(actor=admin_user, url=url, event_types=types)

        assert error.value.attr == attr
        assert not WebhookSubscription.objects.exists()

    def test_known_event_types_are_every_type_the_code_publishes(self):
        published = set()
        for app in ("psa", "billing", "revenue", "resourcing", "crm_sync"):
            for path in (ROOT / app).rglob("*.py"):
                published |= set(re.findall(r'publish\(\s*"([a-z_]+\.[a-z_]+)"',
                                            path.read_text()))
        assert published == set(EVENT_TYPES)


@pytest.mark.django_db
def test_a_url_with_credentials_is_refused_so_they_never_reach_error_texts():
    from crm_sync.services.webhook_subscriptions import (
        WebhookSubscriptionInvalidError,
        webhook_subscription_create,
    )

    with pytest.raises(WebhookSubscriptionInvalidError, match="user name and password"):
        webhook_subscription_create(actor=UserFactory(), url="https://bob:pw@hooks.example/x",
                                    event_types=["*"])
    assert not WebhookSubscription.objects.exists()


class TestTargetsInProduction:
    """With private targets refused (production's default), webhooks only reach public HTTPS
    receivers: no request forgery against the firm's own network."""

    @pytest.fixture(autouse=True)
    def _production_rule(self, settings):
        settings.WEBHOOK_PRIVATE_TARGETS_ALLOWED = False

    @pytest.mark.parametrize(("url", "says"), [
        ("http://93.184.216.34/hook", "https://"),
        ("https://127.0.0.1/hook", "127.0.0.1"),
        ("https://10.20.30.40/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("https://[::1]:8443/hook", "::1"),
        ("https://[::ffff:192.168.1.5]/hook", "192.168.1.5"),
        ("https://no-such-host.invalid/hook", "cannot be resolved"),
    ])
    def test_a_subscription_to_an_inside_or_plain_http_target_is_refused(
            self, admin_user, url, says):
        with pytest.raises(WebhookSubscriptionInvalidError) as refused:
            webhook_subscription_create(actor=admin_user, url=url, event_types=["*"])

        assert says in str(refused.value) and refused.value.attr == "url"
        assert not WebhookSubscription.objects.exists()

    def test_a_public_https_receiver_is_accepted(self, admin_user):
        created = webhook_subscription_create(actor=admin_user, url="https://93.184.216.34/h",
                                              event_types=["*"])

        assert created.subscription.pk

    def test_a_target_that_turned_private_is_refused_at_send_time(
            self, receiver, admin_user, settings):
        settings.WEBHOOK_PRIVATE_TARGETS_ALLOWED = True
        subscribe(admin_user, receiver, "/hook")  # accepted while private targets were allowed
        settings.WEBHOOK_PRIVATE_TARGETS_ALLOWED = False
        event = publish()

        drain_outbox(subscribers={SUBSCRIBER})

        assert receiver.requests == []
        assert "https://" in outbound(event).last_error
