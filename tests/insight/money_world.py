"""A seeded firm for the money measures: two legal entities (US in USD, UK in GBP), contracts
signed in different months, change orders, recognition entries and plans, time, expenses and
milestones approved, billed and not, invoices issued, paid and credited.

`seed_money_world(copies=n)` repeats the same firm n times under other codes (the query
count tests compare 1 and 5 copies). Months are 2026 unless said otherwise; the dashboard
window used by the tests ends in April 2026. At the end: plain SQL readers (cursor, table
names from `_meta.db_table`, no ORM) that the tests compare the measures with.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connection

from billing.models import BilledItem, Invoice, Payment
from insight.selectors.scope import month_end
from psa.common.money import quantize
from psa.models import (
    ChangeOrder,
    Contract,
    ExchangeRate,
    Expense,
    LegalEntity,
    Milestone,
    Project,
    TimeEntry,
)
from revenue.models import RecognitionEntry, RecognitionRun, RevenueSchedule, ScheduleLine
from tests.billing.factories import CreditNoteFactory, InvoiceFactory
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    ExpenseFactory,
    LegalEntityFactory,
    MilestoneFactory,
    PersonFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
)

D = Decimal
S = TimeEntry.Status
BM = Contract.BillingModel
# GBP→USD: January's rate holds until March's is stored (RateTable takes the latest on or
# before the month).
GBP_USD = {date(2026, 1, 1): D("1.25000000"), date(2026, 3, 1): D("1.27000000"),
           date(2026, 4, 1): D("1.26550000")}


def gbp_rate(month: date) -> Decimal:
    """The GBP→USD rate the world stores for `month` (the latest on or before it)."""
    return GBP_USD[max(start for start in GBP_USD if start <= month)]


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def uk_entity() -> LegalEntity:
    return LegalEntityFactory(code="UK", name="Northwind UK Ltd", country="GB",
                              base_currency="GBP", time_zone="Europe/London")


def us_entity() -> LegalEntity:
    return LegalEntityFactory(code="US")


def store_rates() -> None:
    for month, rate in GBP_USD.items():
        ExchangeRate.objects.get_or_create(from_currency="GBP", to_currency="USD", month=month,
                                           defaults={"rate": rate})


@dataclass
class Firm:
    """One copy of the firm: its contracts by letter."""

    contracts: dict[str, Contract] = field(default_factory=dict)


class _Seeder:
    def __init__(self, copy: int) -> None:
        self.copy = copy
        self.us, self.uk = us_entity(), uk_entity()
        self.us_client = ClientFactory(legal_entity=self.us, name=f"Acme {copy}")
        self.uk_client = ClientFactory(legal_entity=self.uk, name=f"Britco {copy}",
                                       tax_rate=D("20.0000"))
        self.us_person = PersonFactory(legal_entity=self.us)
        self.uk_person = PersonFactory(legal_entity=self.uk)
        self.runs: dict[tuple[int, date], RecognitionRun] = {}
        self.firm = Firm()

    def contract(self, letter: str, client: object, **kwargs: object) -> Contract:
        contract = ContractFactory(code=f"{letter}{self.copy:03d}", client=client, **kwargs)
        self.firm.contracts[letter] = contract
        return contract

    def change(self, contract: Contract, amount: str, effective: date,
               status: str = ChangeOrder.Status.APPROVED) -> None:
        ChangeOrder.objects.create(contract=contract, reference=f"CO-{effective:%m%d}-{status}",
                                   value_change_amount=D(amount), effective_date=effective,
                                   status=status)

    def recognise(self, contract: Contract, month: date, amount: str) -> None:
        key = (contract.legal_entity_id, month)
        if key not in self.runs:
            self.runs[key] = RecognitionRun.objects.create(legal_entity=contract.legal_entity,
                                                           period=month)
        RecognitionEntry.objects.create(run=self.runs[key], contract=contract, month=month,
                                        amount=D(amount), currency=contract.currency,
                                        cumulative_amount=D(0))

    def plan(self, contract: Contract, lines: dict[date, str]) -> None:
        schedule = RevenueSchedule.objects.create(contract=contract,
                                                  method=contract.revenue_method,
                                                  currency=contract.currency,
                                                  value_amount=contract.value_amount)
        for month, amount in lines.items():
            ScheduleLine.objects.create(schedule=schedule, month=month,
                                        planned_amount=D(amount))

    def invoice(self, contract: Contract, issued: date | None, subtotal: str, tax: str,
                **kwargs: object) -> Invoice:
        traits = {"issued": True, "issue_date": issued} if issued else {}
        return InvoiceFactory(contract=contract, subtotal=D(subtotal), tax_amount=D(tax),
                              total=D(subtotal) + D(tax), **traits, **kwargs)

    def pay(self, invoice: Invoice, *payments: tuple[str, date]) -> None:
        for amount, received in payments:
            Payment.objects.create(invoice=invoice, amount=D(amount), currency=invoice.currency,
                                   received_date=received)
            invoice.amount_paid += D(amount)
        invoice.status = (Invoice.Status.PAID if invoice.amount_paid == invoice.total
                          else Invoice.Status.PARTIALLY_PAID)
        invoice.save()

    def credit(self, invoice: Invoice, issued: date, subtotal: str, tax: str) -> Invoice:
        return CreditNoteFactory(credited_invoice=invoice, issued=True, issue_date=issued,
                                 subtotal=D(subtotal), tax_amount=D(tax),
                                 total=D(subtotal) + D(tax))


def _time(task: object, person: object, worked: date, hours: str, status: str = S.APPROVED,
          approved: date | None = None, bill: tuple[str, str] = ("150.0000", "USD"),
          cost: tuple[str, str] = ("80.0000", "USD")) -> TimeEntry:
    return TimeEntryFactory(task=task, person=person, work_date=worked, hours=D(hours),
                            status=status, bill_rate=D(bill[0]), bill_currency=bill[1],
                            cost_rate=D(cost[0]), cost_currency=cost[1],
                            approved_at=at(approved) if approved else None)


def _link(invoice: Invoice, live: bool = True, **source: object) -> None:
    BilledItem.objects.create(invoice=invoice, is_live=live, **source)


def _seed_contracts(s: _Seeder) -> None:
    a = s.contract("A", s.us_client, signed_date=date(2026, 1, 20),
                   value_amount=D("110000.00"))
    s.change(a, "10000.00", date(2026, 3, 5))
    s.change(a, "5000.00", date(2026, 3, 6), ChangeOrder.Status.PENDING)
    s.change(a, "7000.00", date(2026, 2, 6), ChangeOrder.Status.REJECTED)
    b = s.contract("B", s.us_client, signed_date=date(2026, 2, 10), value_amount=D("45000.00"),
                   billing_model=BM.FIXED_MILESTONES,
                   revenue_method=Contract.RevenueMethod.MILESTONE)
    s.change(b, "-5000.00", date(2026, 4, 15))
    c = s.contract("C", s.uk_client, signed_date=date(2026, 3, 3), value_amount=D("88000.00"),
                   expense_markup_percent=D("7.5000"))
    s.change(c, "8000.00", date(2026, 3, 25))
    d = s.contract("D", s.us_client, signed_date=date(2025, 3, 1), value_amount=D("30000.00"),
                   status=Contract.Status.COMPLETED)
    s.contract("E", s.us_client, signed_date=date(2026, 2, 1), value_amount=D("999.00"),
               status=Contract.Status.DRAFT)
    f = s.contract("F", s.us_client, signed_date=date(2026, 3, 1), value_amount=D("5000.00"),
                   status=Contract.Status.CANCELLED)
    s.contract("G", s.us_client, signed_date=None, value_amount=D("7000.00"))

    for month, amount in ((1, "5000.00"), (2, "12000.00"), (3, "15000.00"), (4, "9000.00")):
        s.recognise(a, date(2026, month, 1), amount)
    s.recognise(b, date(2026, 2, 1), "20000.00")
    s.recognise(b, date(2026, 3, 1), "15000.00")
    s.recognise(c, date(2026, 3, 1), "7000.55")
    s.recognise(c, date(2026, 4, 1), "6000.10")
    s.recognise(d, date(2025, 6, 1), "20000.00")
    s.recognise(d, date(2025, 7, 1), "10000.00")
    s.recognise(f, date(2026, 3, 1), "100.00")
    s.plan(a, {date(2026, 2, 1): "10000.00", date(2026, 3, 1): "14000.00",
               date(2026, 4, 1): "10000.00"})
    s.plan(b, {date(2026, 2, 1): "20000.00", date(2026, 3, 1): "15000.00"})
    s.plan(c, {date(2026, 3, 1): "7000.00", date(2026, 4, 1): "7000.00"})


def _seed_billing(s: _Seeder) -> None:
    a, b, c, d = (s.firm.contracts[letter] for letter in "ABCD")
    a1 = s.invoice(a, date(2026, 3, 5), "1200.00", "99.00")
    s.pay(a1, ("500.00", date(2026, 3, 20)), ("799.00", date(2026, 4, 15)))
    a2 = s.invoice(a, date(2026, 3, 31), "1000.00", "82.50")
    s.credit(a2, date(2026, 4, 5), "100.00", "8.25")
    a3 = s.invoice(a, date(2026, 4, 10), "600.00", "49.50")
    draft = s.invoice(a, None, "450.00", "37.13")
    s.invoice(a, None, "5000.00", "0.00", status=Invoice.Status.VOID)
    b1 = s.invoice(b, date(2026, 3, 10), "20000.00", "0.00", tax_rate=D(0))
    s.pay(b1, ("10000.00", date(2026, 4, 20)))
    c1 = s.invoice(c, date(2026, 2, 15), "5000.00", "1000.00")
    s.pay(c1, ("6000.00", date(2026, 3, 15)))
    c2 = s.invoice(c, date(2026, 3, 28), "960.00", "192.00")
    s.credit(c2, date(2026, 3, 30), "126.67", "25.33")
    s.invoice(d, date(2025, 8, 1), "3000.00", "247.50")

    # Time on A (USD) and C (GBP); tasks per project.
    a_project = ProjectFactory(contract=a, code=f"PA{s.copy:03d}", service_line="Cloud")
    c_project = ProjectFactory(contract=c, code=f"PC{s.copy:03d}", service_line="Data")
    b_project = ProjectFactory(contract=b, code=f"PB{s.copy:03d}", service_line="Data")
    a_task, c_task = TaskFactory(project=a_project), TaskFactory(project=c_project)
    a_admin = TaskFactory(project=a_project, is_billable=False)
    us, uk = s.us_person, s.uk_person
    t1 = _time(a_task, us, date(2026, 2, 10), "8.00", S.INVOICED, date(2026, 2, 12))
    _link(a1, time_entry=t1)
    _time(a_task, us, date(2026, 3, 10), "7.50", approved=date(2026, 3, 13))
    _time(a_task, us, date(2026, 3, 30), "6.25", approved=date(2026, 4, 2))
    _time(a_task, us, date(2026, 3, 11), "4.00", S.WRITTEN_OFF, date(2026, 3, 13))
    _time(a_admin, us, date(2026, 3, 12), "2.00", approved=date(2026, 3, 13))
    TimeEntryFactory(task=a_task, person=us, work_date=date(2026, 3, 12), hours=D("5.00"),
                     status=S.SUBMITTED)
    t7 = _time(a_task, us, date(2026, 3, 16), "3.00", approved=date(2026, 3, 17))
    _link(draft, time_entry=t7)
    t8 = _time(a_task, us, date(2026, 3, 5), "4.00", S.INVOICED, date(2026, 3, 6))
    _link(a3, time_entry=t8)
    gbp = ("120.0000", "GBP")
    _time(c_task, uk, date(2026, 3, 4), "8.00", approved=date(2026, 3, 6), bill=gbp,
          cost=("60.0000", "GBP"))
    _time(c_task, uk, date(2026, 4, 7), "7.75", approved=date(2026, 4, 8),
          bill=("123.4567", "GBP"), cost=("61.1111", "GBP"))
    _time(c_task, us, date(2026, 3, 18), "6.00", approved=date(2026, 3, 19), bill=gbp,
          cost=("85.0000", "USD"))

    def expense(project: object, person: object, spent: date, category: str, amount: str,
                status: str = S.APPROVED, billable: bool = True) -> object:
        return ExpenseFactory(project=project, person=person, expense_date=spent,
                              category=category, amount=D(amount), status=status,
                              is_billable=billable, approved_at=at(spent, 15))

    expense(a_project, us, date(2026, 3, 11), "lodging", "420.00")
    e2 = expense(a_project, us, date(2026, 3, 11), "ground_transport", "35.50", S.INVOICED)
    _link(a2, expense=e2, amount=D("35.50"))
    expense(a_project, us, date(2026, 3, 12), "meals", "33.33", billable=False)
    expense(a_project, us, date(2026, 3, 20), "lodging", "100.01")
    e6 = expense(a_project, us, date(2026, 3, 5), "ground_transport", "50.00")
    _link(a2, live=False, expense=e6, amount=D("50.00"))
    expense(a_project, us, date(2026, 2, 27), "airfare", "310.00", S.WRITTEN_OFF)
    expense(c_project, uk, date(2026, 3, 12), "airfare", "250.55")

    m1 = MilestoneFactory(project=b_project, amount=D("20000.00"),
                          status=Milestone.Status.INVOICED, completed_at=at(date(2026, 2, 20)),
                          accepted_at=at(date(2026, 2, 25)))
    _link(b1, milestone=m1, amount=D("20000.00"))
    MilestoneFactory(project=b_project, amount=D("15000.00"), status=Milestone.Status.ACCEPTED,
                     completed_at=at(date(2026, 3, 18)), accepted_at=at(date(2026, 3, 20)))
    MilestoneFactory(project=b_project, amount=D("7500.00"), status=Milestone.Status.COMPLETED,
                     requires_acceptance=False, completed_at=at(date(2026, 4, 5)))
    MilestoneFactory(project=b_project, amount=D("2500.00"), status=Milestone.Status.COMPLETED,
                     completed_at=at(date(2026, 3, 2)))


def seed_money_world(*, copies: int = 1, rates: bool = True) -> list[Firm]:
    """`copies` copies of the firm (and the GBP→USD rates unless `rates` is false)."""
    if rates:
        store_rates()
    firms = []
    for copy in range(copies):
        seeder = _Seeder(copy)
        _seed_contracts(seeder)
        _seed_billing(seeder)
        firms.append(seeder.firm)
    return firms


# ---- plain SQL over the world (what the tests compare the measures with) ----------------

CONTRACT, CHANGE, ENTRY = (Contract._meta.db_table, ChangeOrder._meta.db_table,
                           RecognitionEntry._meta.db_table)
SCHEDULE, LINE = RevenueSchedule._meta.db_table, ScheduleLine._meta.db_table
TIME, EXPENSE, PROJECT = (TimeEntry._meta.db_table, Expense._meta.db_table,
                          Project._meta.db_table)
MILESTONE, ITEM = Milestone._meta.db_table, BilledItem._meta.db_table
INVOICE, PAYMENT = Invoice._meta.db_table, Payment._meta.db_table
BOOKED = "c.status NOT IN ('draft', 'cancelled')"
ACTIVE = "c.status = 'active'"  # backlog counts active contracts only
ISSUED = "('issued', 'partially_paid', 'paid')"


def exact(value: object, places: int = 2) -> Decimal:
    return D(str(value or 0)).quantize(D(1).scaleb(-places))


def sql(query: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def per_currency(query: str, params: list, places: int = 2) -> dict[str, Decimal]:
    """Rows of (currency, sum) added up per currency."""
    totals: dict[str, Decimal] = {}
    for currency, amount in sql(query, params):
        totals[currency] = totals.get(currency, D(0)) + exact(amount, places)
    return totals


def entity_sql(alias: str, entity: object) -> tuple[str, list]:
    return (f" AND {alias}.legal_entity_id = %s", [entity.pk]) if entity else ("", [])


def instant_after(day: date) -> str:
    """The first instant after `day` (UTC, the test settings' zone) as SQL compares it."""
    following = date.fromordinal(day.toordinal() + 1)
    return f"{following.isoformat()} 00:00:00"


def combine(*parts: tuple[dict[str, Decimal], int]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for amounts, sign in parts:
        for currency, amount in amounts.items():
            totals[currency] = totals.get(currency, D(0)) + sign * amount
    return totals


def to_target(amounts: dict[str, Decimal], month: date, target: str) -> Decimal:
    """Each currency's sum times its rate into `target` (GBP→USD stored, USD→GBP its
    inverse), the total rounded once."""
    total = D(0)
    for currency, amount in amounts.items():
        if currency == target:
            total += amount
        elif (currency, target) == ("GBP", "USD"):
            total += amount * gbp_rate(month)
        else:
            total += amount * (D(1) / gbp_rate(month))
    return quantize(total, target)


def sql_receivable(month: date, entity: object) -> dict[str, Decimal]:
    where, params = entity_sql("i", entity)
    end = month_end(month)
    invoiced = per_currency(f"SELECT i.currency, SUM(i.total) FROM {INVOICE} i WHERE "
                            f"i.kind = 'invoice' AND i.status IN {ISSUED} AND i.issue_date <= %s"
                            f"{where} GROUP BY i.currency", [end, *params])
    paid = per_currency(f"SELECT i.currency, SUM(p.amount) FROM {PAYMENT} p JOIN {INVOICE} i ON "
                        f"i.id = p.invoice_id WHERE i.kind = 'invoice' AND i.status IN {ISSUED} "
                        f"AND i.issue_date <= %s AND p.received_date <= %s{where} "
                        "GROUP BY i.currency", [end, end, *params])
    credited = per_currency(
        f"SELECT n.currency, SUM(n.total) FROM {INVOICE} n JOIN {INVOICE} i ON "
        f"i.id = n.credited_invoice_id WHERE n.kind = 'credit_note' AND n.status IN {ISSUED} "
        f"AND n.issue_date <= %s AND i.kind = 'invoice' AND i.status IN {ISSUED} AND "
        f"i.issue_date <= %s{where} GROUP BY n.currency", [end, end, *params])
    return combine((invoiced, 1), (paid, -1), (credited, -1))


def sql_sales(month: date, entity: object) -> dict[str, Decimal]:
    """Subtotals of invoices less credit notes issued in the 90 days ending at month end."""
    where, params = entity_sql("i", entity)
    end = month_end(month)
    start = date.fromordinal(end.toordinal() - 89)
    rows = sql(f"SELECT i.currency, i.kind, SUM(i.subtotal) FROM {INVOICE} i WHERE i.status IN "
               f"{ISSUED} AND i.issue_date BETWEEN %s AND %s{where} GROUP BY i.currency, i.kind",
               [start, end, *params])
    return combine(*(({currency: exact(amount)}, 1 if kind == "invoice" else -1)
                     for currency, kind, amount in rows))
