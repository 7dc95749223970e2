"""Serializers of time entries and timesheets, and the fast parser of bulk items."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from rest_framework import serializers

from psa.api.serializers.common import OutputSerializer, is_record_id, record_id_field
from psa.api.serializers.org import TIMESTAMPS
from psa.models import TimeEntry
from psa.services.time_bulk import BulkItem

COST_FIELDS = ("cost_rate", "cost_currency")
CENT = Decimal("0.01")


def entry_hours(**kwargs: Any) -> serializers.DecimalField:
    """Hours as typed; the rules (0 < h <= 24, quarter hours) answer with their own sentence."""
    return serializers.DecimalField(max_digits=6, decimal_places=2, **kwargs)


class TimeEntryOutputSerializer(OutputSerializer):
    """One time entry; the frozen cost rate only for users who may see cost rates."""

    class Meta:
        model = TimeEntry
        fields = ("id", "person", "project", "task", "work_date", "hours", "is_billable",
                  "notes", "status", "bill_rate", "bill_currency", "rate_source", "cost_rate",
                  "cost_currency", "submitted_at", "approved_at", "approved_by", "rejected_at",
                  "rejected_by", "rejection_reason", *TIMESTAMPS)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if "request" in self.context and not self.user_has_perm("psa.view_costrate"):
            for name in COST_FIELDS:
                fields.pop(name)
        return fields


class TimeEntryCreateInputSerializer(serializers.Serializer):
    person = record_id_field(required=False, help_text="Defaults to the caller's own person.")
    task = record_id_field(help_text="An open leaf task of an active project.")
    project = record_id_field(required=False,
                              help_text="Optional; when given, the task must be on it.")
    work_date = serializers.DateField()
    hours = entry_hours(help_text="More than 0, at most 24, in steps of 0.25.")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    is_billable = serializers.BooleanField(required=False, allow_null=True, default=None,
                                           help_text="Forced false on non-billable tasks.")


class TimeEntryUpdateInputSerializer(serializers.Serializer):
    task = record_id_field(required=False)
    work_date = serializers.DateField(required=False)
    hours = entry_hours(required=False)
    notes = serializers.CharField(required=False, allow_blank=True)
    is_billable = serializers.BooleanField(required=False)


class TimeEntryBulkInputSerializer(serializers.Serializer):
    """Documents the body of `bulk/`; the view parses it with `bulk_items_parse` (fast)."""

    entries = TimeEntryCreateInputSerializer(many=True, help_text="At most 1,000.")


class TimeEntryBulkOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    ids = serializers.ListField(child=serializers.IntegerField(),
                                help_text="The new entries' ids, in the order given.")


def _id(value: Any) -> int:
    if not isinstance(value, (int, str)) or not is_record_id(value):
        raise ValueError
    return int(value)


def _date(value: Any) -> date:
    return date.fromisoformat(value)


def _hours(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, str, float)):
        raise ValueError
    hours = Decimal(str(value))
    if not hours.is_finite() or abs(hours) >= 10000 or hours != hours.quantize(CENT):
        raise ValueError  # at most 2 decimals, like the column
    return hours


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    return value


def _flag(value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ValueError
    return value


BULK_FIELDS: dict[str, tuple[Callable[[Any], Any], bool, str]] = {
    # name: (parser, required, what a valid value looks like)
    "person": (_id, False, "a person id"),
    "task": (_id, True, "a task id"),
    "project": (_id, False, "a project id"),
    "work_date": (_date, True, "a date as YYYY-MM-DD"),
    "hours": (_hours, True, "a number with at most 2 decimals"),
    "notes": (_text, False, "a string"),
    "is_billable": (_flag, False, "true, false or null"),
}


def bulk_items_parse(entries: Any, *, default_person_id: int | None
                     ) -> tuple[list[BulkItem], list[dict[str, str]]]:
    """Typed items from the raw `entries` list, or the errors in the API's shape (by index).

    Hand-written rather than a DRF serializer per item: a thousand serializer runs cost more
    than the whole insert.
    """
    if not isinstance(entries, list):
        return [], [{"code": "invalid", "detail": "Give `entries`: a list of time entries.",
                     "attr": "entries"}]
    items, errors = [], []
    for index, raw in enumerate(entries):
        if not isinstance(raw, dict):
            errors.append({"code": "invalid", "detail": "Each entry is an object.",
                           "attr": str(index)})
            continue
        values: dict[str, Any] = {}
        for name, (parse, required, expected) in BULK_FIELDS.items():
            if name not in raw:
                if required:
                    errors.append({"code": "required", "detail": "This field is required.",
                                   "attr": f"{index}.{name}"})
                continue
            try:
                values[name] = parse(raw[name])
            except (ValueError, TypeError, InvalidOperation):
                errors.append({"code": "invalid", "detail": f"Expected {expected}.",
                               "attr": f"{index}.{name}"})
        values.setdefault("person", default_person_id)
        if values["person"] is None:
            errors.append({"code": "required", "detail": "Say whose time this is.",
                           "attr": f"{index}.person"})
        if errors:
            continue
        items.append(BulkItem(
            person_id=values["person"], task_id=values["task"], work_date=values["work_date"],
            hours=values["hours"], notes=values.get("notes", ""),
            is_billable=values.get("is_billable"), project_id=values.get("project")))
    return items, errors


class TimesheetDayOutputSerializer(serializers.Serializer):
    day = serializers.DateField()
    hours = serializers.DecimalField(max_digits=6, decimal_places=2)
    capacity = serializers.DecimalField(max_digits=6, decimal_places=2)
    holiday = serializers.CharField(help_text="The public holiday's name, or empty.")
    time_off = serializers.DecimalField(max_digits=6, decimal_places=2)


class TimesheetOutputSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    week_start = serializers.DateField()
    week_end = serializers.DateField()
    status = serializers.CharField(
        help_text="empty, draft, rejected, submitted, approved, invoiced, written_off or "
                  "mixed.")
    status_counts = serializers.DictField(child=serializers.IntegerField())
    total_hours = serializers.DecimalField(max_digits=7, decimal_places=2)
    capacity_hours = serializers.DecimalField(max_digits=7, decimal_places=2)
    days = TimesheetDayOutputSerializer(many=True)
    entries = TimeEntryOutputSerializer(many=True)


class TimesheetSubmitInputSerializer(serializers.Serializer):
    person = record_id_field(required=False, help_text="Defaults to the caller's own person.")
    week_start = serializers.DateField(help_text="A Monday.")


class TimesheetSubmitOutputSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    week_start = serializers.DateField()
    submitted = serializers.ListField(child=serializers.IntegerField(),
                                      help_text="Ids of the entries submitted.")
