"""External ids (CRM, HRIS, ERP) of our rows: one per system per row, unique per system."""

from collections.abc import Mapping, Sequence

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Model

from psa.common.errors import DomainError
from psa.models import ExternalRef


class DuplicateExternalRefError(DomainError):
    """Another row of the same kind already carries this system's id."""

    code = "duplicate_external_ref"


@transaction.atomic
def external_refs_set(*, target: Model, refs: Sequence[Mapping[str, str]],
                      actor: User) -> list[ExternalRef]:
    """Upsert `refs` (`{"system", "id"}`) on `target`: one id per system; others are kept.

    Raises DuplicateExternalRefError when another row of the same model has that system's id.
    """
    content_type = ContentType.objects.get_for_model(target)
    label = target._meta.verbose_name
    saved = []
    for ref in refs:
        system, external_id = ref["system"], ref["id"]
        clash = (ExternalRef.objects.filter(content_type=content_type, system=system,
                                            external_id=external_id)
                 .exclude(object_id=target.pk).first())
        if clash is not None:
            raise DuplicateExternalRefError(
                f"The {system} id {external_id!r} already belongs to another {label} "
                f"(id {clash.object_id}).", attr="external_refs")
        try:
            with transaction.atomic():
                row, _ = ExternalRef.objects.update_or_create(
                    content_type=content_type, object_id=target.pk, system=system,
                    defaults={"external_id": external_id})
        except IntegrityError as exc:  # a concurrent writer took the id first
            raise DuplicateExternalRefError(
                f"The {system} id {external_id!r} already belongs to another {label}.",
                attr="external_refs") from exc
        saved.append(row)
    return saved
