"""Connections to the firm's external systems, their cursors and their sync-run log."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from psa.models.base import BaseModel


class Connection(BaseModel):
    """One external system: which kind and vendor, where it is, and how we authenticate.

    `name` is the connection's stable slug: it is the `system` of the external ids it creates
    (`psa.ExternalRef`) and the last part of its inbound webhook URL.
    """

    class Kind(models.TextChoices):
        CRM = "crm", _("CRM")
        HRIS = "hris", _("HRIS")
        ERP = "erp", _("ERP")

    class Vendor(models.TextChoices):
        HUBSPOT = "hubspot", _("HubSpot")
        BAMBOOHR = "bamboohr", _("BambooHR")
        QUICKBOOKS = "quickbooks", _("QuickBooks Online")

    KIND_OF_VENDOR: ClassVar[dict[str, str]] = {
        Vendor.HUBSPOT: Kind.CRM, Vendor.BAMBOOHR: Kind.HRIS, Vendor.QUICKBOOKS: Kind.ERP,
    }

    name = models.SlugField(max_length=32, unique=True)
    kind = models.CharField(max_length=8, choices=Kind)
    vendor = models.CharField(max_length=16, choices=Vendor)
    base_url = models.URLField(max_length=300)
    credentials_encrypted = models.TextField(
        blank=True, help_text=_("Fernet token of the credentials JSON; never shown again."))
    enabled = models.BooleanField(default=True)
    options = models.JSONField(default=dict, blank=True,
                               help_text=_("Vendor settings: stages, defaults, realm id, ..."))
    legal_entity = models.ForeignKey(
        "psa.LegalEntity", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("The entity this system serves (ERP books; HRIS's default for new people)."))
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            # One live system per vendor: subscribers find "the" HubSpot, "the" QuickBooks.
            models.UniqueConstraint(fields=["vendor"], condition=Q(enabled=True),
                                    name="crm_sync_connection_one_enabled_per_vendor"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_vendor_display()})"

    @property
    def credentials(self) -> dict[str, Any]:
        from crm_sync.crypto import decrypt_json

        return decrypt_json(self.credentials_encrypted) if self.credentials_encrypted else {}

    def set_credentials(self, values: dict[str, Any]) -> None:
        from crm_sync.crypto import encrypt_json

        self.credentials_encrypted = encrypt_json(values)


class SyncCursor(models.Model):
    """Where the last poll of one stream of a connection stopped (a timestamp or a token)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="cursors")
    stream = models.CharField(max_length=64)
    value = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "stream"],
                                               name="crm_sync_cursor_unique")]

    def __str__(self) -> str:
        return f"{self.connection.name}/{self.stream}={self.value}"


class SyncRun(models.Model):
    """One poll, test or full sync of a connection's flow, with what it did."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    flow = models.CharField(max_length=64)
    trigger = models.CharField(max_length=16, default="schedule")
    status = models.CharField(max_length=10, choices=Status, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["connection", "flow", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.connection.name}/{self.flow} {self.status}"


class PendingLink(models.Model):
    """A reference that arrived before its target: a report whose manager is not synced yet.

    Resolved (and deleted) when the target is synced; `kind` says which field it fills.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE,
                                   related_name="pending_links")
    kind = models.CharField(max_length=32)
    source_external_id = models.CharField(max_length=64)
    target_external_id = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "kind", "source_external_id"],
                                               name="crm_sync_pendinglink_unique")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.source_external_id} → {self.target_external_id}"
