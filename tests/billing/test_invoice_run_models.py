"""Every billing model through the invoice run: milestones, installments, retainers,
consolidated invoices and rounding policies."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.models import BilledItem, Installment, Invoice, InvoiceLine, InvoiceRun, RoundingPolicy
from billing.services.drafting import draft_milestone_invoice
from billing.services.runs import invoice_run_execute
from billing.subscribers import draft_milestone_invoice_on_event
from psa.models import Contract, Milestone, OutboxEvent, TimeEntry
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    MilestoneFactory,
    PersonFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal


def run_now(cut_off=date(2026, 3, 31)) -> InvoiceRun:
    run = InvoiceRun.objects.create(cut_off=cut_off)
    return invoice_run_execute(run_id=run.pk, inline=True)


def contract_of(model, **kwargs):
    client = kwargs.pop("client", None) or ClientFactory(tax_jurisdiction="US-NY")
    return ContractFactory(client=client, billing_model=model, **kwargs)


def test_installments_bill_when_due_once_each():
    contract = contract_of(Contract.BillingModel.FIXED_INSTALLMENTS, value_amount=D("10000.00"))
    for n, (due, amount) in enumerate(((date(2026, 1, 31), "3333.33"),
                                       (date(2026, 2, 28), "3333.33"),
                                       (date(2026, 4, 30), "3333.34")), start=1):
        Installment.objects.create(contract=contract, sequence=n, due_date=due, amount=D(amount))

    run_now()
    run_now()

    invoice = Invoice.objects.get()
    assert list(invoice.lines.values_list("kind", "amount")) == [
        (InvoiceLine.Kind.INSTALLMENT, D("3333.33")), (InvoiceLine.Kind.INSTALLMENT, D("3333.33"))]
    assert "Installment 1 of 3" in invoice.lines.first().description
    run_now(cut_off=date(2026, 4, 30))
    assert Invoice.objects.count() == 2
    assert Invoice.objects.order_by("pk").last().subtotal == D("3333.34")


def test_accepted_milestones_bill_and_the_event_drafts_the_invoice_once():
    contract = contract_of(Contract.BillingModel.FIXED_MILESTONES)
    project = ProjectFactory(contract=contract)
    accepted = MilestoneFactory(project=project, amount=D("25000.00"), name="Design signed off",
                                status=Milestone.Status.ACCEPTED,
                                accepted_at=datetime(2026, 3, 5, 12, tzinfo=UTC))
    MilestoneFactory(project=project, completed=True)  # waits for acceptance
    event = OutboxEvent(type="milestone.accepted", payload={"milestone_id": accepted.pk})

    draft_milestone_invoice_on_event(event)
    draft_milestone_invoice_on_event(event)  # delivered twice: nothing new
    run_now()  # and the run finds nothing left

    invoice = Invoice.objects.get()
    assert list(invoice.lines.values_list("description", "amount")) == [
        ("Milestone: Design signed off", D("25000.00"))]
    accepted.refresh_from_db()
    assert accepted.status == Milestone.Status.INVOICED
    assert draft_milestone_invoice(milestone=accepted) is None


def test_retainer_bills_each_ended_month_with_overage_beyond_included_hours():
    contract = contract_of(Contract.BillingModel.RETAINER, retainer_amount=D("5000.00"),
                           retainer_included_hours=D("20.00"),
                           start_date=date(2026, 2, 1))
    task = TaskFactory(project=ProjectFactory(contract=contract))
    person = PersonFactory()
    for day in (2, 3, 4):  # 24 h in February: 4 h overage at 150.00
        TimeEntryFactory(task=task, person=person, work_date=date(2026, 2, day), approved=True)
    TimeEntryFactory(task=task, person=person, work_date=date(2026, 3, 2), approved=True)

    run_now(cut_off=date(2026, 3, 15))  # February has ended, March has not

    invoice = Invoice.objects.get()
    assert list(invoice.lines.values_list("kind", "amount")) == [
        (InvoiceLine.Kind.RETAINER, D("5000.00")), (InvoiceLine.Kind.RETAINER_OVERAGE, D("600.00"))]
    assert TimeEntry.objects.get(work_date=date(2026, 3, 2)).status == TimeEntry.Status.APPROVED
    run_now(cut_off=date(2026, 3, 31))
    march = Invoice.objects.order_by("pk").last()
    assert list(march.lines.values_list("kind", "amount")) == [
        (InvoiceLine.Kind.RETAINER, D("5000.00"))]
    assert march.lines.get().items.filter(time_entry__isnull=False).count() == 1


def test_a_consolidated_client_gets_one_invoice_for_its_contracts():
    client = ClientFactory(tax_jurisdiction="US-NY", consolidated_invoicing=True)
    person = PersonFactory()
    for _ in range(2):
        contract = ContractFactory(client=client)
        TimeEntryFactory(task=TaskFactory(project=ProjectFactory(contract=contract)),
                         person=person, approved=True)

    run = run_now()

    invoice = Invoice.objects.get()
    assert invoice.contract is None and invoice.lines.count() == 2
    assert invoice.subtotal == D("2400.00")
    assert run.outcomes.filter(invoice=invoice).count() == 2


@pytest.mark.parametrize(("increment", "method", "scope", "billed"), [
    (6, RoundingPolicy.Method.UP, RoundingPolicy.Scope.ENTRY, ["0.30", "1.10", "0.30"]),
    (15, RoundingPolicy.Method.UP, RoundingPolicy.Scope.ENTRY, ["0.25", "1.25", "0.25"]),
    (15, RoundingPolicy.Method.NEAREST, RoundingPolicy.Scope.ENTRY, ["0.25", "1.00", "0.25"]),
    # per person, day and project: 0.25 + 1.05 = 1.30 -> 1.50, the first entry takes +0.20
    (15, RoundingPolicy.Method.UP, RoundingPolicy.Scope.PERSON_DAY_PROJECT,
     ["0.45", "1.05", "0.25"]),
])
def test_rounding_policies_keep_raw_hours_and_round_billed_hours(increment, method, scope,
                                                                 billed):
    contract = contract_of(Contract.BillingModel.TIME_AND_MATERIALS)
    RoundingPolicy.objects.create(client=contract.client, increment_minutes=increment,
                                  method=method, scope=scope)
    project = ProjectFactory(contract=contract)
    person = PersonFactory()
    tasks = [TaskFactory(project=project) for _ in range(2)]
    raw = [(tasks[0], date(2026, 3, 10), "0.25"), (tasks[1], date(2026, 3, 10), "1.05"),
           (tasks[0], date(2026, 3, 11), "0.25")]
    entries = [TimeEntryFactory(task=task, person=person, work_date=day, hours=D(hours),
                                approved=True) for task, day, hours in raw]

    run_now()

    items = {item.time_entry_id: item for item in BilledItem.objects.all()}
    assert [items[e.pk].raw_hours for e in entries] == [D(h) for *_, h in raw]
    assert [items[e.pk].billed_hours for e in entries] == [D(b) for b in billed]
    line = InvoiceLine.objects.get()
    assert line.quantity == sum((D(b) for b in billed), D("0"))
    assert line.amount == (line.quantity * D("150")).quantize(D("0.01"))
