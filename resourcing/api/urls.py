"""Resourcing's resources under /api/v1/ (psa/urls.py includes this module by its name)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from resourcing.api import views
from resourcing.api.person_skills_nested import person_skills_nested
from resourcing.api.reports import UtilizationReportView

router = SimpleRouter(trailing_slash=True)
router.register("skills", views.SkillViewSet, basename="skill")
router.register("person-skills", views.PersonSkillViewSet, basename="person-skill")
router.register("resource-requests", views.ResourceRequestViewSet, basename="resource-request")
router.register("assignments", views.AssignmentViewSet, basename="assignment")

app_name = "resourcing-api"
urlpatterns = [
    *router.urls,
    # A report over the people it is asked about, not a resource: no `capacity/{id}/` route.
    path("capacity/", views.CapacityViewSet.as_view({"get": "list"}), name="capacity-list"),
    path("people/<id:person_id>/skills/", person_skills_nested, name="person-skills-nested"),
    path("reports/utilization/", UtilizationReportView.as_view(), name="report-utilization"),
]
