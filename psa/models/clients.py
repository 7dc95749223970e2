"""Clients, their contracts (engagements, SOWs) and change orders."""

from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field, hours_field, money_field, rate_field
from psa.models.base import BaseModel


class Client(BaseModel):
    """A customer of the firm; deduplicated on its CRM id through external refs."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    legal_entity = models.ForeignKey(
        "psa.LegalEntity",
        on_delete=models.PROTECT,
        related_name="clients",
        help_text=_("The entity that normally invoices this client."),
    )
    currency = currency_field()
    billing_address = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(
        default=30, help_text=_("Net days to pay.")
    )
    tax_rate = rate_field(default=0, help_text=_("Tax in percent, e.g. 8.2500."))
    tax_jurisdiction = models.CharField(max_length=64, blank=True)
    billing_contact_name = models.CharField(max_length=200, blank=True)
    billing_contact_email = models.EmailField(blank=True)
    rate_card = models.ForeignKey(
        "psa.RateCard",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Negotiated card for all its work."),
    )
    consolidated_invoicing = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True, db_index=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=100),
                name="psa_client_tax_rate_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("client-detail", args=[self.pk])


class Contract(BaseModel):
    """An engagement (SOW) with a client: how its work is billed and its revenue recognised."""

    class BillingModel(models.TextChoices):
        TIME_AND_MATERIALS = "tm", _("Time and materials")
        TIME_AND_MATERIALS_CAP = "tm_cap", _("T&M with a cap")
        FIXED_MILESTONES = "fixed_milestones", _("Fixed fee by milestones")
        FIXED_INSTALLMENTS = "fixed_installments", _("Fixed fee by installments")
        RETAINER = "retainer", _("Retainer")

    class RevenueMethod(models.TextChoices):
        AS_DELIVERED = "as_delivered", _("T&M as delivered")
        PERCENT_COMPLETE_COST = "pct_cost", _("Percent complete (cost)")
        PERCENT_COMPLETE_HOURS = "pct_hours", _("Percent complete (hours)")
        MILESTONE = "milestone", _("Milestone (point in time)")
        RATABLE = "ratable", _("Ratable over the service period")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.DRAFT: frozenset({Status.ACTIVE, Status.CANCELLED}),
        Status.ACTIVE: frozenset({Status.COMPLETED, Status.CANCELLED}),
        Status.COMPLETED: frozenset({Status.ACTIVE}),
        Status.CANCELLED: frozenset(),
    }

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="contracts")
    legal_entity = models.ForeignKey(
        "psa.LegalEntity", on_delete=models.PROTECT, related_name="contracts"
    )
    currency = currency_field()
    billing_model = models.CharField(max_length=20, choices=BillingModel, db_index=True)
    revenue_method = models.CharField(max_length=16, choices=RevenueMethod)
    status = models.CharField(max_length=12, choices=Status, default=Status.DRAFT, db_index=True)
    value_amount = money_field(help_text=_("Contract value; for T&M the estimate."))
    cap_amount = money_field(
        null=True, blank=True, default=None, help_text=_("Not-to-exceed amount for T&M with a cap.")
    )
    start_date = models.DateField(help_text=_("First day of service (inclusive)."))
    end_date = models.DateField(help_text=_("Last day of service (inclusive)."))
    signed_date = models.DateField(null=True, blank=True)
    rate_card = models.ForeignKey(
        "psa.RateCard", on_delete=models.PROTECT, null=True, blank=True, related_name="contracts"
    )
    expenses_billable = models.BooleanField(default=True)
    expense_markup_percent = rate_field(default=0, help_text=_("Markup on rebilled expenses."))
    retainer_amount = money_field(
        null=True, blank=True, default=None, help_text=_("Monthly retainer fee.")
    )
    retainer_included_hours = hours_field(null=True, blank=True, default=None)
    po_number = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="psa_contract_valid_dates"
            ),
            models.CheckConstraint(
                condition=Q(value_amount__gte=0), name="psa_contract_value_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(cap_amount__isnull=True) | Q(cap_amount__gte=0),
                name="psa_contract_cap_non_negative",
            ),
            models.CheckConstraint(
                condition=~Q(billing_model="tm_cap") | Q(cap_amount__isnull=False),
                name="psa_contract_cap_required_for_tm_cap",
            ),
            models.CheckConstraint(
                condition=Q(expense_markup_percent__gte=0), name="psa_contract_markup_non_negative"
            ),
            models.CheckConstraint(
                condition=~Q(billing_model="retainer") | Q(retainer_amount__isnull=False),
                name="psa_contract_retainer_amount_required",
            ),
            models.CheckConstraint(
                condition=Q(retainer_amount__isnull=True) | Q(retainer_amount__gte=0),
                name="psa_contract_retainer_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("contract-detail", args=[self.pk])

    def can_transition_to(self, target: str) -> bool:
        return target in self.TRANSITIONS[self.status]

    @property
    def is_time_and_materials(self) -> bool:
        return self.billing_model in {
            self.BillingModel.TIME_AND_MATERIALS,
            self.BillingModel.TIME_AND_MATERIALS_CAP,
        }

    def clean(self) -> None:
        errors = {}
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = _("The end date is before the start date.")
        if (
            self.billing_model == self.BillingModel.TIME_AND_MATERIALS_CAP
            and self.cap_amount is None
        ):
            errors["cap_amount"] = _("A T&M contract with a cap needs the cap amount.")
        if self.billing_model == self.BillingModel.RETAINER and self.retainer_amount is None:
            errors["retainer_amount"] = _("A retainer needs its monthly amount.")
        if self.rate_card_id and self.currency and self.rate_card.currency != self.currency:
            errors["rate_card"] = _("The rate card's currency differs from the contract's.")
        if self.client_id and self.currency and self.client.currency != self.currency:
            errors["currency"] = _("The contract is not in the client's currency.")
        if errors:
            raise ValidationError(errors)


class ChangeOrder(BaseModel):
    """A change to a contract's value and budget; approval updates the contract (issue #5)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PENDING: frozenset({Status.APPROVED, Status.REJECTED}),
        Status.APPROVED: frozenset(),
        Status.REJECTED: frozenset(),
    }

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="change_orders")
    reference = models.CharField(max_length=30)
    description = models.TextField(blank=True)
    value_change_amount = money_field(help_text=_("May be negative."))
    cap_change_amount = money_field(help_text=_("Change to the cap; may be negative."))
    budget_hours_change = hours_field()
    effective_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        "auth.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        "auth.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["contract", "effective_date", "reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "reference"], name="psa_changeorder_contract_reference_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract.code} {self.reference}"

    def can_transition_to(self, target: str) -> bool:
        return target in self.TRANSITIONS[self.status]
