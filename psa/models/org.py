"""Legal entities and their monthly periods."""

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field
from psa.models.base import BaseModel


class LegalEntity(BaseModel):
    """One company of the firm that invoices, books journals and closes periods."""

    code = models.CharField(max_length=10, unique=True, help_text=_("Short code, e.g. US."))
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, help_text=_("ISO 3166 alpha-2 country code."))
    base_currency = currency_field()
    time_zone = models.CharField(max_length=64, default="UTC")
    invoice_prefix = models.CharField(max_length=10, unique=True)
    tax_registration = models.CharField(max_length=64, blank=True)
    address = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "legal entities"
        constraints = [
            models.CheckConstraint(condition=~Q(code=""), name="psa_legalentity_code_not_blank"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Period(BaseModel):
    """One calendar month of one legal entity; a closed month accepts no change dated in it."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.OPEN: frozenset({Status.CLOSED}),
        Status.CLOSED: frozenset({Status.OPEN}),  # reopen: privileged and audited
    }

    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="periods")
    month = models.DateField(help_text=_("The first day of the month."))
    status = models.CharField(max_length=8, choices=Status, default=Status.OPEN, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        "auth.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["legal_entity", "-month"]
        constraints = [
            models.UniqueConstraint(
                fields=["legal_entity", "month"], name="psa_period_entity_month_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.legal_entity.code} {self.month:%Y-%m}"

    def can_transition_to(self, target: str) -> bool:
        return target in self.TRANSITIONS[self.status]

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.month and self.month.day != 1:
            raise ValidationError({"month": _("A period starts on the first day of a month.")})

    def get_absolute_url(self) -> str:
        return reverse("admin:psa_period_change", args=[self.pk])
