"""The CRM's deals as this application last saw them (the CRM owns their terms)."""

from decimal import Decimal

from django.db import models

from crm_sync.models.connections import Connection
from psa.models.base import BaseModel


class Deal(BaseModel):
    """A CRM deal and what it became here: tentative demand, then a client, contract, project.

    `amount_booked` is the amount the contract was created with plus approved or pending change
    orders raised from later amount changes, so a changed amount raises one change order for
    the difference only.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="deals")
    external_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    pipeline = models.CharField(max_length=64, blank=True)
    stage = models.CharField(max_length=64, blank=True)
    probability = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, blank=True)
    close_date = models.DateField(null=True, blank=True)
    company_external_id = models.CharField(max_length=64, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    remote_modified_at = models.DateTimeField(null=True, blank=True)
    correlation_id = models.CharField(max_length=64, db_index=True)
    client = models.ForeignKey("psa.Client", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")
    contract = models.ForeignKey("psa.Contract", on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="+")
    project = models.ForeignKey("psa.Project", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    amount_booked = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    won_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lost_at = models.DateTimeField(null=True, blank=True)
    project_created_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["connection", "external_id"],
                                               name="crm_sync_deal_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.stage})"

    @property
    def is_won(self) -> bool:
        return self.won_at is not None


class DealRequest(models.Model):
    """A resource request raised from one of a deal's line items (tentative, then real)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="requests")
    line_item_id = models.CharField(max_length=64)
    request = models.ForeignKey("resourcing.ResourceRequest", on_delete=models.CASCADE,
                                related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deal", "line_item_id"],
                                               name="crm_sync_dealrequest_unique")]

    def __str__(self) -> str:
        return f"{self.deal_id}:{self.line_item_id}"
