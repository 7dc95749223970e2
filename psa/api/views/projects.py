"""API views of projects (with financials), tasks and milestones (complete, accept)."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from psa.api import serializers as s
from psa.api.base import ApiViewSet
from psa.api.filters import MilestoneFilter, ProjectFilter, TaskFilter
from psa.api.views.common import crud_schema, perms
from psa.models import Project
from psa.selectors import milestone_list, project_financials, project_list, task_list
from psa.selectors.pages.common import perm_flag
from psa.services import (
    milestone_accept,
    milestone_complete,
    milestone_create,
    milestone_update,
    project_create,
    project_update,
    task_create,
    task_update,
)


@crud_schema(output=s.ProjectOutputSerializer, create=s.ProjectCreateInputSerializer,
             update=s.ProjectUpdateInputSerializer)
class ProjectViewSet(ApiViewSet):
    output_serializer = s.ProjectOutputSerializer
    filterset_class = ProjectFilter
    has_external_refs = True
    required_perms = {**perms("project"), "financials": "psa.view_project_financials"}

    def get_queryset(self) -> QuerySet:
        # Whose budget amounts the user may see, for the whole page in the same query.
        return project_list(actor=self.request.user).annotate(can_see_financials=perm_flag(
            self.request.user, "psa.view_project_financials", Project))

    def create(self, request: Request) -> Response:
        data = self.validated(s.ProjectCreateInputSerializer)
        refs = data.pop("external_refs", [])
        project = self.create_checked(lambda: project_create(actor=request.user, data=data,
                                                             external_refs=refs))
        return self.detail_response(project, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        project = self.get_object()
        data = self.validated(s.ProjectUpdateInputSerializer, partial=True)
        refs = data.pop("external_refs", None)
        project = project_update(project=project, actor=request.user, data=data,
                                 external_refs=refs, expected_version=self.expected_version)
        return self.detail_response(project)

    @extend_schema(responses={200: s.ProjectFinancialsOutputSerializer}, filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def financials(self, request: Request, pk: str) -> Response:
        """Budget, actuals, burn, EAC, revenue, cost, margin, billed and unbilled.

        Actual hours and cost arrive with time entries (zero until then).
        """
        summary = project_financials(project=self.get_object())
        return Response(s.ProjectFinancialsOutputSerializer(summary).data)


@crud_schema(output=s.TaskOutputSerializer, create=s.TaskCreateInputSerializer,
             update=s.TaskUpdateInputSerializer)
class TaskViewSet(ApiViewSet):
    output_serializer = s.TaskOutputSerializer
    filterset_class = TaskFilter
    required_perms = perms("task")

    def get_queryset(self) -> QuerySet:
        return task_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        data = self.validated(s.TaskCreateInputSerializer)
        task = self.create_checked(lambda: task_create(actor=request.user, data=data))
        return self.detail_response(task, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        data = self.validated(s.TaskUpdateInputSerializer, partial=True)
        task = task_update(task=task, actor=request.user, data=data,
                           expected_version=self.expected_version)
        return self.detail_response(task)


@crud_schema(output=s.MilestoneOutputSerializer, create=s.MilestoneCreateInputSerializer,
             update=s.MilestoneUpdateInputSerializer)
class MilestoneViewSet(ApiViewSet):
    output_serializer = s.MilestoneOutputSerializer
    filterset_class = MilestoneFilter
    required_perms = {**perms("milestone"), "complete": "psa.complete_milestone",
                      "accept": "psa.accept_milestone"}

    def get_queryset(self) -> QuerySet:
        return milestone_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        data = self.validated(s.MilestoneCreateInputSerializer)
        milestone = self.create_checked(lambda: milestone_create(actor=request.user, data=data))
        return self.detail_response(milestone, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        milestone = self.get_object()
        data = self.validated(s.MilestoneUpdateInputSerializer, partial=True)
        milestone = milestone_update(milestone=milestone, actor=request.user, data=data,
                                     expected_version=self.expected_version)
        return self.detail_response(milestone)

    @extend_schema(request=None, responses={200: s.MilestoneOutputSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        """Mark a planned milestone completed (409 from any other state)."""
        milestone = milestone_complete(milestone=self.get_object(), actor=request.user)
        return self.detail_response(milestone)

    @extend_schema(request=None, responses={200: s.MilestoneOutputSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        """Record the client's acceptance of a completed milestone (409 otherwise)."""
        milestone = milestone_accept(milestone=self.get_object(), actor=request.user)
        return self.detail_response(milestone)
