"""Rate cards: standard, client and contract cards with role lines and person overrides."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field, rate_field
from psa.models.base import BaseModel


class RateCard(BaseModel):
    """A price list of hourly bill rates in one currency."""

    class Kind(models.TextChoices):
        STANDARD = "standard", _("Firm standard")
        CLIENT = "client", _("Client negotiated")
        CONTRACT = "contract", _("Contract specific")

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.STANDARD, db_index=True)
    currency = currency_field()
    client = models.ForeignKey(
        "psa.Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rate_cards",
        help_text=_("The client a client or contract card was agreed with."),
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency"],
                condition=Q(kind="standard", is_active=True),
                name="psa_ratecard_one_standard_per_currency",
            ),
            models.CheckConstraint(
                condition=Q(kind="standard", client__isnull=True) | ~Q(kind="standard"),
                name="psa_ratecard_standard_has_no_client",
            ),
            models.CheckConstraint(
                condition=~Q(kind="client") | Q(client__isnull=False),
                name="psa_ratecard_client_card_has_client",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class RateCardLine(BaseModel):
    """The hourly bill rate of a role on a card, from a date on."""

    rate_card = models.ForeignKey(RateCard, on_delete=models.CASCADE, related_name="lines")
    role = models.ForeignKey("psa.Role", on_delete=models.PROTECT, related_name="rate_lines")
    hourly_rate = rate_field()
    effective_from = models.DateField()

    class Meta:
        ordering = ["rate_card", "role", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["rate_card", "role", "effective_from"],
                name="psa_ratecardline_card_role_from_unique",
            ),
            models.CheckConstraint(
                condition=Q(hourly_rate__gte=0), name="psa_ratecardline_rate_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.hourly_rate} from {self.effective_from}"


class RateCardOverride(BaseModel):
    """A negotiated bill rate for one named person on a card, from a date on."""

    rate_card = models.ForeignKey(RateCard, on_delete=models.CASCADE, related_name="overrides")
    person = models.ForeignKey(
        "psa.Person", on_delete=models.CASCADE, related_name="rate_overrides"
    )
    hourly_rate = rate_field()
    effective_from = models.DateField()

    class Meta:
        ordering = ["rate_card", "person", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["rate_card", "person", "effective_from"],
                name="psa_ratecardoverride_card_person_from_unique",
            ),
            models.CheckConstraint(
                condition=Q(hourly_rate__gte=0), name="psa_ratecardoverride_rate_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.hourly_rate} from {self.effective_from}"

    def clean(self) -> None:
        if self.rate_card_id and self.rate_card.kind == RateCard.Kind.STANDARD:
            raise ValidationError(
                {
                    "rate_card": _(
                        "Person overrides belong on client or "
                        "contract cards, not the standard card."
                    )
                }
            )
