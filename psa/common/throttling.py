"""Per-token rate limits; over the limit answers 429 with Retry-After."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from psa.models import ApiToken

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView


class TokenRateThrottle(SimpleRateThrottle):
    """Counts requests per token (per user for sessions, per address when anonymous)."""

    scope = "token"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        token = getattr(request, "auth", None)
        if isinstance(token, ApiToken):
            ident = f"token-{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"anon-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
