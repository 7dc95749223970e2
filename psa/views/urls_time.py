"""Pages of the time part of issue #3: My week and its HTMX endpoints."""

from django.urls import path

from psa.views.timesheet import (
    TimerStartView,
    TimerStopView,
    TimesheetCellView,
    TimesheetCopyView,
    TimesheetRowView,
    TimesheetSubmitView,
    TimesheetTaskSearchView,
    TimesheetView,
)

urlpatterns: list = [
    path("time/", TimesheetView.as_view(), name="timesheet"),
    path("time/cell/<id:task_id>/<str:day>/", TimesheetCellView.as_view(),
         name="timesheet-cell"),
    path("time/tasks/", TimesheetTaskSearchView.as_view(), name="timesheet-tasks"),
    path("time/row/", TimesheetRowView.as_view(), name="timesheet-row"),
    path("time/copy/", TimesheetCopyView.as_view(), name="timesheet-copy"),
    path("time/submit/", TimesheetSubmitView.as_view(), name="timesheet-submit"),
    path("time/timer/start/", TimerStartView.as_view(), name="timesheet-timer-start"),
    path("time/timer/stop/", TimerStopView.as_view(), name="timesheet-timer-stop"),
]
