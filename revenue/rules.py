"""Revenue's OWN scopes for the role matrix (psa/roles.py builds the predicates)."""

from django.db.models import Q

from psa.models import Project
from psa.rules import OWN_SCOPES, UserLike


def _managed_contract_q(user: UserLike) -> Q:
    """A project manager sees (and estimates) the contracts with a project they manage."""
    return Q(contract__in=Project.objects.filter(manager__user=user).values("contract_id"))


OWN_SCOPES.update({
    "revenue.view_revenueschedule": _managed_contract_q,
    "revenue.add_contractestimate": _managed_contract_q,
})
