"""Template context shared by every page: the navigation the signed-in role may use."""

from django.http import HttpRequest
from django.urls import reverse

from psa.roles import ROLE_LABELS
from psa.rules import user_roles

# (label, url name, permission needed), in the order the sidebar shows them.
NAVIGATION = [
    ("Home", "home", None),
    ("My week", "timesheet", "psa.add_timeentry"),
    ("Expenses", "expense-list", "psa.view_expense"),
    ("Approvals", "approval-list", "psa.approve_timeentry"),
    ("Staffing", "staffing-board", "resourcing.view_staffing_board"),
    ("My skills", "my-skills", "resourcing.add_personskill"),
    ("Projects", "project-list", "psa.view_project"),
    ("Utilization", "utilization", "resourcing.view_utilization"),
    ("Clients", "client-list", "psa.view_client"),
    ("Billing", "billing:workbench", "billing.view_invoicerun"),
    ("Revenue", "revenue:schedule-list", "revenue.view_revenueschedule"),
    ("Dashboard", "insight:dashboard", "insight.view_dashboard"),
    ("Portfolio", "insight:portfolio", "insight.view_portfolio"),
    ("Integrations", "crm_sync:health", "crm_sync.view_synchealth"),
    ("Exchange rates", "exchange-rate-list", "psa.view_exchangerate"),
    ("People", "person-list", "psa.view_person"),
    ("Audit trail", "audit-list", "psa.view_auditlog"),
    ("Admin", "admin:index", "psa.manage_apitokens"),
]
STAFF_ONLY = {"admin:index"}  # Django's admin also needs is_staff


def navigation(request: HttpRequest) -> dict[str, object]:
    """The signed-in user's navigation items, role labels and display name."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [
        {"label": label, "url": reverse(name), "active": False}
        for label, name, perm in NAVIGATION
        if (perm is None or user.has_perm(perm)) and (name not in STAFF_ONLY or user.is_staff)
    ]
    # The item whose address is the longest prefix of this page's is the current one, so
    # /dashboard/portfolio/ marks Portfolio, not Dashboard too.
    matches = [item for item in items if request.path == item["url"]
               or (item["url"] != "/" and request.path.startswith(item["url"]))]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    role_names = sorted(ROLE_LABELS[r] for r in user_roles(user))
    person = getattr(user, "person", None)
    display_name = person.full_name if person else (user.get_full_name() or user.username)
    return {"nav_items": items, "user_role_labels": role_names, "user_display_name": display_name}
