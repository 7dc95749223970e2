"""API views of skills, people's skills, resource requests, assignments and capacity.

Each write calls one service in resourcing.services; lists call a selector scoped to the user.
Candidates for a request (`GET /resource-requests/{id}/candidates/`) belong to the ranking
module (resourcing.selectors.candidates): add them as an `@action` on ResourceRequestViewSet
with the permission `resourcing.view_candidates`.
"""

from django.db.models import QuerySet
from django.utils.dateparse import parse_date
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from psa.api.base import ApiViewSet
from psa.api.views.common import crud_schema
from psa.models import Person
from psa.rules import visible
from resourcing import selectors, services
from resourcing.api import serializers as s
from resourcing.api.candidates import CandidateOutputSerializer
from resourcing.api.filters import (
    AssignmentFilter,
    PersonSkillFilter,
    ResourceRequestFilter,
    SkillFilter,
)
from resourcing.selectors.candidates import candidates_for_request


def _perms(model: str, **extra: str) -> dict[str, str]:
    return {"list": f"resourcing.view_{model}", "retrieve": f"resourcing.view_{model}",
            "create": f"resourcing.add_{model}", "partial_update": f"resourcing.change_{model}",
            **extra}


@crud_schema(output=s.SkillOutputSerializer, create=s.SkillCreateInputSerializer)
class SkillViewSet(ApiViewSet):
    """The skills catalogue."""

    output_serializer = s.SkillOutputSerializer
    filterset_class = SkillFilter
    required_perms = {"list": "resourcing.view_skill", "retrieve": "resourcing.view_skill",
                      "create": "resourcing.add_skill"}

    def get_queryset(self) -> QuerySet:
        return selectors.skill_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        data = self.validated(s.SkillCreateInputSerializer)
        skill = services.skill_create(actor=request.user, **data)
        return self.detail_response(skill, status.HTTP_201_CREATED)


@crud_schema(output=s.PersonSkillOutputSerializer, create=s.PersonSkillCreateInputSerializer,
             update=s.PersonSkillUpdateInputSerializer)
class PersonSkillViewSet(ApiViewSet):
    """People's skill levels: set by the person (or their manager), confirmed by the manager."""

    output_serializer = s.PersonSkillOutputSerializer
    filterset_class = PersonSkillFilter
    required_perms = _perms("personskill", confirm="resourcing.confirm_personskill")

    def get_queryset(self) -> QuerySet:
        return selectors.person_skill_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        """Set a person's level in a skill (201); a new or changed level is `proposed`."""
        data = self.validated(s.PersonSkillCreateInputSerializer)
        held = services.person_skill_set(actor=request.user, **data)
        return self.detail_response(held, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        held = self.get_object()
        data = self.validated(s.PersonSkillUpdateInputSerializer)
        held = services.person_skill_update(actor=request.user, person_skill=held,
                                            level=data["level"],
                                            expected_version=self.expected_version)
        return self.detail_response(held)

    @extend_schema(request=None, responses={200: s.PersonSkillOutputSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        """The person's manager confirms a proposed level (never the person themself)."""
        held = services.person_skill_confirm(actor=request.user, person_skill=self.get_object())
        return self.detail_response(held)


@crud_schema(output=s.ResourceRequestOutputSerializer, create=s.ResourceRequestInputSerializer,
             update=s.ResourceRequestInputSerializer)
class ResourceRequestViewSet(ApiViewSet):
    """Demand: a role on a project or a pipeline deal, with skills and minimum levels.

    `GET …/{id}/candidates/` ranks the people who could fill it, each factor with its value.
    """

    output_serializer = s.ResourceRequestOutputSerializer
    filterset_class = ResourceRequestFilter
    required_perms = _perms("resourcerequest", cancel="resourcing.change_resourcerequest",
                            candidates="resourcing.view_candidates")

    def get_queryset(self) -> QuerySet:
        return selectors.request_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        data = self.validated(s.ResourceRequestInputSerializer)
        skills = data.pop("skills", [])
        created = self.create_checked(lambda: services.request_create(
            actor=request.user, data=data, skills=skills))
        return self.detail_response(created, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        current = self.get_object()
        data = self.validated(s.ResourceRequestInputSerializer, partial=True)
        skills = data.pop("skills", None)
        changed = services.request_update(actor=request.user, request=current, data=data,
                                          skills=skills, expected_version=self.expected_version)
        return self.detail_response(changed)

    @extend_schema(
        parameters=[OpenApiParameter("exclude", int, many=True,
                                     description="People to leave out of the ranking.")],
        responses={200: CandidateOutputSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None)
    def candidates(self, request: Request, pk: str) -> Response:
        demand = self.get_object()
        exclude = [int(i) for i in request.query_params.getlist("exclude") if i.isdigit()]
        ranked = candidates_for_request(request=demand, exclude_ids=exclude)
        return Response(CandidateOutputSerializer(ranked, many=True,
                                                  context={"request": request}).data)

    @extend_schema(request=None, responses={200: s.ResourceRequestOutputSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Cancel the request (a lost deal, a change of plan); 409 if already cancelled."""
        cancelled = services.request_cancel(actor=request.user, request=self.get_object())
        return self.detail_response(cancelled)


END_DATE_PARAMETER = OpenApiParameter(
    "end_date", str, OpenApiParameter.QUERY, required=False,
    description="The last day of the assignment (default today); before its start, the "
                "assignment is deleted.")


@crud_schema(output=s.AssignmentOutputSerializer, create=s.AssignmentCreateInputSerializer,
             update=s.AssignmentUpdateInputSerializer)
class AssignmentViewSet(ApiViewSet):
    """Supply: a person booked on a project, soft or hard.

    A hard booking that overbooks a week is 409 (`overbooked`, the weeks in the detail) unless
    the body says `confirm_overbooking: true`.
    """

    output_serializer = s.AssignmentOutputSerializer
    filterset_class = AssignmentFilter
    required_perms = _perms("assignment", destroy="resourcing.delete_assignment")

    def get_queryset(self) -> QuerySet:
        return selectors.assignment_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        data = self.validated(s.AssignmentCreateInputSerializer)
        data.setdefault("role", data["person"].role)
        assignment = self.create_checked(lambda: services.assignment_create(
            actor=request.user, **data))
        return self.detail_response(assignment, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        current = self.get_object()
        data = self.validated(s.AssignmentUpdateInputSerializer, partial=True)
        confirm = data.pop("confirm_overbooking", False)
        changed = services.assignment_update(actor=request.user, assignment=current, data=data,
                                             confirm_overbooking=confirm,
                                             expected_version=self.expected_version)
        return self.detail_response(changed)

    @extend_schema(parameters=[END_DATE_PARAMETER], responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        """End the assignment (`?end_date=`, default today); not yet started: deleted."""
        raw = request.query_params.get("end_date")
        end_date = parse_date(raw) if raw else None
        if raw and end_date is None:
            raise ValidationError({"end_date": ["Give a date as YYYY-MM-DD."]})
        services.assignment_end(actor=request.user, assignment=self.get_object(),
                                end_date=end_date)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CapacityViewSet(ApiViewSet):
    """Capacity, hard and soft allocation and availability per person and week."""

    output_serializer = s.CapacityWeekOutputSerializer
    required_perms = {"list": "resourcing.view_capacity"}
    pagination_class = None
    filter_backends = ()

    def get_queryset(self) -> QuerySet:
        return Person.objects.none()

    @extend_schema(parameters=[s.CapacityQuerySerializer],
                   responses={200: s.CapacityWeekOutputSerializer(many=True)})
    def list(self, request: Request) -> Response:
        query = s.CapacityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        ids = query.validated_data["person"]
        # Only people the caller may see; anyone else reads as an unknown id.
        people = list(visible(Person.objects.filter(pk__in=ids), request.user,
                              "psa.view_person").order_by("pk"))
        if len(people) != len(ids):
            raise ValidationError({"person": ["Unknown person id."]})
        rows = selectors.capacity_report(people=people, start=query.validated_data["start"],
                                         end=query.validated_data["end"])
        return Response(s.CapacityWeekOutputSerializer(rows, many=True).data)
