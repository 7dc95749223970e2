"""Pages of the approvals part of issue #3."""

from django.urls import path

from psa.views.approvals import ApprovalGroupView, ApprovalListView

urlpatterns: list = [
    path("approvals/", ApprovalListView.as_view(), name="approval-list"),
    path("approvals/group/<id:person_id>/<str:week_start>/", ApprovalGroupView.as_view(),
         name="approval-group"),
]
