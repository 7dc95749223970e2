"""Schema helpers shared by the viewsets."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers


def crud_schema(*, output: type[serializers.Serializer],
                create: type[serializers.Serializer] | None = None,
                update: type[serializers.Serializer] | None = None) -> object:
    """Document create (input → 201 output) and partial_update (input → output)."""
    views = {}
    if create is not None:
        views["create"] = extend_schema(request=create, responses={201: output})
    if update is not None:
        views["partial_update"] = extend_schema(request=update, responses={200: output})
    return extend_schema_view(**views)


def perms(model: str, *, add: bool = True, change: bool = True) -> dict[str, str]:
    """The usual action → permission map of `psa.<verb>_<model>`."""
    mapping = {"list": f"psa.view_{model}", "retrieve": f"psa.view_{model}"}
    if add:
        mapping["create"] = f"psa.add_{model}"
    if change:
        mapping["partial_update"] = f"psa.change_{model}"
    return mapping
