"""The invoice run: DOMAIN.md's worked examples to the cent, exactly-once billing, outcomes."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import BilledItem, CapHold, Invoice, InvoiceLine, InvoiceRun, RunOutcome
from billing.services.runs import invoice_run_execute
from psa.models import Contract, Expense, ExpenseCategory, TimeEntry
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    ExpenseFactory,
    PersonFactory,
    ProjectFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
)

pytestmark = pytest.mark.django_db
CUT_OFF = date(2026, 3, 31)
D = Decimal


def run_now(legal_entity=None, cut_off=CUT_OFF) -> InvoiceRun:
    run = InvoiceRun.objects.create(legal_entity=legal_entity, cut_off=cut_off)
    return invoice_run_execute(run_id=run.pk, inline=True)


def time(task, person, hours, rate, day=date(2026, 3, 10), **kwargs):
    return TimeEntryFactory(task=task, person=person, hours=D(hours), work_date=day,
                            approved=True, bill_rate=D(rate), **kwargs)


@pytest.fixture
def tm_contract():
    client = ClientFactory(tax_rate=D("8.2500"), tax_jurisdiction="US-NY")
    contract = ContractFactory(client=client, expense_markup_percent=D("10.0000"))
    project = ProjectFactory(contract=contract, name="Platform")
    return contract, project, TaskFactory(project=project)


def test_the_tm_worked_example_to_the_cent(tm_contract):
    contract, project, task = tm_contract
    consultant = PersonFactory(role=RoleFactory(name="Consultant", level=2))
    senior = PersonFactory(role=RoleFactory(name="Senior Consultant", level=3))
    for day, hours in ((9, "8.00"), (10, "8.00"), (11, "8.00"), (12, "8.00"), (13, "5.50")):
        time(task, consultant, hours, "150.00", day=date(2026, 3, day))
    time(task, senior, "12.25", "200.00")
    ExpenseFactory(project=project, category=ExpenseCategory.LODGING, amount=D("420.00"),
                   status=Expense.Status.APPROVED)
    ExpenseFactory(project=project, category=ExpenseCategory.GROUND_TRANSPORT,
                   amount=D("35.50"), status=Expense.Status.APPROVED)

    run = run_now()

    invoice = Invoice.objects.get(contract=contract)
    amounts = sorted(invoice.lines.values_list("description", "amount"), key=lambda x: x[1])
    assert [amount for _, amount in amounts] == [D("39.05"), D("462.00"), D("2450.00"),
                                                 D("5625.00")]
    assert "Consultant 37.50 h" in amounts[3][0] and "12.25 h" in amounts[2][0]
    assert (invoice.subtotal, invoice.tax_amount, invoice.total) == (
        D("8576.05"), D("707.52"), D("9283.57"))
    assert run.status == InvoiceRun.Status.COMPLETED and run.invoices_created == 1
    assert RunOutcome.objects.get(run=run).reason == RunOutcome.Reason.CREATED
    assert not TimeEntry.objects.exclude(status=TimeEntry.Status.INVOICED).exists()
    assert not Expense.objects.exclude(status=Expense.Status.INVOICED).exists()
    assert BilledItem.objects.filter(invoice=invoice, line__isnull=True).count() == 0


def test_rerunning_creates_nothing_new_until_new_items_arrive(tm_contract):
    _, _, task = tm_contract
    person = PersonFactory()
    time(task, person, "8.00", "150.00")
    run_now()
    second = run_now()
    assert Invoice.objects.count() == 1
    assert RunOutcome.objects.get(run=second).reason == RunOutcome.Reason.NOTHING_NEW

    time(task, person, "2.00", "150.00", day=date(2026, 3, 11))
    run_now()
    assert Invoice.objects.count() == 2
    assert Invoice.objects.order_by("pk").last().subtotal == D("300.00")
    assert BilledItem.objects.filter(is_live=True).count() == 2


def test_the_cap_worked_example_holds_the_excess(tm_contract):
    contract, _, task = tm_contract
    Contract.objects.filter(pk=contract.pk).update(
        billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP, cap_amount=D("10000.00"))
    person = PersonFactory()
    for day in range(2, 8):  # 6 x 10 h x 150.00 = 9,000.00 billed to date
        time(task, person, "10.00", "150.00", day=date(2026, 2, day))
    run_now(cut_off=date(2026, 2, 28))
    time(task, person, "10.00", "150.00")  # 1,500.00 new

    run = run_now()

    invoice = Invoice.objects.order_by("pk").last()
    lines = dict(invoice.lines.values_list("kind", "amount"))
    assert lines == {InvoiceLine.Kind.TIME: D("1500.00"),
                     InvoiceLine.Kind.CAP_ADJUSTMENT: D("-500.00")}
    assert invoice.subtotal == D("1000.00")
    hold = CapHold.objects.get(contract=contract)
    assert (hold.amount, hold.status) == (D("500.00"), CapHold.Status.HELD)
    assert RunOutcome.objects.get(run=run).reason == RunOutcome.Reason.OVER_CAP


def test_a_lifted_cap_bills_the_held_amount_as_previously_held(tm_contract):
    contract, _, task = tm_contract
    Contract.objects.filter(pk=contract.pk).update(
        billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP, cap_amount=D("1000.00"))
    person = PersonFactory()
    time(task, person, "5.00", "150.00")
    time(task, person, "5.00", "150.00", day=date(2026, 3, 11))
    run_now()
    assert CapHold.objects.get().amount == D("500.00")
    Contract.objects.filter(pk=contract.pk).update(cap_amount=D("2000.00"))
    time(task, PersonFactory(), "2.00", "150.00")

    run_now()

    invoice = Invoice.objects.order_by("pk").last()
    assert dict(invoice.lines.values_list("kind", "amount")) == {
        InvoiceLine.Kind.TIME: D("300.00"), InvoiceLine.Kind.PREVIOUSLY_HELD: D("500.00")}
    assert CapHold.objects.get().status == CapHold.Status.BILLED


def test_fixed_fee_time_is_never_billed_and_missing_tax_is_an_exception():
    fixed = ContractFactory(billing_model=Contract.BillingModel.FIXED_MILESTONES,
                            client=ClientFactory(tax_jurisdiction="US-NY"))
    time(TaskFactory(project=ProjectFactory(contract=fixed)), PersonFactory(), "8.00", "150.00")
    untaxed = ContractFactory(client=ClientFactory(tax_rate=D("0"), tax_jurisdiction=""))
    time(TaskFactory(project=ProjectFactory(contract=untaxed)), PersonFactory(), "8.00", "150")

    run = run_now()

    assert not Invoice.objects.exists()
    reasons = dict(RunOutcome.objects.filter(run=run).values_list("contract_id", "reason"))
    assert reasons == {fixed.pk: RunOutcome.Reason.NOTHING_NEW,
                       untaxed.pk: RunOutcome.Reason.MISSING_TAX}
    assert TimeEntry.objects.filter(status=TimeEntry.Status.APPROVED).count() == 2


def test_a_redelivered_client_task_keeps_the_outcome_and_bills_nothing_twice(tm_contract):
    from billing.services.runs import invoice_run_clients

    contract, _, task = tm_contract
    time(task, PersonFactory(), "8.00", "150.00")
    run = run_now()

    invoice_run_clients(run_id=run.pk, client_ids=[contract.client_id])  # delivered again

    outcome = RunOutcome.objects.get(run=run)
    assert outcome.reason == RunOutcome.Reason.CREATED and outcome.invoice is not None
    assert Invoice.objects.count() == 1 and BilledItem.objects.count() == 1


def test_the_sweep_resumes_a_run_whose_client_tasks_were_lost(tm_contract, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from billing.services import runs

    contract, _, task = tm_contract
    time(task, PersonFactory(), "8.00", "150.00")
    run = InvoiceRun.objects.create(cut_off=CUT_OFF)
    sent = []
    monkeypatch.setattr(runs, "_dispatch",
                        lambda run_id, client_ids, inline: sent.append(client_ids))
    runs.invoice_run_execute(run_id=run.pk)  # its messages never arrive
    assert sent == [[contract.client_id]]
    monkeypatch.undo()

    assert runs.invoice_runs_sweep() == 0  # not stale yet
    resumed = runs.invoice_runs_sweep(now=timezone.now() + timedelta(minutes=11))
    assert resumed == 1  # sent to the broker again; here we run what it would run
    runs.invoice_run_clients(run_id=run.pk, client_ids=[contract.client_id])

    run.refresh_from_db()
    assert run.status == InvoiceRun.Status.COMPLETED and run.invoices_created == 1


def test_the_sweep_resends_a_queued_run_whose_message_was_lost(tm_contract):
    from datetime import timedelta

    from django.utils import timezone

    from billing.services import runs

    run = InvoiceRun.objects.create(cut_off=CUT_OFF)  # queued; its message never arrived
    later = timezone.now() + timedelta(minutes=11)

    assert runs.invoice_runs_sweep(now=later) == 1
    assert runs.invoice_runs_sweep(now=later) == 0  # just sent again: not stale any more
    run.refresh_from_db()
    assert run.status == InvoiceRun.Status.QUEUED and run.updated_at >= later
