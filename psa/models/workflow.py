"""The approval workflow that time entries and expenses share (DOMAIN.md: Time and expenses)."""

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from psa.models.base import BaseModel


class ApprovalStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    INVOICED = "invoiced", _("Invoiced")
    WRITTEN_OFF = "written_off", _("Written off")


class ApprovableWork(BaseModel):
    """Abstract: work a person submits and a manager approves or rejects with a reason.

    draft → submitted → approved | rejected → (edited) → submitted; approved work becomes
    invoiced or written off when billed, or goes back to draft through finance's reopen.
    """

    Status = ApprovalStatus
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.DRAFT: frozenset({Status.SUBMITTED}),
        Status.SUBMITTED: frozenset({Status.APPROVED, Status.REJECTED}),
        Status.REJECTED: frozenset({Status.SUBMITTED}),
        # approved → draft is finance's reopen, behind its own permission
        Status.APPROVED: frozenset({Status.INVOICED, Status.WRITTEN_OFF, Status.DRAFT}),
        Status.INVOICED: frozenset(),
        Status.WRITTEN_OFF: frozenset(),
    }
    EDITABLE_STATES: ClassVar[tuple[str, ...]] = (Status.DRAFT, Status.REJECTED)

    status = models.CharField(max_length=12, choices=ApprovalStatus, default=Status.DRAFT,
                              db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    rejection_reason = models.TextField(blank=True)

    class Meta:
        abstract = True

    def can_transition_to(self, target: str) -> bool:
        return target in self.TRANSITIONS[self.status]

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE_STATES
