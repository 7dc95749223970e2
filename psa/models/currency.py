"""Stored exchange rates, so reports can show amounts of several currencies in one."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field
from psa.models.base import BaseModel


class ExchangeRate(BaseModel):
    """One unit of `from_currency` is worth `rate` of `to_currency` from `month` on.

    Finance keeps one rate per pair and month (the month's average, or its closing rate, as
    the firm chooses). A report converting an amount of month M uses the pair's latest rate of
    a month on or before M; the reverse pair's rate is inverted when only it is stored.
    """

    from_currency = currency_field()
    to_currency = currency_field()
    month = models.DateField(help_text=_("The first day of the month the rate applies from."))
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    created_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["from_currency", "to_currency", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["from_currency", "to_currency", "month"],
                                    name="psa_exchangerate_pair_month_unique"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="psa_exchangerate_rate_positive"),
            models.CheckConstraint(condition=~Q(from_currency=F("to_currency")),
                                   name="psa_exchangerate_two_currencies"),
        ]

    def __str__(self) -> str:
        return f"1 {self.from_currency} = {self.rate} {self.to_currency} from {self.month:%b %Y}"
