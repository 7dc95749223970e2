"""Serializers of revenue's API: schedules with their months, recognition runs as jobs, and
journal entries with their balanced lines. Money goes out as 2-place strings beside the row's
`currency` (API.md)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from psa.api.serializers.common import OutputSerializer, VisibleRelatedField
from psa.api.serializers.org import TIMESTAMPS
from psa.models import Contract, LegalEntity
from psa.selectors import legal_entity_list
from revenue.models import JournalEntry, JournalLine, RecognitionRun, RevenueSchedule, ScheduleLine

AMOUNTS_POSTED_ATTRIBUTE = "api_amounts_posted"


def _amount(**kwargs: object) -> serializers.DecimalField:
    """A read-only money figure (2 places, string out)."""
    return serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, **kwargs)


# --- Schedules ------------------------------------------------------------------------------


class ScheduleLineOutputSerializer(serializers.ModelSerializer):
    """One month of a schedule: planned, recognised and why (the formula and its inputs)."""

    variance_amount = serializers.SerializerMethodField(
        help_text="recognised_amount - planned_amount (2 places).")
    inputs = serializers.DictField(
        child=serializers.CharField(), read_only=True,
        help_text="The figures the explanation uses, e.g. `{\"value\": \"10000.00\", "
                  "\"days\": \"31\"}`; `source: plan` until a recognition run explains the "
                  "month.")

    class Meta:
        model = ScheduleLine
        fields = ("month", "planned_amount", "recognised_amount", "variance_amount",
                  "explanation", "inputs", "updated_at")
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2))
    def get_variance_amount(self, line: ScheduleLine) -> str:
        return f"{line.recognised_amount - line.planned_amount:.2f}"


class RevenueScheduleOutputSerializer(OutputSerializer):
    """A contract's revenue schedule: its method and value, what is planned and recognised,
    and one line per month (`lines`, in month order)."""

    # Plain strings, not enums: these choice sets already have their names in the schema.
    method = serializers.CharField(
        read_only=True, help_text=f"One of: {', '.join(Contract.RevenueMethod.values)}.")
    contract_code = serializers.CharField(source="contract.code", read_only=True)
    client = serializers.IntegerField(source="contract.client_id", read_only=True)
    legal_entity = serializers.IntegerField(source="contract.legal_entity_id", read_only=True)
    start_date = serializers.DateField(source="contract.start_date", read_only=True)
    end_date = serializers.DateField(source="contract.end_date", read_only=True)
    planned_total = _amount(help_text="Σ planned_amount of the lines.")
    planned_to_date = _amount(help_text="Σ planned_amount of the months ended (up to last "
                                        "month).")
    lines = ScheduleLineOutputSerializer(many=True, read_only=True)

    class Meta:
        model = RevenueSchedule
        fields = ("id", "contract", "contract_code", "client", "legal_entity", "method",
                  "currency", "value_amount", "start_date", "end_date", "planned_total",
                  "planned_to_date", "recognised_to_date", "lines", *TIMESTAMPS)


# --- Recognition runs -----------------------------------------------------------------------


class CurrencyAmountSerializer(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class RecognitionRunOutputSerializer(OutputSerializer):
    """A run as a job: its status, progress and what it posted (`amount_posted` sums every
    currency; `amounts_posted` gives it per currency)."""

    period = serializers.DateField(read_only=True, help_text="The first day of the month.")
    status = serializers.CharField(
        read_only=True, help_text=f"One of: {', '.join(RecognitionRun.Status.values)}.")
    progress_percent = serializers.IntegerField(
        read_only=True, help_text="0 to 100: contracts done of contracts in scope.")
    amounts_posted = serializers.SerializerMethodField(
        help_text="What the run posted per currency, e.g. "
                  '`[{"currency": "USD", "amount": "3444.44"}]`.')

    class Meta:
        model = RecognitionRun
        fields = ("id", "legal_entity", "period", "status", "progress_percent", "total_units",
                  "done_units", "entries_posted", "amount_posted", "amounts_posted", "error",
                  "started_by", "started_at", "finished_at", *TIMESTAMPS)

    @extend_schema_field(CurrencyAmountSerializer(many=True))
    def get_amounts_posted(self, run: RecognitionRun) -> list[dict[str, str]]:
        # Attached per page (or per row) by the view in one aggregate query.
        return [{"currency": currency, "amount": f"{amount:.2f}"}
                for currency, amount in getattr(run, AMOUNTS_POSTED_ATTRIBUTE, [])]


class RecognitionRunCreateInputSerializer(serializers.Serializer):
    legal_entity = VisibleRelatedField(selector=legal_entity_list,
                                       queryset=LegalEntity.objects.all(),
                                       help_text="The legal entity to recognise.")
    period = serializers.DateField(
        help_text="Any day of the month to recognise (its first day is used); an open month, "
                  "not in the future.")


# --- Journal entries ------------------------------------------------------------------------


class JournalLineOutputSerializer(serializers.ModelSerializer):
    """One debit or credit (the other is "0.00") on an account of the legal entity."""

    class Meta:
        model = JournalLine
        fields = ("id", "account_key", "account_code", "debit", "credit")
        read_only_fields = fields


class JournalEntryOutputSerializer(OutputSerializer):
    """A balanced journal entry (total_debit = total_credit = Σ lines) for the ERP."""

    source = serializers.ChoiceField(choices=JournalEntry.Source.choices, read_only=True)
    source_id = serializers.IntegerField(
        read_only=True, help_text="The invoice, credit note or recognition entry it posts.")
    period = serializers.DateField(read_only=True, help_text="The first day of the month.")
    lines = JournalLineOutputSerializer(many=True, read_only=True)

    class Meta:
        model = JournalEntry
        fields = ("id", "legal_entity", "entry_date", "period", "source", "source_id",
                  "contract", "currency", "description", "total_debit", "total_credit",
                  "lines", *TIMESTAMPS)

