"""Writes on projects and their work breakdown (tasks)."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from psa import events
from psa.common.errors import DomainError, StateConflictError
from psa.models import Person, Project, ProjectMember, Role, Task
from psa.services.common import apply_changes, lock_for_change, pick, save_validated
from psa.services.external_refs import external_refs_set

PROJECT_FIELDS = ("code", "name", "contract", "client", "legal_entity", "is_internal", "manager",
                  "status", "start_date", "end_date", "currency", "budget_hours",
                  "budget_cost_amount", "budget_revenue_amount", "service_line", "cost_center",
                  "requires_time_notes")
TASK_FIELDS = ("project", "parent", "wbs_code", "name", "is_billable", "is_open", "budget_hours",
               "start_date", "end_date", "position")


def _project_guards(project: Project) -> None:
    contract = project.contract
    if contract is not None:
        if project.client_id and project.client_id != contract.client_id:
            raise DomainError("The project's client is not the contract's client.", attr="client")
        if project.currency and project.currency != contract.currency:
            raise DomainError("The project's currency is not the contract's currency.",
                              attr="currency")


@transaction.atomic
def project_create(*, actor: User, data: Mapping[str, Any],
                   external_refs: Sequence[Mapping[str, str]] = ()) -> Project:
    """Create a project and publish `project.created`.

    Client, legal entity and currency default to the contract's; client work needs a contract.
    Raises ValidationError or DomainError on inconsistent fields.
    """
    values = pick(data, PROJECT_FIELDS)
    contract = values.get("contract")
    if contract is not None:
        values.setdefault("client", contract.client)
        values.setdefault("legal_entity", contract.legal_entity)
        values.setdefault("currency", contract.currency)
    elif values.get("legal_entity") is not None:
        values.setdefault("currency", values["legal_entity"].base_currency)
    project = Project(**values)
    _project_guards(project)
    save_validated(project)
    external_refs_set(target=project, refs=external_refs, actor=actor)
    events.publish("project.created", aggregate=project,
                   payload={"project_id": project.pk, "code": project.code,
                            "contract_id": project.contract_id,
                            "manager_id": project.manager_id})
    return project


@transaction.atomic
def project_update(*, project: Project, actor: User, data: Mapping[str, Any],
                   external_refs: Sequence[Mapping[str, str]] | None = None,
                   expected_version: str | None = None) -> Project:
    """Change a project and publish `project.changed` with the changed fields.

    A status change follows Project.TRANSITIONS (StateConflictError otherwise); raises
    StaleVersionError on a stale `expected_version`.
    """
    project = lock_for_change(project, expected_version=expected_version)
    target_status = data.get("status")
    if target_status and target_status != project.status \
            and not project.can_transition_to(target_status):
        raise StateConflictError(f"A {project.status} project cannot become {target_status}.",
                                 attr="status")
    changed = apply_changes(project, data, allowed=PROJECT_FIELDS)
    _project_guards(project)
    if changed or external_refs:
        save_validated(project, update_fields=changed)
    if external_refs:
        external_refs_set(target=project, refs=external_refs, actor=actor)
    if changed:
        events.publish("project.changed", aggregate=project,
                       payload={"project_id": project.pk, "fields": sorted(changed)})
    return project


@transaction.atomic
def task_create(*, actor: User, data: Mapping[str, Any]) -> Task:
    """Add a task to a project's WBS; the parent must be a task of the same project."""
    task = Task(**pick(data, TASK_FIELDS))
    save_validated(task)
    return task


@transaction.atomic
def task_update(*, task: Task, actor: User, data: Mapping[str, Any],
                expected_version: str | None = None) -> Task:
    """Change a task (not its project); a parent must be in the same project and not itself."""
    task = lock_for_change(task, expected_version=expected_version)
    changed = apply_changes(task, data, allowed=tuple(f for f in TASK_FIELDS if f != "project"))
    if task.parent_id is not None and _is_descendant_or_self(task.parent, task):
        raise DomainError("A task cannot be moved under itself or its own subtask.",
                          attr="parent")
    if changed:
        save_validated(task, update_fields=changed)
    return task


def _is_descendant_or_self(candidate: Task, task: Task) -> bool:
    node: Task | None = candidate
    seen = 0
    while node is not None and seen < 100:  # WBS depth is small; the bound guards bad data
        if node.pk == task.pk:
            return True
        node = node.parent
        seen += 1
    return False


@transaction.atomic
def project_member_ensure(*, project: Project, person: Person,
                          role: Role | None = None) -> ProjectMember:
    """Put `person` on `project`'s team if they are not on it yet (staffing calls this).

    An existing membership is left as it is (its role is not overwritten).
    """
    member, _ = ProjectMember.objects.get_or_create(project=project, person=person,
                                                    defaults={"role": role})
    return member
