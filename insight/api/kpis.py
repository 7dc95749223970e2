"""`GET /api/v1/reports/kpis/`: the dashboard's measures month by month (API.md)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from insight.forms import FIRST_YEAR, LAST_YEAR
from insight.selectors.dashboard import build_scope, dashboard
from insight.selectors.scope import month_start
from psa.api.base import PsaAutoSchema
from psa.api.serializers.common import RecordRelatedField
from psa.common.money import CURRENCY_CHOICES
from psa.models import Client, LegalEntity

MAX_MONTHS = 24


class KpiQuerySerializer(serializers.Serializer):
    """The query string: a range of whole months (at most 24) and the dashboard's filters."""

    start = serializers.DateField(help_text="A day of the first month.")
    end = serializers.DateField(help_text="A day of the last month.")
    legal_entity = RecordRelatedField(queryset=LegalEntity.objects.all(),
                                      required=False, allow_null=True)
    client = RecordRelatedField(queryset=Client.objects.all(), required=False,
                                allow_null=True)
    service_line = serializers.CharField(required=False, allow_blank=True, default="")
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False)

    def validate(self, attrs: dict) -> dict:
        start, end = month_start(attrs["start"]), month_start(attrs["end"])
        for name, day in (("start", start), ("end", end)):
            if not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise serializers.ValidationError(
                    {name: f"Choose a date from {FIRST_YEAR} to {LAST_YEAR}."})
        if end < start:
            raise serializers.ValidationError({"end": "The end is before the start."})
        if (end.year - start.year) * 12 + end.month - start.month + 1 > MAX_MONTHS:
            raise serializers.ValidationError(
                {"end": f"The range is longer than {MAX_MONTHS} months."})
        return attrs


class MonthValueSerializer(serializers.Serializer):
    month = serializers.DateField()
    value = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    comparison = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)


class MeasureSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.ChoiceField(choices=("money", "percent", "rate", "days", "hours"),
                                   help_text="money and rate are in the report's currency.")
    definition = serializers.CharField()
    note = serializers.CharField()
    comparison_label = serializers.CharField(help_text="What `comparison` holds, if anything.")
    months = MonthValueSerializer(many=True)


class KpiReportSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    currency = serializers.CharField()
    legal_entity = serializers.IntegerField(allow_null=True)
    client = serializers.IntegerField(allow_null=True)
    service_line = serializers.CharField()
    missing_rates = serializers.ListField(child=serializers.CharField(),
                                          help_text="Currency pairs without a stored rate "
                                                    "for some month; those amounts are left "
                                                    "out.")
    measures = MeasureSerializer(many=True)


class KpiReportView(APIView):
    """Bookings, backlog, utilization, realization, bill rate, revenue against plan, WIP, AR,
    DSO and gross margin for each month of the range, as on the dashboard."""

    schema = PsaAutoSchema()
    required_perms = {"get": "insight.view_dashboard"}

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True, description="A day of the first "
                                                                      "month (ISO date)."),
            OpenApiParameter("end", str, required=True, description="A day of the last month "
                                                                    "(ISO date)."),
            OpenApiParameter("legal_entity", int, description="Only this legal entity."),
            OpenApiParameter("client", int, description="Only this client's work."),
            OpenApiParameter("service_line", str, description="Only this service line."),
            OpenApiParameter("currency", str, description="Convert amounts into this "
                                                          "currency (default: the legal "
                                                          "entity's, else the firm's)."),
        ],
        responses=KpiReportSerializer)
    def get(self, request: Request) -> Response:
        query = KpiQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        entity, client = params.get("legal_entity"), params.get("client")
        scope = build_scope(start_month=params["start"], end_month=params["end"],
                            legal_entity=entity, client=client,
                            service_line=params.get("service_line", ""),
                            currency=params.get("currency") or None)
        board = dashboard(scope=scope, legal_entity=entity, client=client)
        measures = []
        for measure in board.measures:
            comparison = measure.comparison or (None,) * len(measure.values)
            measures.append({
                "key": measure.key, "label": measure.label, "unit": measure.unit,
                "definition": measure.definition, "note": measure.note,
                "comparison_label": measure.comparison_label,
                "months": [{"month": month, "value": value, "comparison": compared}
                           for month, value, compared in zip(scope.months, measure.values,
                                                             comparison, strict=True)]})
        data = {"start": scope.months[0], "end": scope.last_day, "currency": scope.currency,
                "legal_entity": entity.pk if entity else None,
                "client": client.pk if client else None, "service_line": scope.service_line,
                "missing_rates": board.missing_rates, "measures": measures}
        return Response(KpiReportSerializer(data).data)
