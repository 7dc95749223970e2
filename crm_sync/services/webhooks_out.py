"""Outbound webhooks (API.md: Outbound webhooks): our events POSTed, signed, to subscribers.

`webhooks_send` is the body of the `webhooks.outbound` outbox subscriber, which sees every event.
It costs one query when nobody wants the event. Each subscription that wants it and has not
acknowledged it yet gets one signed POST; a 2xx is recorded as a `WebhookReceipt`, so when some
receivers fail, the outbox's retry re-sends only to those (at-least-once per receiver).

Signature: `X-PSA-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with the
timestamp in `X-PSA-Timestamp` (epoch seconds); receivers refuse timestamps more than five
minutes away (`signature_valid` does both checks, in constant time).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.db.models import Exists, OuterRef

from crm_sync.http import VendorClient
from crm_sync.models import WebhookReceipt, WebhookSubscription
from crm_sync.services.webhook_subscriptions import INTERNAL_EVENT_TYPES
from crm_sync.services.webhook_targets import webhook_target_check
from psa.events import RetryAfter
from psa.models import OutboxEvent

logger = logging.getLogger(__name__)

EVENT_ID_HEADER = "X-PSA-Event-Id"
TIMESTAMP_HEADER = "X-PSA-Timestamp"
SIGNATURE_HEADER = "X-PSA-Signature"
SIGNATURE_VERSION = "v1"
SIGNATURE_TOLERANCE_SECONDS = 300
USER_AGENT = "PSA-Webhooks/1"


class WebhookDeliveryError(Exception):
    """Some subscriptions did not acknowledge an event; the message names each of them."""

    def __init__(self, message: str, *, failed: list[int]) -> None:
        super().__init__(message)
        self.failed = failed


class WebhookRetryAfter(RetryAfter):
    """Some subscriptions failed and at least one asked us to wait (429 / 503 Retry-After)."""

    def __init__(self, seconds: float, message: str, *, failed: list[int]) -> None:
        super().__init__(seconds, message)
        self.failed = failed


def webhook_body(event: OutboxEvent) -> str:
    """The JSON document a receiver gets (compact, so the signed text is the bytes sent)."""
    document = {
        "id": str(event.event_id),
        "type": event.type,
        "occurred_at": event.created_at.isoformat(),
        "correlation_id": event.correlation_id,
        "data": event.payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True, default=str)


def signature_for(secret: str, timestamp: int | str, body: str | bytes) -> str:
    """`v1=<hex>`: HMAC-SHA256 with the subscription's secret of "<timestamp>.<body>"."""
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def signature_valid(secret: str, timestamp: str | int | None, body: str | bytes,
                    header: str | None, now: float,
                    tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """A receiver's check: the signature matches and the timestamp is within five minutes.

    The comparison runs in constant time; a missing or malformed timestamp or header fails.
    `header` may carry several comma-separated signatures (during a secret rotation).
    """
    if not header or timestamp is None:
        return False
    try:
        sent_at = int(str(timestamp).strip())
    except ValueError:
        return False
    if abs(now - sent_at) > tolerance:
        return False
    expected = signature_for(secret, sent_at, body).encode()
    matches = [hmac.compare_digest(expected, given.strip().encode())
               for given in header.split(",")]
    return any(matches)


def _pending_subscriptions(event: OutboxEvent) -> list[WebhookSubscription]:
    """Active subscriptions without a receipt for `event` (one query), then by event type."""
    acknowledged = WebhookReceipt.objects.filter(subscription=OuterRef("pk"), event=event)
    candidates = (WebhookSubscription.objects.filter(active=True)
                  .exclude(Exists(acknowledged)).order_by("pk"))
    return [subscription for subscription in candidates if subscription.wants(event.type)]


def _post(subscription: WebhookSubscription, event: OutboxEvent, body: str) -> int:
    """POST one signed copy of the event; returns the 2xx status or raises the mapped error.

    The URL is split into origin, path and query because httpx's `base_url` would add a
    trailing slash to a receiver's path, and so that error messages (shown on the health page)
    never carry the query, where receivers often put a token. Redirects are not followed.
    """
    webhook_target_check(subscription.url)  # again: the host may resolve elsewhere by now
    parts = urlsplit(subscription.url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: str(event.event_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature_for(subscription.secret, timestamp, body),
    }
    with VendorClient(f"{parts.scheme}://{parts.netloc}") as client:
        response = client.request("POST", parts.path or "/", params=params or None,
                                  content=body.encode(), headers=headers)
    return response.status_code


def _receipt(subscription: WebhookSubscription, event: OutboxEvent, status_code: int) -> None:
    # One INSERT … ON CONFLICT DO NOTHING: a concurrent attempt may have recorded it first,
    # and the receiver got it either way.
    WebhookReceipt.objects.bulk_create(
        [WebhookReceipt(subscription=subscription, event=event, status_code=status_code)],
        ignore_conflicts=True)


def webhooks_send(event: OutboxEvent) -> None:
    """Deliver `event` to every active subscription that wants it and has not acknowledged it.

    The hub's internal events (a stored inbound message) are never sent out. Receivers are
    independent: one failing does not stop the others. Afterwards, if any failed, raises
    WebhookRetryAfter (the largest Retry-After any of them asked for) or WebhookDeliveryError,
    naming each failed subscription, so the outbox retries the delivery; the receipts make the
    retry skip those already done.
    """
    if event.type in INTERNAL_EVENT_TYPES:
        return
    subscriptions = _pending_subscriptions(event)
    if not subscriptions:
        return
    body = webhook_body(event)
    failures: list[tuple[WebhookSubscription, Exception]] = []
    # Stop well before the delivery's lease runs out: past it, the sweeper may hand the
    # delivery to another worker, and both would post to the receivers still left.
    deadline = time.monotonic() + max(
        1.0, settings.OUTBOX_LEASE_SECONDS - 2 * settings.SYNC_HTTP_TIMEOUT_SECONDS)
    for subscription in subscriptions:
        if time.monotonic() > deadline:
            failures.append((subscription, TimeoutError("not tried: the attempt ran out of "
                                                        "time; the next attempt sends it")))
            continue
        if WebhookReceipt.objects.filter(subscription=subscription, event=event).exists():
            continue  # another attempt delivered it meanwhile
        try:
            status_code = _post(subscription, event, body)
        except Exception as exc:  # one receiver's failure never stops the others
            failures.append((subscription, exc))
            logger.warning("Webhook %s to subscription %s failed: %s", event.event_id,
                           subscription.pk, exc,
                           extra={"correlation_id": event.correlation_id,
                                  "subscription_id": subscription.pk})
            continue
        _receipt(subscription, event, status_code)
    if failures:
        _raise_for(failures)


def display_url(url: str) -> str:
    """The URL without its query (receivers often put a token there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _raise_for(failures: list[tuple[WebhookSubscription, Exception]]) -> None:
    failed = [subscription.pk for subscription, _ in failures]
    message = "; ".join(f"subscription {subscription.pk} ({display_url(subscription.url)}): "
                        f"{exc}" for subscription, exc in failures)
    message = f"{len(failures)} webhook subscription(s) failed: {message}"
    waits: list[float] = [exc.seconds for _, exc in failures if isinstance(exc, RetryAfter)]
    if waits:
        raise WebhookRetryAfter(max(waits), message, failed=failed)
    raise WebhookDeliveryError(message, failed=failed)
