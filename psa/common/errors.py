"""Domain errors and the API's one error shape (API.md, STYLE.md §14)."""

from __future__ import annotations

import logging
from typing import Any

from drf_standardized_errors.handler import exception_handler as standardized_handler
from rest_framework import status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule refused the operation; `detail` is a sentence a person can read."""

    code = "invalid"
    http_status = status.HTTP_400_BAD_REQUEST

    def __init__(self, detail: str, *, code: str | None = None, attr: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.attr = attr


class StateConflictError(DomainError):
    """The object's state does not allow the requested move."""

    code = "invalid_state"
    http_status = status.HTTP_409_CONFLICT


class StaleVersionError(DomainError):
    """The client changed an object from an old version (If-Match did not match)."""

    code = "stale_version"
    http_status = status.HTTP_412_PRECONDITION_FAILED


class RateNotFoundError(DomainError):
    """No rate card line resolves for a person, contract and date."""

    code = "rate_not_found"


class PeriodClosedError(DomainError):
    """A change is dated in a closed period."""

    code = "period_closed"
    http_status = status.HTTP_409_CONFLICT


def error_body(error_type: str, code: str, detail: str, attr: str | None = None) -> dict[str, Any]:
    return {"type": error_type, "errors": [{"code": code, "detail": detail, "attr": attr}]}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every API error in drf-standardized-errors' shape, domain errors included."""
    if isinstance(exc, DomainError):
        return Response(error_body("client_error", exc.code, exc.detail, exc.attr),
                        status=exc.http_status)
    from django.core.exceptions import SuspiciousOperation
    from django.core.exceptions import ValidationError as DjangoValidationError

    if isinstance(exc, SuspiciousOperation):
        # Too many fields, a body over the size limit, a malformed multipart boundary: Django
        # raises these while DRF reads the body, and would answer with an HTML page. Logged
        # where Django logs them; the client gets a fixed sentence (the message may name
        # settings or paths).
        logging.getLogger(f"django.security.{type(exc).__name__}").error(str(exc))
        return Response(error_body("client_error", "bad_request",
                                   "The request could not be read: it is too large or "
                                   "malformed."),
                        status=status.HTTP_400_BAD_REQUEST)

    if isinstance(exc, DjangoValidationError):
        errors = []
        for field, messages in exc.message_dict.items() if hasattr(exc, "error_dict") else [
            (None, exc.messages)
        ]:
            attr = None if field in (None, "__all__") else field
            errors.extend({"code": "invalid", "detail": str(m), "attr": attr} for m in messages)
        return Response({"type": "validation_error", "errors": errors},
                        status=status.HTTP_400_BAD_REQUEST)
    return standardized_handler(exc, context)
