"""Resourcing's OWN scopes for the role matrix (psa/roles.py builds the predicates)."""

from django.db.models import Q

from psa.rules import OWN_SCOPES, UserLike


def _own_skill_q(user: UserLike) -> Q:
    """A person edits their own skills; their line manager does too (and confirms them)."""
    return Q(person__user=user) | Q(person__manager__user=user)


def _confirmable_q(user: UserLike) -> Q:
    """Only the person's manager confirms a level, never the person themselves."""
    return Q(person__manager__user=user)


def _managed_project_q(user: UserLike) -> Q:
    return Q(project__manager__user=user)


OWN_SCOPES.update({
    "resourcing.add_personskill": _own_skill_q,
    "resourcing.change_personskill": _own_skill_q,
    "resourcing.confirm_personskill": _confirmable_q,
    "resourcing.view_resourcerequest": _managed_project_q,
    "resourcing.add_resourcerequest": _managed_project_q,
    "resourcing.change_resourcerequest": _managed_project_q,
    "resourcing.view_candidates": _managed_project_q,
    "resourcing.view_assignment": lambda user: Q(person__user=user) | _managed_project_q(user),
})
