"""Batched, conflict-ignoring inserts and natural-key look-ups for the demo seeder.

Rows are inserted with `bulk_create(ignore_conflicts=True)`, so a row whose natural key already
exists is skipped rather than duplicated or changed; ids are then read back by natural key.
"""

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Final, TypeVar

from django.db.models import Model

BATCH_SIZE: Final = 1000
LOOKUP_CHUNK: Final = 900  # stays under SQLite's bound-parameter limit on old builds
T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def insert(model: type[Model], rows: Iterable[Model], *, batch_size: int = BATCH_SIZE) -> None:
    """Insert the rows in batches; rows whose unique key already exists are skipped."""
    for batch in chunked(rows, batch_size):
        model.objects.bulk_create(batch, batch_size=batch_size, ignore_conflicts=True)


def ids_by(model: type[Model], field: str, keys: Iterable[object],
           **filters: object) -> dict[object, int]:
    """{natural key: id} for the given keys of `field` (missing keys are simply absent)."""
    found: dict[object, int] = {}
    for chunk in chunked(keys, LOOKUP_CHUNK):
        rows = model.objects.filter(**{f"{field}__in": chunk}, **filters)
        found.update(rows.values_list(field, "id"))
    return found


def missing(model: type[Model], field: str, keys: Iterable[object]) -> set[object]:
    """The keys not stored yet: rows about to be new, whose children are written with them.

    Children (cost rates, card lines, tasks, teams, milestones, change orders) are written only
    with a parent created in the same run, so a repeat, even with another --as-of, adds none.
    """
    keys = set(keys)
    return keys - set(ids_by(model, field, keys))
