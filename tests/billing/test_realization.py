"""Realization: standard value -> agreed -> billed (write-downs by reason, credits) -> collected."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import BilledItem, Invoice, InvoiceLine
from billing.selectors.realization import realization
from psa.models import Contract, TimeEntry
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    PersonFactory,
    ProjectFactory,
    ProjectMemberFactory,
    RateCardFactory,
    RateCardLineFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
START, END = date(2026, 3, 1), date(2026, 3, 31)
R = InvoiceLine.AdjustmentReason
_numbers = iter(range(1, 10_000))


def issued(contract, *, kind=Invoice.Kind.INVOICE, total="0.00", paid="0.00", **kwargs):
    return Invoice.objects.create(
        kind=kind, legal_entity=contract.legal_entity, client=contract.client,
        contract=contract, currency=contract.currency, status=Invoice.Status.ISSUED,
        number=f"X-{next(_numbers):06d}", subtotal=D(total), total=D(total),
        amount_paid=D(paid), **kwargs)


def time_line(invoice, entries, adjustment="0.00", reason=""):
    base = sum((e.hours * e.bill_rate for e in entries), D(0)).quantize(D("0.01"))
    line = InvoiceLine.objects.create(
        invoice=invoice, contract=invoice.contract, kind=InvoiceLine.Kind.TIME,
        description="time", base_amount=base, adjustment=D(adjustment),
        adjustment_reason=reason, amount=base + D(adjustment))
    for e in entries:
        BilledItem.objects.create(invoice=invoice, line=line, time_entry=e, raw_hours=e.hours,
                                  billed_hours=e.hours, rate=e.bill_rate)
    return line


def work(task, person, hours, rate, day, status=TimeEntry.Status.APPROVED):
    return TimeEntryFactory(task=task, person=person, hours=D(hours), bill_rate=D(rate),
                            work_date=day, approved=True, status=status)


@pytest.fixture
def world():
    consultant = RoleFactory(code="CONS", name="Consultant")
    senior = RoleFactory(code="SNR", name="Senior Consultant", level=3)
    standard = RateCardFactory(standard=True, code="STD-USD")
    RateCardLineFactory(rate_card=standard, role=consultant, hourly_rate=D("200.0000"))
    RateCardLineFactory(rate_card=standard, role=consultant, hourly_rate=D("220.0000"),
                        effective_from=date(2026, 3, 15))
    RateCardLineFactory(rate_card=standard, role=senior, hourly_rate=D("250.0000"))
    client = ClientFactory(name="Acme")
    contract = ContractFactory(client=client, code="CT-A", name="Platform")
    project = ProjectFactory(contract=contract)
    task = TaskFactory(project=project)
    ann = PersonFactory(first_name="Ann", last_name="Archer", role=consultant)
    bob = PersonFactory(first_name="Bob", last_name="Baker", role=consultant)
    ProjectMemberFactory(project=project, person=bob, role=senior)  # billed as a senior

    a1 = work(task, ann, "10.00", "150.0000", date(2026, 3, 2), TimeEntry.Status.INVOICED)
    a2 = work(task, ann, "10.00", "150.0000", date(2026, 3, 16), TimeEntry.Status.INVOICED)
    b1 = work(task, bob, "4.00", "180.0000", date(2026, 3, 3), TimeEntry.Status.INVOICED)
    work(task, ann, "2.00", "150.0000", date(2026, 3, 20))  # not billed yet
    work(task, ann, "8.00", "150.0000", date(2026, 4, 1))  # outside the range
    partner = PersonFactory(role=RoleFactory(code="PTR", name="Partner", level=5))
    work(task, partner, "1.00", "300.0000", date(2026, 3, 4))  # no standard line

    invoice = issued(contract, total="3500.00", paid="1750.00")
    time_line(invoice, [a1, a2], "-300.00", R.GOODWILL)
    bob_line = time_line(invoice, [b1], "80.00", R.NEGOTIATED)
    note = issued(contract, kind=Invoice.Kind.CREDIT_NOTE, total="100.00",
                  credited_invoice=invoice)
    InvoiceLine.objects.create(invoice=note, contract=contract, kind=InvoiceLine.Kind.CREDIT,
                               description="credit", base_amount=D("100.00"),
                               amount=D("100.00"), credited_line=bob_line)
    draft = Invoice.objects.create(legal_entity=contract.legal_entity, client=client,
                                   contract=contract, currency="USD")
    time_line(draft, [work(task, bob, "1.00", "180.0000", date(2026, 3, 5))])

    second = ContractFactory(client=client, code="CT-B", name="Support")
    work(TaskFactory(project=ProjectFactory(contract=second)), ann, "1.00", "100.0000",
         date(2026, 3, 6))
    fixed = ContractFactory(client=client, billing_model=Contract.BillingModel.FIXED_MILESTONES)
    work(TaskFactory(project=ProjectFactory(contract=fixed)), ann, "5.00", "150.0000",
         date(2026, 3, 6))
    return {"contract": contract, "second": second, "client": client, "ann": ann, "bob": bob}


class TestRealization:
    def test_contract_waterfall(self, world):
        rows = realization(start=START, end=END, group_by="contract")
        assert [row.label for row in rows] == ["CT-A · Platform", "CT-B · Support"]
        row = rows[0]
        # 10 x 200 + 10 x 220 + 4 x 250 (senior on the team) + 1 x 250 + 2 x 220
        assert row.standard_value == D("5890.00")
        assert (row.hours, row.unpriced_hours) == (D("28.00"), D("1.00"))
        assert row.agreed_value == D("4500.00")
        assert row.billed_hours == D("24.00")
        assert row.billed_base == D("3720.00")
        assert row.adjustments == {R.GOODWILL: D("-300.00"), R.NEGOTIATED: D("80.00")}
        assert row.credited == D("100.00")
        assert row.billed == D("3400.00")
        assert row.collected == D("1750.00")  # paid 1,750 of the 3,400 still owed
        assert row.realization_percent == D("57.7")

    def test_person_waterfall_shares_line_adjustments(self, world):
        rows = {row.key: row for row in realization(start=START, end=END, group_by="person")}
        ann, bob = rows[world["ann"].pk], rows[world["bob"].pk]
        assert ann.label == "Ann Archer"
        assert ann.standard_value == D("4840.00")  # 2,000 + 2,200 + 440 + 200 (CT-B)
        assert (ann.billed_base, ann.adjustments) == (D("3000.00"), {R.GOODWILL: D("-300.00")})
        assert ann.billed == D("2700.00")
        assert ann.collected == D("1389.71")
        assert (bob.standard_value, bob.billed_base, bob.credited) == (
            D("1250.00"), D("720.00"), D("100.00"))
        assert bob.billed == D("700.00")
        assert bob.collected == D("360.29")

    def test_client_rolls_up_its_contracts(self, world):
        (row,) = realization(start=START, end=END, group_by="client")
        assert (row.key, row.label) == (world["client"].pk, "Acme")
        assert row.standard_value == D("6090.00")
        assert row.billed == D("3400.00")

    def test_scope_and_arguments(self, world):
        assert realization(start=START, end=END, group_by="person",
                           actor=UserFactory(role="consultant")) == []
        assert len(realization(start=START, end=END, group_by="person",
                               actor=UserFactory(role="finance"))) == 3
        with pytest.raises(ValueError, match="group_by"):
            realization(start=START, end=END, group_by="project")
        assert realization(start=date(2025, 1, 1), end=date(2025, 1, 31),
                           group_by="contract") == []


@pytest.mark.parametrize("size", [3, 30])
def test_fixed_number_of_queries(size, django_assert_max_num_queries):
    role = RoleFactory()
    RateCardLineFactory(rate_card=RateCardFactory(standard=True), role=role,
                        hourly_rate=D("200.0000"))
    for _ in range(size):
        contract = ContractFactory()
        task = TaskFactory(project=ProjectFactory(contract=contract))
        entry = work(task, PersonFactory(role=role), "2.00", "150.0000", date(2026, 3, 2),
                     TimeEntry.Status.INVOICED)
        time_line(issued(contract, total="300.00", paid="300.00"), [entry], "-30.00", R.OTHER)
    # standard rate lines, standard value, billed items, credits (lines, invoices), labels
    with django_assert_max_num_queries(6):
        rows = realization(start=START, end=END, group_by="person")
    assert len(rows) == size
    assert {(row.billed, row.collected, row.realization_percent) for row in rows} == {
        (D("270.00"), D("270.00"), D("67.5"))}
