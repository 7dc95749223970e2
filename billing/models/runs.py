"""Invoice runs as reviewable batches: progress, and what each contract got or why not."""

from typing import ClassVar

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from psa.common.money import money_field
from psa.models.base import BackgroundRun


class InvoiceRun(BackgroundRun):
    """One invoice run: a legal entity (or all) and a cut-off date, run as a Celery job split
    by client. `done_units` counts finished clients; the page and the API show the progress."""

    legal_entity = models.ForeignKey("psa.LegalEntity", on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="invoice_runs")
    cut_off = models.DateField()
    invoices_created = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        scope = self.legal_entity.code if self.legal_entity_id else "all entities"
        return f"Run {self.pk} ({scope}, cut-off {self.cut_off})"

    def get_absolute_url(self) -> str:
        return reverse("billing:run-detail", args=[self.pk])


class RunOutcome(models.Model):
    """What a run did for one contract: an invoice created, or skipped and why (the exception
    queue finance works through)."""

    class Reason(models.TextChoices):
        CREATED = "created", _("Invoice created")
        NOTHING_NEW = "nothing_new", _("Nothing new to bill")
        NO_RATE = "no_rate", _("Time without a frozen bill rate")
        OVER_CAP = "over_cap", _("Over the cap: amount held")
        HELD = "held", _("Items held back by finance")
        MISSING_TAX = "missing_tax", _("Client has no tax setup")
        CURRENCY = "currency", _("Items in another currency")
        FAILED = "failed", _("Failed")

    EXCEPTIONS: ClassVar[tuple[str, ...]] = (Reason.NO_RATE, Reason.OVER_CAP, Reason.HELD,
                                             Reason.MISSING_TAX, Reason.CURRENCY,
                                             Reason.FAILED)

    run = models.ForeignKey(InvoiceRun, on_delete=models.CASCADE, related_name="outcomes")
    contract = models.ForeignKey("psa.Contract", on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    reason = models.CharField(max_length=12, choices=Reason)
    detail = models.TextField(blank=True)
    amount = money_field()
    items = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "contract", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "contract"],
                                               name="billing_runoutcome_one_per_contract")]
        indexes = [models.Index(fields=["run", "reason"], name="billing_outcome_run_idx")]

    def __str__(self) -> str:
        return f"{self.contract_id}: {self.reason}"

    @property
    def is_exception(self) -> bool:
        return self.reason in self.EXCEPTIONS
