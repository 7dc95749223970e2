"""Writes on clients."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from psa import events
from psa.models import Client
from psa.services.common import apply_changes, lock_for_change, pick, save_validated
from psa.services.external_refs import external_refs_set

CLIENT_FIELDS = ("code", "name", "legal_entity", "currency", "billing_address", "country",
                 "payment_terms_days", "tax_rate", "tax_jurisdiction", "billing_contact_name",
                 "billing_contact_email", "rate_card", "consolidated_invoicing", "is_active")


@transaction.atomic
def client_create(*, actor: User, data: Mapping[str, Any],
                  external_refs: Sequence[Mapping[str, str]] = ()) -> Client:
    """Create a client with its external ids and publish `client.created`.

    The currency defaults to the legal entity's base currency. Raises ValidationError on
    invalid fields and DuplicateExternalRefError on an external id another client has.
    """
    values = pick(data, CLIENT_FIELDS)
    if not values.get("currency") and values.get("legal_entity"):
        values["currency"] = values["legal_entity"].base_currency
    client = Client(**values)
    save_validated(client)
    external_refs_set(target=client, refs=external_refs, actor=actor)
    events.publish("client.created", aggregate=client,
                   payload={"client_id": client.pk, "code": client.code, "name": client.name})
    return client


@transaction.atomic
def client_update(*, client: Client, actor: User, data: Mapping[str, Any],
                  external_refs: Sequence[Mapping[str, str]] | None = None,
                  expected_version: str | None = None) -> Client:
    """Change a client's fields and external ids; publishes `client.changed` when any changed.

    Raises StaleVersionError when `expected_version` is not the current one.
    """
    client = lock_for_change(client, expected_version=expected_version)
    changed = apply_changes(client, data, allowed=CLIENT_FIELDS)
    if changed or external_refs:
        save_validated(client, update_fields=changed)
    if external_refs:
        external_refs_set(target=client, refs=external_refs, actor=actor)
    if changed:
        events.publish("client.changed", aggregate=client,
                       payload={"client_id": client.pk, "fields": sorted(changed)})
    return client
