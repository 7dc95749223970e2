"""Connector secrets encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

Keys come from the environment: `PSA_CONNECTOR_KEYS`, a comma-separated list of Fernet keys,
newest first (older ones still decrypt, so keys can be rotated with `rotate_token`). Without
it, one key is derived from SECRET_KEY, which production already requires to be strong; a
separate key is still recommended so a leaked SECRET_KEY does not expose vendor credentials.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from psa.common.errors import DomainError


class SecretUnreadableError(DomainError):
    """A stored secret cannot be decrypted with any configured key."""

    code = "secret_unreadable"


@cache
def _fernet() -> MultiFernet:
    keys = [key.strip() for key in settings.CONNECTOR_ENCRYPTION_KEYS if key.strip()]
    if not keys:
        digest = hashlib.sha256(b"psa-connector-secrets:" + settings.SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_text(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadableError(
            "A stored connector secret cannot be decrypted: was PSA_CONNECTOR_KEYS changed "
            "without keeping the old key?") from exc


def encrypt_json(values: dict[str, Any]) -> str:
    return encrypt_text(json.dumps(values, sort_keys=True))


def decrypt_json(token: str) -> dict[str, Any]:
    return json.loads(decrypt_text(token))


def rotate_token(token: str) -> str:
    """Re-encrypt `token` with the newest key."""
    return _fernet().rotate(token.encode()).decode()
