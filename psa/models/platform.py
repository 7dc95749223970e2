"""API tokens, idempotency records and external ids: the API platform's rows."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A bearer token of a user or service account; only its SHA-256 digest is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(
        max_length=8, db_index=True, help_text=_("The token's first characters, to recognise it.")
    )
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Permissions this token may use; empty means all of its user's."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def allows(self, perm: str) -> bool:
        return not self.scopes or perm in self.scopes


class IdempotencyRecord(models.Model):
    """The first response to a POST with an Idempotency-Key, replayed for repeats."""

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", _("In flight")
        DONE = "done", _("Done")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="psa_idempotencyrecord_user_key"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class ExternalRef(models.Model):
    """An id another system (CRM, HRIS, ERP) gives one of our rows; unique on both sides."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    system = models.CharField(max_length=32, help_text=_("e.g. hubspot, bamboohr, quickbooks"))
    external_id = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["system", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "system", "external_id"],
                name="psa_externalref_external_unique",
            ),
            models.UniqueConstraint(
                fields=["content_type", "object_id", "system"], name="psa_externalref_local_unique"
            ),
        ]
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.system}:{self.external_id}"


class WorkerHeartbeat(models.Model):
    """The last time a worker consuming `queue` ran the heartbeat task beat sends there every
    half minute: what `/health/` and the metrics call worker liveness, per queue."""

    queue = models.CharField(max_length=32, unique=True)
    hostname = models.CharField(max_length=200, blank=True)
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["queue"]

    def __str__(self) -> str:
        return f"{self.queue} @ {self.hostname} {self.seen_at:%Y-%m-%d %H:%M:%S}"
