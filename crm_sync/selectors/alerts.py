"""Open integration alerts, for the banner and the health page."""

from __future__ import annotations

from django.db.models import QuerySet

from crm_sync.models import SyncAlert


def open_alerts() -> QuerySet[SyncAlert]:
    """Alerts not resolved yet, the oldest first."""
    return SyncAlert.objects.filter(resolved_at__isnull=True).order_by("opened_at", "pk")


def open_alert_count() -> int:
    return SyncAlert.objects.filter(resolved_at__isnull=True).count()
