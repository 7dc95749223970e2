"""The one small interface every connector implements (ARCHITECTURE.md: Integration hub).

A connector speaks one vendor's API; everything vendor-specific stays in its module. The hub
calls only these methods:

- `test()` checks the credentials and the base URL, returning a sentence for the page;
- `verify_webhook(...)` checks an inbound request's signature and freshness and splits it into
  `WebhookEvent`s (one per vendor event, each with the vendor's id for deduplication);
- `handle_inbound(message)` applies one stored inbound event (fetching what it needs);
- `poll(run)` finds what changed since the stored cursor and stores each change as an inbound
  message, so polled and pushed changes go through the same idempotent path;
- `handle_event(event)` reacts to one of our outbox events the vendor subscribes to (pushes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings

from psa.common.errors import DomainError

if TYPE_CHECKING:
    from crm_sync.http import VendorClient
    from crm_sync.models import Connection, InboundMessage, SyncRun
    from psa.models import OutboxEvent


class WebhookRejectedError(DomainError):
    """An inbound webhook's signature is missing, wrong, or too old (HTTP 401)."""

    code = "invalid_signature"
    http_status = 401


@dataclass(frozen=True)
class WebhookEvent:
    """One vendor event out of a webhook request (vendors often batch several)."""

    event_id: str
    topic: str
    object_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class InboundRequest:
    """What a connector needs of an inbound HTTP request to verify it."""

    method: str
    url: str
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    received_at: float = field(default_factory=time.time)


class Connector:
    """Base class: holds the connection and its HTTP client; subclasses fill in the verbs."""

    vendor: ClassVar[str]
    # {outbox event type: handler method name}; the hub subscribes one outbox subscriber per
    # (vendor, event type), named "<vendor>.<event type>".
    EVENT_HANDLERS: ClassVar[dict[str, str]] = {}

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._client: VendorClient | None = None

    @property
    def client(self) -> VendorClient:
        if self._client is None:
            self._client = self.build_client()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def credentials(self) -> dict[str, Any]:
        return self.connection.credentials

    @property
    def options(self) -> dict[str, Any]:
        return self.connection.options or {}

    # --- the verbs ----------------------------------------------------------------------

    def build_client(self) -> VendorClient:
        raise NotImplementedError

    def test(self) -> str:
        raise NotImplementedError

    def verify_webhook(self, request: InboundRequest) -> list[WebhookEvent]:
        raise NotImplementedError

    def handle_inbound(self, message: InboundMessage) -> str:
        raise NotImplementedError

    def poll(self, run: SyncRun) -> dict[str, int]:
        return {}

    def handle_event(self, event: OutboxEvent) -> None:
        method = self.EVENT_HANDLERS.get(event.type)
        if method is None:
            return
        getattr(self, method)(event)


# --- helpers shared by the vendors' signature schemes ---------------------------------------


def hmac_sha256(key: str, message: bytes) -> bytes:
    return hmac.new(key.encode(), message, hashlib.sha256).digest()


def signatures_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison; a missing signature never matches."""
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())


def ensure_fresh(timestamp_seconds: float, now: float, *, what: str) -> None:
    """Refuse a signed request whose timestamp is outside the replay window (both ways)."""
    tolerance = settings.SYNC_WEBHOOK_TOLERANCE_SECONDS
    if abs(now - timestamp_seconds) > tolerance:
        raise WebhookRejectedError(
            f"The {what} timestamp is more than {tolerance} seconds away from now; refused as a "
            "possible replay.")


def digest_id(*parts: Any) -> str:
    """A stable event id for vendors that send none (BambooHR, QuickBooks): a hash of what
    identifies the change, so the same change delivered twice dedupes to one message."""
    raw = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:40]
