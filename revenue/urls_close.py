"""Revenue pages of the month-end close (issue #6): `/revenue/close/` and its actions."""

from django.urls import path

from revenue.views.close import (
    CloseMonthView,
    CloseReopenView,
    CloseRunProgressView,
    CloseRunView,
    CloseView,
)

urlpatterns: list = [
    path("close/", CloseView.as_view(), name="close"),
    path("close/run/", CloseRunView.as_view(), name="close-run"),
    path("close/month/", CloseMonthView.as_view(), name="close-month"),
    path("close/reopen/", CloseReopenView.as_view(), name="close-reopen"),
    path("close/runs/<id:pk>/progress/", CloseRunProgressView.as_view(),
         name="close-run-progress"),
]
