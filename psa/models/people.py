"""Job roles, people and their effective-dated cost rates."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field, rate_field
from psa.models.base import BaseModel


class Role(BaseModel):
    """A job role used for rates and staffing (Analyst … Partner); `level` orders them."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100, unique=True)
    level = models.PositiveSmallIntegerField(help_text=_("Seniority, 1 = most junior."))
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return self.name


class PersonQuerySet(models.QuerySet):
    def active(self) -> "PersonQuerySet":
        return self.filter(employment_status=Person.EmploymentStatus.ACTIVE)


class Person(BaseModel):
    """One worker of the firm: identity and employment are mastered in the HRIS."""

    class EmploymentStatus(models.TextChoices):
        ACTIVE = "active", _("Active")
        LEAVE = "leave", _("On leave")
        TERMINATED = "terminated", _("Terminated")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
    )
    employee_number = models.CharField(max_length=20, unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(unique=True)
    legal_entity = models.ForeignKey(
        "psa.LegalEntity", on_delete=models.PROTECT, related_name="people"
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="people")
    manager = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    country = models.CharField(max_length=2, help_text=_("ISO 3166 alpha-2 country code."))
    city = models.CharField(max_length=100, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    employment_status = models.CharField(
        max_length=12, choices=EmploymentStatus, default=EmploymentStatus.ACTIVE, db_index=True
    )
    hire_date = models.DateField()
    termination_date = models.DateField(
        null=True, blank=True, help_text=_("Last day of employment (inclusive).")
    )
    weekly_standard_hours = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("40.00")
    )
    utilization_target = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("80.00"),
        help_text=_("Billable utilization target in percent."),
    )

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name_plural = "people"
        constraints = [
            models.CheckConstraint(
                condition=Q(termination_date__isnull=True)
                | Q(termination_date__gte=F("hire_date")),
                name="psa_person_termination_after_hire",
            ),
            models.CheckConstraint(
                condition=Q(weekly_standard_hours__gte=0) & Q(weekly_standard_hours__lte=168),
                name="psa_person_weekly_hours_range",
            ),
            models.CheckConstraint(
                condition=Q(utilization_target__gte=0) & Q(utilization_target__lte=100),
                name="psa_person_utilization_target_range",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def get_absolute_url(self) -> str:
        return reverse("person-detail", args=[self.pk])

    def is_employed_on(self, day: object) -> bool:
        return self.hire_date <= day and (
            self.termination_date is None or day <= self.termination_date
        )


class CostRate(BaseModel):
    """A person's hourly cost from a date on; the latest line on or before a date applies."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="cost_rates")
    hourly_cost = rate_field()
    currency = currency_field()
    effective_from = models.DateField()

    class Meta:
        ordering = ["person", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "effective_from"], name="psa_costrate_person_from_unique"
            ),
            models.CheckConstraint(
                condition=Q(hourly_cost__gte=0), name="psa_costrate_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.hourly_cost} {self.currency} from {self.effective_from}"
