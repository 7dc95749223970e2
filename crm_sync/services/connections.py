"""Changing a connection: where it points, whether it runs, its options and its credentials.

Field changes are audited by the audit library (registered in CrmSyncConfig.ready()), which
never sees the encrypted credentials; a credential change is recorded as its own audit entry
naming the keys that changed, never their values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditlog.models import LogEntry
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from crm_sync.crypto import SecretUnreadableError
from crm_sync.models import Connection
from psa.common.errors import DomainError

HIDDEN = "(hidden)"


class ConnectionInvalidError(DomainError):
    """A connection's new settings are not acceptable (400, beside the field)."""

    code = "invalid"


def _first_error(exc: ValidationError) -> tuple[str | None, str]:
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.message_dict.items()))
        return (None if field == "__all__" else field), str(errors[0])
    return None, str(exc.messages[0])


@transaction.atomic
def connection_update(*, connection: Connection, actor: User, base_url: str | None = None,
                      enabled: bool | None = None, options: Mapping[str, Any] | None = None,
                      credentials: Mapping[str, str] | None = None) -> Connection:
    """Change the given settings of `connection` (None leaves one as it is) and return it.

    `credentials` are merged into the stored ones: a blank value keeps the stored secret, so a
    form never has to show it. Raises ConnectionInvalidError for a bad URL, options that are
    not a JSON object, or a second enabled connection of the same vendor.
    """
    locked = Connection.objects.select_for_update(of=("self",)).get(pk=connection.pk)
    if base_url is not None:
        locked.base_url = base_url.strip()
    if enabled is not None:
        locked.enabled = enabled
    if options is not None:
        if not isinstance(options, Mapping):
            raise ConnectionInvalidError("Options must be a JSON object.", attr="options")
        locked.options = dict(options)
    try:
        stored = locked.credentials
    except SecretUnreadableError:
        stored = {}  # unreadable with today's keys: what is entered now replaces it
    changed_keys = sorted(key for key, value in (credentials or {}).items()
                          if value not in ("", None) and stored.get(key) != value)
    if changed_keys:
        locked.set_credentials({**stored, **{key: credentials[key] for key in changed_keys}})
    try:
        locked.full_clean()
    except ValidationError as exc:
        attr, detail = _first_error(exc)
        if "one_enabled_per_vendor" in detail:
            attr = "enabled"
            detail = (f"Another {locked.get_vendor_display()} connection is enabled; disable "
                      "it first (one live connection per vendor).")
        raise ConnectionInvalidError(detail, attr=attr) from exc
    locked.save()
    if changed_keys:
        LogEntry.objects.log_create(
            locked, action=LogEntry.Action.UPDATE, actor=actor if actor and actor.pk else None,
            changes={"credentials": [HIDDEN, f"changed: {', '.join(changed_keys)}"]})
    return locked
