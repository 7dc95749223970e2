"""Integration alerts: something stuck longer than its threshold (the banner and the e-mail)."""

from django.db import models


class SyncAlert(models.Model):
    """One open (or resolved) problem, keyed so that a recurring check updates one row."""

    key = models.CharField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    count = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return self.title
