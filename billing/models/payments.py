"""Payments received against issued invoices (recorded through the API or the ERP)."""

from django.db import models
from django.db.models import Q

from psa.common.money import currency_field, money_field
from psa.models.base import BaseModel


class Payment(BaseModel):
    """Money received for one invoice; the invoice moves to partially paid or paid."""

    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT,
                                related_name="payments")
    amount = money_field()
    currency = currency_field()
    received_date = models.DateField(db_index=True)
    reference = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+")

    class Meta:
        ordering = ["-received_date", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0),
                                              name="billing_payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.received_date}"
