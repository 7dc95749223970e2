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
    path("staffing/cell/<id:person_id>/<str:week>/", BoardCellView.as_view(),
         name="staffing-cell"),
    path("staffing/requests/<id:request_id>/candidates/", RequestCandidatesView.as_view(),
         name="staffing-candidates"),
    path("staffing/requests/<id:request_id>/book/", BookCandidateView.as_view(),
         name="staffing-book"),
    path("staffing/assignments/<id:assignment_id>/", AssignmentEditView.as_view(),
         name="staffing-assignment"),
    # Skills and request pages (resourcing/views/skills.py, requests.py)
    path("skills/", skills.SkillCatalogueView.as_view(), name="skill-catalogue"),
    path("skills/mine/", skills.MySkillsView.as_view(), name="my-skills"),
    path("people/<id:pk>/skills/", skills.PersonSkillsView.as_view(), name="person-skills"),
    path("staffing/requests/new/", requests.RequestCreateView.as_view(), name="request-create"),
    path("staffing/requests/<id:pk>/edit/", requests.RequestEditView.as_view(),
         name="request-edit"),
]
