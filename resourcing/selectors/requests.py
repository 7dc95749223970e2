"""Reads of resource requests, scoped to the actor (a manager: their projects' requests)."""

from django.db.models import Prefetch, QuerySet

from psa.rules import UserLike, visible
from resourcing.models import RequestSkill, ResourceRequest


def request_list(*, actor: UserLike) -> QuerySet[ResourceRequest]:
    """Requests the actor may see, with their required skills prefetched."""
    return visible(
        ResourceRequest.objects.prefetch_related(
            Prefetch("required_skills", queryset=RequestSkill.objects.order_by("skill_id"))),
        actor, "resourcing.view_resourcerequest")
