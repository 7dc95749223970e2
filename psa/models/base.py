"""The columns every master and financial row carries, and those of a background job."""

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _


class BaseModel(models.Model):
    """Abstract: creation and last-change timestamps; `updated_at` is the ETag's source."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True

    @property
    def version(self) -> str:
        """The row's version for ETag and If-Match: its last change, to the microsecond."""
        return self.updated_at.strftime("%Y%m%dT%H%M%S.%f") if self.updated_at else ""


class BackgroundRun(BaseModel):
    """Abstract: a batch job's row (an invoice run, a recognition run): its status, who
    started it, and its progress as units done of units in scope, for the page and the API."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    FINISHED: ClassVar[tuple[str, ...]] = (Status.COMPLETED, Status.FAILED)

    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED,
                              db_index=True)
    total_units = models.PositiveIntegerField(default=0)
    done_units = models.PositiveIntegerField(default=0)
    started_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        if not self.total_units:
            return 0
        return min(100, round(100 * self.done_units / self.total_units))
