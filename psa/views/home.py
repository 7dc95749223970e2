"""The home page, global search and the audit trail."""

from collections.abc import Callable

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from psa import roles
from psa.common.permissions import RequiredPermsMixin
from psa.forms import AuditFilterForm
from psa.rules import user_roles
from psa.selectors import pages
from psa.views.lists import render_page

# Which panels greet each role on the home page (presentation only: every panel's data is
# scoped with the role matrix, so a panel never shows a row its reader may not see).
# A trailing "?" marks a panel the role sees only when it has rows.
HOME_PANELS: dict[str, tuple[str, ...]] = {
    roles.CONSULTANT: ("my_week", "my_projects"),
    roles.PROJECT_MANAGER: ("managed_projects", "my_projects?"),
    roles.RESOURCE_MANAGER: ("staffing",),
    roles.FINANCE: ("contracts_by_model",),
    roles.EXECUTIVE: ("firm_totals",),
    roles.ADMINISTRATOR: ("admin",),
    roles.SERVICE: (),
}

PanelLoader = Callable[[HttpRequest], object]
PANEL_LOADERS: dict[str, PanelLoader] = {
    "my_week": lambda request: pages.home_my_week(actor=request.user,
                                                  today=timezone.localdate()),
    "my_projects": lambda request: pages.home_my_projects(actor=request.user),
    "managed_projects": lambda request: pages.home_managed_projects(
        actor=request.user, today=timezone.localdate()),
    "staffing": lambda request: pages.home_staffing_counts(actor=request.user),
    "contracts_by_model": lambda request: pages.home_contracts_by_model(actor=request.user),
    "firm_totals": lambda request: pages.home_firm_totals(actor=request.user),
    "admin": lambda request: pages.home_admin_summary(actor=request.user),
}


def home_panels(request: HttpRequest) -> list[dict[str, object]]:
    """The panels for the user's roles, in role order, each once, with its data loaded."""
    wanted: dict[str, bool] = {}  # panel name -> shown even when empty
    held = user_roles(request.user)
    for role in roles.ROLES:
        for entry in HOME_PANELS[role] if role in held else ():
            name = entry.rstrip("?")
            wanted[name] = wanted.get(name, False) or not entry.endswith("?")
    panels = []
    for name, always in wanted.items():
        data = PANEL_LOADERS[name](request)
        if always or data:
            panels.append({"name": name, "template": f"psa/partials/_home_{name}.html",
                           "data": data})
    return panels


class HomeView(LoginRequiredMixin, View):
    """What is the signed-in person's: their projects, their figures, their next steps."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        person = getattr(user, "person", None)
        context = {
            "title": f"Welcome, {person.first_name}" if person else "Welcome",
            "panels": home_panels(request),
            "today": timezone.localdate(),
        }
        return render(request, "psa/home.html", context)


class SearchView(LoginRequiredMixin, View):
    """Clients, projects and people by name or code, limited to what the user may see."""

    def get(self, request: HttpRequest) -> HttpResponse:
        q = request.GET.get("q", "")[:100]
        results = pages.search(actor=request.user, q=q)
        context = {"title": "Search", "results": results, "q": results.q}
        return render(request, "psa/search.html", context)


class AuditListView(RequiredPermsMixin, View):
    """The audit trail: who changed which row, when, and each field before and after."""

    required_perms = {"get": "psa.view_auditlog"}
    page_size = 50

    def get(self, request: HttpRequest) -> HttpResponse:
        models, actors = pages.audit_filter_options(actor=request.user)
        form = AuditFilterForm(request.GET or None, models=models, actors=actors)
        filters = form.filters()
        entries = pages.audit_list(actor=request.user, content_type=filters.get("content_type"),
                                   actor_id=filters.get("actor"))
        page = Paginator(entries, self.page_size).get_page(request.GET.get("page"))
        context = {
            "title": "Audit trail",
            "form": form,
            "page_obj": page,
            "rows": pages.audit_rows(page.object_list),
            "count": page.paginator.count,
            "is_filtered": bool(filters),
            "results_target": "results",
        }
        return render_page(request, "psa/audit_list.html", "psa/partials/_audit_results.html",
                           context)
