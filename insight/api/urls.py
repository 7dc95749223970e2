from django.urls import path

from insight.api.kpis import KpiReportView

urlpatterns = [
    path("reports/kpis/", KpiReportView.as_view(), name="report-kpis"),
]
