"""A project's health panel (an HTMX fragment the project page loads, also served on its own)
and the portfolio of projects ordered by risk, with CSV and XLSX exports."""

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from insight.selectors.health import BurnPoint, ProjectHealth
from insight.selectors.risk_flags import (
    BURN_AHEAD_POINTS,
    PORTFOLIO_STATES,
    ProjectRisk,
    portfolio,
    project_risk,
)
from insight.views.common import insight_tabs
from psa.common.export import table_export
from psa.common.permissions import RequiredPermsMixin
from psa.models import Project
from psa.rules import visible

FINANCIALS_PERM = "psa.view_project_financials"

# Burn chart geometry (px): a y axis with its labels, the plot, the week labels below.
CHART_WIDTH, PLOT_HEIGHT = 640, 200
AXIS_X, TOP, BOTTOM, RIGHT = 60, 10, 28, 12
TICKS = 4
MAX_WEEK_LABELS = 8
COLOURS = {"actual": "#2f6fb0", "planned": "#5b6574", "budget": "#c0392b"}


def _nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 x a power of ten that is at least `value` (> 0)."""
    magnitude = Decimal(10) ** value.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _axis_label(value: Decimal) -> str:
    if value >= 1000:
        return f"{(value / 1000).normalize():f}k"
    return f"{value.normalize():f}"


def burn_chart_geometry(health: ProjectHealth) -> dict[str, object] | None:
    """Where the burn chart's lines go: cumulative actuals (solid), the linear budget line
    (dashed) and the budget (a flat line), in hours, or in cost without an hour budget."""
    points: Sequence[BurnPoint] = health.burn_chart
    if not points:
        return None
    hours = health.burn_basis == "hours"
    budget = health.budget_hours if hours else health.budget_cost_amount
    actual = [p.actual_hours if hours else p.actual_cost_amount for p in points]
    planned = [p.planned_hours if hours else p.planned_cost_amount for p in points]
    peak = max([budget, *actual, *planned])
    scale = _nice_ceiling(peak) if peak > 0 else Decimal(1)
    plot_w = CHART_WIDTH - AXIS_X - RIGHT
    base = TOP + PLOT_HEIGHT
    step = Decimal(plot_w) / max(len(points) - 1, 1)

    def x(index: int) -> int:
        return AXIS_X + int((step * index).to_integral_value())

    def y(value: Decimal) -> int:
        return base - int((value * PLOT_HEIGHT / scale).to_integral_value(ROUND_CEILING))

    def path(values: list[Decimal]) -> str:
        return " ".join(f"{'L' if i else 'M'}{x(i)},{y(v)}" for i, v in enumerate(values))

    every = -(-len(points) // MAX_WEEK_LABELS)  # ceiling division
    return {
        "width": CHART_WIDTH, "height": base + BOTTOM, "axis_x": AXIS_X, "base": base,
        "right": CHART_WIDTH - RIGHT, "label_y": base + 18,
        "unit": "h" if hours else health.currency,
        "ticks": [{"y": base - PLOT_HEIGHT * i // TICKS, "label": _axis_label(scale * i / TICKS)}
                  for i in range(TICKS + 1)],
        "actual_path": path(actual), "planned_path": path(planned), "budget_y": y(budget),
        "budget": budget, "colours": COLOURS,
        "dots": [{"x": x(i), "y": y(v), "week": p.week_start, "actual": v, "planned": planned[i]}
                 for i, (p, v) in enumerate(zip(points, actual, strict=True))],
        "labels": [{"x": x(i), "week": p.week_start} for i, p in enumerate(points)
                   if i % every == 0],
    }


class ProjectHealthView(RequiredPermsMixin, View):
    """The health panel of one project: flags with their numbers, the figures and the burn
    chart. 404 outside the projects the user may see; 403 without its financials."""

    required_perms = {"get": FINANCIALS_PERM}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        project = (visible(Project.objects.all(), request.user, "psa.view_project")
                   .filter(pk=pk).first())
        if project is None:
            raise Http404("No such project.")
        if not request.user.has_perm(FINANCIALS_PERM, project):
            raise PermissionDenied
        # "Today" is the project's legal entity's: a milestone falls due at its midnight.
        today = timezone.localdate(timezone=ZoneInfo(project.legal_entity.time_zone))
        risk = project_risk(project=project, today=today)
        context = {"risk": risk, "health": risk.health, "project": risk.project,
                   "chart": burn_chart_geometry(risk.health)}
        if request.headers.get("HX-Request"):
            return render(request, "insight/project_health.html", context)
        # Opened directly (no JavaScript): the panel in a whole page.
        context.update(title=f"{project.code} · health and risk",
                       breadcrumbs=[("Projects", reverse("project-list")),
                                    (project.code, project.get_absolute_url()),
                                    ("Health and risk", None)])
        return render(request, "insight/project_health_page.html", context)


PORTFOLIO_HEADER = (
    "Project", "Name", "Client", "Manager", "Status", "Currency", "Risk score", "High flags",
    "Medium flags", "Flags", "Budget hours", "Actual hours", "Burn %", "Burn basis",
    "Percent complete", "Percent complete source", "Budget cost", "Actual cost", "EAC cost",
    "Sold margin %", "EAC margin %", "Milestones overdue", "Milestones due in 30 days",
    "Unbilled amount", "Draft hours", "People without time last week", "Explanations",
)


def portfolio_rows(risks: Iterable[ProjectRisk]) -> Iterable[Sequence[object]]:
    """One export row per project, in the page's order."""
    for risk in risks:
        h, project = risk.health, risk.project
        yield (
            project.code, project.name, project.client.name if project.client else "Internal",
            project.manager.full_name, project.get_status_display(), h.currency, risk.score,
            risk.high_count, risk.medium_count, " ".join(f.code for f in risk.flags),
            h.budget_hours, h.actual_hours, h.burn_percent, h.burn_basis, h.percent_complete,
            h.percent_complete_source, h.budget_cost_amount, h.actual_cost_amount,
            h.eac_cost_amount, h.sold_margin_percent, h.eac_margin_percent,
            h.milestones_overdue, h.milestones_due_soon, h.unbilled_amount, h.draft_hours,
            len(h.people_without_time), " | ".join(f.explanation for f in risk.flags),
        )


class PortfolioView(RequiredPermsMixin, View):
    """`/dashboard/portfolio/`: active and on-hold projects whose financials the user may see
    (a project manager: their own), riskiest first, with `?format=csv|xlsx` exports."""

    required_perms = {"get": "insight.view_portfolio"}

    def get(self, request: HttpRequest) -> HttpResponse:
        today: date = timezone.localdate()
        risks = portfolio(actor=request.user, today=today)
        exported = table_export(kind=request.GET.get("format"), sheet="Portfolio",
                                name=f"portfolio-{today:%Y-%m-%d}", header=PORTFOLIO_HEADER,
                                rows=portfolio_rows(risks))
        if exported is not None:
            return exported
        flagged = sum(1 for risk in risks if risk.flags)
        context = {
            "title": "Portfolio by risk", "tabs": insight_tabs(request, "insight:portfolio"),
            "rows": risks, "count": len(risks), "today": today,
            "flagged": flagged, "states": [Project.Status(s).label for s in PORTFOLIO_STATES],
            "burn_ahead_points": BURN_AHEAD_POINTS,
            "may_see_financials": request.user.has_perm(FINANCIALS_PERM),
            "context_line": (f"Active and on-hold projects · {flagged} of {len(risks)} with risk "
                             f"flags · as of {today.day} {today:%b %Y}"),
        }
        return render(request, "insight/portfolio.html", context)
