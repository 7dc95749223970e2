"""Billing terms beyond the contract's own columns: installment schedules, rounding policies
and amounts held over a cap (DOMAIN.md, Billing models)."""

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field, money_field
from psa.models.base import BaseModel


class Installment(BaseModel):
    """One dated part of a fixed fee by installments; the schedule's last part takes the
    residual, so the parts add up to the contract value to the cent."""

    contract = models.ForeignKey("psa.Contract", on_delete=models.CASCADE,
                                 related_name="installments")
    sequence = models.PositiveSmallIntegerField()
    due_date = models.DateField(db_index=True)
    amount = money_field()
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["contract", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "sequence"],
                                    name="billing_installment_contract_sequence_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0),
                                   name="billing_installment_amount_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.contract} #{self.sequence} {self.due_date}"


class RoundingPolicy(BaseModel):
    """How billed hours are rounded from raw hours, for a client or one contract (the
    contract's wins). Raw hours are never changed; the difference counts in realization."""

    class Method(models.TextChoices):
        UP = "up", _("Up")
        NEAREST = "nearest", _("To the nearest")

    class Scope(models.TextChoices):
        ENTRY = "entry", _("Each entry")
        PERSON_DAY_PROJECT = "person_day_project", _("Per person, day and project")

    INCREMENTS: ClassVar[tuple[int, ...]] = (6, 15)

    client = models.OneToOneField("psa.Client", on_delete=models.CASCADE, null=True,
                                  blank=True, related_name="rounding_policy")
    contract = models.OneToOneField("psa.Contract", on_delete=models.CASCADE, null=True,
                                    blank=True, related_name="rounding_policy")
    increment_minutes = models.PositiveSmallIntegerField(
        choices=[(6, _("6 minutes (0.1 h)")), (15, _("15 minutes (0.25 h)"))])
    method = models.CharField(max_length=8, choices=Method, default=Method.UP)
    scope = models.CharField(max_length=20, choices=Scope, default=Scope.ENTRY)

    class Meta:
        verbose_name_plural = "rounding policies"
        constraints = [
            models.CheckConstraint(
                condition=(Q(client__isnull=False) & Q(contract__isnull=True))
                | (Q(client__isnull=True) & Q(contract__isnull=False)),
                name="billing_roundingpolicy_client_xor_contract"),
            models.CheckConstraint(condition=Q(increment_minutes__in=(6, 15)),
                                   name="billing_roundingpolicy_increment"),
        ]

    def __str__(self) -> str:
        return f"{self.increment_minutes} min {self.method} per {self.scope}"


class CapHold(BaseModel):
    """Billable value above a T&M contract's cap, held when an invoice run met the cap.

    Finance writes it off, or bills it as a "previously held" line once a change order has
    lifted the cap.
    """

    class Status(models.TextChoices):
        HELD = "held", _("Held over cap")
        WRITTEN_OFF = "written_off", _("Written off")
        BILLED = "billed", _("Billed")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.HELD: frozenset({Status.WRITTEN_OFF, Status.BILLED}),
        Status.WRITTEN_OFF: frozenset(),
        Status.BILLED: frozenset({Status.HELD}),  # its invoice was deleted or credited
    }

    contract = models.ForeignKey("psa.Contract", on_delete=models.PROTECT,
                                 related_name="cap_holds")
    # Deleting the draft that met the cap deletes the hold with it (its items are released).
    source_invoice = models.ForeignKey("billing.Invoice", on_delete=models.CASCADE,
                                       related_name="cap_holds_created")
    amount = money_field()
    currency = currency_field()
    status = models.CharField(max_length=12, choices=Status, default=Status.HELD, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["contract", "created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0),
                                   name="billing_caphold_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.contract}: {self.amount} {self.currency} {self.status}"

    def can_transition_to(self, target: str) -> bool:
        return target in self.TRANSITIONS.get(self.status, frozenset())
