"""API views of people."""

from django.db.models import QuerySet
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from psa.api import serializers as s
from psa.api.base import ApiViewSet
from psa.api.filters import PersonFilter
from psa.api.views.common import crud_schema, perms
from psa.selectors import person_list
from psa.services import person_create, person_update


@crud_schema(output=s.PersonOutputSerializer, create=s.PersonCreateInputSerializer,
             update=s.PersonUpdateInputSerializer)
class PersonViewSet(ApiViewSet):
    output_serializer = s.PersonOutputSerializer
    filterset_class = PersonFilter
    has_external_refs = True
    required_perms = perms("person")

    def get_queryset(self) -> QuerySet:
        return person_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        data = self.validated(s.PersonCreateInputSerializer)
        refs = data.pop("external_refs", [])
        person = self.create_checked(lambda: person_create(actor=request.user, data=data,
                                                           external_refs=refs))
        return self.detail_response(person_list(actor=request.user).get(pk=person.pk),
                                    status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        person = self.get_object()
        data = self.validated(s.PersonUpdateInputSerializer, partial=True)
        refs = data.pop("external_refs", None)
        person = person_update(person=person, actor=request.user, data=data,
                               external_refs=refs, expected_version=self.expected_version)
        return self.detail_response(person_list(actor=request.user).get(pk=person.pk))
