"""The one role matrix: which role may do what, to all rows or only to its own.

Both the pages and the API ask `user.has_perm(perm, obj)`; `psa/rules.py` builds every
permission from this table, and `tests/psa/test_role_matrix.py` walks all of it.
"""

from typing import Final

CONSULTANT: Final = "consultant"
PROJECT_MANAGER: Final = "project_manager"
RESOURCE_MANAGER: Final = "resource_manager"
FINANCE: Final = "finance"
EXECUTIVE: Final = "executive"
ADMINISTRATOR: Final = "administrator"
SERVICE: Final = "service"

ROLES: Final = (
    CONSULTANT,
    PROJECT_MANAGER,
    RESOURCE_MANAGER,
    FINANCE,
    EXECUTIVE,
    ADMINISTRATOR,
    SERVICE,
)
ROLE_LABELS: Final = {
    CONSULTANT: "Consultant",
    PROJECT_MANAGER: "Project manager",
    RESOURCE_MANAGER: "Resource manager",
    FINANCE: "Finance",
    EXECUTIVE: "Executive",
    ADMINISTRATOR: "Administrator",
    SERVICE: "Service account",
}

ALL: Final = "all"  # every row
OWN: Final = "own"  # only rows the user is part of (see OWN_SCOPES in psa/rules.py)

_C, _PM, _RM, _F, _X, _A, _S = (
    CONSULTANT,
    PROJECT_MANAGER,
    RESOURCE_MANAGER,
    FINANCE,
    EXECUTIVE,
    ADMINISTRATOR,
    SERVICE,
)

MATRIX: Final[dict[str, dict[str, str]]] = {
    # Firm structure
    "psa.view_legalentity": {_C: ALL, _PM: ALL, _RM: ALL, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_legalentity": {_F: ALL, _A: ALL},
    "psa.change_legalentity": {_F: ALL, _A: ALL},
    "psa.view_role": {_C: ALL, _PM: ALL, _RM: ALL, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_role": {_A: ALL, _S: ALL},
    "psa.change_role": {_A: ALL, _S: ALL},
    "psa.view_period": {_F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.view_exchangerate": {_F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_exchangerate": {_F: ALL, _A: ALL},
    "psa.change_exchangerate": {_F: ALL, _A: ALL},
    # Clients and contracts
    "psa.view_client": {_C: OWN, _PM: OWN, _RM: ALL, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_client": {_F: ALL, _A: ALL, _S: ALL},
    "psa.change_client": {_F: ALL, _A: ALL, _S: ALL},
    "psa.view_contract": {_PM: OWN, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_contract": {_F: ALL, _A: ALL, _S: ALL},
    "psa.change_contract": {_F: ALL, _A: ALL, _S: ALL},
    "psa.view_changeorder": {_PM: OWN, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_changeorder": {_PM: OWN, _F: ALL, _A: ALL, _S: ALL},
    # Delivery
    "psa.view_project": {_C: OWN, _PM: OWN, _RM: ALL, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_project": {_PM: ALL, _F: ALL, _A: ALL, _S: ALL},
    "psa.change_project": {_PM: OWN, _F: ALL, _A: ALL, _S: ALL},
    "psa.view_project_financials": {_PM: OWN, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.view_task": {_C: OWN, _PM: OWN, _RM: ALL, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_task": {_PM: OWN, _A: ALL, _S: ALL},
    "psa.change_task": {_PM: OWN, _A: ALL, _S: ALL},
    "psa.view_milestone": {_C: OWN, _PM: OWN, _RM: ALL, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_milestone": {_PM: OWN, _F: ALL, _A: ALL, _S: ALL},
    "psa.change_milestone": {_PM: OWN, _F: ALL, _A: ALL, _S: ALL},
    "psa.complete_milestone": {_PM: OWN, _A: ALL, _S: ALL},
    "psa.accept_milestone": {_PM: OWN, _F: ALL, _A: ALL, _S: ALL},
    # People and rates
    "psa.view_person": {_C: OWN, _PM: ALL, _RM: ALL, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_person": {_A: ALL, _S: ALL},
    "psa.change_person": {_A: ALL, _S: ALL},
    "psa.view_costrate": {_F: ALL, _A: ALL, _S: ALL},
    "psa.view_ratecard": {_PM: ALL, _RM: ALL, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_ratecard": {_F: ALL, _A: ALL, _S: ALL},
    "psa.change_ratecard": {_F: ALL, _A: ALL, _S: ALL},
    # Time and expenses (own = the person's own entries; a manager's = their projects')
    "psa.view_timeentry": {_C: OWN, _PM: OWN, _RM: ALL, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_timeentry": {_C: OWN, _PM: OWN, _RM: OWN, _F: OWN, _X: OWN, _A: ALL, _S: ALL},
    "psa.change_timeentry": {_C: OWN, _PM: OWN, _RM: OWN, _F: OWN, _X: OWN, _A: ALL, _S: ALL},
    "psa.delete_timeentry": {_C: OWN, _PM: OWN, _RM: OWN, _F: OWN, _X: OWN, _A: ALL, _S: ALL},
    "psa.submit_timeentry": {_C: OWN, _PM: OWN, _RM: OWN, _F: OWN, _X: OWN, _A: ALL, _S: ALL},
    "psa.approve_timeentry": {_PM: OWN, _A: ALL, _S: ALL},
    "psa.reopen_timeentry": {_F: ALL, _A: ALL},
    "psa.view_expense": {_C: OWN, _PM: OWN, _RM: OWN, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_expense": {_C: OWN, _PM: OWN, _RM: OWN, _F: OWN, _X: OWN, _A: ALL, _S: ALL},
    "psa.change_expense": {_C: OWN, _PM: OWN, _RM: OWN, _F: OWN, _X: OWN, _A: ALL, _S: ALL},
    "psa.delete_expense": {_C: OWN, _PM: OWN, _RM: OWN, _F: OWN, _X: OWN, _A: ALL, _S: ALL},
    "psa.submit_expense": {_C: OWN, _PM: OWN, _RM: OWN, _F: OWN, _X: OWN, _A: ALL, _S: ALL},
    "psa.approve_expense": {_PM: OWN, _A: ALL, _S: ALL},
    "psa.reopen_expense": {_F: ALL, _A: ALL},
    "psa.view_expensepolicy": {_C: ALL, _PM: ALL, _RM: ALL, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.change_expensepolicy": {_F: ALL, _A: ALL},
    "psa.view_timeoff": {_C: OWN, _PM: ALL, _RM: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.add_timeoff": {_RM: ALL, _A: ALL, _S: ALL},
    "psa.change_timeoff": {_RM: ALL, _A: ALL, _S: ALL},
    "psa.view_time_compliance": {_PM: OWN, _RM: ALL, _F: ALL, _X: ALL, _A: ALL},
    # Resourcing (issue #4; OWN scopes in resourcing/rules.py)
    "resourcing.view_skill": {_C: ALL, _PM: ALL, _RM: ALL, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "resourcing.add_skill": {_RM: ALL, _A: ALL, _S: ALL},
    "resourcing.change_skill": {_RM: ALL, _A: ALL, _S: ALL},
    "resourcing.view_personskill": {_C: ALL, _PM: ALL, _RM: ALL, _X: ALL, _A: ALL, _S: ALL},
    "resourcing.add_personskill": {_C: OWN, _PM: OWN, _RM: ALL, _A: ALL, _S: ALL},
    "resourcing.change_personskill": {_C: OWN, _PM: OWN, _RM: ALL, _A: ALL, _S: ALL},
    "resourcing.confirm_personskill": {_C: OWN, _PM: OWN, _RM: ALL, _A: ALL, _S: ALL},
    "resourcing.view_resourcerequest": {_PM: OWN, _RM: ALL, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "resourcing.add_resourcerequest": {_PM: OWN, _RM: ALL, _A: ALL, _S: ALL},
    "resourcing.change_resourcerequest": {_PM: OWN, _RM: ALL, _A: ALL, _S: ALL},
    "resourcing.view_candidates": {_PM: OWN, _RM: ALL, _A: ALL, _S: ALL},
    "resourcing.view_assignment": {_C: OWN, _PM: OWN, _RM: ALL, _F: ALL, _X: ALL, _A: ALL,
                                   _S: ALL},
    "resourcing.add_assignment": {_RM: ALL, _A: ALL, _S: ALL},
    "resourcing.change_assignment": {_RM: ALL, _A: ALL, _S: ALL},
    "resourcing.delete_assignment": {_RM: ALL, _A: ALL, _S: ALL},
    "resourcing.view_capacity": {_PM: ALL, _RM: ALL, _X: ALL, _A: ALL, _S: ALL},
    "resourcing.view_staffing_board": {_PM: ALL, _RM: ALL, _X: ALL, _A: ALL},
    "resourcing.view_utilization": {_PM: ALL, _RM: ALL, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    # Billing (issue #5; OWN scopes in billing/rules.py)
    "psa.approve_changeorder": {_F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "billing.view_invoice": {_PM: OWN, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "billing.change_invoice": {_F: ALL, _A: ALL, _S: ALL},
    "billing.delete_invoice": {_F: ALL, _A: ALL},
    "billing.approve_invoice": {_F: ALL, _A: ALL, _S: ALL},
    "billing.issue_invoice": {_F: ALL, _A: ALL, _S: ALL},
    "billing.void_invoice": {_F: ALL, _A: ALL},
    "billing.add_creditnote": {_F: ALL, _A: ALL, _S: ALL},
    "billing.view_invoicerun": {_F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "billing.add_invoicerun": {_F: ALL, _A: ALL, _S: ALL},
    "billing.view_payment": {_F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "billing.add_payment": {_F: ALL, _A: ALL, _S: ALL},
    "billing.change_billingterms": {_F: ALL, _A: ALL, _S: ALL},
    "billing.hold_item": {_F: ALL, _A: ALL},
    "billing.rerate_timeentry": {_F: ALL, _A: ALL},
    "billing.resolve_caphold": {_F: ALL, _A: ALL},
    "billing.view_receivables": {_F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "billing.view_billing_reports": {_F: ALL, _X: ALL, _A: ALL},
    # Revenue and the month-end close (issue #6; OWN scopes in revenue/rules.py)
    "revenue.view_revenueschedule": {_PM: OWN, _F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "revenue.add_contractestimate": {_PM: OWN, _F: ALL, _A: ALL, _S: ALL},
    "revenue.view_recognitionrun": {_F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "revenue.add_recognitionrun": {_F: ALL, _A: ALL, _S: ALL},
    "revenue.view_journalentry": {_F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "revenue.change_accountmapping": {_F: ALL, _A: ALL},
    "revenue.view_forecast": {_F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "revenue.view_balances": {_F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "psa.close_period": {_F: ALL, _A: ALL, _S: ALL},
    "psa.reopen_period": {_A: ALL},
    # Platform
    "psa.view_auditlog": {_A: ALL},
    "psa.manage_apitokens": {_A: ALL},
    # The outbox: service accounts read it and replay deliveries through the API.
    "psa.view_outboxevent": {_A: ALL, _S: ALL},
    "psa.replay_delivery": {_A: ALL, _S: ALL},
    # Integration hub (issue #7): connections, the sync health page, outbound webhooks
    "crm_sync.view_connection": {_F: ALL, _X: ALL, _A: ALL},
    "crm_sync.change_connection": {_A: ALL},
    "crm_sync.view_synchealth": {_F: ALL, _X: ALL, _A: ALL},
    "crm_sync.view_webhooksubscription": {_A: ALL, _S: ALL},
    "crm_sync.add_webhooksubscription": {_A: ALL, _S: ALL},
    "crm_sync.delete_webhooksubscription": {_A: ALL, _S: ALL},
    # Insight (issue #8): the executive dashboard and the rows behind it, the portfolio by
    # risk (a manager sees the projects they may see), the lifecycle measures.
    "insight.view_dashboard": {_F: ALL, _X: ALL, _A: ALL, _S: ALL},
    "insight.view_portfolio": {_PM: ALL, _F: ALL, _X: ALL, _A: ALL},
    "insight.view_lifecycle": {_F: ALL, _X: ALL, _A: ALL, _S: ALL},
}


def scope_of(roles: frozenset[str], perm: str) -> str | None:
    """The widest scope any of the roles has for perm: ALL, OWN or None (refused)."""
    grants = MATRIX.get(perm, {})
    scopes = {grants[role] for role in roles if role in grants}
    if ALL in scopes:
        return ALL
    return OWN if OWN in scopes else None
