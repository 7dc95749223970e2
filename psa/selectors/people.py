"""Reads of people."""

from collections.abc import Collection
from typing import TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Model, QuerySet

from psa.models import Person
from psa.rules import visible

UserLike = User | AnonymousUser

# Above this many ids a `person_id IN (...)` costs more to build, send and plan than reading the
# rows of everybody in the date range and dropping the others in Python (bench/ranking.py).
ID_LIST_LIMIT = 300


M = TypeVar("M", bound=Model)


def for_people(queryset: QuerySet[M], person_ids: Collection[int]) -> QuerySet[M]:
    """`queryset` narrowed to `person_ids` when they are few; unchanged when they are many.

    The caller keeps only rows whose `person_id` is in `person_ids` (it looks rows up by person
    anyway), so the result is the same either way; the queryset must already be narrowed by
    date so the unfiltered read stays small.
    """
    if len(person_ids) <= ID_LIST_LIMIT:
        return queryset.filter(person_id__in=list(person_ids))
    return queryset


def person_list(*, actor: UserLike) -> QuerySet[Person]:
    """People the actor may see (a consultant: themselves and their reports), with cost rates.

    The cost rates are prefetched so a page costs one extra query; output drops them for
    users without `psa.view_costrate`.
    """
    return visible(Person.objects.prefetch_related("cost_rates"), actor, "psa.view_person")
