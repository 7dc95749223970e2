"""Expenses with receipts, and the per-category expense policy of each legal entity."""


from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field, money_field, rate_field
from psa.models.base import BaseModel
from psa.models.workflow import ApprovableWork


class ExpenseCategory(models.TextChoices):
    LODGING = "lodging", _("Lodging")
    AIRFARE = "airfare", _("Airfare")
    MEALS = "meals", _("Meals")
    GROUND_TRANSPORT = "ground_transport", _("Ground transport")
    MILEAGE = "mileage", _("Mileage")
    PER_DIEM = "per_diem", _("Per diem")
    OTHER = "other", _("Other")


def receipt_upload_to(expense: "Expense", filename: str) -> str:
    # The stored name never reuses the uploader's file name (no path tricks, no personal data).
    import uuid

    suffix = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        expense.receipt_content_type, "bin")
    return f"receipts/{expense.person_id}/{uuid.uuid4().hex}.{suffix}"


class ExpensePolicy(BaseModel):
    """One legal entity's rule for one category: receipt threshold, limit and unit rates."""

    legal_entity = models.ForeignKey("psa.LegalEntity", on_delete=models.CASCADE,
                                     related_name="expense_policies")
    category = models.CharField(max_length=20, choices=ExpenseCategory)
    currency = currency_field()
    receipt_required_above = money_field(
        help_text=_("A receipt is required when the amount is above this (0: always)."))
    limit_amount = money_field(null=True, blank=True, default=None,
                               help_text=_("Above this a justification is needed."))
    unit_rate = rate_field(null=True, blank=True,
                           help_text=_("Mileage rate per distance unit, or per diem per day."))

    class Meta:
        ordering = ["legal_entity", "category"]
        verbose_name_plural = "expense policies"
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "category"],
                                    name="psa_expensepolicy_entity_category_unique"),
            models.CheckConstraint(condition=Q(receipt_required_above__gte=0),
                                   name="psa_expensepolicy_threshold_non_negative"),
            models.CheckConstraint(condition=Q(limit_amount__isnull=True) | Q(limit_amount__gte=0),
                                   name="psa_expensepolicy_limit_non_negative"),
            models.CheckConstraint(condition=Q(unit_rate__isnull=True) | Q(unit_rate__gte=0),
                                   name="psa_expensepolicy_unit_rate_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.legal_entity_id} {self.category}"


class Expense(ApprovableWork):
    """Money one person spent for one project on one date, with its receipt."""

    Category = ExpenseCategory

    person = models.ForeignKey("psa.Person", on_delete=models.PROTECT, related_name="expenses")
    project = models.ForeignKey("psa.Project", on_delete=models.PROTECT, related_name="expenses")
    expense_date = models.DateField(db_index=True)
    category = models.CharField(max_length=20, choices=ExpenseCategory)
    merchant = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    amount = money_field(help_text=_("In the currency paid."))
    currency = currency_field()
    exchange_rate = rate_field(default=1, help_text=_("Project currency per unit paid."))
    project_amount = money_field(help_text=_("Amount in the project's currency."))
    project_currency = currency_field()
    quantity = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True,
                                   help_text=_("Distance for mileage, days for per diem."))
    unit_rate = rate_field(null=True, blank=True)
    is_billable = models.BooleanField(default=True)
    receipt = models.FileField(upload_to=receipt_upload_to, blank=True)
    receipt_content_type = models.CharField(max_length=40, blank=True)
    is_over_policy = models.BooleanField(default=False)
    justification = models.TextField(blank=True)

    class Meta:
        ordering = ["person", "expense_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="psa_expense_amount_positive"),
            models.CheckConstraint(condition=Q(exchange_rate__gt=0),
                                   name="psa_expense_exchange_rate_positive"),
            models.CheckConstraint(condition=Q(project_amount__gte=0),
                                   name="psa_expense_project_amount_non_negative"),
            models.CheckConstraint(condition=Q(quantity__isnull=True) | Q(quantity__gt=0),
                                   name="psa_expense_quantity_positive"),
            models.CheckConstraint(condition=~Q(is_over_policy=True) | ~Q(justification=""),
                                   name="psa_expense_over_policy_justified"),
        ]
        indexes = [
            models.Index(fields=["person", "expense_date"], name="psa_ex_person_date_idx"),
            models.Index(fields=["project", "status"], name="psa_ex_project_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.expense_date} {self.category} {self.amount} {self.currency}"

