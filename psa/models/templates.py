"""Project templates: the work breakdown and milestones a new project of a kind starts with
(used when a won CRM deal becomes a project, and available to any project creation)."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from psa.models.base import BaseModel


class ProjectTemplate(BaseModel):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    service_line = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateTask(models.Model):
    """One WBS node; `wbs_code` "1.2" is the child of "1" (parents are found by the code)."""

    template = models.ForeignKey(ProjectTemplate, on_delete=models.CASCADE, related_name="tasks")
    wbs_code = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    is_billable = models.BooleanField(default=True)
    budget_share = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Percent of the project's budget hours planned on this task."))

    class Meta:
        ordering = ["template", "wbs_code"]
        constraints = [models.UniqueConstraint(fields=["template", "wbs_code"],
                                               name="psa_templatetask_unique")]

    def __str__(self) -> str:
        return f"{self.wbs_code} {self.name}"


class TemplateMilestone(models.Model):
    """A milestone as a share of the contract value, due some days after the project starts."""

    template = models.ForeignKey(ProjectTemplate, on_delete=models.CASCADE,
                                 related_name="milestones")
    name = models.CharField(max_length=200)
    percent_of_value = models.DecimalField(max_digits=5, decimal_places=2)
    due_after_days = models.PositiveIntegerField(default=0)
    requires_acceptance = models.BooleanField(default=True)

    class Meta:
        ordering = ["template", "due_after_days", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percent_of_value__gte=0) & Q(percent_of_value__lte=100),
                name="psa_templatemilestone_percent_range"),
        ]

    def __str__(self) -> str:
        return self.name
