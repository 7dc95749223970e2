"""Writes on people and job roles."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from psa import events
from psa.models import Person, Role
from psa.services.common import apply_changes, lock_for_change, pick, save_validated
from psa.services.external_refs import external_refs_set

PERSON_FIELDS = ("user", "employee_number", "first_name", "last_name", "email", "legal_entity",
                 "role", "manager", "country", "city", "time_zone", "employment_status",
                 "hire_date", "termination_date", "weekly_standard_hours", "utilization_target")
ROLE_FIELDS = ("code", "name", "level", "description")


@transaction.atomic
def person_create(*, actor: User, data: Mapping[str, Any],
                  external_refs: Sequence[Mapping[str, str]] = ()) -> Person:
    """Create a person (usually from the HRIS) and publish `person.created`."""
    person = Person(**pick(data, PERSON_FIELDS))
    save_validated(person)
    external_refs_set(target=person, refs=external_refs, actor=actor)
    events.publish("person.created", aggregate=person,
                   payload={"person_id": person.pk, "employee_number": person.employee_number})
    return person


@transaction.atomic
def person_update(*, person: Person, actor: User, data: Mapping[str, Any],
                  external_refs: Sequence[Mapping[str, str]] | None = None,
                  expected_version: str | None = None) -> Person:
    """Change a person's fields and external ids; publishes `person.changed`."""
    person = lock_for_change(person, expected_version=expected_version)
    changed = apply_changes(person, data, allowed=PERSON_FIELDS)
    if person.manager_id is not None and person.manager_id == person.pk:
        from psa.common.errors import DomainError

        raise DomainError("A person cannot be their own manager.", attr="manager")
    if changed or external_refs:
        save_validated(person, update_fields=changed)
    if external_refs:
        external_refs_set(target=person, refs=external_refs, actor=actor)
    if changed:
        events.publish("person.changed", aggregate=person,
                       payload={"person_id": person.pk, "fields": sorted(changed)})
    return person


@transaction.atomic
def role_create(*, actor: User, data: Mapping[str, Any]) -> Role:
    """Create a job role; code and name are unique."""
    role = Role(**pick(data, ROLE_FIELDS))
    save_validated(role)
    return role


@transaction.atomic
def role_update(*, role: Role, actor: User, data: Mapping[str, Any],
                expected_version: str | None = None) -> Role:
    """Change a job role; raises StaleVersionError on a stale `expected_version`."""
    role = lock_for_change(role, expected_version=expected_version)
    changed = apply_changes(role, data, allowed=ROLE_FIELDS)
    if changed:
        save_validated(role, update_fields=changed)
    return role
