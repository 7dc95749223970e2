"""Journal entries for invoices and recognition, always balanced, for the ERP."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field, money_field
from psa.models.base import BaseModel


class AccountKey(models.TextChoices):
    """The roles an account plays in the entries DOMAIN.md describes."""

    RECEIVABLE = "receivable", _("Accounts receivable")
    TAX_PAYABLE = "tax_payable", _("Tax payable")
    UNBILLED = "unbilled", _("Unbilled receivable (contract asset)")
    DEFERRED = "deferred", _("Deferred revenue (contract liability)")
    REVENUE = "revenue", _("Revenue")


DEFAULT_ACCOUNTS = {
    AccountKey.RECEIVABLE: ("1200", "Accounts receivable"),
    AccountKey.TAX_PAYABLE: ("2200", "Sales tax payable"),
    AccountKey.UNBILLED: ("1250", "Unbilled receivable"),
    AccountKey.DEFERRED: ("2400", "Deferred revenue"),
    AccountKey.REVENUE: ("4000", "Services revenue"),
}


class AccountMapping(BaseModel):
    """Which ledger account a legal entity uses for each role (defaults when absent)."""

    legal_entity = models.ForeignKey("psa.LegalEntity", on_delete=models.CASCADE,
                                     related_name="account_mappings")
    key = models.CharField(max_length=16, choices=AccountKey)
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["legal_entity", "key"]
        constraints = [models.UniqueConstraint(fields=["legal_entity", "key"],
                                               name="revenue_accountmapping_one_per_key")]

    def __str__(self) -> str:
        return f"{self.key}: {self.code}"


class JournalEntry(BaseModel):
    """One balanced journal entry of a legal entity: its debits equal its credits (checked in
    the database on the totals, and the totals are the sums of the lines)."""

    class Source(models.TextChoices):
        INVOICE = "invoice", _("Invoice issued")
        CREDIT_NOTE = "credit_note", _("Credit note issued")
        RECOGNITION = "recognition", _("Revenue recognised")
        # A consolidated invoice posts one entry per contract, keyed by that contract's first
        # line (so per-contract balances stay readable from JournalEntry.contract).
        INVOICE_LINE = "invoice_line", _("Consolidated invoice issued (one contract's part)")
        CREDIT_LINE = "credit_line", _("Consolidated credit note issued (one contract's part)")

    legal_entity = models.ForeignKey("psa.LegalEntity", on_delete=models.PROTECT,
                                     related_name="journal_entries")
    entry_date = models.DateField(db_index=True)
    period = models.DateField(help_text=_("The first day of the month it is posted in."))
    source = models.CharField(max_length=12, choices=Source)
    source_id = models.PositiveBigIntegerField(help_text=_("Invoice or recognition entry id."))
    contract = models.ForeignKey("psa.Contract", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="journal_entries")
    currency = currency_field()
    description = models.CharField(max_length=300)
    total_debit = money_field()
    total_credit = money_field()

    class Meta:
        ordering = ["-entry_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total_debit=F("total_credit")),
                                   name="revenue_journalentry_balanced"),
            models.UniqueConstraint(fields=["source", "source_id"],
                                    name="revenue_journalentry_one_per_source"),
        ]

    def __str__(self) -> str:
        return f"JE {self.pk} {self.source} {self.entry_date}"


class JournalLine(models.Model):
    """One debit or credit of an entry (never both)."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.CASCADE, related_name="lines")
    account_key = models.CharField(max_length=16, choices=AccountKey)
    account_code = models.CharField(max_length=32)
    debit = money_field()
    credit = money_field()

    class Meta:
        ordering = ["entry", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0) & Q(credit=0)) | (Q(debit=0) & Q(credit__gt=0)),
                name="revenue_journalline_debit_xor_credit"),
        ]

    def __str__(self) -> str:
        return f"{self.account_code} Dr {self.debit} Cr {self.credit}"
