"""What the reminder job has already sent, so a re-run never e-mails anyone twice."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReminderLog(models.Model):
    """One reminder sent to one person for one week (kind: timesheet or approval digest)."""

    class Kind(models.TextChoices):
        TIMESHEET = "timesheet", _("Timesheet incomplete or unsubmitted")
        APPROVAL_DIGEST = "approval_digest", _("Approvals waiting")

    person = models.ForeignKey("psa.Person", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind)
    week_start = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "kind", "week_start"],
                                    name="psa_reminderlog_once_per_week"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.person_id} for {self.week_start}"
