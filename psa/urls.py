"""URL map: pages, the REST API under /api/v1/, its schema and docs, and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from psa.views.ops import HealthView, MetricsView

urlpatterns = [
    path("health/", HealthView.as_view(), name="health"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("psa.api.urls")),
    path("api/v1/", include("resourcing.api.urls")),
    path("api/v1/", include("billing.api.urls")),
    path("api/v1/", include("revenue.api.urls")),
    path("api/v1/", include("crm_sync.api.urls")),
    path("api/v1/", include("insight.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's starter script as a file, so the CSP needs no inline.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
         name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("", include("psa.views.urls")),
    path("", include("resourcing.urls")),
    path("", include("resourcing.urls_reports")),
    path("billing/", include("billing.urls")),
    path("revenue/", include("revenue.urls")),
    path("integrations/", include("crm_sync.urls")),
    path("dashboard/", include("insight.urls")),
]

handler400 = "psa.api.handlers.bad_request"
handler404 = "psa.api.handlers.not_found"
handler500 = "psa.api.handlers.server_error"
