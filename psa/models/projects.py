"""Projects, their team, the task tree (WBS) and milestones."""

from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field, hours_field, money_field
from psa.models.base import BaseModel


class ProjectQuerySet(models.QuerySet):
    def active(self) -> "ProjectQuerySet":
        return self.filter(status=Project.Status.ACTIVE)


class Project(BaseModel):
    """A body of work delivered under a contract (internal projects have none)."""

    class Status(models.TextChoices):
        TENTATIVE = "tentative", _("Tentative")
        ACTIVE = "active", _("Active")
        ON_HOLD = "on_hold", _("On hold")
        CLOSED = "closed", _("Closed")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.TENTATIVE: frozenset({Status.ACTIVE, Status.CLOSED}),
        Status.ACTIVE: frozenset({Status.ON_HOLD, Status.CLOSED}),
        Status.ON_HOLD: frozenset({Status.ACTIVE, Status.CLOSED}),
        Status.CLOSED: frozenset({Status.ACTIVE}),
    }

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    contract = models.ForeignKey(
        "psa.Contract", on_delete=models.PROTECT, null=True, blank=True, related_name="projects"
    )
    client = models.ForeignKey(
        "psa.Client", on_delete=models.PROTECT, null=True, blank=True, related_name="projects"
    )
    legal_entity = models.ForeignKey(
        "psa.LegalEntity", on_delete=models.PROTECT, related_name="projects"
    )
    is_internal = models.BooleanField(default=False)
    manager = models.ForeignKey(
        "psa.Person", on_delete=models.PROTECT, related_name="managed_projects"
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.ACTIVE, db_index=True)
    start_date = models.DateField(help_text=_("Inclusive."))
    end_date = models.DateField(help_text=_("Inclusive."))
    currency = currency_field()
    budget_hours = hours_field()
    budget_cost_amount = money_field()
    budget_revenue_amount = money_field()
    service_line = models.CharField(max_length=64, blank=True, db_index=True)
    cost_center = models.CharField(max_length=32, blank=True)
    requires_time_notes = models.BooleanField(default=False)
    members = models.ManyToManyField(
        "psa.Person", through="psa.ProjectMember", related_name="projects"
    )

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="psa_project_valid_dates"
            ),
            models.CheckConstraint(
                condition=Q(is_internal=True) | Q(contract__isnull=False),
                name="psa_project_client_work_has_contract",
            ),
            models.CheckConstraint(
                condition=Q(budget_hours__gte=0)
                & Q(budget_cost_amount__gte=0)
                & Q(budget_revenue_amount__gte=0),
                name="psa_project_budgets_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("project-detail", args=[self.pk])

    def can_transition_to(self, target: str) -> bool:
        return target in self.TRANSITIONS[self.status]

    def clean(self) -> None:
        errors = {}
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = _("The end date is before the start date.")
        if not self.is_internal and not self.contract_id:
            errors["contract"] = _("Client work needs a contract.")
        if errors:
            raise ValidationError(errors)


class ProjectMember(BaseModel):
    """A person on a project's team; what lets a consultant see and book time on it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey(
        "psa.Person", on_delete=models.CASCADE, related_name="project_memberships"
    )
    role = models.ForeignKey(
        "psa.Role",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Role billed on this project."),
    )

    class Meta:
        ordering = ["project", "person"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "person"], name="psa_projectmember_project_person_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} on {self.project.code}"


class Task(BaseModel):
    """A node of a project's work breakdown; time is entered on open leaf tasks."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    wbs_code = models.CharField(max_length=40, help_text=_("Outline number, e.g. 1.2.3."))
    name = models.CharField(max_length=200)
    is_billable = models.BooleanField(default=True)
    is_open = models.BooleanField(default=True)
    budget_hours = hours_field()
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["project", "position", "wbs_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "wbs_code"], name="psa_task_project_wbs_unique"
            ),
            models.CheckConstraint(
                condition=Q(budget_hours__gte=0), name="psa_task_budget_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(end_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="psa_task_valid_dates",
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="psa_task_not_own_parent"),
        ]

    def __str__(self) -> str:
        return f"{self.wbs_code} {self.name}"

    def clean(self) -> None:
        if self.parent_id and self.project_id and self.parent.project_id != self.project_id:
            raise ValidationError({"parent": _("The parent task belongs to another project.")})
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("The end date is before the start date.")})


class Milestone(BaseModel):
    """A deliverable with a due date and an amount; drives milestone billing and revenue."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        COMPLETED = "completed", _("Completed")
        ACCEPTED = "accepted", _("Accepted")
        INVOICED = "invoiced", _("Invoiced")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.PLANNED: frozenset({Status.COMPLETED}),
        Status.COMPLETED: frozenset({Status.ACCEPTED, Status.INVOICED}),
        Status.ACCEPTED: frozenset({Status.INVOICED}),
        Status.INVOICED: frozenset(),
    }

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="milestones")
    name = models.CharField(max_length=200)
    due_date = models.DateField()
    amount = money_field()
    currency = currency_field()
    requires_acceptance = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.PLANNED, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        "auth.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        "auth.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["project", "due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="psa_milestone_amount_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project.code} · {self.name}"

    def can_transition_to(self, target: str) -> bool:
        if self.status == self.Status.COMPLETED and target == self.Status.INVOICED:
            # Only a milestone that needs no acceptance is billable straight from completed.
            return not self.requires_acceptance
        return target in self.TRANSITIONS[self.status]
