"""Bearer tokens: created once, shown once, stored as a SHA-256 digest."""

import hashlib
import secrets
from datetime import timedelta

from auditlog.context import auditlog_value
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from psa.models import ApiToken

TOKEN_BYTES = 32


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, user: User, name: str, scopes: list[str] | None = None, days: int | None = None
) -> tuple[ApiToken, str]:
    """Create a token for the user; returns the row and the raw token, which is never stored.

    It expires after `days` (API_TOKEN_DAYS by default, 365); 0 makes one that never expires,
    for a caller who decided so explicitly.
    """
    days = settings.API_TOKEN_DAYS if days is None else days
    if days < 0:
        raise ValueError("days must be 0 (never expires) or more")
    raw = "psa_" + secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[4:12], digest=token_digest(raw), scopes=scopes or [],
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token; requests with it are refused from now on."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`; `request.auth` is the ApiToken row."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be 'Bearer <token>'."
            )
        try:
            raw = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("The token is not valid.") from exc
        token = ApiToken.objects.select_related("user").filter(digest=token_digest(raw)).first()
        if token is None or not token.is_usable or not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token is not valid, expired or revoked.")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            # Once a minute is enough to show activity without a write per request.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        _audit_actor_set(token.user)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def _audit_actor_set(user: User) -> None:
    """Name the token's user as the actor of this request's audit entries.

    The audit middleware reads the actor from the session's user before DRF has read the
    token, so without this every change made through a token was logged without its author.
    """
    try:
        context = auditlog_value.get()
    except LookupError:  # outside a request (a command calling the API in-process)
        return
    if context.get("actor") is None:
        context["actor"] = user
