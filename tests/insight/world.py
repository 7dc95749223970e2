"""A small firm for the dashboard's page, API and query-count tests: two legal entities (US in
USD, UK in GBP), signed contracts with projects, approved and invoiced time, an issued invoice,
and a GBP→USD rate. `grow(n)` adds n more of everything, to show the query count stays put."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from billing.models import Invoice
from psa.models import ExchangeRate, LegalEntity, TimeEntry
from tests.billing.factories import BilledItemFactory, InvoiceFactory, InvoiceLineFactory
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    LegalEntityFactory,
    PersonFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
)

MONTH = date(2026, 3, 1)


@dataclass
class World:
    us: LegalEntity
    uk: LegalEntity


def _aware(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def add_engagement(entity: LegalEntity, index: int) -> None:
    """A client, a contract signed in February, a project, a consultant with approved time in
    February and March, part of it invoiced on an issued March invoice."""
    client = ClientFactory(legal_entity=entity, currency=entity.base_currency,
                           name=f"{entity.code} client {index}")
    contract = ContractFactory(client=client, signed_date=date(2026, 2, 10),
                               value_amount=Decimal("50000.00"))
    project = ProjectFactory(contract=contract, service_line="Cloud" if index % 2 else "Data")
    person = PersonFactory(legal_entity=entity, last_name=f"Consultant{entity.code}{index}")
    task = TaskFactory(project=project)
    for day in (date(2026, 2, 10), date(2026, 3, 10), date(2026, 3, 11)):
        TimeEntryFactory(person=person, task=task, work_date=day, approved=True,
                         bill_currency=entity.base_currency, cost_currency=entity.base_currency,
                         approved_at=_aware(day))
    invoice = InvoiceFactory(contract=contract, issued=True, issue_date=date(2026, 3, 31),
                             status=Invoice.Status.ISSUED)
    line = InvoiceLineFactory(invoice=invoice, project=project)
    BilledItemFactory(line=line, time_entry=TimeEntryFactory(
        person=person, task=task, work_date=date(2026, 3, 12), approved=True,
        status=TimeEntry.Status.INVOICED, bill_currency=entity.base_currency,
        cost_currency=entity.base_currency, approved_at=_aware(date(2026, 3, 12))))
    invoice.subtotal = invoice.total = line.amount
    invoice.save(update_fields=["subtotal", "total"])


def build_world(engagements: int = 1) -> World:
    us = LegalEntityFactory(code="US")
    uk = LegalEntityFactory(code="UK", name="Northwind UK Ltd", country="GB",
                            base_currency="GBP", invoice_prefix="UK", time_zone="Europe/London")
    ExchangeRate.objects.create(from_currency="GBP", to_currency="USD", month=date(2025, 1, 1),
                                rate=Decimal("1.25"))
    for index in range(engagements):
        add_engagement(us, index)
        add_engagement(uk, index)
    return World(us=us, uk=uk)
