"""An invoice's subtotal, tax and total: sums of rounded lines, tax rounded half up once on
the subtotal (DOMAIN.md: one rate per client, computed on the invoice subtotal)."""

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Sum

from billing.models import Invoice
from psa.common.money import column_sum, quantize

HUNDRED = Decimal("100")


def invoice_totals(line_amounts: Iterable[Decimal], tax_rate: Decimal,
                   currency: str) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal, tax, total) of lines already rounded to the currency."""
    subtotal = sum(line_amounts, Decimal("0.00"))
    tax = quantize(subtotal * tax_rate / HUNDRED, currency)
    return subtotal, tax, subtotal + tax


def invoice_totals_refresh(invoice: Invoice) -> Invoice:
    """Recompute and save the invoice's totals from its lines (one aggregate query)."""
    subtotal = column_sum(invoice.lines.aggregate(total=Sum("amount"))["total"])
    invoice.subtotal, invoice.tax_amount, invoice.total = invoice_totals(
        [subtotal], invoice.tax_rate, invoice.currency)
    invoice.save(update_fields=["subtotal", "tax_amount", "total", "updated_at"])
    return invoice
