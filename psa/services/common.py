"""Helpers every write service shares: lock with a version check, apply changes, validate."""

from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from django.db.models import Model

from psa.common.errors import DomainError, StaleVersionError

M = TypeVar("M", bound=Model)


def lock_for_change(instance: M, *, expected_version: str | None = None) -> M:
    """Re-read `instance` under a row lock; raise StaleVersionError if its version moved on.

    `expected_version` is the client's `If-Match`; None skips the check.
    """
    model = type(instance)
    locked = model._default_manager.select_for_update(of=("self",)).get(pk=instance.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersionError(
            f"This {model._meta.verbose_name} was changed by someone else (it is now at version "
            f"{locked.version}); reload it and apply your change again.")
    return locked


def pick(data: Mapping[str, Any], allowed: Collection[str]) -> dict[str, Any]:
    """The entries of `data` a service accepts; an unknown name is a programming error."""
    unknown = set(data) - set(allowed)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.", code="unknown_field")
    return dict(data)


def apply_changes(instance: Model, data: Mapping[str, Any], *,
                  allowed: Collection[str]) -> list[str]:
    """Set the given fields on `instance`; returns the names whose value actually changed."""
    changed = []
    for name, value in pick(data, allowed).items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def save_validated(instance: Model, *, update_fields: list[str] | None = None) -> None:
    """`full_clean()` then save; an update lists its fields (and `updated_at`, for auto_now)."""
    instance.full_clean()
    if update_fields is None:
        instance.save()
    else:
        instance.save(update_fields=[*update_fields, "updated_at"])
