"""HTTP to the vendors: httpx with timeouts everywhere, errors mapped to what the outbox needs.

- 429, and 503 with `Retry-After` → `psa.events.RetryAfter` (the next attempt waits at least
  that long; BambooHR used 503 for throttling until September 2026 and still may);
- other 5xx, timeouts and dropped connections → `TransientRemoteError` (retried with backoff);
- other 4xx → `RemoteError` with the vendor's body, retried too (it may be fixed by a setting),
  and dead-lettered after the last attempt with the full response in its context.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from django.conf import settings
from django.utils import timezone

from psa.events import RetryAfter

logger = logging.getLogger(__name__)

BODY_EXCERPT_CHARS = 800
DEFAULT_RETRY_AFTER_SECONDS = 30.0


class RemoteError(Exception):
    """A vendor answered with an error (or not at all); the message names the request."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "",
                 payload: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.payload = payload


class TransientRemoteError(RemoteError):
    """Worth retrying as it is: a 5xx, a timeout or a dropped connection."""


class RemoteRetryAfter(RetryAfter):
    """The vendor asked us to slow down (429, or 503 with Retry-After)."""

    def __init__(self, seconds: float, message: str, *, status: int, body: str) -> None:
        super().__init__(seconds, message)
        self.status = status
        self.body = body


def retry_after_seconds(value: str | None, default: float = DEFAULT_RETRY_AFTER_SECONDS) -> float:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; `default` if absent."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, (when - timezone.now()).total_seconds())


_pool: tuple[int, httpx.Client] | None = None
_pool_lock = threading.Lock()


def shared_http() -> httpx.Client:
    """This process's connection pool, shared by every VendorClient: building an httpx client
    costs milliseconds (its TLS context), and keep-alive saves a handshake per call. Rebuilt
    after a fork (a prefork worker child must not share its parent's sockets)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), httpx.Client(
                follow_redirects=False,
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=20)))
        return _pool[1]


class VendorClient:
    """One vendor's HTTP settings (base URL, auth, timeouts) over the shared pool, and the
    mapping of its errors."""

    # Seconds to wait on a 429 that names no Retry-After (vendors differ; QuickBooks says 60).
    default_retry_after: float = DEFAULT_RETRY_AFTER_SECONDS

    def __init__(self, base_url: str, *, headers: Mapping[str, str] | None = None,
                 auth: httpx.Auth | tuple[str, str] | None = None,
                 timeout: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Accept": "application/json", **(headers or {})}
        self.auth = auth
        seconds = timeout if timeout is not None else settings.SYNC_HTTP_TIMEOUT_SECONDS
        self.timeout = httpx.Timeout(seconds, connect=min(5.0, seconds))

    def close(self) -> None:
        """Nothing to release: connections go back to the shared pool after each request."""

    def __enter__(self) -> VendorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, content: str | bytes | None = None,
                headers: Mapping[str, str] | None = None) -> httpx.Response:
        """Send one request; return the 2xx response or raise the mapped error."""
        what = f"{method} {self.base_url}{path}"
        try:
            response = shared_http().request(
                method, f"{self.base_url}{path}", params=params, json=json, content=content,
                headers={**self.headers, **(headers or {})}, auth=self.auth,
                timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise TransientRemoteError(f"{what}: timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise TransientRemoteError(f"{what}: connection failed ({exc})") from exc
        if response.is_success:
            return response
        body = response.text[:BODY_EXCERPT_CHARS]
        message = f"{what} → {response.status_code}: {body}"
        retry_after = response.headers.get("Retry-After")
        if response.status_code == 429 or (response.status_code == 503 and retry_after):
            raise RemoteRetryAfter(retry_after_seconds(retry_after, self.default_retry_after),
                                   message, status=response.status_code, body=body)
        if response.status_code >= 500:
            raise TransientRemoteError(message, status=response.status_code, body=body)
        raise RemoteError(message, status=response.status_code, body=body,
                          payload=_json_or_none(response))

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post_json(self, path: str, body: Any, **kwargs: Any) -> Any:
        response = self.request("POST", path, json=body, **kwargs)
        return response.json() if response.content else None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
