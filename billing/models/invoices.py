"""Invoices, credit notes, their lines and the link from every line to its source items.

The link (`BilledItem`) is what makes billing exactly-once: each time entry, expense,
milestone, installment, retainer month or held-over-cap amount has at most one LIVE link,
enforced by a partial unique index per source, so two runs at once, a retried run or one that
died half way can never bill it twice (DOMAIN.md, The invoice run).
"""

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from psa.common.money import currency_field, hours_field, money_field, rate_field
from psa.models.base import BaseModel


class Invoice(BaseModel):
    """A draft, approved or issued invoice, or a credit note (kind) against an invoice.

    Amounts are positive on both kinds; a credit note's `kind` gives the sign. Issued
    documents are immutable: corrections are credit notes.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        ISSUED = "issued", _("Issued")
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        PAID = "paid", _("Paid")
        VOID = "void", _("Void")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.DRAFT: frozenset({Status.APPROVED, Status.VOID}),
        Status.APPROVED: frozenset({Status.DRAFT, Status.ISSUED, Status.VOID}),
        Status.ISSUED: frozenset({Status.PARTIALLY_PAID, Status.PAID}),
        Status.PARTIALLY_PAID: frozenset({Status.PAID, Status.ISSUED}),
        Status.PAID: frozenset({Status.PARTIALLY_PAID, Status.ISSUED}),
        Status.VOID: frozenset(),
    }
    EDITABLE_STATES: ClassVar[tuple[str, ...]] = (Status.DRAFT,)
    OPEN_STATES: ClassVar[tuple[str, ...]] = (Status.ISSUED, Status.PARTIALLY_PAID)
    ISSUED_STATES: ClassVar[tuple[str, ...]] = (Status.ISSUED, Status.PARTIALLY_PAID,
                                                Status.PAID)

    kind = models.CharField(max_length=12, choices=Kind, default=Kind.INVOICE, db_index=True)
    legal_entity = models.ForeignKey("psa.LegalEntity", on_delete=models.PROTECT,
                                     related_name="invoices")
    client = models.ForeignKey("psa.Client", on_delete=models.PROTECT, related_name="invoices")
    # Null on a consolidated invoice covering several of the client's contracts.
    contract = models.ForeignKey("psa.Contract", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="invoices")
    run = models.ForeignKey("billing.InvoiceRun", on_delete=models.SET_NULL, null=True,
                            blank=True, related_name="invoices")
    credited_invoice = models.ForeignKey("self", on_delete=models.PROTECT, null=True,
                                         blank=True, related_name="credit_notes")
    number = models.CharField(max_length=40, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT,
                              db_index=True)
    currency = currency_field()
    cut_off = models.DateField(null=True, blank=True)
    issue_date = models.DateField(null=True, blank=True, db_index=True)
    due_date = models.DateField(null=True, blank=True, db_index=True)
    payment_terms_days = models.PositiveSmallIntegerField(default=30)
    tax_rate = rate_field(default=0)
    subtotal = money_field()
    tax_amount = money_field()
    total = money_field()
    amount_paid = money_field()
    notes = models.TextField(blank=True)
    reason = models.TextField(blank=True, help_text=_("Why a credit note or a void."))
    release_items = models.BooleanField(
        default=False, help_text=_("Credit note: the credited items may be billed again."))
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+")
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    voided_at = models.DateTimeField(null=True, blank=True)
    pdf = models.FileField(upload_to="invoices/%Y/", blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    emailed_to = models.EmailField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "number"], condition=~Q(number=""),
                                    name="billing_invoice_number_unique"),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0) & Q(tax_amount__gte=0) & Q(total__gte=0)
                | Q(status="draft") | Q(status="void"),
                name="billing_invoice_issued_amounts_non_negative"),
            models.CheckConstraint(condition=Q(amount_paid__gte=0),
                                   name="billing_invoice_paid_non_negative"),
            models.CheckConstraint(
                condition=Q(status__in=("draft", "approved", "void")) | ~Q(number=""),
                name="billing_invoice_issued_has_number"),
            models.CheckConstraint(
                condition=~Q(kind="credit_note") | Q(credited_invoice__isnull=False),
                name="billing_invoice_credit_note_references_invoice"),
            models.CheckConstraint(condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=100),
                                   name="billing_invoice_tax_rate_range"),
        ]
        indexes = [
            models.Index(fields=["client", "status"], name="billing_inv_client_st_idx"),
            models.Index(fields=["contract", "status"], name="billing_inv_contract_st_idx"),
        ]
        permissions = [
            ("approve_invoice", "Can approve invoices"),
            ("issue_invoice", "Can issue invoices"),
            ("void_invoice", "Can void invoices"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("billing:invoice-detail", args=[self.pk])

    def can_transition_to(self, target: str) -> bool:
        return target in self.TRANSITIONS.get(self.status, frozenset())

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE

    @property
    def balance(self):
        """What the client still owes on it (zero for drafts and credit notes)."""
        if self.kind != self.Kind.INVOICE or self.status not in self.ISSUED_STATES:
            return self.total * 0
        return self.total - self.amount_paid - self.credited_total

    @property
    def credited_total(self):
        """Issued credit notes against this invoice (annotated by the selectors when listed)."""
        annotated = getattr(self, "_credited_total", None)
        if annotated is not None:
            return annotated
        return sum((note.total for note in self.credit_notes.filter(
            status__in=self.ISSUED_STATES)), self.total * 0)


class InvoiceLine(BaseModel):
    """One line: time by project and role, expenses by category, a milestone, an installment,
    a retainer month or its overage, a cap adjustment, a previously held amount, or (on a
    credit note) a credited line. `amount = base_amount + adjustment` (a write-down is a
    negative adjustment, kept with its reason for realization)."""

    class Kind(models.TextChoices):
        TIME = "time", _("Time")
        EXPENSE = "expense", _("Expenses")
        MILESTONE = "milestone", _("Milestone")
        INSTALLMENT = "installment", _("Installment")
        RETAINER = "retainer", _("Retainer")
        RETAINER_OVERAGE = "retainer_overage", _("Retainer overage")
        CAP_ADJUSTMENT = "cap_adjustment", _("Cap adjustment")
        PREVIOUSLY_HELD = "previously_held", _("Previously held over cap")
        CREDIT = "credit", _("Credit")

    class AdjustmentReason(models.TextChoices):
        GOODWILL = "goodwill", _("Goodwill")
        QUALITY = "quality", _("Quality issue")
        OVER_ESTIMATE = "over_estimate", _("Over the estimate")
        NEGOTIATED = "negotiated", _("Negotiated with the client")
        RATE_CORRECTION = "rate_correction", _("Rate correction")
        OTHER = "other", _("Other")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    sequence = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind)
    contract = models.ForeignKey("psa.Contract", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="+")
    project = models.ForeignKey("psa.Project", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    role = models.ForeignKey("psa.Role", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+")
    category = models.CharField(max_length=20, blank=True)
    description = models.CharField(max_length=300)
    quantity = hours_field(null=True, blank=True, default=None)
    unit_price = rate_field(null=True, blank=True)
    base_amount = money_field()
    adjustment = money_field()
    adjustment_reason = models.CharField(max_length=20, choices=AdjustmentReason, blank=True)
    adjustment_note = models.TextField(blank=True)
    amount = money_field()
    credited_line = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="credits")

    class Meta:
        ordering = ["invoice", "sequence", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount=F("base_amount") + F("adjustment")),
                                   name="billing_invoiceline_amount_is_base_plus_adjustment"),
            models.CheckConstraint(condition=Q(adjustment=0) | ~Q(adjustment_reason=""),
                                   name="billing_invoiceline_adjustment_has_reason"),
        ]

    def __str__(self) -> str:
        return self.description


BILLED_SOURCES = ("time_entry", "expense", "milestone", "installment", "retainer_month",
                  "cap_hold")


class BilledItem(models.Model):
    """One source item on one invoice line: exactly one of the source columns is set.

    `is_live` is true while the invoice can still bill it (draft, approved, issued);
    deleting a draft deletes its links, voiding it or a credit note that releases items sets
    `is_live` false, so the item can be billed again. The partial unique indexes allow one
    live link per source item, whatever runs at once.
    """

    SOURCES: ClassVar[tuple[str, ...]] = BILLED_SOURCES

    line = models.ForeignKey(InvoiceLine, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="items")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="items")
    time_entry = models.ForeignKey("psa.TimeEntry", on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="billed_items")
    expense = models.ForeignKey("psa.Expense", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="billed_items")
    milestone = models.ForeignKey("psa.Milestone", on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="billed_items")
    installment = models.ForeignKey("billing.Installment", on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="billed_items")
    retainer_month = models.ForeignKey("billing.RetainerMonth", on_delete=models.PROTECT,
                                       null=True, blank=True, related_name="billed_items")
    cap_hold = models.ForeignKey("billing.CapHold", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="billed_items")
    raw_hours = hours_field(null=True, blank=True, default=None)
    billed_hours = hours_field(null=True, blank=True, default=None)
    rate = rate_field(null=True, blank=True)
    # Set where the item has one exact amount (an expense, milestone, installment, retainer
    # month, held amount); a time entry's value is billed hours x rate, rounded on its line.
    amount = money_field(null=True, blank=True, default=None)
    is_live = models.BooleanField(default=True)

    class Meta:
        constraints = [
            *[models.UniqueConstraint(fields=[source], condition=Q(is_live=True),
                                      name=f"billing_billeditem_one_live_{source}")
              for source in BILLED_SOURCES],
            models.CheckConstraint(
                condition=Q(time_entry__isnull=False, expense__isnull=True,
                            milestone__isnull=True, installment__isnull=True,
                            retainer_month__isnull=True, cap_hold__isnull=True)
                | Q(time_entry__isnull=True, expense__isnull=False, milestone__isnull=True,
                    installment__isnull=True, retainer_month__isnull=True,
                    cap_hold__isnull=True)
                | Q(time_entry__isnull=True, expense__isnull=True, milestone__isnull=False,
                    installment__isnull=True, retainer_month__isnull=True,
                    cap_hold__isnull=True)
                | Q(time_entry__isnull=True, expense__isnull=True, milestone__isnull=True,
                    installment__isnull=False, retainer_month__isnull=True,
                    cap_hold__isnull=True)
                | Q(time_entry__isnull=True, expense__isnull=True, milestone__isnull=True,
                    installment__isnull=True, retainer_month__isnull=False,
                    cap_hold__isnull=True)
                | Q(time_entry__isnull=True, expense__isnull=True, milestone__isnull=True,
                    installment__isnull=True, retainer_month__isnull=True,
                    cap_hold__isnull=False),
                name="billing_billeditem_exactly_one_source"),
        ]
        indexes = [models.Index(fields=["invoice", "line"], name="billing_bi_invoice_line_idx")]

    def __str__(self) -> str:
        return f"{self.source_kind} on invoice {self.invoice_id}"

    @property
    def value(self):
        """The item's value: its amount, or billed hours x rate for time (unrounded)."""
        if self.amount is not None:
            return self.amount
        return (self.billed_hours or 0) * (self.rate or 0)

    @property
    def source_kind(self) -> str:
        return next(name for name in self.SOURCES if getattr(self, f"{name}_id") is not None)


class RetainerMonth(models.Model):
    """One month of a retainer contract, the source item of its retainer line (created by the
    run that first bills the month; the live link keeps it billed once)."""

    contract = models.ForeignKey("psa.Contract", on_delete=models.PROTECT,
                                 related_name="retainer_months")
    month = models.DateField(help_text=_("The first day of the month."))

    class Meta:
        ordering = ["contract", "month"]
        constraints = [models.UniqueConstraint(fields=["contract", "month"],
                                               name="billing_retainermonth_unique")]

    def __str__(self) -> str:
        return f"{self.contract} {self.month:%Y-%m}"


class HeldItem(models.Model):
    """A time entry or expense finance held back from invoicing until released."""

    time_entry = models.OneToOneField("psa.TimeEntry", on_delete=models.CASCADE, null=True,
                                      blank=True, related_name="billing_hold")
    expense = models.OneToOneField("psa.Expense", on_delete=models.CASCADE, null=True,
                                   blank=True, related_name="billing_hold")
    reason = models.TextField(blank=True)
    held_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+")
    held_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(
            condition=Q(time_entry__isnull=False, expense__isnull=True)
            | Q(time_entry__isnull=True, expense__isnull=False),
            name="billing_helditem_one_source")]

    def __str__(self) -> str:
        return f"held {self.time_entry_id or self.expense_id}"


class NumberSequence(models.Model):
    """The last number used per legal entity, year and series; its row is locked while a
    number is taken, so numbers are gapless and sequential whatever issues race."""

    legal_entity = models.ForeignKey("psa.LegalEntity", on_delete=models.PROTECT,
                                     related_name="+")
    year = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=12, choices=Invoice.Kind)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["legal_entity", "year", "kind"],
                                               name="billing_numbersequence_unique")]

    def __str__(self) -> str:
        return f"{self.legal_entity_id}/{self.year}/{self.kind}: {self.last_number}"
