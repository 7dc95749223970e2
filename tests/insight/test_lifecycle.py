"""The lifecycle measures (insight/selectors/lifecycle*.py): each figure against plain SQL over
the same seeded rows (durations computed in Python from the raw timestamps), a few worked by
hand, the legal entity filter, time compliance against `psa.selectors.compliance`, and a
fixed number of queries whatever the size of the world."""

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice, InvoiceLine
from crm_sync.models import Connection, Deal, SyncRun
from insight.selectors.dashboard import build_scope
from insight.selectors.lifecycle import lifecycle
from insight.selectors.lifecycle_aging import BUCKETS
from insight.selectors.lifecycle_common import month_start_at
from insight.selectors.scope import add_months
from insight.selectors.types import ratio_percent
from insight.sql import DaysBetween
from psa.models import Delivery, ExchangeRate, LegalEntity, Milestone, OutboxEvent, TimeEntry
from psa.selectors.compliance import time_compliance
from resourcing.models import Assignment
from tests.billing.factories import (
    BilledItemFactory,
    CreditNoteFactory,
    InvoiceFactory,
    InvoiceLineFactory,
)
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
    TimeOffFactory,
)
from tests.resourcing.factories import AssignmentFactory

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
END_MONTH = date(2026, 3, 1)
JAN, FEB, MAR, DEC = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2025, 12, 1)
ONE_PLACE = Decimal("0.1")
APPROVED, INVOICED = TimeEntry.Status.APPROVED, TimeEntry.Status.INVOICED
_serial = count()


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- the seeded world -------------------------------------------------------------------------

@dataclass
class World:
    us: LegalEntity
    uk: LegalEntity
    hubspot: Connection
    books: Connection


def make_connection(*, name: str, vendor: str) -> Connection:
    """A connection with credentials (encrypted at rest, as crm_sync/services/connections.py
    keeps them)."""
    connection_row = Connection(name=name, vendor=vendor,
                                kind=Connection.KIND_OF_VENDOR[vendor],
                                base_url=f"https://{name}.example.com")
    connection_row.set_credentials({"token": f"secret-{name}"})
    connection_row.save()
    return connection_row


def _deal(connection_row: Connection, **fields: object) -> Deal:
    serial = next(_serial)
    return Deal.objects.create(connection=connection_row, external_id=f"D{serial}",
                               name=f"Deal {serial}", correlation_id=f"corr-{serial}", **fields)


def _assignment(project: object, created_at: datetime, booking: str) -> None:
    row = AssignmentFactory(project=project, booking=booking)
    Assignment.objects.filter(pk=row.pk).update(created_at=created_at)


def _seed_deals(connection_row: Connection, contract: object, shift: timedelta) -> None:
    """January: project after 6 h, first hard booking after 30 h (a soft one before it);
    February: 18 h and 72 h (a second hard booking later). Plus deals that do not count."""
    first, second = ProjectFactory(contract=contract), ProjectFactory(contract=contract)
    won = at(2026, 1, 5, 9)
    _deal(connection_row, project=first, won_at=won, project_created_at=won + timedelta(hours=6)
          + shift)
    _assignment(first, won + timedelta(hours=1), Assignment.Booking.SOFT)
    _assignment(first, won + timedelta(hours=30) + shift, Assignment.Booking.HARD)
    won = at(2026, 2, 10, 10)
    _deal(connection_row, project=second, won_at=won,
          project_created_at=won + timedelta(hours=18) + shift)
    _assignment(second, won + timedelta(hours=72) + shift, Assignment.Booking.HARD)
    _assignment(second, won + timedelta(hours=100), Assignment.Booking.HARD)
    _deal(connection_row, won_at=at(2026, 2, 11))  # won, no project yet
    _deal(connection_row, lost_at=at(2026, 1, 20), project=ProjectFactory(contract=contract))


def _entry(person: object, project: object, currency: str, *, approved_at: datetime,
           hours: str, rate: str, status: str = APPROVED, billable: bool = True) -> TimeEntry:
    return TimeEntryFactory(person=person, task=TaskFactory(project=project), approved=True,
                            status=status, approved_at=approved_at, hours=Decimal(hours),
                            bill_rate=Decimal(rate), bill_currency=currency,
                            cost_currency=currency, is_billable=billable,
                            work_date=approved_at.date())


def _issued(contract: object, issued_at: datetime) -> Invoice:
    return InvoiceFactory(contract=contract, issued=True, issued_at=issued_at,
                          issue_date=issued_at.date())


def _seed_billing(contract: object, person: object, currency: str, shift: timedelta) -> None:
    """Time, expenses, milestones and invoices of one contract (see the hand-worked tests)."""
    project = ProjectFactory(contract=contract)
    i1 = _issued(contract, at(2026, 1, 20, 15) + shift)  # adjusted line
    i2 = _issued(contract, at(2026, 2, 15, 10) + shift)  # clean
    i3 = _issued(contract, at(2026, 2, 2, 8) + shift)  # credited later
    _issued(contract, at(2026, 1, 25, 9) + shift)  # clean, no items
    draft = InvoiceFactory(contract=contract)
    void = InvoiceFactory(contract=contract, void=True, voided_at=at(2026, 1, 28) + shift)
    CreditNoteFactory(credited_invoice=i3, issued=True, issued_at=at(2026, 2, 20))
    CreditNoteFactory(credited_invoice=i2)  # a draft credit note is no exception
    InvoiceLineFactory(invoice=i1, project=project, adjustment=Decimal("-50.00"),
                       adjustment_reason=InvoiceLine.AdjustmentReason.GOODWILL)

    def bill(invoice: Invoice, **source: object) -> None:
        line = InvoiceLineFactory(invoice=invoice, project=project)
        if "milestone" in source:
            BilledItemFactory(line=line, milestone_item=True, **source)
        elif "expense" in source:
            BilledItemFactory(line=line, expense_item=True, **source)
        else:
            BilledItemFactory(line=line, **source)

    a = _entry(person, project, currency, approved_at=at(2025, 12, 20), hours="4.00",
               rate="200.0000", status=INVOICED)
    bill(i2, time_entry=a)
    _entry(person, project, currency, approved_at=at(2026, 1, 10, 12), hours="8.00",
           rate="150.0000")
    c = _entry(person, project, currency, approved_at=at(2026, 2, 3, 6), hours="6.00",
               rate="150.0000")
    bill(draft, time_entry=c)  # a live link, but the invoice is not issued
    d = _entry(person, project, currency, approved_at=at(2026, 1, 12, 15), hours="8.00",
               rate="150.0000", status=INVOICED)
    bill(i1, time_entry=d)
    v = _entry(person, project, currency, approved_at=at(2026, 1, 20), hours="2.00",
               rate="150.0000")
    bill(void, time_entry=v, is_live=False)  # voided: billable again
    _entry(person, project, currency, approved_at=at(2026, 1, 5), hours="3.00",
           rate="150.0000", status=TimeEntry.Status.WRITTEN_OFF)
    _entry(person, project, currency, approved_at=at(2026, 1, 6), hours="5.00",
           rate="150.0000", billable=False)
    expense = ExpenseFactory(person=person, project=project, status=INVOICED,
                             approved_at=at(2026, 1, 15, 8), amount=Decimal("80.00"))
    bill(i1, expense=expense)
    accepted = MilestoneFactory(project=project, status=Milestone.Status.INVOICED,
                                requires_acceptance=True, completed_at=at(2026, 1, 20),
                                accepted_at=at(2026, 1, 25, 8))
    bill(i3, milestone=accepted)
    completed = MilestoneFactory(project=project, status=Milestone.Status.INVOICED,
                                 requires_acceptance=False, completed_at=at(2026, 1, 2))
    bill(i1, milestone=completed)


def _timesheet(person: object, project: object, monday: date, days: int, *,
               submitted_at: datetime | None, status: str) -> None:
    task = TaskFactory(project=project)
    for offset in range(days):
        TimeEntryFactory(person=person, task=task, work_date=monday + timedelta(days=offset),
                         hours=Decimal("8.00"), status=status, submitted_at=submitted_at,
                         is_billable=False)


def _seed_timesheets(entity: LegalEntity, project: object) -> None:
    """Weeks on time, late, short by a public holiday, in draft, rejected after an on-time
    submission; a week of time off; someone hired mid-February."""
    submitted = TimeEntry.Status.SUBMITTED
    person = PersonFactory(legal_entity=entity)
    _timesheet(person, project, date(2026, 1, 5), 5, submitted_at=at(2026, 1, 9, 18),
               status=submitted)
    _timesheet(person, project, date(2026, 1, 12), 5, submitted_at=at(2026, 1, 20, 10),
               status=submitted)
    # Martin Luther King Day (Mon 19 Jan) in the US: four days fill the week there.
    _timesheet(person, project, date(2026, 1, 20), 4, submitted_at=at(2026, 1, 23, 17),
               status=submitted)
    _timesheet(person, project, date(2026, 2, 2), 5, submitted_at=None,
               status=TimeEntry.Status.DRAFT)
    _timesheet(person, project, date(2026, 2, 9), 5, submitted_at=at(2026, 2, 13, 12),
               status=TimeEntry.Status.REJECTED)
    TimeOffFactory(person=person, start_date=date(2026, 2, 23), end_date=date(2026, 2, 27))
    newcomer = PersonFactory(legal_entity=entity, hire_date=date(2026, 2, 11))
    _timesheet(newcomer, project, date(2026, 2, 11), 3, submitted_at=at(2026, 2, 16, 9),
               status=submitted)


def _event_delivery(subscriber: str, state: str, updated_at: datetime,
                    payload: dict | None = None) -> None:
    event = OutboxEvent.objects.create(type="test.happened", aggregate_type="test",
                                       aggregate_id=str(next(_serial)), payload=payload or {},
                                       correlation_id="corr")
    delivery = Delivery.objects.create(event=event, subscriber=subscriber, state=state,
                                       next_attempt_at=updated_at)
    Delivery.objects.filter(pk=delivery.pk).update(updated_at=updated_at)


def _run(connection_row: Connection, status: str, started_at: datetime,
         flow: str = "poll") -> None:
    run = SyncRun.objects.create(connection=connection_row, flow=flow, status=status)
    SyncRun.objects.filter(pk=run.pk).update(started_at=started_at)


def _seed_sync(world: World) -> None:
    """HubSpot in January: pushes 3 of 4 finished, inbound 1 of 2 (a failed and a pending
    delivery are not finished); QuickBooks: polls 2 of 3 in January, pushes 2 of 2 in
    February (a running poll and a full sync do not count)."""
    state = Delivery.State
    jan, feb = at(2026, 1, 10), at(2026, 2, 10)
    for delivery_state in (state.SUCCEEDED, state.SUCCEEDED, state.SUCCEEDED, state.DEAD,
                           state.FAILED, state.PENDING):
        _event_delivery("hubspot.invoice_writeback", delivery_state, jan)
    for delivery_state in (state.SUCCEEDED, state.DEAD):
        _event_delivery("crm_sync.inbound", delivery_state, jan, {"connection": "hubspot"})
    _event_delivery("crm_sync.inbound", state.DEAD, jan, {"connection": "elsewhere"})
    for _ in range(2):
        _event_delivery("quickbooks.invoice_push", state.SUCCEEDED, feb)
    run = SyncRun.Status
    for run_status in (run.SUCCEEDED, run.SUCCEEDED, run.FAILED, run.RUNNING):
        _run(world.books, run_status, jan)
    _run(world.books, run.FAILED, jan, flow="full")


def add_copies(world: World, copies: int) -> None:
    """`copies` more sets of deals, billing and timesheets per entity, and of sync traffic."""
    for entity, shift in ((world.us, timedelta(0)), (world.uk, timedelta(hours=2))):
        for _ in range(copies):
            contract = ContractFactory(client=ClientFactory(legal_entity=entity))
            person = PersonFactory(legal_entity=entity)
            _seed_deals(world.hubspot, contract, shift)
            _seed_billing(contract, person, entity.base_currency, shift)
            _seed_timesheets(entity, ProjectFactory(contract=contract))
    for _ in range(copies):
        _seed_sync(world)


def seed_world(*, copies: int = 1) -> World:
    """Two legal entities (US in USD, UK in GBP at 1.25 USD, its durations 2 h longer), each
    with `copies` sets of deals, billing and timesheets, and two connections."""
    us = LegalEntityFactory()
    uk = LegalEntityFactory(code="UK", name="Northwind UK Ltd", country="GB",
                            base_currency="GBP", time_zone="Europe/London")
    ExchangeRate.objects.create(from_currency="GBP", to_currency="USD", month=date(2025, 1, 1),
                                rate=Decimal("1.25"))
    world = World(us=us, uk=uk, hubspot=make_connection(name="hubspot", vendor="hubspot"),
                  books=make_connection(name="books", vendor="quickbooks"))
    add_copies(world, copies)
    return world


def run(entity: LegalEntity | None = None):
    return lifecycle(scope=build_scope(end_month=END_MONTH, legal_entity=entity), now=NOW)


# --- plain SQL --------------------------------------------------------------------------------

def rows(sql: str, params: tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def aware(value: object) -> datetime | None:
    """A timestamp from a raw cursor: a string from an SQLite subquery, naive from SQLite
    columns, aware from PostgreSQL."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def days(later: datetime, earlier: datetime) -> Decimal:
    return Decimal((later - earlier).total_seconds()) / Decimal(86400)


def one_place(value: Decimal) -> Decimal:
    return value.quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def averages(samples: dict[date, list[Decimal]], scale: Decimal = Decimal(1)) -> dict:
    return {month: one_place(sum(values) / len(values) * scale)
            for month, values in samples.items() if values}


def month_of(moment: datetime) -> date:
    return date(moment.year, moment.month, 1)


def entity_clause(column: str, entity: LegalEntity | None) -> tuple[str, tuple]:
    return (f" AND {column} = %s", (entity.pk,)) if entity else ("", ())


def sql_deal_latency(entity: LegalEntity | None = None) -> tuple[dict, dict]:
    clause, params = entity_clause("p.legal_entity_id", entity)
    to_project, to_booking = defaultdict(list), defaultdict(list)
    for won_at, created_at, first_hard in rows(
            "SELECT d.won_at, d.project_created_at, (SELECT MIN(a.created_at) FROM "
            "resourcing_assignment a WHERE a.project_id = d.project_id AND a.booking = 'hard') "
            "FROM crm_sync_deal d JOIN psa_project p ON p.id = d.project_id "
            "WHERE d.won_at IS NOT NULL" + clause, params):
        won_at = aware(won_at)
        if created_at is not None:
            to_project[month_of(won_at)].append(days(aware(created_at), won_at))
        if first_hard is not None:
            to_booking[month_of(won_at)].append(days(aware(first_hard), won_at))
    hours = Decimal(24)
    return averages(to_project, hours), averages(to_booking, hours)


def sql_unbilled_time(entity: LegalEntity | None = None) -> list[tuple]:
    """(approved_at, hours, bill_rate, currency, issued_at of its live invoice link)."""
    clause, params = entity_clause("p.legal_entity_id", entity)
    return [(aware(approved), Decimal(str(hours)), Decimal(str(rate)), currency, aware(issued))
            for approved, hours, rate, currency, issued in rows(
                "SELECT t.approved_at, t.hours, t.bill_rate, t.bill_currency, "
                "(SELECT i.issued_at FROM billing_billeditem b JOIN billing_invoice i "
                " ON i.id = b.invoice_id WHERE b.time_entry_id = t.id AND b.is_live = %s) "
                "FROM psa_timeentry t JOIN psa_project p ON p.id = t.project_id "
                "WHERE t.is_billable = %s AND t.status IN ('approved', 'invoiced') "
                "AND t.approved_at IS NOT NULL AND t.bill_rate IS NOT NULL" + clause,
                (True, True, *params))]


RATES = {"USD": Decimal(1), "GBP": Decimal("1.25")}


def sql_aging(entity: LegalEntity | None = None) -> dict[date, Decimal]:
    entries = sql_unbilled_time(entity)
    result = {}
    for month in (DEC, JAN, FEB, MAR):
        moment = month_start_at(add_months(month, 1))
        weighted = total = Decimal(0)
        for approved, hours, rate, currency, issued in entries:
            if approved < moment and (issued is None or issued >= moment):
                value = hours * rate * RATES[currency]
                weighted += days(moment, approved) * value
                total += value
        if total:
            result[month] = one_place(weighted / total)
    return result


def sql_buckets(entity: LegalEntity | None = None) -> list[tuple[int, Decimal, Decimal]]:
    moment = month_start_at(add_months(MAR, 1))
    buckets = [[0, Decimal("0.00"), Decimal(0)] for _ in BUCKETS]
    for approved, hours, rate, currency, issued in sql_unbilled_time(entity):
        if approved < moment and (issued is None or issued >= moment):
            age = days(moment, approved)
            index = next(i for i, (_, low, high) in enumerate(BUCKETS)
                         if age >= low and (high is None or age < high))
            buckets[index][0] += 1
            buckets[index][1] += hours
            buckets[index][2] += hours * rate * RATES[currency]
    return [(entries, hours, value.quantize(Decimal("0.01"))) for entries, hours, value in buckets]


def sql_invoice_cycle(entity: LegalEntity | None = None) -> dict[date, Decimal]:
    clause, params = entity_clause("i.legal_entity_id", entity)
    samples = defaultdict(list)
    for issued_at, latest in rows(
            "SELECT i.issued_at, (SELECT MAX(COALESCE(t.approved_at, e.approved_at)) "
            "FROM billing_billeditem b LEFT JOIN psa_timeentry t ON t.id = b.time_entry_id "
            "LEFT JOIN psa_expense e ON e.id = b.expense_id "
            "WHERE b.invoice_id = i.id AND b.is_live = %s) "
            "FROM billing_invoice i WHERE i.kind = 'invoice' "
            "AND i.status IN ('issued', 'partially_paid', 'paid')" + clause, (True, *params)):
        if latest is not None:
            samples[month_of(aware(issued_at))].append(days(aware(issued_at), aware(latest)))
    return averages(samples)


def sql_billing_trigger(entity: LegalEntity | None = None) -> dict[date, Decimal]:
    clause, params = entity_clause("p.legal_entity_id", entity)
    samples = defaultdict(list)
    for issued_at, accepted_at, completed_at in rows(
            "SELECT i.issued_at, m.accepted_at, m.completed_at FROM billing_billeditem b "
            "JOIN billing_invoice i ON i.id = b.invoice_id "
            "JOIN psa_milestone m ON m.id = b.milestone_id "
            "JOIN psa_project p ON p.id = m.project_id "
            "WHERE b.is_live = %s AND i.kind = 'invoice' "
            "AND i.status IN ('issued', 'partially_paid', 'paid')" + clause, (True, *params)):
        trigger = aware(accepted_at) or aware(completed_at)
        samples[month_of(aware(issued_at))].append(days(aware(issued_at), trigger))
    return averages(samples)


def sql_exception_rate(entity: LegalEntity | None = None) -> dict[date, Decimal]:
    clause, params = entity_clause("i.legal_entity_id", entity)
    tally = defaultdict(lambda: [0, 0])
    for issued_at, voided_at, status, adjusted, credited in rows(
            "SELECT i.issued_at, i.voided_at, i.status, "
            "(SELECT COUNT(*) FROM billing_invoiceline l WHERE l.invoice_id = i.id "
            " AND l.adjustment <> 0), "
            "(SELECT COUNT(*) FROM billing_invoice c WHERE c.credited_invoice_id = i.id "
            " AND c.kind = 'credit_note' AND c.status IN ('issued', 'partially_paid', 'paid')) "
            "FROM billing_invoice i WHERE i.kind = 'invoice' AND (i.status = 'void' OR "
            "(i.status IN ('issued', 'partially_paid', 'paid') AND i.issued_at IS NOT NULL))"
            + clause, params):
        month = month_of(aware(issued_at or voided_at))
        tally[month][1] += 1
        tally[month][0] += bool(adjusted or credited or status == "void")
    return {month: ratio_percent(part, whole) for month, (part, whole) in tally.items()}


def sql_sync_success() -> dict[str, dict[date, Decimal]]:
    tally: dict[str, dict] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    vendors = dict(rows("SELECT vendor, name FROM crm_sync_connection"))
    ids = {pk: name for pk, name in rows("SELECT id, name FROM crm_sync_connection")}
    for subscriber, state, updated_at, payload in rows(
            "SELECT d.subscriber, d.state, d.updated_at, e.payload FROM psa_delivery d "
            "JOIN psa_outboxevent e ON e.id = d.event_id "
            "WHERE d.state IN ('succeeded', 'dead')"):
        if subscriber == "crm_sync.inbound":
            payload = json.loads(payload) if isinstance(payload, str) else payload
            name = payload.get("connection")
        else:
            name = vendors.get(subscriber.split(".", 1)[0])
        month = month_of(aware(updated_at))
        tally[name][month][1] += 1
        tally[name][month][0] += state == "succeeded"
    for connection_id, status, started_at in rows(
            "SELECT connection_id, status, started_at FROM crm_sync_syncrun "
            "WHERE flow = 'poll' AND status <> 'running'"):
        month = month_of(aware(started_at))
        tally[ids[connection_id]][month][1] += 1
        tally[ids[connection_id]][month][0] += status == "succeeded"
    return {name: {month: ratio_percent(part, whole) for month, (part, whole) in by.items()}
            for name, by in tally.items()}


def known(measure: object) -> dict[date, Decimal]:
    """A measure's months that have a value."""
    return {month: value for month, value in zip(measure.months, measure.values, strict=True)
            if value is not None}


# --- tests ------------------------------------------------------------------------------------

@pytest.mark.django_db
class TestDaysBetween:
    def test_fractional_days_between_datetimes_and_dates(self):
        entry = _entry(PersonFactory(), ProjectFactory(), "USD",
                       approved_at=at(2026, 1, 10, 12), hours="1.00", rate="1.0000")
        value = (TimeEntry.objects.filter(pk=entry.pk)
                 .annotate(after=DaysBetween("submitted_at", "approved_at"),
                           dates=DaysBetween("work_date", "work_date"))
                 .values_list("after", "dates").get())
        assert value == (None, 0)
        TimeEntry.objects.filter(pk=entry.pk).update(submitted_at=at(2026, 1, 13, 18))
        later = TimeEntry.objects.annotate(d=DaysBetween("submitted_at", "approved_at")).get(
            pk=entry.pk).d
        assert later == pytest.approx(3.25)
        earlier = TimeEntry.objects.annotate(d=DaysBetween("approved_at", "submitted_at")).get(
            pk=entry.pk).d
        assert earlier == pytest.approx(-3.25)


@pytest.mark.django_db
class TestLifecycleAgainstSql:
    @pytest.fixture
    def world(self):
        return seed_world()

    def test_deal_latencies_match_sql_and_the_worked_example(self, world):
        measures = run().by_key
        to_project, to_booking = sql_deal_latency()
        assert known(measures["deal_to_project"]) == to_project
        assert known(measures["deal_to_hard_booking"]) == to_booking
        # US 6 h and UK 8 h in January; 18 h and 20 h in February.
        assert to_project == {JAN: Decimal("7.0"), FEB: Decimal("19.0")}
        # First hard booking: 30 h and 32 h; 72 h and 74 h (the soft one and later hard
        # ones do not count).
        assert to_booking == {JAN: Decimal("31.0"), FEB: Decimal("73.0")}

    def test_approved_time_aging_matches_sql_with_currencies_converted(self, world):
        board = run()
        expected = sql_aging()
        assert set(expected) >= {DEC, JAN, FEB, MAR}
        assert known(board.by_key["approved_time_aging"]) == expected
        buckets = [(b.entries, b.hours, b.value) for b in board.aging.buckets]
        assert buckets == sql_buckets()

    def test_approved_time_aging_worked_example_for_one_entity(self, world):
        aging = known(run(world.us).by_key["approved_time_aging"])
        # Jan end: 43 d x 800 + 21.5 d x 1,200 + 12 d x 300 over 2,300 (billed and written-off
        # time, non-billable time and time approved later do not count).
        assert aging[JAN] == Decimal("27.7")
        # Feb end: the December entry is now billed; the draft invoice's entry still waits.
        assert aging[FEB] == Decimal("39.4")
        assert aging[DEC] == Decimal("12.0")

    def test_aging_buckets_worked_example(self, world):
        buckets = run(world.us).aging.buckets
        assert [(b.label, b.entries, b.hours, b.value) for b in buckets] == [
            ("0-30 days", 0, Decimal("0.00"), Decimal("0.00")),
            ("31-60 days", 1, Decimal("6.00"), Decimal("900.00")),
            ("61-90 days", 2, Decimal("10.00"), Decimal("1500.00")),
            ("Over 90 days", 0, Decimal("0.00"), Decimal("0.00")),
        ]
        assert buckets[2].share == Decimal("62.50")

    def test_invoice_cycle_time_matches_sql(self, world):
        measure = run().by_key["invoice_cycle_time"]
        assert known(measure) == sql_invoice_cycle()
        us = known(run(world.us).by_key["invoice_cycle_time"])
        # January: issued 20 Jan 15:00, last approval the expense of 15 Jan 08:00 (the
        # milestone on it is no approval); February: 15 Feb 10:00 - 20 Dec 00:00.
        assert us == {JAN: Decimal("5.3"), FEB: Decimal("57.4")}

    def test_billing_trigger_latency_matches_sql(self, world):
        assert known(run().by_key["billing_trigger_latency"]) == sql_billing_trigger()
        us = known(run(world.us).by_key["billing_trigger_latency"])
        # Completed 2 Jan (no acceptance needed) to 20 Jan 15:00; accepted 25 Jan 08:00 to
        # 2 Feb 08:00.
        assert us == {JAN: Decimal("18.6"), FEB: Decimal("8.0")}

    def test_invoice_exception_rate_matches_sql(self, world):
        assert known(run().by_key["invoice_exception_rate"]) == sql_exception_rate()
        us = known(run(world.us).by_key["invoice_exception_rate"])
        # January: adjusted, clean, voided; February: clean, credited.
        assert us == {JAN: Decimal("66.67"), FEB: Decimal("50.00")}

    def test_sync_success_per_connection_matches_sql(self, world):
        board = run()
        expected = sql_sync_success()
        for connection_row in (world.hubspot, world.books):
            measure = board.by_key[f"sync_success_{connection_row.name}"]
            assert measure.label == f"Sync success · {connection_row.name}"
            assert known(measure) == expected[connection_row.name]
        assert expected["hubspot"] == {JAN: Decimal("66.67")}
        assert expected["books"] == {JAN: Decimal("66.67"), FEB: Decimal("100.00")}

    def test_every_measure_has_twelve_months_oldest_first(self, world):
        board = run()
        for measure in board.measures:
            assert measure.months == board.scope.months
            assert len(measure.values) == 12
        assert board.scope.months[0] == date(2025, 4, 1)
        assert board.scope.months[-1] == MAR
        assert board.has_data


@pytest.mark.django_db
class TestTimeCompliance:
    @pytest.fixture
    def world(self):
        return seed_world()

    @pytest.mark.parametrize(("month", "first_monday", "last_day"), [
        (JAN, date(2026, 1, 5), date(2026, 1, 31)),
        (FEB, date(2026, 2, 2), date(2026, 2, 28)),
    ])
    def test_matches_time_compliance_for_the_weeks_of_the_month(self, world, finance, month,
                                                                first_monday, last_day):
        report = time_compliance(actor=finance.user, start=first_monday, end=last_day)
        measure = run().by_key["time_compliance"]
        assert report.expected > 0 and report.on_time > 0
        assert dict(zip(measure.months, measure.values, strict=True))[month] == ratio_percent(
            Decimal(report.on_time), Decimal(report.expected))

    def test_counts_of_the_seeded_people_for_one_entity(self, world):
        from insight.selectors.lifecycle import compliance_counts

        scope = build_scope(end_month=END_MONTH, legal_entity=world.uk)
        counts = compliance_counts(scope=scope, now=NOW)
        # UK people: the billing person, the timesheet person and, from 11 Feb, the newcomer
        # (the factories' other people belong to the US entity).
        # January (4 weeks, 2 people employed): the UK has no holiday on 19 Jan, so only the
        # first week (40 h on time) counts; 12-16 Jan was late and 20-23 Jan is 32 h of 40.
        assert counts[JAN] == (8, 1)
        # February: 2 people x 4 weeks, the newcomer from the week of 9 Feb (3 weeks), less
        # the week of time off; nothing on time but the rejected-after-submission week and the
        # newcomer's first week (24 h of 24).
        assert counts[FEB] == (10, 2)

    def test_weeks_not_yet_due_are_not_counted(self, world):
        from insight.selectors.lifecycle import compliance_counts

        scope = build_scope(end_month=FEB, legal_entity=world.uk)
        before_february_due = compliance_counts(scope=scope, now=at(2026, 2, 16, 11))
        after = compliance_counts(scope=scope, now=NOW)
        assert before_february_due[FEB][0] < after[FEB][0]


@pytest.mark.django_db
class TestLegalEntityFilter:
    def test_each_measure_narrows_to_the_entity(self):
        world = seed_world()
        for entity in (world.us, world.uk):
            measures = run(entity).by_key
            to_project, to_booking = sql_deal_latency(entity)
            assert known(measures["deal_to_project"]) == to_project
            assert known(measures["deal_to_hard_booking"]) == to_booking
            assert known(measures["approved_time_aging"]) == sql_aging(entity)
            assert known(measures["invoice_cycle_time"]) == sql_invoice_cycle(entity)
            assert known(measures["billing_trigger_latency"]) == sql_billing_trigger(entity)
            assert known(measures["invoice_exception_rate"]) == sql_exception_rate(entity)
        assert (known(run(world.us).by_key["deal_to_project"])
                != known(run(world.uk).by_key["deal_to_project"]))
        # UK durations are 2 h longer: a GBP figure differs from the firm-wide one.
        assert known(run(world.uk).by_key["deal_to_project"]) == {
            JAN: Decimal("8.0"), FEB: Decimal("20.0")}

    def test_aging_buckets_of_an_entity_are_in_its_currency(self):
        world = seed_world()
        board = run(world.uk)
        assert board.scope.currency == "GBP"
        assert [(b.entries, b.hours, b.value) for b in board.aging.buckets] == [
            (entries, hours, (value / Decimal("1.25")).quantize(Decimal("0.01")))
            for entries, hours, value in sql_buckets(world.uk)]


@pytest.mark.django_db
class TestQueryCount:
    @staticmethod
    def _count() -> int:
        scope = build_scope(end_month=END_MONTH)
        with CaptureQueriesContext(connection) as context:
            board = lifecycle(scope=scope, now=NOW)
        assert board.has_data
        return len(context.captured_queries)

    def test_same_number_of_queries_for_a_world_five_times_larger(self):
        world = seed_world()
        small = self._count()
        add_copies(world, 4)
        assert Deal.objects.count() == 5 * 2 * 4
        assert self._count() == small
        assert small <= 12


@pytest.mark.django_db
def test_empty_world_has_no_data():
    board = lifecycle(scope=build_scope(end_month=END_MONTH), now=NOW)
    assert not board.has_data
    assert all(bucket.entries == 0 for bucket in board.aging.buckets)
