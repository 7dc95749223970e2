"""Reads behind the browser pages, each scoped to the actor with the role matrix.

Every function takes `actor` and starts from `psa.rules.visible(...)`, so a page shows
exactly the rows the API would. Each one runs a fixed number of queries whatever the
number of rows, and templates receive finished objects (they run no queries).
"""

from psa.selectors.pages.audit import audit_filter_options, audit_list, audit_rows
from psa.selectors.pages.details import (
    client_page,
    contract_page,
    person_page,
    project_page,
    wbs_tree,
)
from psa.selectors.pages.home import (
    home_admin_summary,
    home_contracts_by_model,
    home_firm_totals,
    home_managed_projects,
    home_my_projects,
    home_my_week,
    home_staffing_counts,
)
from psa.selectors.pages.lists import (
    CLIENT_CSV_HEADER,
    PERSON_CSV_HEADER,
    PROJECT_CSV_HEADER,
    client_csv_rows,
    client_filter_options,
    client_list,
    person_csv_rows,
    person_filter_options,
    person_list,
    project_csv_rows,
    project_filter_options,
    project_list,
)
from psa.selectors.pages.search import search

__all__ = [
    "CLIENT_CSV_HEADER",
    "PERSON_CSV_HEADER",
    "PROJECT_CSV_HEADER",
    "audit_filter_options",
    "audit_list",
    "audit_rows",
    "client_csv_rows",
    "client_filter_options",
    "client_list",
    "client_page",
    "contract_page",
    "home_admin_summary",
    "home_contracts_by_model",
    "home_firm_totals",
    "home_managed_projects",
    "home_my_projects",
    "home_my_week",
    "home_staffing_counts",
    "person_csv_rows",
    "person_filter_options",
    "person_list",
    "person_page",
    "project_csv_rows",
    "project_filter_options",
    "project_list",
    "project_page",
    "search",
    "wbs_tree",
]
