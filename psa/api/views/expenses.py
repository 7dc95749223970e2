"""API views of expenses: list, create (JSON or multipart), change, delete, submit, receipt."""

import django_filters
from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from psa.api.base import ApiViewSet
from psa.api.filters import BaseFilter
from psa.api.serializers import expenses as s
from psa.errors import ExpenseValidationError
from psa.models import Expense, ExpenseCategory
from psa.selectors.expenses import expense_list
from psa.services.expenses import expense_create, expense_delete, expense_update, expenses_submit
from psa.services.receipts import receipts_discarded_on_error
from psa.views.expenses import receipt_file_response

RECEIPT_TYPES = ("application/pdf", "image/jpeg", "image/png")


class ExpenseFilter(BaseFilter):
    date_after = django_filters.DateFilter(field_name="expense_date", lookup_expr="gte",
                                           help_text="Expenses dated on or after this day.")
    date_before = django_filters.DateFilter(field_name="expense_date", lookup_expr="lte",
                                            help_text="Expenses dated on or before this day.")
    category = django_filters.ChoiceFilter(choices=ExpenseCategory.choices)
    status = django_filters.ChoiceFilter(choices=Expense.Status.choices)

    class Meta:
        model = Expense
        fields = ["project", "person", "status", "category"]


class ExpenseViewSet(ApiViewSet):
    """Expenses the caller may see; receipts travel as multipart and download from `…/receipt/`.

    Every refusal uses the error shape and writes nothing, receipt files included.
    """

    output_serializer = s.ExpenseOutputSerializer
    parser_classes = [JSONParser, MultiPartParser]  # multipart carries the receipt file
    filterset_class = ExpenseFilter
    required_perms = {
        "list": "psa.view_expense", "retrieve": "psa.view_expense",
        "create": "psa.add_expense", "partial_update": "psa.change_expense",
        "destroy": "psa.delete_expense", "submit": "psa.submit_expense",
        "receipt": "psa.view_expense",
    }

    def get_queryset(self) -> QuerySet[Expense]:
        return expense_list(actor=self.request.user)

    @extend_schema(request={"application/json": s.ExpenseCreateInputSerializer,
                            "multipart/form-data": s.ExpenseCreateInputSerializer},
                   responses={201: s.ExpenseOutputSerializer})
    def create(self, request: Request) -> Response:
        """Record a draft expense; send multipart/form-data to attach the `receipt`."""
        data = self.validated(s.ExpenseCreateInputSerializer)
        receipt = data.pop("receipt", None)
        project = data.pop("project")
        person = data.pop("person", None) or getattr(request.user, "person", None)
        if person is None:
            raise ExpenseValidationError("Your login is not linked to a person; name the person "
                                         "whose expense this is.", attr="person")
        # The permission check needs the new row; a refusal rolls it back, file included.
        with receipts_discarded_on_error():
            expense = self.create_checked(lambda: expense_create(
                actor=request.user, person=person, project=project, data=data,
                receipt=receipt))
        return self.detail_response(expense, status.HTTP_201_CREATED)

    @extend_schema(request={"application/json": s.ExpenseUpdateInputSerializer,
                            "multipart/form-data": s.ExpenseUpdateInputSerializer},
                   responses={200: s.ExpenseOutputSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        """Change a draft or rejected expense (409 otherwise; 412 on a stale If-Match)."""
        expense = self.get_object()
        data = self.validated(s.ExpenseUpdateInputSerializer, partial=True)
        receipt = data.pop("receipt", None)
        expense = expense_update(actor=request.user, expense=expense, data=data,
                                 receipt=receipt, expected_version=self.expected_version)
        return self.detail_response(expense)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        """Delete a draft or rejected expense (409 once submitted)."""
        expense_delete(actor=request.user, expense=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: s.ExpenseOutputSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        """Submit a draft or rejected expense for approval."""
        [expense] = expenses_submit(actor=request.user, expenses=[self.get_object()])
        return self.detail_response(expense)

    @extend_schema(responses={(200, content_type): OpenApiTypes.BINARY
                              for content_type in RECEIPT_TYPES}, filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def receipt(self, request: Request, pk: str) -> FileResponse:
        """Download the receipt (404 when there is none or the expense is outside your scope)."""
        expense = self.get_object()
        response = receipt_file_response(expense)
        if response is None:
            raise NotFound("This expense has no receipt.")
        return response
