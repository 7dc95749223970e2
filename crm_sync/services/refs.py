"""External ids of our rows in one connection's system (`psa.ExternalRef`, system = the
connection's name): what makes every pull and push idempotent."""

from __future__ import annotations

from typing import TypeVar

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Model

from crm_sync.models import Connection
from psa.models import ExternalRef

M = TypeVar("M", bound=Model)


def ref_lookup(connection: Connection, model: type[M], external_id: str | int) -> M | None:
    """Our row of `model` that the connection's system knows as `external_id`, if any."""
    object_id = (ExternalRef.objects
                 .filter(content_type=ContentType.objects.get_for_model(model),
                         system=connection.name, external_id=str(external_id))
                 .values_list("object_id", flat=True).first())
    if object_id is None:
        return None
    return model._default_manager.filter(pk=object_id).first()


def ref_of(connection: Connection, obj: Model) -> str | None:
    """The id the connection's system gives `obj`, if it has one."""
    return (ExternalRef.objects
            .filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk,
                    system=connection.name)
            .values_list("external_id", flat=True).first())


def ref_link(connection: Connection, obj: Model, external_id: str | int) -> None:
    """Record that the connection's system knows `obj` as `external_id` (idempotent).

    Raises IntegrityError if the id already belongs to another row, or `obj` already has
    another id there: both sides are unique, and a silent re-link would hide a real conflict.
    """
    content_type = ContentType.objects.get_for_model(obj)
    external_id = str(external_id)
    existing = (ExternalRef.objects
                .filter(content_type=content_type, object_id=obj.pk, system=connection.name)
                .values_list("external_id", flat=True).first())
    if existing == external_id:
        return
    if existing is not None:
        raise IntegrityError(f"{obj._meta.label} {obj.pk} is already {connection.name}:"
                             f"{existing}, not {external_id}")
    with transaction.atomic():
        ExternalRef.objects.create(content_type=content_type, object_id=obj.pk,
                                   system=connection.name, external_id=external_id)
