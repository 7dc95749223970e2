"""API serializers of approvals: what waits, grouped by person and week, and bulk decisions."""

from rest_framework import serializers

from psa.api.serializers.common import hours as hours_field
from psa.api.serializers.common import money, record_id_field


class ApprovalFlagOutputSerializer(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=["holiday", "leave", "long_day", "after_termination", "over_policy"],
        read_only=True)
    label = serializers.CharField(read_only=True)
    detail = serializers.CharField(read_only=True)


class ApprovalMoneyOutputSerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True)
    amount = money(read_only=True)


class ApprovalTimeItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    work_date = serializers.DateField(read_only=True)
    project = serializers.IntegerField(source="project_id", read_only=True)
    project_code = serializers.CharField(read_only=True)
    task_name = serializers.CharField(read_only=True)
    hours = hours_field(read_only=True)
    is_billable = serializers.BooleanField(read_only=True)
    notes = serializers.CharField(read_only=True)
    flags = ApprovalFlagOutputSerializer(many=True, read_only=True)


class ApprovalExpenseItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    expense_date = serializers.DateField(read_only=True)
    project = serializers.IntegerField(source="project_id", read_only=True)
    project_code = serializers.CharField(read_only=True)
    category = serializers.CharField(read_only=True)
    merchant = serializers.CharField(read_only=True)
    amount = money(read_only=True)
    currency = serializers.CharField(read_only=True)
    project_amount = money(read_only=True)
    project_currency = serializers.CharField(read_only=True)
    is_billable = serializers.BooleanField(read_only=True)
    justification = serializers.CharField(read_only=True)
    flags = ApprovalFlagOutputSerializer(many=True, read_only=True)


class ApprovalGroupOutputSerializer(serializers.Serializer):
    """One person's week waiting for the caller: totals, flags and the items."""

    person = serializers.IntegerField(source="person_id", read_only=True)
    person_name = serializers.CharField(read_only=True)
    week_start = serializers.DateField(read_only=True)
    hours = hours_field(read_only=True)
    billable_hours = hours_field(read_only=True)
    billable_share = serializers.DecimalField(
        max_digits=5, decimal_places=2, read_only=True, allow_null=True,
        help_text="Billable hours ÷ hours, in percent; null without hours.")
    expense_totals = ApprovalMoneyOutputSerializer(many=True, read_only=True)
    flags = ApprovalFlagOutputSerializer(many=True, read_only=True,
                                         source="flag_summary")
    time_entries = ApprovalTimeItemOutputSerializer(many=True, read_only=True,
                                                    source="time_items")
    expenses = ApprovalExpenseItemOutputSerializer(many=True, read_only=True,
                                                   source="expense_items")


class ApprovalListOutputSerializer(serializers.Serializer):
    """The list envelope (API.md); everything waiting comes in one page."""

    next = serializers.CharField(allow_null=True, read_only=True)
    previous = serializers.CharField(allow_null=True, read_only=True)
    results = ApprovalGroupOutputSerializer(many=True, read_only=True)


class ApprovalApproveInputSerializer(serializers.Serializer):
    time_entries = serializers.ListField(child=record_id_field(),
                                         required=False, default=list, max_length=5000)
    expenses = serializers.ListField(child=record_id_field(),
                                     required=False, default=list, max_length=5000)

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("time_entries") and not attrs.get("expenses"):
            raise serializers.ValidationError("Give at least one time entry or expense id.")
        return attrs


class ApprovalRejectInputSerializer(ApprovalApproveInputSerializer):
    reason = serializers.CharField(max_length=2000, trim_whitespace=True,
                                   help_text="Why; the person sees it.")


class ApprovalDecisionOutputSerializer(serializers.Serializer):
    """The ids changed by a bulk decision and their new status."""

    status = serializers.ChoiceField(choices=["approved", "rejected"], read_only=True)
    time_entries = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    expenses = serializers.ListField(child=serializers.IntegerField(), read_only=True)
