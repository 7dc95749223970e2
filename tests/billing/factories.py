"""Factories for billing: each builds a minimal valid row (STYLE.md §17).

An invoice takes its legal entity, client, currency, tax rate and terms from its contract, so
they stay consistent. Lines do not update their invoice's totals: build the lines, then call
`with_totals(invoice)` (or use `invoice_with_lines`). Issued invoices made by the factory get
numbers of their own `FACT-` series, which never collides with numbers `invoice_issue` gives.
"""

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.db.models import Sum
from django.utils import timezone

from billing import models
from psa.common.money import quantize
from psa.models import Expense, Milestone, TimeEntry
from tests.psa.factories import (
    ContractFactory,
    ExpenseFactory,
    MilestoneFactory,
    ProjectFactory,
    TimeEntryFactory,
    UserFactory,
)

ISSUE_DATE = date(2026, 3, 31)


class InvoiceFactory(factory.django.DjangoModelFactory):
    """A draft invoice for one contract; traits `approved`, `issued`, `partially_paid`, `paid`,
    `void` (amounts stay whatever was given: add lines and call `with_totals`)."""

    class Meta:
        model = models.Invoice

    contract = factory.SubFactory(ContractFactory)
    client = factory.SelfAttribute("contract.client")
    legal_entity = factory.SelfAttribute("contract.legal_entity")
    currency = factory.SelfAttribute("contract.currency")
    tax_rate = factory.SelfAttribute("client.tax_rate")
    payment_terms_days = factory.SelfAttribute("client.payment_terms_days")
    cut_off = date(2026, 3, 31)

    class Params:
        approved = factory.Trait(status=models.Invoice.Status.APPROVED,
                                 approved_at=factory.LazyFunction(timezone.now))
        issued = factory.Trait(
            status=models.Invoice.Status.ISSUED,
            number=factory.Sequence(lambda n: f"FACT-{n:06d}"),
            issue_date=ISSUE_DATE,
            due_date=factory.LazyAttribute(
                lambda o: o.issue_date + timedelta(days=o.payment_terms_days)),
        )
        partially_paid = factory.Trait(issued=True,
                                       status=models.Invoice.Status.PARTIALLY_PAID)
        paid = factory.Trait(issued=True, status=models.Invoice.Status.PAID)
        void = factory.Trait(status=models.Invoice.Status.VOID)


class CreditNoteFactory(InvoiceFactory):
    """A draft credit note against an issued invoice (same entity, client, contract, terms)."""

    kind = models.Invoice.Kind.CREDIT_NOTE
    credited_invoice = factory.SubFactory(InvoiceFactory, issued=True)
    contract = factory.SelfAttribute("credited_invoice.contract")
    client = factory.SelfAttribute("credited_invoice.client")
    legal_entity = factory.SelfAttribute("credited_invoice.legal_entity")
    currency = factory.SelfAttribute("credited_invoice.currency")
    tax_rate = factory.SelfAttribute("credited_invoice.tax_rate")
    payment_terms_days = factory.SelfAttribute("credited_invoice.payment_terms_days")
    cut_off = None
    reason = "Correction"


class InvoiceLineFactory(factory.django.DjangoModelFactory):
    """A time line on a project of the invoice's contract: 8.00 h x 150.0000 = 1,200.00."""

    class Meta:
        model = models.InvoiceLine

    invoice = factory.SubFactory(InvoiceFactory)
    sequence = factory.Sequence(lambda n: n)
    kind = models.InvoiceLine.Kind.TIME
    contract = factory.SelfAttribute("invoice.contract")
    project = factory.SubFactory(ProjectFactory, contract=factory.SelfAttribute("..contract"))
    description = factory.Sequence(lambda n: f"Consulting services {n}")
    quantity = Decimal("8.00")
    unit_price = Decimal("150.0000")
    base_amount = factory.LazyAttribute(
        lambda o: quantize(o.quantity * o.unit_price, o.invoice.currency)
        if o.quantity is not None and o.unit_price is not None else Decimal("0.00"))
    adjustment = Decimal("0.00")
    amount = factory.LazyAttribute(lambda o: o.base_amount + o.adjustment)

    class Params:
        expense = factory.Trait(kind=models.InvoiceLine.Kind.EXPENSE, category="lodging",
                                quantity=None, unit_price=None, base_amount=Decimal("100.00"))


def with_totals(invoice: models.Invoice) -> models.Invoice:
    """Set the invoice's subtotal, tax and total from its lines (as the services do)."""
    subtotal = invoice.lines.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    invoice.subtotal = subtotal
    invoice.tax_amount = quantize(subtotal * invoice.tax_rate / 100, invoice.currency)
    invoice.total = invoice.subtotal + invoice.tax_amount
    invoice.save(update_fields=["subtotal", "tax_amount", "total", "updated_at"])
    return invoice


def invoice_with_lines(amounts: list[Decimal], **kwargs: object) -> models.Invoice:
    """An invoice (InvoiceFactory kwargs and traits) with one line per amount, totals set."""
    invoice = InvoiceFactory(**kwargs)
    for amount in amounts:
        InvoiceLineFactory(invoice=invoice, quantity=None, unit_price=None,
                           base_amount=amount)
    return with_totals(invoice)


class BilledItemFactory(factory.django.DjangoModelFactory):
    """A live link from an invoice line to an invoiced, approved time entry of its project."""

    class Meta:
        model = models.BilledItem

    line = factory.SubFactory(InvoiceLineFactory)
    invoice = factory.SelfAttribute("line.invoice")
    time_entry = factory.SubFactory(
        TimeEntryFactory, approved=True, status=TimeEntry.Status.INVOICED,
        task__project=factory.SelfAttribute("...line.project"))
    raw_hours = factory.LazyAttribute(lambda o: o.time_entry.hours if o.time_entry else None)
    billed_hours = factory.SelfAttribute("raw_hours")
    rate = factory.LazyAttribute(lambda o: o.time_entry.bill_rate if o.time_entry else None)

    class Params:
        expense_item = factory.Trait(
            time_entry=None, raw_hours=None, rate=None,
            expense=factory.SubFactory(ExpenseFactory, status=Expense.Status.INVOICED,
                                       project=factory.SelfAttribute("..line.project")),
            amount=factory.LazyAttribute(lambda o: o.expense.project_amount))
        milestone_item = factory.Trait(
            time_entry=None, raw_hours=None, rate=None,
            milestone=factory.SubFactory(MilestoneFactory, status=Milestone.Status.INVOICED,
                                         project=factory.SelfAttribute("..line.project")),
            amount=factory.LazyAttribute(lambda o: o.milestone.amount))


class InstallmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Installment

    contract = factory.SubFactory(ContractFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    due_date = date(2026, 3, 31)
    amount = Decimal("10000.00")


class RetainerMonthFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.RetainerMonth

    contract = factory.SubFactory(ContractFactory)
    month = date(2026, 3, 1)


class CapHoldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.CapHold

    source_invoice = factory.SubFactory(InvoiceFactory)
    contract = factory.SelfAttribute("source_invoice.contract")
    amount = Decimal("500.00")
    currency = factory.SelfAttribute("source_invoice.currency")


class RoundingPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.RoundingPolicy

    contract = factory.SubFactory(ContractFactory)
    increment_minutes = 15


class HeldItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.HeldItem

    time_entry = factory.SubFactory(TimeEntryFactory, approved=True)
    held_by = factory.SubFactory(UserFactory)
    reason = "Client disputes the hours"


class InvoiceRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.InvoiceRun

    cut_off = date(2026, 3, 31)


class PaymentFactory(factory.django.DjangoModelFactory):
    """A payment row only (the invoice's amount_paid is not changed: use payment_record)."""

    class Meta:
        model = models.Payment

    invoice = factory.SubFactory(InvoiceFactory, issued=True)
    amount = Decimal("100.00")
    currency = factory.SelfAttribute("invoice.currency")
    received_date = date(2026, 4, 15)
