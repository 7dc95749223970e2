"""The delivery core's API read selectors (STYLE.md §5); import them from here.

The pages' own selectors live in `psa.selectors.pages`.
"""

from psa.selectors.external_refs import (
    external_refs_attach,
    external_refs_of,
    filter_by_external_ref,
)
from psa.selectors.org import (
    change_order_list,
    client_list,
    contract_list,
    legal_entity_list,
    rate_card_list,
    role_list,
)
from psa.selectors.people import person_list
from psa.selectors.projects import (
    ProjectFinancials,
    milestone_list,
    project_financials,
    project_list,
    task_list,
)

__all__ = [
    "ProjectFinancials",
    "change_order_list",
    "client_list",
    "contract_list",
    "external_refs_attach",
    "external_refs_of",
    "filter_by_external_ref",
    "legal_entity_list",
    "milestone_list",
    "person_list",
    "project_financials",
    "project_list",
    "rate_card_list",
    "role_list",
    "task_list",
]
