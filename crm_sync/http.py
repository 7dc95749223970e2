"""HTTP to the vendors: httpx with timeouts everywhere, errors mapped to what the outbox needs.

- 429, and 503 with `Retry-After` → `psa.events.RetryAfter` (the next attempt waits at least
  that long; BambooHR used 503 for throttling until September 2026 and still may);
- other 5xx, timeouts and dropped connections → `TransientRemoteError` (retried with backoff);
- other 4xx → `RemoteError` with the vendor's body, retried too (it may be fixed by a setting),
  and dead-lettered after the last attempt with the full response in its context.
"""

from __future__ import annotations

import logging
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


class VendorClient:
    """One vendor's HTTP session: base URL, auth, timeouts, and error mapping."""

    def __init__(self, base_url: str, *, headers: Mapping[str, str] | None = None,
                 auth: httpx.Auth | tuple[str, str] | None = None,
                 timeout: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        seconds = timeout if timeout is not None else settings.SYNC_HTTP_TIMEOUT_SECONDS
        self._client = httpx.Client(
            base_url=self.base_url, headers={"Accept": "application/json", **(headers or {})},
            auth=auth, timeout=httpx.Timeout(seconds, connect=min(5.0, seconds)),
            follow_redirects=False)

    def close(self) -> None:
        self._client.close()

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
            response = self._client.request(method, path, params=params, json=json,
                                            content=content, headers=headers)
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
            raise RemoteRetryAfter(retry_after_seconds(retry_after), message,
                                   status=response.status_code, body=body)
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
