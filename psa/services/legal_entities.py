"""Writes on legal entities."""

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from psa.models import LegalEntity
from psa.services.common import apply_changes, lock_for_change, pick, save_validated

LEGAL_ENTITY_FIELDS = ("code", "name", "country", "base_currency", "time_zone", "invoice_prefix",
                       "tax_registration", "address", "is_active")


@transaction.atomic
def legal_entity_create(*, actor: User, data: Mapping[str, Any]) -> LegalEntity:
    """Create a legal entity; raises ValidationError on a taken code or invoice prefix."""
    entity = LegalEntity(**pick(data, LEGAL_ENTITY_FIELDS))
    save_validated(entity)
    return entity


@transaction.atomic
def legal_entity_update(*, legal_entity: LegalEntity, actor: User, data: Mapping[str, Any],
                        expected_version: str | None = None) -> LegalEntity:
    """Change a legal entity's fields; raises StaleVersionError on a stale `expected_version`."""
    entity = lock_for_change(legal_entity, expected_version=expected_version)
    changed = apply_changes(entity, data, allowed=LEGAL_ENTITY_FIELDS)
    if changed:
        save_validated(entity, update_fields=changed)
    return entity
