"""Resourcing's writes: import them from here (or from their module)."""

from resourcing.services.assignments import assignment_create, assignment_end, assignment_update
from resourcing.services.requests import (
    request_cancel,
    request_create,
    request_status_refresh,
    request_update,
)
from resourcing.services.skills import (
    certification_add,
    person_skill_confirm,
    person_skill_set,
    person_skill_update,
    skill_create,
)

__all__ = ["assignment_create", "assignment_end", "assignment_update", "certification_add",
           "person_skill_confirm", "person_skill_set", "person_skill_update", "request_cancel",
           "request_create", "request_status_refresh", "request_update", "skill_create"]
