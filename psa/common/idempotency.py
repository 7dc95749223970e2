"""`Idempotency-Key` on every API `POST` (API.md, STYLE.md §13; after pretix's api/middleware.py).

The first request with a key records an in-flight row in its own committed transaction, so a
concurrent duplicate sees it and gets `409` with `Retry-After`. The work and the stored response
then commit together; a repeat with the same body replays the stored status and body byte for
byte, a repeat with another body is `422`. `409`, `429` and `5xx` answers are not stored (the
row is removed, so the client may retry), nor is anything when the handler raises.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseBase
from django.utils import timezone
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from psa.common.errors import error_body
from psa.models import IdempotencyRecord

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
IN_FLIGHT_RETRY_AFTER_SECONDS = 1
# An in-flight row older than this belongs to a request that died without cleaning up.
IN_FLIGHT_ABANDONED_AFTER = timedelta(minutes=10)
REPLAY_HEADER = "Idempotent-Replayed"


def request_hash(*, method: str, path: str, body: bytes) -> str:
    """SHA-256 of method, full path and body; JSON bodies are canonical (key order, spacing)."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True,
                               separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), b"\n", path.encode(), b"\n", canonical):
        digest.update(part)
    return digest.hexdigest()


def is_storable(status_code: int) -> bool:
    """Whether a response may be replayed: not a conflict, a throttle or a server error."""
    return status_code not in (status.HTTP_409_CONFLICT, status.HTTP_429_TOO_MANY_REQUESTS) \
        and status_code < 500


def idempotency_records_purge() -> int:
    """Delete records older than `IDEMPOTENCY_KEY_TTL_HOURS`; returns how many went."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _error(status_code: int, code: str, detail: str, **headers: str) -> Response:
    return Response(error_body("client_error", code, detail, "Idempotency-Key"),
                    status=status_code, headers=headers or None)


def _claim(*, user_id: int, key: str, fingerprint: str) -> tuple[IdempotencyRecord | None,
                                                                  IdempotencyRecord | None]:
    """(new in-flight row, None) for a first request; (None, existing row) for a repeat."""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user_id=user_id, key=key, request_hash=fingerprint), None
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user_id=user_id, key=key).first()
            if existing is None:
                continue  # released between our insert and our read: try once more
            abandoned = (existing.state == IdempotencyRecord.State.IN_FLIGHT
                         and existing.created_at < timezone.now() - IN_FLIGHT_ABANDONED_AFTER)
            if abandoned and IdempotencyRecord.objects.filter(
                    pk=existing.pk, state=IdempotencyRecord.State.IN_FLIGHT).delete()[0]:
                continue
            return None, existing
    return None, IdempotencyRecord.objects.get(user_id=user_id, key=key)


def _release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body or b""), status=record.response_status,
                            content_type=record.response_content_type or "application/json")
    response[REPLAY_HEADER] = "true"
    return response


class IdempotentPostMixin:
    """For API views: wraps the `POST` handler when the request carries `Idempotency-Key`."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles
        key = request.headers.get(HEADER)
        if request.method == "POST" and key is not None and hasattr(self, "post"):
            handler = self.post
            self.post = lambda req, *a, **kw: self._idempotent(handler, key, req, *a, **kw)

    def _idempotent(self, handler: Callable[..., HttpResponseBase], key: str, request: Request,
                    *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            return Response(error_body("validation_error", "invalid",
                                       f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
                                       "Idempotency-Key"), status=status.HTTP_400_BAD_REQUEST)
        fingerprint = request_hash(method=request.method, path=request.get_full_path(),
                                   body=request._request.body)
        record, existing = _claim(user_id=request.user.pk, key=key, fingerprint=fingerprint)
        if existing is not None:
            if existing.request_hash != fingerprint:
                return _error(status.HTTP_422_UNPROCESSABLE_ENTITY, "idempotency_key_reused",
                              "This Idempotency-Key was already used with another request.")
            if existing.state == IdempotencyRecord.State.IN_FLIGHT:
                return _error(status.HTTP_409_CONFLICT, "idempotency_key_in_flight",
                              "A request with this Idempotency-Key is still being processed.",
                              **{"Retry-After": str(IN_FLIGHT_RETRY_AFTER_SECONDS)})
            return _replay(existing)

        stored = False
        try:
            with transaction.atomic():
                try:
                    response = handler(request, *args, **kwargs)
                except Exception as exc:
                    response = self.handle_exception(exc)
                response = self.finalize_response(request, response, *args, **kwargs)
                if hasattr(response, "render"):
                    response.render()
                if is_storable(response.status_code):
                    IdempotencyRecord.objects.filter(pk=record.pk).update(
                        state=IdempotencyRecord.State.DONE,
                        response_status=response.status_code,
                        response_body=response.content,
                        response_content_type=response.get("Content-Type", ""))
                    stored = True
        except BaseException:
            _release(record)
            raise
        if not stored:
            _release(record)
        return response
