"""`GET /api/v1/reports/utilization/`: the utilization report as JSON (API.md)."""

from datetime import timedelta

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from psa.api.base import PsaAutoSchema
from resourcing.selectors.utilization import (
    utilization_report,
    utilization_totals,
)

MAX_RANGE = timedelta(days=366)


class UtilizationQuerySerializer(serializers.Serializer):
    """The query string: a date range of at most a year and the grouping."""

    start = serializers.DateField()
    end = serializers.DateField()
    group_by = serializers.ChoiceField(choices=("person", "role", "team", "week"),
                                       default="person")

    def validate(self, attrs: dict) -> dict:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "The end is before the start."})
        if attrs["end"] - attrs["start"] > MAX_RANGE:
            raise serializers.ValidationError({"end": "The range is longer than a year."})
        return attrs


class UtilizationRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    people = serializers.IntegerField()
    capacity_hours = serializers.DecimalField(max_digits=12, decimal_places=2)
    actual_hours = serializers.DecimalField(max_digits=12, decimal_places=2)
    billable_hours = serializers.DecimalField(max_digits=12, decimal_places=2)
    client_hours = serializers.DecimalField(max_digits=12, decimal_places=2)
    scheduled_hard_hours = serializers.DecimalField(max_digits=12, decimal_places=2)
    scheduled_soft_hours = serializers.DecimalField(max_digits=12, decimal_places=2)
    target_percent = serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True)
    billable_utilization = serializers.DecimalField(max_digits=8, decimal_places=2,
                                                    allow_null=True)
    total_utilization = serializers.DecimalField(max_digits=8, decimal_places=2,
                                                 allow_null=True)
    scheduled_utilization = serializers.DecimalField(max_digits=8, decimal_places=2,
                                                     allow_null=True)


class UtilizationReportSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    group_by = serializers.CharField()
    results = UtilizationRowSerializer(many=True)
    total = UtilizationRowSerializer()


class UtilizationReportView(APIView):
    """Actual, billable, client and scheduled hours against capacity and target, grouped."""

    schema = PsaAutoSchema()
    required_perms = {"get": "resourcing.view_utilization"}

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True, description="First day (ISO date)."),
            OpenApiParameter("end", str, required=True, description="Last day (ISO date)."),
            OpenApiParameter("group_by", str, enum=["person", "role", "team", "week"]),
        ],
        responses=UtilizationReportSerializer)
    def get(self, request: Request) -> Response:
        query = UtilizationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        rows = utilization_report(start=params["start"], end=params["end"],
                                  group_by=params["group_by"])
        data = {"start": params["start"], "end": params["end"], "group_by": params["group_by"],
                "results": [row.as_dict() for row in rows],
                "total": utilization_totals(rows).as_dict()}
        return Response(UtilizationReportSerializer(data).data)
