"""Admin pages of expense policies, expenses and time off (issue #3).

Expenses are written by services only, so the admin shows them read-only (money and status
included). Imported by psa/admin.py.
"""

from django.contrib import admin
from django.http import HttpRequest

from psa import models

EXPENSE_READONLY = (
    "person", "project", "amount", "currency", "exchange_rate", "project_amount",
    "project_currency", "quantity", "unit_rate", "is_billable", "is_over_policy",
    "receipt", "receipt_content_type", "status", "submitted_at", "approved_at", "approved_by",
    "rejected_at", "rejected_by", "rejection_reason", "created_at", "updated_at",
)


@admin.register(models.ExpensePolicy)
class ExpensePolicyAdmin(admin.ModelAdmin):
    list_display = ("legal_entity", "category", "currency", "receipt_required_above",
                    "limit_amount", "unit_rate")
    list_filter = ("legal_entity", "category")
    autocomplete_fields = ("legal_entity",)


@admin.register(models.Expense)
class ExpenseAdmin(admin.ModelAdmin):
    list_display = ("id", "expense_date", "person", "project", "category", "project_amount",
                    "project_currency", "is_billable", "is_over_policy", "status")
    list_filter = ("status", "category", "is_billable", "is_over_policy", "project_currency")
    search_fields = ("merchant", "person__first_name", "person__last_name", "project__code")
    date_hierarchy = "expense_date"
    list_select_related = ("person", "project")
    readonly_fields = EXPENSE_READONLY

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # expenses are recorded through the pages or the API (the services)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # deletion has rules (draft only, open period): use the pages or the API

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # every change goes through a service (rules, period locks, events)


@admin.register(models.TimeOff)
class TimeOffAdmin(admin.ModelAdmin):
    list_display = ("person", "kind", "status", "start_date", "end_date", "hours_per_day")
    list_filter = ("kind", "status")
    search_fields = ("person__first_name", "person__last_name", "person__employee_number")
    autocomplete_fields = ("person",)
    date_hierarchy = "start_date"
