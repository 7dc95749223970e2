"""Demand and supply: resource requests with their required skills, and assignments."""

from decimal import Decimal
from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field, hours_field, rate_field
from psa.models.base import BaseModel


class ResourceRequest(BaseModel):
    """Demand for one person of a role on a project or a pipeline deal, for a date range."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PARTIALLY_FILLED = "partially_filled", _("Partially filled")
        FILLED = "filled", _("Filled")
        CANCELLED = "cancelled", _("Cancelled")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.OPEN: frozenset({Status.PARTIALLY_FILLED, Status.FILLED, Status.CANCELLED}),
        Status.PARTIALLY_FILLED: frozenset({Status.OPEN, Status.FILLED, Status.CANCELLED}),
        Status.FILLED: frozenset({Status.OPEN, Status.PARTIALLY_FILLED, Status.CANCELLED}),
        Status.CANCELLED: frozenset({Status.OPEN}),
    }

    project = models.ForeignKey("psa.Project", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="resource_requests")
    deal_name = models.CharField(max_length=200, blank=True,
                                 help_text=_("A pipeline deal without a project yet."))
    deal_ref = models.CharField(max_length=100, blank=True, db_index=True,
                                help_text=_("The deal's id in the CRM."))
    is_tentative = models.BooleanField(default=False,
                                       help_text=_("Pipeline demand, weighted by probability."))
    probability = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("100.00"),
                                      help_text=_("Percent chance the demand materialises."))
    role = models.ForeignKey("psa.Role", on_delete=models.PROTECT, related_name="+")
    hours_per_week = hours_field()
    start_date = models.DateField(help_text=_("Inclusive."))
    end_date = models.DateField(help_text=_("Inclusive."))
    country = models.CharField(max_length=2, blank=True, help_text=_("Where the work happens."))
    remote_ok = models.BooleanField(default=True)
    priority = models.CharField(max_length=8, choices=Priority, default=Priority.NORMAL)
    bill_rate = rate_field(null=True, blank=True, help_text=_("Hourly rate for the margin."))
    currency = currency_field(blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.OPEN, db_index=True)
    notes = models.TextField(blank=True)
    requested_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+")
    skills = models.ManyToManyField("resourcing.Skill", through="resourcing.RequestSkill",
                                    related_name="requests")

    class Meta:
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")),
                                   name="resourcing_resourcerequest_valid_dates"),
            models.CheckConstraint(condition=Q(hours_per_week__gt=0)
                                   & Q(hours_per_week__lte=168),
                                   name="resourcing_resourcerequest_hours_range"),
            models.CheckConstraint(condition=Q(probability__gte=0) & Q(probability__lte=100),
                                   name="resourcing_resourcerequest_probability_range"),
            models.CheckConstraint(condition=Q(project__isnull=False) | ~Q(deal_name=""),
                                   name="resourcing_resourcerequest_project_or_deal"),
            models.CheckConstraint(condition=Q(bill_rate__isnull=True) | Q(bill_rate__gte=0),
                                   name="resourcing_resourcerequest_rate_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.role_id} {self.hours_per_week} h/w {self.start_date} to {self.end_date}"

    def can_transition_to(self, target: str) -> bool:
        return target in self.TRANSITIONS[self.status]


class RequestSkill(models.Model):
    """A skill a request requires, with the minimum level (and whether a certificate must prove
    it)."""

    request = models.ForeignKey(ResourceRequest, on_delete=models.CASCADE,
                                related_name="required_skills")
    skill = models.ForeignKey("resourcing.Skill", on_delete=models.PROTECT, related_name="+")
    min_level = models.PositiveSmallIntegerField(default=1)
    requires_certification = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "skill"],
                                    name="resourcing_requestskill_request_skill_unique"),
            models.CheckConstraint(condition=Q(min_level__gte=1) & Q(min_level__lte=5),
                                   name="resourcing_requestskill_level_range"),
        ]

    def __str__(self) -> str:
        return f"{self.skill_id} >= {self.min_level}"


class Assignment(BaseModel):
    """A person booked on a project for a date range at hours per week, soft or hard."""

    class Booking(models.TextChoices):
        SOFT = "soft", _("Soft (pencilled in)")
        HARD = "hard", _("Hard (committed)")

    person = models.ForeignKey("psa.Person", on_delete=models.PROTECT,
                               related_name="assignments")
    project = models.ForeignKey("psa.Project", on_delete=models.PROTECT,
                                related_name="assignments")
    role = models.ForeignKey("psa.Role", on_delete=models.PROTECT, related_name="+")
    request = models.ForeignKey(ResourceRequest, on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="assignments")
    start_date = models.DateField(help_text=_("Inclusive."))
    end_date = models.DateField(help_text=_("Inclusive."))
    hours_per_week = hours_field()
    booking = models.CharField(max_length=4, choices=Booking, default=Booking.SOFT,
                               db_index=True)
    overbooking_confirmed = models.BooleanField(
        default=False, help_text=_("The booker saw the overbooked weeks and confirmed."))
    created_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["person", "start_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")),
                                   name="resourcing_assignment_valid_dates"),
            models.CheckConstraint(condition=Q(hours_per_week__gt=0)
                                   & Q(hours_per_week__lte=168),
                                   name="resourcing_assignment_hours_range"),
        ]
        indexes = [
            models.Index(fields=["person", "start_date", "end_date"],
                         name="resourcing_asg_person_dates"),
            models.Index(fields=["project", "start_date"], name="resourcing_asg_project_start"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} on {self.project_id} {self.hours_per_week} h/w ({self.booking})"
