"""API views of clients, contracts and change orders."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from psa.api import serializers as s
from psa.api.base import ApiViewSet
from psa.api.filters import ChangeOrderFilter, ClientFilter, ContractFilter
from psa.api.views.common import crud_schema, perms
from psa.selectors import change_order_list, client_list, contract_list
from psa.services import (
    change_order_create,
    client_create,
    client_update,
    contract_create,
    contract_update,
)
from psa.services.change_orders import change_order_approve, change_order_reject


@crud_schema(output=s.ClientOutputSerializer, create=s.ClientCreateInputSerializer,
             update=s.ClientUpdateInputSerializer)
class ClientViewSet(ApiViewSet):
    output_serializer = s.ClientOutputSerializer
    filterset_class = ClientFilter
    has_external_refs = True
    required_perms = perms("client")

    def get_queryset(self) -> QuerySet:
        return client_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        data = self.validated(s.ClientCreateInputSerializer)
        refs = data.pop("external_refs", [])
        client = self.create_checked(lambda: client_create(actor=request.user, data=data,
                                                           external_refs=refs))
        return self.detail_response(client, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        client = self.get_object()
        data = self.validated(s.ClientUpdateInputSerializer, partial=True)
        refs = data.pop("external_refs", None)
        client = client_update(client=client, actor=request.user, data=data, external_refs=refs,
                               expected_version=self.expected_version)
        return self.detail_response(client)


@crud_schema(output=s.ContractOutputSerializer, create=s.ContractCreateInputSerializer,
             update=s.ContractUpdateInputSerializer)
class ContractViewSet(ApiViewSet):
    output_serializer = s.ContractOutputSerializer
    filterset_class = ContractFilter
    has_external_refs = True
    required_perms = perms("contract")

    def get_queryset(self) -> QuerySet:
        return contract_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        data = self.validated(s.ContractCreateInputSerializer)
        refs = data.pop("external_refs", [])
        contract = self.create_checked(lambda: contract_create(actor=request.user, data=data,
                                                               external_refs=refs))
        return self.detail_response(contract, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        contract = self.get_object()
        data = self.validated(s.ContractUpdateInputSerializer, partial=True)
        refs = data.pop("external_refs", None)
        contract = contract_update(contract=contract, actor=request.user, data=data,
                                   external_refs=refs, expected_version=self.expected_version)
        return self.detail_response(contract)


@crud_schema(output=s.ChangeOrderOutputSerializer, create=s.ChangeOrderCreateInputSerializer)
class ChangeOrderViewSet(ApiViewSet):
    """Change orders: list, read, record, and decide (`approve` applies the change to the
    contract's value and cap and the project's budget hours; `reject` needs a reason)."""

    output_serializer = s.ChangeOrderOutputSerializer
    filterset_class = ChangeOrderFilter
    required_perms = {**perms("changeorder", change=False),
                      "approve": "psa.approve_changeorder", "reject": "psa.approve_changeorder"}

    def get_queryset(self) -> QuerySet:
        return change_order_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        data = self.validated(s.ChangeOrderCreateInputSerializer)
        change_order = self.create_checked(lambda: change_order_create(actor=request.user,
                                                                       data=data))
        return self.detail_response(change_order, status.HTTP_201_CREATED)

    @extend_schema(request=s.ChangeOrderApproveInputSerializer,
                   responses={200: s.ChangeOrderOutputSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        """Approve a pending change order and apply it (409 unless pending, 403 for the
        person who raised it)."""
        change_order = self.get_object()
        data = self.validated(s.ChangeOrderApproveInputSerializer)
        change_order = change_order_approve(change_order=change_order, actor=request.user,
                                            reason=data["reason"],
                                            expected_version=self.expected_version)
        return self.detail_response(change_order)

    @extend_schema(request=s.ChangeOrderRejectInputSerializer,
                   responses={200: s.ChangeOrderOutputSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        """Reject a pending change order with a reason; the contract stays as it is."""
        change_order = self.get_object()
        data = self.validated(s.ChangeOrderRejectInputSerializer)
        change_order = change_order_reject(change_order=change_order, actor=request.user,
                                           reason=data["reason"],
                                           expected_version=self.expected_version)
        return self.detail_response(change_order)
