"""API views of legal entities, job roles and rate cards."""

from django.db.models import QuerySet
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from psa.api import serializers as s
from psa.api.base import ApiViewSet
from psa.api.filters import LegalEntityFilter, RateCardFilter, RoleFilter
from psa.api.views.common import crud_schema, perms
from psa.selectors import legal_entity_list, rate_card_list, role_list
from psa.services import (
    legal_entity_create,
    legal_entity_update,
    rate_card_create,
    rate_card_update,
    role_create,
    role_update,
)


@crud_schema(output=s.LegalEntityOutputSerializer, create=s.LegalEntityCreateInputSerializer,
             update=s.LegalEntityUpdateInputSerializer)
class LegalEntityViewSet(ApiViewSet):
    output_serializer = s.LegalEntityOutputSerializer
    filterset_class = LegalEntityFilter
    required_perms = perms("legalentity")

    def get_queryset(self) -> QuerySet:
        return legal_entity_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        data = self.validated(s.LegalEntityCreateInputSerializer)
        entity = self.create_checked(lambda: legal_entity_create(actor=request.user, data=data))
        return self.detail_response(entity, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        entity = self.get_object()
        data = self.validated(s.LegalEntityUpdateInputSerializer, partial=True)
        entity = legal_entity_update(legal_entity=entity, actor=request.user, data=data,
                                     expected_version=self.expected_version)
        return self.detail_response(entity)


@crud_schema(output=s.RoleOutputSerializer, create=s.RoleCreateInputSerializer,
             update=s.RoleUpdateInputSerializer)
class RoleViewSet(ApiViewSet):
    output_serializer = s.RoleOutputSerializer
    filterset_class = RoleFilter
    required_perms = perms("role")

    def get_queryset(self) -> QuerySet:
        return role_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        data = self.validated(s.RoleCreateInputSerializer)
        role = self.create_checked(lambda: role_create(actor=request.user, data=data))
        return self.detail_response(role, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        role = self.get_object()
        data = self.validated(s.RoleUpdateInputSerializer, partial=True)
        role = role_update(role=role, actor=request.user, data=data,
                           expected_version=self.expected_version)
        return self.detail_response(role)


@crud_schema(output=s.RateCardOutputSerializer, create=s.RateCardCreateInputSerializer,
             update=s.RateCardUpdateInputSerializer)
class RateCardViewSet(ApiViewSet):
    output_serializer = s.RateCardOutputSerializer
    filterset_class = RateCardFilter
    required_perms = perms("ratecard")

    def get_queryset(self) -> QuerySet:
        return rate_card_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        data = self.validated(s.RateCardCreateInputSerializer)
        lines, overrides = data.pop("lines", []), data.pop("overrides", [])
        card = self.create_checked(lambda: rate_card_create(
            actor=request.user, data=data, lines=lines, overrides=overrides))
        return self.detail_response(rate_card_list(actor=request.user).get(pk=card.pk),
                                    status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        card = self.get_object()
        data = self.validated(s.RateCardUpdateInputSerializer, partial=True)
        lines, overrides = data.pop("lines", None), data.pop("overrides", None)
        card = rate_card_update(rate_card=card, actor=request.user, data=data, lines=lines,
                                overrides=overrides, expected_version=self.expected_version)
        return self.detail_response(rate_card_list(actor=request.user).get(pk=card.pk))
