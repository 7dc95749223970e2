"""External ids of our rows: attach them to a page of rows, or find rows by one."""

from collections import defaultdict
from collections.abc import Sequence

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, QuerySet

from psa.models import ExternalRef

ATTRIBUTE = "_psa_external_refs"


def external_refs_attach(objects: Sequence[Model]) -> None:
    """Load the external ids of `objects` (all one model) in one query; set on each row."""
    if not objects:
        return
    content_type = ContentType.objects.get_for_model(type(objects[0]))
    by_object: dict[int, list[ExternalRef]] = defaultdict(list)
    for ref in ExternalRef.objects.filter(content_type=content_type,
                                          object_id__in=[obj.pk for obj in objects]):
        by_object[ref.object_id].append(ref)
    for obj in objects:
        setattr(obj, ATTRIBUTE, by_object.get(obj.pk, []))


def external_refs_of(obj: Model) -> list[ExternalRef]:
    """The row's external ids: the attached ones, or one query."""
    if not hasattr(obj, ATTRIBUTE):
        external_refs_attach([obj])
    return getattr(obj, ATTRIBUTE)


def filter_by_external_ref(queryset: QuerySet, *, system: str, external_id: str) -> QuerySet:
    """Narrow `queryset` to the row that `system` knows as `external_id`."""
    content_type = ContentType.objects.get_for_model(queryset.model)
    object_ids = ExternalRef.objects.filter(content_type=content_type, system=system,
                                            external_id=external_id).values("object_id")
    return queryset.filter(pk__in=object_ids)
