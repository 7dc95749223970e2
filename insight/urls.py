"""Pages under /dashboard/: the executive dashboard and the rows behind each figure, its PDF
snapshot, the portfolio by risk, a project's health panel and the lifecycle measures."""

from django.urls import path

from insight.views.dashboard import DashboardPdfView, DashboardView, MeasureRowsView
from insight.views.health import PortfolioView, ProjectHealthView
from insight.views.lifecycle import LifecycleView

app_name = "insight"

urlpatterns = [
    path("", DashboardView.as_view(), name="dashboard"),
    path("snapshot.pdf", DashboardPdfView.as_view(), name="dashboard-pdf"),
    path("portfolio/", PortfolioView.as_view(), name="portfolio"),
    path("lifecycle/", LifecycleView.as_view(), name="lifecycle"),
    path("projects/<id:pk>/health/", ProjectHealthView.as_view(), name="project-health"),
    path("measures/<slug:key>/", MeasureRowsView.as_view(), name="measure-rows"),
]
