"""Object rules: every permission of the role matrix as a `rules` predicate.

A role's OWN scope is expressed once per permission as a `Q` on the permission's model,
so the object check (`has_perm(perm, obj)`) and the list scope (`visible(qs, user, perm)`)
can never disagree.
"""

from collections.abc import Callable

import rules
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Model, Q, QuerySet

from psa import roles
from psa.roles import ALL, MATRIX, OWN

UserLike = User | AnonymousUser


def user_roles(user: UserLike) -> frozenset[str]:
    """The user's roles (their groups); a superuser is an administrator. Cached on the user."""
    if not user or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_psa_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            names.add(roles.ADMINISTRATOR)
        cached = frozenset(names & set(roles.ROLES))
        user._psa_roles = cached
    return cached


def _project_visible_q(user: UserLike, prefix: str = "") -> Q:
    """Projects the user manages or is on the team of; `prefix` reaches them from a child row."""
    from psa.models import ProjectMember

    member_of = ProjectMember.objects.filter(person__user=user).values("project_id")
    project_pk = f"{prefix}id__in" if prefix else "pk__in"
    return Q(**{f"{prefix}manager__user": user}) | Q(**{project_pk: member_of})


def _projects_managed_q(user: UserLike, prefix: str = "") -> Q:
    return Q(**{f"{prefix}manager__user": user})


def _contracts_managed_q(user: UserLike) -> Q:
    from psa.models import Project

    return Q(pk__in=Project.objects.filter(manager__user=user).values("contract_id"))


def _clients_visible_q(user: UserLike) -> Q:
    from psa.models import Project

    visible = Project.objects.filter(_project_visible_q(user))
    return Q(pk__in=visible.values("client_id"))


def _self_and_reports_q(user: UserLike) -> Q:
    return Q(user=user) | Q(manager__user=user)


def _own_work_q(user: UserLike) -> Q:
    """Time entries and expenses of the user's own person."""
    return Q(person__user=user)


def _approvable_q(user: UserLike) -> Q:
    """Work on projects the user manages, never the user's own (nobody approves their own)."""
    return Q(project__manager__user=user) & ~Q(person__user=user)


def _team_of_managed_projects(user: UserLike) -> QuerySet:
    from psa.models import ProjectMember

    return ProjectMember.objects.filter(project__manager__user=user).values("person_id")


# For each permission a role may hold with OWN scope: which rows are the user's own.
OWN_SCOPES: dict[str, Callable[[UserLike], Q]] = {
    "psa.view_client": _clients_visible_q,
    "psa.view_contract": _contracts_managed_q,
    "psa.view_changeorder": lambda user: Q(contract__in=_managed_contract_ids(user)),
    "psa.add_changeorder": lambda user: Q(contract__in=_managed_contract_ids(user)),
    "psa.view_project": _project_visible_q,
    "psa.change_project": _projects_managed_q,
    "psa.view_project_financials": _projects_managed_q,
    "psa.view_task": lambda user: _project_visible_q(user, "project__"),
    "psa.add_task": lambda user: _projects_managed_q(user, "project__"),
    "psa.change_task": lambda user: _projects_managed_q(user, "project__"),
    "psa.view_milestone": lambda user: _project_visible_q(user, "project__"),
    "psa.add_milestone": lambda user: _projects_managed_q(user, "project__"),
    "psa.change_milestone": lambda user: _projects_managed_q(user, "project__"),
    "psa.complete_milestone": lambda user: _projects_managed_q(user, "project__"),
    "psa.accept_milestone": lambda user: _projects_managed_q(user, "project__"),
    "psa.view_person": _self_and_reports_q,
    "psa.view_timeentry": lambda user: _own_work_q(user) | _projects_managed_q(user, "project__"),
    "psa.add_timeentry": _own_work_q,
    "psa.change_timeentry": _own_work_q,
    "psa.delete_timeentry": _own_work_q,
    "psa.submit_timeentry": _own_work_q,
    "psa.approve_timeentry": _approvable_q,
    "psa.view_expense": lambda user: _own_work_q(user) | _projects_managed_q(user, "project__"),
    "psa.add_expense": _own_work_q,
    "psa.change_expense": _own_work_q,
    "psa.delete_expense": _own_work_q,
    "psa.submit_expense": _own_work_q,
    "psa.approve_expense": _approvable_q,
    "psa.view_timeoff": lambda user: Q(person__user=user),
    # A manager's compliance figures cover the people on the projects they manage.
    "psa.view_time_compliance": lambda user: Q(pk__in=_team_of_managed_projects(user)),
}


def _managed_contract_ids(user: UserLike) -> QuerySet:
    from psa.models import Project

    return Project.objects.filter(manager__user=user).values("contract_id")


def own_scope_missing() -> list[str]:
    """Permissions the matrix grants with OWN scope but no rule defines (a test keeps it empty)."""
    return sorted(
        perm for perm, grants in MATRIX.items() if OWN in grants.values() and perm not in OWN_SCOPES
    )


def scope(user: UserLike, perm: str) -> str | None:
    return roles.scope_of(user_roles(user), perm)


def visible(queryset: QuerySet, user: UserLike, perm: str) -> QuerySet:
    """Narrow a queryset to the rows the user may `perm` (a `view_*` permission, usually)."""
    granted = scope(user, perm)
    if granted == ALL:
        return queryset
    if granted == OWN:
        return queryset.filter(OWN_SCOPES[perm](user))
    return queryset.none()


def _is_own(user: UserLike, perm: str, obj: Model) -> bool:
    model = type(obj)
    return model._default_manager.filter(pk=obj.pk).filter(OWN_SCOPES[perm](user)).exists()


def _predicate_for(perm: str) -> rules.Predicate:
    @rules.predicate(name=f"role_matrix:{perm}")
    def allowed(user: UserLike, obj: Model | None = None) -> bool:
        granted = scope(user, perm)
        if granted == ALL:
            return True
        if granted == OWN:
            # Without an object, the question is "may this user do it to some rows?"
            return obj is None or _is_own(user, perm, obj)
        return False

    return allowed


for _perm in MATRIX:
    rules.add_perm(_perm, _predicate_for(_perm))
