"""Time entries, running timers and approved time off."""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field, rate_field
from psa.models.base import BaseModel
from psa.models.workflow import ApprovableWork

HOURS_STEP = Decimal("0.25")
MAX_HOURS_PER_DAY = Decimal("24")


class TimeEntryQuerySet(models.QuerySet):
    def editable(self) -> "TimeEntryQuerySet":
        return self.filter(status__in=TimeEntry.EDITABLE_STATES)

    def approved(self) -> "TimeEntryQuerySet":
        return self.filter(status=TimeEntry.Status.APPROVED)


class TimeEntry(ApprovableWork):
    """Hours one person worked on one task on one work date (one grid cell)."""

    person = models.ForeignKey("psa.Person", on_delete=models.PROTECT, related_name="time_entries")
    project = models.ForeignKey("psa.Project", on_delete=models.PROTECT,
                                related_name="time_entries")
    task = models.ForeignKey("psa.Task", on_delete=models.PROTECT, related_name="time_entries")
    work_date = models.DateField(db_index=True)
    hours = models.DecimalField(max_digits=5, decimal_places=2)
    is_billable = models.BooleanField(default=True)
    notes = models.TextField(blank=True)
    # Frozen at approval from the rate resolution service (DOMAIN.md).
    bill_rate = rate_field(null=True, blank=True)
    bill_currency = currency_field(blank=True)
    rate_source = models.CharField(max_length=20, blank=True)
    cost_rate = rate_field(null=True, blank=True)
    cost_currency = currency_field(blank=True)

    objects = TimeEntryQuerySet.as_manager()

    class Meta:
        ordering = ["person", "work_date", "id"]
        verbose_name_plural = "time entries"
        constraints = [
            models.UniqueConstraint(fields=["person", "task", "work_date"],
                                    name="psa_timeentry_one_cell_per_task_day"),
            models.CheckConstraint(condition=Q(hours__gt=0) & Q(hours__lte=24),
                                   name="psa_timeentry_hours_range"),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "invoiced", "written_off"])
                | (Q(bill_rate__isnull=False) & Q(cost_rate__isnull=False))
                | Q(is_billable=False, cost_rate__isnull=False),
                name="psa_timeentry_approved_has_rates"),
        ]
        indexes = [
            models.Index(fields=["person", "work_date"], name="psa_te_person_date_idx"),
            models.Index(fields=["project", "status"], name="psa_te_project_status_idx"),
        ]
        permissions = [("reopen_timeentry", "Can reopen an approved time entry")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.work_date} {self.hours} h"



class RunningTimer(models.Model):
    """A stopwatch a person started on a task; stopping it adds the time to today's cell."""

    person = models.OneToOneField("psa.Person", on_delete=models.CASCADE,
                                  related_name="running_timer")
    task = models.ForeignKey("psa.Task", on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.person_id} on {self.task_id} since {self.started_at:%H:%M}"


class TimeOff(BaseModel):
    """Approved absence of a person over a date range (fed by the HRIS later)."""

    class Kind(models.TextChoices):
        VACATION = "vacation", _("Vacation")
        SICK = "sick", _("Sick leave")
        PARENTAL = "parental", _("Parental leave")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        CANCELLED = "cancelled", _("Cancelled")

    person = models.ForeignKey("psa.Person", on_delete=models.CASCADE, related_name="time_off")
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.VACATION)
    status = models.CharField(max_length=10, choices=Status, default=Status.APPROVED,
                              db_index=True)
    start_date = models.DateField(help_text=_("First day off (inclusive)."))
    end_date = models.DateField(help_text=_("Last day off (inclusive)."))
    hours_per_day = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        help_text=_("Hours off per working day; empty means the whole standard day."))

    class Meta:
        ordering = ["person", "start_date"]
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")),
                                   name="psa_timeoff_valid_dates"),
            models.CheckConstraint(
                condition=Q(hours_per_day__isnull=True)
                | (Q(hours_per_day__gt=0) & Q(hours_per_day__lte=24)),
                name="psa_timeoff_hours_range"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind} {self.start_date} to {self.end_date}"
