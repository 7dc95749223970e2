"""`/api/v1/periods/` (API.md): the legal entities' months, open or closed; `POST …/{id}/close/`
runs the month-end close (409 listing every blocking checklist item while something blocks) and
`…/{id}/reopen/` reopens a closed month with a reason (administrators; audited)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from psa.api.base import ApiViewSet
from psa.api.filters import BaseFilter
from psa.api.serializers.common import OutputSerializer
from psa.api.serializers.org import TIMESTAMPS
from psa.models import Period
from revenue.errors import MonthCloseBlockedError
from revenue.selectors.close import period_list
from revenue.services.close import month_close, month_reopen


class PeriodOutputSerializer(OutputSerializer):
    """One month of one legal entity: open or closed, and by whom and when."""

    legal_entity_code = serializers.CharField(source="legal_entity.code", read_only=True)

    class Meta:
        model = Period
        fields = ("id", "legal_entity", "legal_entity_code", "month", "status", "closed_at",
                  "closed_by", *TIMESTAMPS)
        read_only_fields = fields


class PeriodReopenInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why the month is reopened; "
                                   "kept in the audit trail.")


class CloseBlockerSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The checklist item: `unapproved_time`, "
                                 "`unapproved_expenses`, `unissued_drafts`, "
                                 "`stale_recognition`, `unbalanced_journals` (or "
                                 "`invalid_state` when the month is closed already).")
    detail = serializers.CharField(help_text="What blocks, as a sentence.")
    attr = serializers.CharField(allow_null=True)


class PeriodCloseBlockedSerializer(serializers.Serializer):
    """API.md's error shape: one error per blocking checklist item."""

    type = serializers.ChoiceField(choices=["client_error"])
    errors = CloseBlockerSerializer(many=True)


class PeriodFilter(BaseFilter):
    month = django_filters.DateFilter(
        method="filter_month", help_text="Any day of the month (`YYYY-MM-DD`); the period of "
                                         "that month.")

    class Meta:
        model = Period
        fields = ["legal_entity", "status"]

    def filter_month(self, queryset: QuerySet, name: str, value: object) -> QuerySet:
        return queryset.filter(month=value.replace(day=1)) if value else queryset


BLOCKED_EXAMPLE = OpenApiExample(
    "Blocked", status_codes=["409"], response_only=True,
    value={"type": "client_error", "errors": [
        {"code": "unapproved_time", "attr": None,
         "detail": "2 time entries dated in March 2026 are not approved: 2 awaiting "
                   "approval."},
        {"code": "stale_recognition", "attr": None,
         "detail": "Revenue for March 2026 has not been recognised yet: run recognition."}]})


def blocked_response(error: MonthCloseBlockedError) -> Response:
    """API.md's error shape with one error per blocking checklist item."""
    return Response({"type": "client_error", "errors": [
        {"code": item.key, "detail": item.sentence, "attr": None} for item in error.blocking]},
        status=error.http_status)


class PeriodViewSet(ApiViewSet):
    """Monthly periods per legal entity; finance closes them, administrators reopen them."""

    output_serializer = PeriodOutputSerializer
    filterset_class = PeriodFilter
    required_perms = {"list": "psa.view_period", "retrieve": "psa.view_period",
                      "close": "psa.close_period", "reopen": "psa.reopen_period"}

    def get_queryset(self) -> QuerySet[Period]:
        return period_list(actor=self.request.user)

    @extend_schema(request=None, responses={
        200: PeriodOutputSerializer,
        409: OpenApiResponse(PeriodCloseBlockedSerializer,
                             description="Something blocks the close (one error per "
                                         "checklist item), or the month is closed already.",
                             examples=[BLOCKED_EXAMPLE])})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        """Run the month-end close: time and expenses approved, invoices issued, recognition
        current and journals balanced, then the month is closed (`period.closed`)."""
        period = self.get_object()
        try:
            period = month_close(legal_entity=period.legal_entity, month=period.month,
                                 actor=request.user)
        except MonthCloseBlockedError as error:
            return blocked_response(error)
        return self.detail_response(self.get_queryset().get(pk=period.pk))

    @extend_schema(request=PeriodReopenInputSerializer,
                   responses={200: PeriodOutputSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        """Reopen a closed month with a reason (409 unless it is closed)."""
        period = self.get_object()
        data = self.validated(PeriodReopenInputSerializer)
        period = month_reopen(period=period, actor=request.user, reason=data["reason"])
        return self.detail_response(self.get_queryset().get(pk=period.pk))
