"""`GET/POST /api/v1/people/{person_id}/skills/`: one person's skills, nested under people as
API.md lists them. Same serializers, selectors and services as `/person-skills/`."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from psa.api.base import ApiViewSet
from psa.api.serializers.common import RecordRelatedField
from psa.models import Person
from psa.selectors.people import person_list
from resourcing import selectors, services
from resourcing.api import serializers as s
from resourcing.models import Skill


class PersonSkillNestedInputSerializer(serializers.Serializer):
    """The person comes from the URL."""

    skill = RecordRelatedField(queryset=Skill.objects.all())
    level = serializers.IntegerField(min_value=1, max_value=5)


@extend_schema_view(
    list=extend_schema(summary="A person's skills"),
    create=extend_schema(summary="Set a person's level in a skill",
                         request=PersonSkillNestedInputSerializer,
                         responses={201: s.PersonSkillOutputSerializer}),
)
class PersonSkillsNestedViewSet(ApiViewSet):
    """A person's skill levels; POST sets one (a new or changed level is `proposed`)."""

    output_serializer = s.PersonSkillOutputSerializer
    required_perms = {"list": "resourcing.view_personskill",
                      "create": "resourcing.add_personskill"}

    def _person(self) -> Person:
        return get_object_or_404(person_list(actor=self.request.user),
                                 pk=self.kwargs["person_id"])

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return selectors.person_skill_list(actor=self.request.user).none()
        person = self._person()
        return (selectors.person_skill_list(actor=self.request.user)
                .filter(person=person).order_by("skill__name", "pk"))

    def create(self, request: Request, person_id: int) -> Response:
        person = self._person()
        data = self.validated(PersonSkillNestedInputSerializer)
        held = services.person_skill_set(actor=request.user, person=person, **data)
        return self.detail_response(held, status.HTTP_201_CREATED)


person_skills_nested = PersonSkillsNestedViewSet.as_view({"get": "list", "post": "create"})
