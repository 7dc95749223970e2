"""Billing's tables (ARCHITECTURE.md: billing owns terms, runs, invoices, credit notes,
payments and AR)."""

from billing.models.invoices import (
    BilledItem,
    HeldItem,
    Invoice,
    InvoiceLine,
    NumberSequence,
    RetainerMonth,
)
from billing.models.payments import Payment
from billing.models.runs import InvoiceRun, RunOutcome
from billing.models.terms import CapHold, Installment, RoundingPolicy

__all__ = [
    "BilledItem",
    "CapHold",
    "HeldItem",
    "Installment",
    "Invoice",
    "InvoiceLine",
    "InvoiceRun",
    "NumberSequence",
    "Payment",
    "RetainerMonth",
    "RoundingPolicy",
    "RunOutcome",
]
