"""Resourcing pages (issue #4): the staffing board and its HTMX partials.

The lead includes this at "/" from psa/urls.py: `path("", include("resourcing.urls"))`.
"""

from django.urls import path

from resourcing.views import requests, skills
from resourcing.views.board import (
    AssignmentEditView,
    BoardCellView,
    BookCandidateView,
    RequestCandidatesView,
    StaffingBoardView,
)

urlpatterns: list = [
    path("staffing/", StaffingBoardView.as_view(), name="staffing-board"),
    path("staffing/cell/<int:person_id>/<str:week>/", BoardCellView.as_view(),
         name="staffing-cell"),
    path("staffing/requests/<int:request_id>/candidates/", RequestCandidatesView.as_view(),
         name="staffing-candidates"),
    path("staffing/requests/<int:request_id>/book/", BookCandidateView.as_view(),
         name="staffing-book"),
    path("staffing/assignments/<int:assignment_id>/", AssignmentEditView.as_view(),
         name="staffing-assignment"),
    # Skills and request pages (resourcing/views/skills.py, requests.py)
    path("skills/", skills.SkillCatalogueView.as_view(), name="skill-catalogue"),
    path("skills/mine/", skills.MySkillsView.as_view(), name="my-skills"),
    path("people/<int:pk>/skills/", skills.PersonSkillsView.as_view(), name="person-skills"),
    path("staffing/requests/new/", requests.RequestCreateView.as_view(), name="request-create"),
    path("staffing/requests/<int:pk>/edit/", requests.RequestEditView.as_view(),
         name="request-edit"),
]
