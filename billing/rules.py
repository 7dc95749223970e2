"""Billing's OWN scopes for the role matrix (psa/roles.py builds the predicates)."""

from django.db.models import Q

from psa.models import Project
from psa.rules import OWN_SCOPES, UserLike


def _managed_contract_q(user: UserLike) -> Q:
    """A project manager sees the invoices of contracts with a project they manage (a
    subquery, not a join, so an invoice is listed once)."""
    return Q(contract__in=Project.objects.filter(manager__user=user).values("contract_id"))


OWN_SCOPES.update({
    "billing.view_invoice": _managed_contract_q,
})
