"""Utilization pages, included at "/" (the report API is in resourcing/api/urls.py)."""

from django.urls import path

from resourcing.views.utilization import BenchView, DemandView, UtilizationView

urlpatterns = [
    path("utilization/", UtilizationView.as_view(), name="utilization"),
    path("utilization/bench/", BenchView.as_view(), name="utilization-bench"),
    path("utilization/demand/", DemandView.as_view(), name="utilization-demand"),
]
