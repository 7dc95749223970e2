"""Serializers of billing's API: invoice runs, invoices and credit notes with their lines and
source items, and payments. Money goes out as 2-place strings beside the row's `currency`,
rates with 4 (API.md)."""

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import BilledItem, Invoice, InvoiceLine, InvoiceRun, Payment, RunOutcome
from billing.models.invoices import BILLED_SOURCES
from billing.selectors.invoices import invoice_list
from psa.api.serializers.common import (
    ExternalRefsField,
    ExternalRefsInput,
    OutputSerializer,
    VisibleRelatedField,
    money,
    record_id_field,
    signed_money,
)
from psa.api.serializers.org import TIMESTAMPS
from psa.common.money import CURRENCY_CHOICES
from psa.models import LegalEntity
from psa.selectors import legal_entity_list

CENT = Decimal("0.01")
OUTCOMES_SUMMARY_ATTRIBUTE = "api_outcomes_summary"


def _amount(**kwargs: Any) -> serializers.DecimalField:
    """A read-only money figure derived from the row (2 places, string out)."""
    return serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, **kwargs)


# --- Invoice runs -------------------------------------------------------------------------


class InvoiceRunOutputSerializer(OutputSerializer):
    """A run as a job: its status, progress and what it produced."""

    progress_percent = serializers.IntegerField(
        read_only=True, help_text="0 to 100: contracts done of contracts in scope.")
    outcomes_summary = serializers.SerializerMethodField(
        help_text="How many contracts ended with each outcome reason, e.g. "
                  '`{"created": 12, "nothing_new": 3, "over_cap": 1}`.')

    class Meta:
        model = InvoiceRun
        fields = ("id", "legal_entity", "cut_off", "status", "progress_percent", "total_units",
                  "done_units", "invoices_created", "outcomes_summary", "error", "started_by",
                  "started_at", "finished_at", *TIMESTAMPS)

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_outcomes_summary(self, run: InvoiceRun) -> dict[str, int]:
        # Attached per page (or per row) by the view in one aggregate query.
        return getattr(run, OUTCOMES_SUMMARY_ATTRIBUTE, {})


class InvoiceRunCreateInputSerializer(serializers.Serializer):
    legal_entity = VisibleRelatedField(
        selector=legal_entity_list, queryset=LegalEntity.objects.all(), required=False,
        allow_null=True, help_text="The legal entity to bill; omit or null for all of them.")
    cut_off = serializers.DateField(
        help_text="Bill items dated on or before this day (inclusive); not in the future.")


class RunOutcomeOutputSerializer(serializers.ModelSerializer):
    """What a run did for one contract: an invoice, or why not (the exception queue)."""

    contract_code = serializers.CharField(source="contract.code", read_only=True)
    client = serializers.IntegerField(source="contract.client_id", read_only=True)
    currency = serializers.CharField(source="contract.currency", read_only=True)
    is_exception = serializers.BooleanField(read_only=True)

    class Meta:
        model = RunOutcome
        fields = ("id", "run", "contract", "contract_code", "client", "invoice", "reason",
                  "is_exception", "detail", "amount", "currency", "items", "created_at")
        read_only_fields = fields


# --- Invoices and credit notes --------------------------------------------------------------


class BilledItemOutputSerializer(serializers.ModelSerializer):
    """One source item billed on a line: a time entry (raw and billed hours at its frozen
    rate), an expense, a milestone, an installment, a retainer month or a held-over-cap amount.
    """

    source = serializers.ChoiceField(choices=BILLED_SOURCES, source="source_kind",
                                     read_only=True, help_text="Which kind of row `source_id` is.")
    source_id = serializers.SerializerMethodField(help_text="The id of the source row.")

    class Meta:
        model = BilledItem
        fields = ("id", "source", "source_id", "raw_hours", "billed_hours", "rate", "amount",
                  "is_live")
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField())
    def get_source_id(self, item: BilledItem) -> int:
        return getattr(item, f"{item.source_kind}_id")


class InvoiceLineOutputSerializer(serializers.ModelSerializer):
    """A line: `amount = base_amount + adjustment` (a write-down is negative, with a reason)."""

    # A plain string, not an enum: the schema's shared `kind` enum name belongs to rate cards.
    kind = serializers.CharField(
        read_only=True, help_text=f"One of: {', '.join(InvoiceLine.Kind.values)}.")
    items = BilledItemOutputSerializer(many=True, read_only=True)
    # Declared: a read-only model field loses allow_blank, and the schema would then forbid the
    # "" every line without an adjustment has.
    adjustment_reason = serializers.ChoiceField(
        choices=InvoiceLine.AdjustmentReason.choices, allow_blank=True, read_only=True,
        help_text="Why the line was adjusted; empty when the adjustment is 0.")

    class Meta:
        model = InvoiceLine
        fields = ("id", "sequence", "kind", "contract", "project", "role", "category",
                  "description", "quantity", "unit_price", "base_amount", "adjustment",
                  "adjustment_reason", "adjustment_note", "amount", "credited_line", "items",
                  "updated_at")
        read_only_fields = fields


class InvoiceOutputSerializer(OutputSerializer):
    """An invoice or credit note (`kind`), its totals in `currency` and its lines.

    Amounts are positive on both kinds; a credit note's `credited_invoice` is the invoice it
    reduces. `balance` is what the client still owes on an issued invoice (zero otherwise).
    """

    kind = serializers.CharField(
        read_only=True, help_text=f"One of: {', '.join(Invoice.Kind.values)}.")
    credited_total = _amount(help_text="Issued credit notes against this invoice.")
    balance = _amount(help_text="Still owed: total - paid - credited (issued invoices only).")
    has_pdf = serializers.SerializerMethodField(
        help_text="Whether the issued document's PDF is stored (`GET …/pdf/` renders it if "
                  "not).")
    lines = InvoiceLineOutputSerializer(many=True, read_only=True)
    external_refs = ExternalRefsField()

    class Meta:
        model = Invoice
        fields = ("id", "kind", "number", "status", "legal_entity", "client", "contract", "run",
                  "credited_invoice", "currency", "cut_off", "issue_date", "due_date",
                  "payment_terms_days", "tax_rate", "subtotal", "tax_amount", "total",
                  "amount_paid", "credited_total", "balance", "notes", "reason",
                  "release_items", "approved_at", "approved_by", "issued_at", "issued_by",
                  "voided_at", "emailed_at", "has_pdf", "lines", "external_refs", *TIMESTAMPS)

    @extend_schema_field(serializers.BooleanField())
    def get_has_pdf(self, invoice: Invoice) -> bool:
        return bool(invoice.pdf)


class InvoiceUpdateInputSerializer(ExternalRefsInput):
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000,
                                  help_text="Printed on the document; drafts only.")


class InvoiceLineAdjustInputSerializer(serializers.Serializer):
    adjustment = signed_money(
        help_text="Negative writes the line down, positive writes it up, 0 removes the "
                  "adjustment. The line never goes below zero.")
    adjustment_reason = serializers.ChoiceField(
        choices=InvoiceLine.AdjustmentReason.choices, required=False, allow_blank=True,
        default="", help_text="Required unless the adjustment is 0 (kept for realization).")
    adjustment_note = serializers.CharField(required=False, allow_blank=True, default="",
                                            max_length=2000)


class InvoiceLineDescribeInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=300,
                                        help_text="What the client reads on the line.")


class InvoiceIssueInputSerializer(serializers.Serializer):
    issue_date = serializers.DateField(
        required=False, allow_null=True,
        help_text="Defaults to today in the legal entity's time zone; the due date follows "
                  "from the payment terms.")


class InvoiceVoidInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why the invoice is voided.")


class CreditNoteLineInputSerializer(serializers.Serializer):
    line = record_id_field(help_text="The id of a line of the credited invoice.")
    amount = money(min_value=CENT, help_text="How much of the line to credit.")


class CreditNoteCreateInputSerializer(serializers.Serializer):
    invoice = VisibleRelatedField(selector=invoice_list, queryset=Invoice.objects.all(),
                                  help_text="The issued invoice to credit.")
    reason = serializers.CharField(max_length=2000)
    release_items = serializers.BooleanField(
        default=False, help_text="Make the credited items billable again once the note is "
                                 "issued (whole lines only).")
    lines = CreditNoteLineInputSerializer(
        many=True, required=False, allow_empty=False,
        help_text="Omit to credit what is left of every line.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Resolve `lines` to (invoice line, amount) pairs; every line must be the invoice's."""
        asked = attrs.get("lines")
        if asked is None:
            return attrs
        invoice: Invoice = attrs["invoice"]
        found = {line.pk: line for line in InvoiceLine.objects.filter(
            invoice=invoice, pk__in=[row["line"] for row in asked])}
        unknown = [row["line"] for row in asked if row["line"] not in found]
        if unknown:
            raise serializers.ValidationError({"lines": [
                f"Line {', '.join(map(str, unknown))} is not on invoice {invoice}."]})
        attrs["lines"] = [(found[row["line"]], row["amount"]) for row in asked]
        return attrs


# --- Payments -------------------------------------------------------------------------------


class PaymentOutputSerializer(OutputSerializer):
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    client = serializers.IntegerField(source="invoice.client_id", read_only=True)

    class Meta:
        model = Payment
        fields = ("id", "invoice", "invoice_number", "client", "amount", "currency",
                  "received_date", "reference", "recorded_by", *TIMESTAMPS)


class PaymentCreateInputSerializer(serializers.Serializer):
    invoice = VisibleRelatedField(selector=invoice_list, queryset=Invoice.objects.all(),
                                  help_text="An issued, not fully paid invoice.")
    amount = money(min_value=CENT, help_text="At most the invoice's balance.")
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES, required=False,
                                       help_text="Defaults to the invoice's; must match it.")
    received_date = serializers.DateField()
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                      default="", help_text="e.g. the bank transfer reference.")
