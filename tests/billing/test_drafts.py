"""Finance's review of drafts: write-downs, holding items back, deleting a draft."""

from datetime import date
from decimal import Decimal

import pytest

from billing.errors import InvoiceStateError, InvoiceValidationError
from billing.models import BilledItem, CapHold, HeldItem, Invoice, InvoiceLine, InvoiceRun
from billing.services.drafts import (
    draft_delete,
    hold_release,
    item_hold,
    line_adjust,
    line_describe,
)
from billing.services.runs import invoice_run_execute
from psa.models import Contract, TimeEntry
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    PersonFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal


def run_now() -> InvoiceRun:
    run = InvoiceRun.objects.create(cut_off=date(2026, 3, 31))
    return invoice_run_execute(run_id=run.pk, inline=True)


@pytest.fixture
def draft():
    contract = ContractFactory(client=ClientFactory(tax_jurisdiction="US-NY",
                                                    tax_rate=D("10.0000")))
    task = TaskFactory(project=ProjectFactory(contract=contract))
    person = PersonFactory()
    for day in (9, 10, 11):
        TimeEntryFactory(task=task, person=person, work_date=date(2026, 3, day), approved=True)
    run_now()
    return Invoice.objects.get()


def test_a_write_down_needs_a_reason_and_changes_the_totals(draft):
    line = draft.lines.get()
    actor = UserFactory()
    with pytest.raises(InvoiceValidationError) as error:
        line_adjust(line=line, actor=actor, adjustment=D("-100"), reason="")
    assert error.value.attr == "adjustment_reason"
    with pytest.raises(InvoiceValidationError):
        line_adjust(line=line, actor=actor, adjustment=D("-4000"), reason="goodwill")

    line_adjust(line=line, actor=actor, adjustment=D("-100.004"), reason="goodwill",
                note="first month")

    line.refresh_from_db()
    draft.refresh_from_db()
    assert (line.base_amount, line.adjustment, line.amount) == (D("3600.00"), D("-100.00"),
                                                                D("3500.00"))
    assert (draft.subtotal, draft.tax_amount, draft.total) == (D("3500.00"), D("350.00"),
                                                               D("3850.00"))
    line_describe(line=line, actor=actor, description="Platform build, March")
    assert InvoiceLine.objects.get(pk=line.pk).description == "Platform build, March"


def test_holding_an_item_reprices_its_line_and_keeps_it_out_of_the_next_run(draft):
    item = BilledItem.objects.filter(invoice=draft).order_by("time_entry__work_date").first()
    held = item_hold(item=item, actor=UserFactory(), reason="client disputes the day")

    draft.refresh_from_db()
    line = draft.lines.get()
    assert (line.quantity, line.amount, draft.subtotal) == (D("16.00"), D("2400.00"),
                                                            D("2400.00"))
    assert TimeEntry.objects.get(pk=held.time_entry_id).status == TimeEntry.Status.APPROVED
    run_now()
    assert Invoice.objects.count() == 1
    hold_release(held=held, actor=UserFactory())
    run_now()
    assert Invoice.objects.count() == 2 and not HeldItem.objects.exists()


def test_deleting_a_draft_releases_its_items_and_its_cap_hold():
    contract = ContractFactory(client=ClientFactory(tax_jurisdiction="US-NY"),
                               billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP,
                               cap_amount=D("1000.00"))
    TimeEntryFactory(task=TaskFactory(project=ProjectFactory(contract=contract)), approved=True)
    run_now()
    invoice = Invoice.objects.get()
    assert CapHold.objects.get().amount == D("200.00")

    draft_delete(invoice=invoice, actor=UserFactory())

    assert not Invoice.objects.exists() and not CapHold.objects.exists()
    assert not BilledItem.objects.exists()
    assert TimeEntry.objects.get().status == TimeEntry.Status.APPROVED
    run_now()
    assert Invoice.objects.get().subtotal == D("1000.00")


def test_only_drafts_change(draft):
    Invoice.objects.filter(pk=draft.pk).update(status=Invoice.Status.APPROVED)
    with pytest.raises(InvoiceStateError):
        line_adjust(line=draft.lines.get(), actor=UserFactory(), adjustment=D("-1"),
                    reason="goodwill")
    with pytest.raises(InvoiceStateError):
        draft_delete(invoice=draft, actor=UserFactory())


def test_a_held_amount_is_written_off_with_a_reason_and_never_billed():
    from billing.errors import BillingTermsError
    from billing.services.cap_holds import cap_hold_write_off

    contract = ContractFactory(client=ClientFactory(tax_jurisdiction="US-NY"),
                               billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP,
                               cap_amount=D("1000.00"))
    TimeEntryFactory(task=TaskFactory(project=ProjectFactory(contract=contract)), approved=True)
    run_now()
    hold = CapHold.objects.get()
    with pytest.raises(BillingTermsError):
        cap_hold_write_off(hold=hold, actor=UserFactory(), reason=" ")

    cap_hold_write_off(hold=hold, actor=UserFactory(), reason="agreed with the client")

    Contract.objects.filter(pk=contract.pk).update(cap_amount=D("5000.00"))
    TimeEntryFactory(task=TaskFactory(project=ProjectFactory(contract=contract)), approved=True,
                     work_date=date(2026, 3, 12))
    run_now()
    latest = Invoice.objects.order_by("pk").last()
    assert not latest.lines.filter(kind=InvoiceLine.Kind.PREVIOUSLY_HELD).exists()
    assert CapHold.objects.get().status == CapHold.Status.WRITTEN_OFF
