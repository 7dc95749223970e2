"""Per-token rate limits; over the limit answers 429 with Retry-After."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from psa.models import ApiToken

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

WARN_EVERY_SECONDS = 60.0


class TokenRateThrottle(SimpleRateThrottle):
    """Counts requests per token (per user for sessions, per address when anonymous)."""

    scope = "token"

    def allow_request(self, request: Request, view: APIView) -> bool:
        """Fail open when the cache holding the counters is down: the limit protects the
        service, and refusing or failing every API call would hurt it more than a few
        uncounted requests (the outage shows on /health/ and in this warning)."""
        try:
            return super().allow_request(request, view)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # Only "cannot reach it": a wrong password or a read-only replica is a
            # misconfiguration and must fail loudly, not switch the limit off for good.
            _warn_unreachable(exc)
            return True

    def get_cache_key(self, request: Request, view: APIView) -> str:
        token = getattr(request, "auth", None)
        if isinstance(token, ApiToken):
            ident = f"token-{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"anon-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


_last_warning = [0.0]  # monotonic time of the last warning, per process


def _warn_unreachable(exc: Exception) -> None:
    """One warning a minute at most: an outage would otherwise log every API request."""
    now = time.monotonic()
    if now - _last_warning[0] >= WARN_EVERY_SECONDS:
        _last_warning[0] = now
        logger.warning("API rate limit not applied: the cache is unreachable (%s)", exc)
