"""Revenue schedules: one per contract, with its planned and recognised amount per month and
the explanation of each month's figure (DOMAIN.md, Revenue recognition)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field, hours_field, money_field
from psa.models.base import BaseModel


class RevenueSchedule(BaseModel):
    """A contract's revenue schedule by its revenue method (kept in step by the services)."""

    contract = models.OneToOneField("psa.Contract", on_delete=models.CASCADE,
                                    related_name="revenue_schedule")
    method = models.CharField(max_length=16)
    currency = currency_field()
    value_amount = money_field()
    recognised_to_date = money_field()

    class Meta:
        ordering = ["contract"]

    def __str__(self) -> str:
        return f"Schedule of {self.contract}"


class ScheduleLine(BaseModel):
    """One month of a schedule: what the plan says, what has been recognised (the sum of the
    posted recognition entries of the month) and why (inputs and formula)."""

    schedule = models.ForeignKey(RevenueSchedule, on_delete=models.CASCADE,
                                 related_name="lines")
    month = models.DateField(help_text=_("The first day of the month."))
    planned_amount = money_field()
    recognised_amount = money_field()
    explanation = models.TextField(blank=True)
    inputs = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["schedule", "month"]
        constraints = [models.UniqueConstraint(fields=["schedule", "month"],
                                               name="revenue_scheduleline_one_per_month")]

    def __str__(self) -> str:
        return f"{self.schedule.contract_id} {self.month:%Y-%m}"


class ContractEstimate(BaseModel):
    """An estimate at completion for a percent-complete contract, effective from a month; the
    latest one effective in a period is used, earlier ones stay as history."""

    contract = models.ForeignKey("psa.Contract", on_delete=models.CASCADE,
                                 related_name="estimates")
    effective_month = models.DateField(help_text=_("First day of the month it applies from."))
    total_cost_amount = money_field(null=True, blank=True, default=None)
    total_hours = hours_field(null=True, blank=True, default=None)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["contract", "effective_month", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_cost_amount__isnull=True) | Q(total_cost_amount__gt=0),
                name="revenue_contractestimate_cost_positive"),
            models.CheckConstraint(condition=Q(total_hours__isnull=True) | Q(total_hours__gt=0),
                                   name="revenue_contractestimate_hours_positive"),
            models.CheckConstraint(
                condition=Q(total_cost_amount__isnull=False) | Q(total_hours__isnull=False),
                name="revenue_contractestimate_has_a_figure"),
        ]

    def __str__(self) -> str:
        return f"EAC {self.contract_id} from {self.effective_month:%Y-%m}"
