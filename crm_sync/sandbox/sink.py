"""A webhook receiver for our own outbound webhooks (API.md): it checks each signature the way
a subscriber should and counts what arrived, once and more than once. Used by the bench and
the integration tests; a stand-in for a customer's endpoint."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import Counter
from typing import Any

from crm_sync.sandbox.server import Emulator, Request, Response, route

TOLERANCE_SECONDS = 300


class WebhookSinkEmulator(Emulator):
    name = "webhook-sink"

    def __init__(self, *, secret: str = "", **kwargs: Any) -> None:
        self.secret = secret
        super().__init__(**kwargs)

    def reset(self) -> None:
        self.received: Counter[str] = Counter()
        self.rejected = 0

    def state(self) -> dict[str, Any]:
        return {"received": sum(self.received.values()), "distinct": len(self.received),
                "duplicates": sum(n - 1 for n in self.received.values()),
                "rejected": self.rejected}

    @route("POST", r"/hooks")
    def receive(self, request: Request) -> Response:
        if self.secret and not self._valid(request):
            self.rejected += 1
            return Response(401, {"message": "bad signature"})
        event_id = request.headers.get("x-psa-event-id", "")
        self.received[event_id] += 1
        return Response(204)

    def _valid(self, request: Request) -> bool:
        timestamp = request.headers.get("x-psa-timestamp", "")
        given = request.headers.get("x-psa-signature", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
            return False
        message = timestamp.encode() + b"." + request.body
        expected = "v1=" + hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, given)
