"""API of approvals: what waits for the caller, and bulk approve/reject (all or nothing)."""

from datetime import date
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from psa.api.base import PsaAutoSchema
from psa.api.serializers.approvals import (
    ApprovalApproveInputSerializer,
    ApprovalDecisionOutputSerializer,
    ApprovalGroupOutputSerializer,
    ApprovalListOutputSerializer,
    ApprovalRejectInputSerializer,
)
from psa.common.idempotency import IdempotentPostMixin
from psa.models import TimeEntry
from psa.selectors.approvals import approvable_time_entries, approval_groups
from psa.services.approvals import ApprovalOutcome, approvals_approve, approvals_reject

PERSON_PARAMETER = OpenApiParameter("person", int, description="Only this person's items.")
WEEK_PARAMETER = OpenApiParameter("week_start", str,
                                  description="Only the week starting on this Monday "
                                              "(YYYY-MM-DD).")


def _decision(outcome: ApprovalOutcome, decided: str) -> Response:
    body = {"status": decided, "time_entries": [e.pk for e in outcome.time_entries],
            "expenses": [x.pk for x in outcome.expenses]}
    return Response(ApprovalDecisionOutputSerializer(body).data, status=status.HTTP_200_OK)


class ApprovalViewSet(IdempotentPostMixin, viewsets.GenericViewSet):
    """Submitted time and expenses waiting for the caller, by person and week, with flags.

    Approving and rejecting take `{time_entries: [ids], expenses: [ids]}` (plus `reason` to
    reject) and change all of them or none: an id outside the caller's scope is 404, the
    caller's own item 403, a missing rate 400, a closed period or a wrong state 409.
    """

    schema = PsaAutoSchema()
    serializer_class = ApprovalGroupOutputSerializer
    output_serializer = ApprovalGroupOutputSerializer
    pagination_class = None
    filterset_class = None
    filter_backends: list = []
    required_perms = {"list": "psa.approve_timeentry", "approve": "psa.approve_timeentry",
                      "reject": "psa.approve_timeentry"}

    def get_queryset(self) -> QuerySet[TimeEntry]:
        return approvable_time_entries(actor=self.request.user)

    @extend_schema(parameters=[PERSON_PARAMETER, WEEK_PARAMETER],
                   responses={200: ApprovalListOutputSerializer})
    def list(self, request: Request) -> Response:
        """What waits for the caller: one group per person and week, oldest first."""
        person = request.query_params.get("person")
        week = request.query_params.get("week_start")
        try:
            person_id = int(person) if person else None
            week_start = date.fromisoformat(week) if week else None
        except ValueError as exc:
            raise ValidationError({"week_start" if week else "person": [
                "Give a person id and a Monday as YYYY-MM-DD."]}) from exc
        groups = approval_groups(actor=request.user, person_id=person_id, week_start=week_start)
        body = {"next": None, "previous": None, "results": groups}
        return Response(ApprovalListOutputSerializer(body).data)

    def validated(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    @extend_schema(request=ApprovalApproveInputSerializer,
                   responses={200: ApprovalDecisionOutputSerializer})
    @action(detail=False, methods=["post"])
    def approve(self, request: Request) -> Response:
        """Approve the given time entries and expenses together (all or nothing)."""
        data = self.validated(ApprovalApproveInputSerializer)
        outcome = approvals_approve(actor=request.user, time_entry_ids=data["time_entries"],
                                    expense_ids=data["expenses"])
        return _decision(outcome, "approved")

    @extend_schema(request=ApprovalRejectInputSerializer,
                   responses={200: ApprovalDecisionOutputSerializer})
    @action(detail=False, methods=["post"])
    def reject(self, request: Request) -> Response:
        """Reject the given time entries and expenses with one reason (all or nothing)."""
        data = self.validated(ApprovalRejectInputSerializer)
        outcome = approvals_reject(actor=request.user, time_entry_ids=data["time_entries"],
                                   expense_ids=data["expenses"], reason=data["reason"])
        return _decision(outcome, "rejected")
