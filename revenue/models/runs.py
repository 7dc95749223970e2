"""Recognition runs and what they posted: the ledger of recognised revenue."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field, money_field
from psa.models.base import BackgroundRun


class RecognitionRun(BackgroundRun):
    """One recognition run for a legal entity and month (a Celery job with progress)."""

    legal_entity = models.ForeignKey("psa.LegalEntity", on_delete=models.PROTECT,
                                     related_name="recognition_runs")
    period = models.DateField(help_text=_("The first day of the month recognised."))
    entries_posted = models.PositiveIntegerField(default=0)
    amount_posted = money_field()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Recognition {self.legal_entity_id} {self.period:%Y-%m}"


class RecognitionEntry(models.Model):
    """Revenue recognised for one contract in one month by one run: the difference between
    the month's target (cumulative to date, per the method) and what was recognised before.
    A re-run with unchanged inputs posts nothing; late inputs post only the difference."""

    run = models.ForeignKey(RecognitionRun, on_delete=models.PROTECT, related_name="entries")
    contract = models.ForeignKey("psa.Contract", on_delete=models.PROTECT,
                                 related_name="recognition_entries")
    month = models.DateField()
    amount = money_field()
    currency = currency_field()
    cumulative_amount = money_field(help_text=_("Recognised to date after this entry."))
    explanation = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract", "month", "id"]
        indexes = [models.Index(fields=["contract", "month"], name="revenue_entry_contract_month")]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.month:%Y-%m}: {self.amount}"
