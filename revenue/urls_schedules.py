"""Revenue pages of schedules, recognition runs and journals (in the "revenue" namespace):

- `revenue:schedule-list` `/revenue/` (`?format=csv` or `export.csv` exports it);
- `revenue:schedule-detail` `/revenue/schedules/<contract_id>/`, and `revenue:estimate-add`
  (POST) beside it;
- `revenue:run-detail` `/revenue/runs/<pk>/` with `revenue:run-progress`, its polled fragment;
- `revenue:journal-list` `/revenue/journals/` (and `journals/export.csv`).
"""

from django.urls import path

from revenue.views.journals import JournalListView
from revenue.views.runs import RunDetailView, RunProgressView
from revenue.views.schedules import EstimateAddView, ScheduleDetailView, ScheduleListView

urlpatterns = [
    path("", ScheduleListView.as_view(), name="schedule-list"),
    path("export.csv", ScheduleListView.as_view(), {"export": True}, name="schedule-export"),
    path("schedules/<id:contract_id>/", ScheduleDetailView.as_view(), name="schedule-detail"),
    path("schedules/<id:contract_id>/estimates/", EstimateAddView.as_view(),
         name="estimate-add"),
    path("runs/<id:pk>/", RunDetailView.as_view(), name="run-detail"),
    path("runs/<id:pk>/progress/", RunProgressView.as_view(), name="run-progress"),
    path("journals/", JournalListView.as_view(), name="journal-list"),
    path("journals/export.csv", JournalListView.as_view(), {"export": True},
         name="journal-export"),
]
