"""Reads of people."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from psa.models import Person
from psa.rules import visible

UserLike = User | AnonymousUser


def person_list(*, actor: UserLike) -> QuerySet[Person]:
    """People the actor may see (a consultant: themselves and their reports), with cost rates.

    The cost rates are prefetched so a page costs one extra query; output drops them for
    users without `psa.view_costrate`.
    """
    return visible(Person.objects.prefetch_related("cost_rates"), actor, "psa.view_person")
