"""Project pages: the list with filters and export, and the project page."""

from collections.abc import Iterable, Sequence

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import slugify
from django.views import View

from psa.common.permissions import RequiredPermsMixin
from psa.extensions import PROJECT_PANELS
from psa.forms import ProjectFilterForm
from psa.models import Project
from psa.selectors.pages import (
    PROJECT_CSV_HEADER,
    project_csv_rows,
    project_filter_options,
    project_list,
    project_page,
)
from psa.views.lists import Column, ListPage


class ProjectListView(ListPage):
    """Projects the user may see: search, filters, sort, pages and CSV export."""

    required_perms = {"get": "psa.view_project"}
    template_name = "psa/project_list.html"
    partial_template_name = "psa/partials/_project_results.html"
    form_class = ProjectFilterForm
    default_sort = "code"
    export_filename = "projects.csv"
    title = "Projects"
    context_line = "Projects you may see, with their client, manager and budget."
    columns = (
        Column("Code", "code"), Column("Name", "name"), Column("Client", "client"),
        Column("Manager", "manager"), Column("Status", "status"),
        Column("Service line", "service_line"), Column("Start", "start"), Column("End", "end"),
        Column("Budget hours", "budget_hours", numeric=True),
        Column("Budget revenue", numeric=True),
    )

    def form_options(self) -> dict[str, object]:
        options = project_filter_options(actor=self.request.user)
        return {"clients": options.clients, "managers": options.managers,
                "service_lines": options.service_lines,
                "legal_entities": options.legal_entities}

    def get_queryset(self, **filters: object) -> QuerySet[Project]:
        return project_list(actor=self.request.user, **filters)

    def csv_header(self) -> Sequence[str]:
        return PROJECT_CSV_HEADER

    def csv_rows(self, queryset: QuerySet[Project]) -> Iterable[Sequence[object]]:
        return project_csv_rows(queryset)


class ProjectDetailView(RequiredPermsMixin, View):
    """One project: terms, WBS, milestones, team and budget; 404 outside the user's scope."""

    required_perms = {"get": "psa.view_project"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            page = project_page(actor=request.user, pk=pk)
        except Project.DoesNotExist as exc:
            raise Http404("No such project.") from exc
        project = page.project
        context = {
            "title": f"{project.code} {project.name}",
            "page": page,
            "project": project,
            # Whoever sees a project sees its client (OWN scope reaches clients through projects).
            "may_open_client": request.user.has_perm("psa.view_client"),
            "panels": [{"title": panel.title, "slug": slugify(panel.title),
                        "url": reverse(panel.url_name, args=[project.pk])}
                       for panel in PROJECT_PANELS if request.user.has_perm(panel.perm, project)],
            "breadcrumbs": [("Projects", reverse("project-list")), (project.code, None)],
        }
        return render(request, "psa/project_detail.html", context)
