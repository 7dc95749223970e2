"""ETag and If-Match for the API's optimistic concurrency (API.md, STYLE.md §6)."""

from django.db.models import Model


def etag_of(obj: Model) -> str:
    """The strong ETag of a row: its `.version` (last change, to the microsecond), quoted."""
    return f'"{obj.version}"'


def expected_version_from(if_match: str | None) -> str | None:
    """The version an `If-Match` header names; None when absent or `*` (no check).

    Weak validators (`W/"…"`) compare like strong ones: the version is the row's own.
    """
    if not if_match:
        return None
    first = if_match.split(",")[0].strip()
    if first == "*":
        return None
    first = first.removeprefix("W/")
    return first.strip('"')
