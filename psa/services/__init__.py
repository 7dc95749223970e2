"""The delivery core's write services (STYLE.md §4); import them from here."""

from psa.services.clients import client_create, client_update
from psa.services.contracts import change_order_create, contract_create, contract_update
from psa.services.external_refs import DuplicateExternalRefError, external_refs_set
from psa.services.legal_entities import legal_entity_create, legal_entity_update
from psa.services.milestones import (
    milestone_accept,
    milestone_complete,
    milestone_create,
    milestone_update,
)
from psa.services.people import person_create, person_update, role_create, role_update
from psa.services.projects import project_create, project_update, task_create, task_update
from psa.services.rates import rate_card_create, rate_card_update

__all__ = [
    "DuplicateExternalRefError",
    "change_order_create",
    "client_create",
    "client_update",
    "contract_create",
    "contract_update",
    "external_refs_set",
    "legal_entity_create",
    "legal_entity_update",
    "milestone_accept",
    "milestone_complete",
    "milestone_create",
    "milestone_update",
    "person_create",
    "person_update",
    "project_create",
    "project_update",
    "rate_card_create",
    "rate_card_update",
    "role_create",
    "role_update",
    "task_create",
    "task_update",
]
