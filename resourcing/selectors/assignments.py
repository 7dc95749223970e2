"""Reads of assignments, scoped to the actor (a consultant: their own; a manager: their
projects')."""

from django.db.models import QuerySet

from psa.rules import UserLike, visible
from resourcing.models import Assignment


def assignment_list(*, actor: UserLike) -> QuerySet[Assignment]:
    """Assignments the actor may see."""
    return visible(Assignment.objects.all(), actor, "resourcing.view_assignment")
