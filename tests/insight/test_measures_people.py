"""People measures: each figure equals a plain SQL query over the same seeded rows.

Utilization hours and realization amounts are computed here with raw SQL; capacity with the
per-day calendar of psa (the canonical one). The rows behind each figure add up to it.
"""

from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from billing.models import BilledItem, Invoice, InvoiceLine
from billing.selectors.realization import realization
from insight.selectors import measures_people
from insight.selectors.dashboard import build_scope
from insight.selectors.types import ratio_percent
from psa.models import (
    Contract,
    ExchangeRate,
    Person,
    Project,
    ProjectMember,
    RateCard,
    RateCardLine,
    TimeEntry,
)
from psa.selectors.calendar import capacity_by_day_for_people
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    LegalEntityFactory,
    PersonFactory,
    ProjectFactory,
    ProjectMemberFactory,
    RateCardFactory,
    RateCardLineFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
    TimeOffFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
S = TimeEntry.Status
R = InvoiceLine.AdjustmentReason
FEB, MAR = date(2026, 2, 1), date(2026, 3, 1)
ACTUAL = (S.APPROVED, S.INVOICED, S.WRITTEN_OFF)
_numbers = iter(range(1, 100_000))


@dataclass
class World:
    us: object
    gb: object
    us_client: object
    gb_client: object
    ann: Person


def entry(task, person, hours, day, status=S.APPROVED, billable=True, rate="150.0000",
          currency="USD"):
    return TimeEntryFactory(task=task, person=person, hours=D(hours), work_date=day,
                            status=status, is_billable=billable, bill_rate=D(rate),
                            bill_currency=currency, cost_rate=D("80.0000"),
                            cost_currency=currency)


def invoice(contract, *, kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED, **kwargs):
    return Invoice.objects.create(
        kind=kind, legal_entity=contract.legal_entity, client=contract.client,
        contract=contract, currency=contract.currency, status=status,
        number=f"X-{next(_numbers):06d}" if status != Invoice.Status.DRAFT else "", **kwargs)


def time_line(bill, entries, adjustment="0.00", reason=""):
    base = sum((e.hours * e.bill_rate for e in entries), D(0)).quantize(D("0.01"))
    line = InvoiceLine.objects.create(
        invoice=bill, contract=bill.contract, kind=InvoiceLine.Kind.TIME, description="time",
        base_amount=base, adjustment=D(adjustment), adjustment_reason=reason,
        amount=base + D(adjustment))
    for e in entries:
        BilledItem.objects.create(invoice=bill, line=line, time_entry=e, raw_hours=e.hours,
                                  billed_hours=e.hours, rate=e.bill_rate)
    return line


def credit(bill, line, amount, status=Invoice.Status.ISSUED):
    note = invoice(bill.contract, kind=Invoice.Kind.CREDIT_NOTE, status=status,
                   credited_invoice=bill)
    InvoiceLine.objects.create(invoice=note, contract=bill.contract, kind=InvoiceLine.Kind.CREDIT,
                               description="credit", base_amount=D(amount), amount=D(amount),
                               credited_line=line)


def seed(copies=1) -> World:
    """Two legal entities (US in USD, GB in GBP), `copies` times their people and work."""
    us = LegalEntityFactory(code="US", country="US", name="Northwind US")
    gb = LegalEntityFactory(code="GB", country="GB", name="Northwind UK", base_currency="GBP",
                            time_zone="Europe/London")
    cons = RoleFactory(code="CONS", name="Consultant")
    senior = RoleFactory(code="SNR", name="Senior Consultant", level=3)
    usd = RateCardFactory(standard=True, code="STD-USD", currency="USD")
    RateCardLineFactory(rate_card=usd, role=cons, hourly_rate=D("200.0000"))
    RateCardLineFactory(rate_card=usd, role=cons, hourly_rate=D("220.0000"),
                        effective_from=date(2026, 3, 15))
    RateCardLineFactory(rate_card=usd, role=senior, hourly_rate=D("250.0000"))
    RateCardLineFactory(rate_card=RateCardFactory(standard=True, code="STD-GBP", currency="GBP"),
                        role=cons, hourly_rate=D("160.0000"))
    ExchangeRate.objects.create(from_currency="GBP", to_currency="USD", month=date(2026, 1, 1),
                                rate=D("1.25"))
    ExchangeRate.objects.create(from_currency="GBP", to_currency="USD", month=MAR,
                                rate=D("1.30"))
    worlds = [_copy(us, gb, cons, senior) for _ in range(copies)]
    return worlds[0]


def _copy(us, gb, cons, senior) -> World:
    ann = PersonFactory(legal_entity=us, role=cons, first_name="Ann")
    bob = PersonFactory(legal_entity=us, role=cons, weekly_standard_hours=D("32.00"),
                        utilization_target=D("70.00"))
    carl = PersonFactory(legal_entity=us, role=cons, hire_date=date(2026, 2, 11))
    dee = PersonFactory(legal_entity=gb, role=cons, weekly_standard_hours=D("37.50"),
                        utilization_target=D("75.00"))
    eve = PersonFactory(legal_entity=gb, role=cons, termination_date=date(2026, 3, 13))
    TimeOffFactory(person=ann, start_date=date(2026, 3, 3), end_date=date(2026, 3, 3),
                   hours_per_day=D("4.00"))
    TimeOffFactory(person=dee, start_date=date(2026, 2, 16), end_date=date(2026, 2, 18))

    us_client, gb_client = ClientFactory(legal_entity=us), ClientFactory(legal_entity=gb)
    us_contract, gb_contract = ContractFactory(client=us_client), ContractFactory(client=gb_client)
    fixed = ContractFactory(client=us_client,
                            billing_model=Contract.BillingModel.FIXED_MILESTONES)
    us_task = TaskFactory(project=ProjectFactory(contract=us_contract, manager=ann,
                                                 service_line="Cloud"))
    gb_task = TaskFactory(project=ProjectFactory(contract=gb_contract, manager=dee,
                                                 service_line="Data"))
    fixed_task = TaskFactory(project=ProjectFactory(contract=fixed, manager=ann))
    ProjectMemberFactory(project=us_task.project, person=bob, role=senior)
    internal = {entity.pk: TaskFactory(is_billable=False, project=ProjectFactory(
        contract=None, client=None, legal_entity=entity, currency=entity.base_currency,
        is_internal=True, manager=ann, service_line="")) for entity in (us, gb)}

    a1 = entry(us_task, ann, "10.00", date(2026, 3, 2), S.INVOICED)
    entry(us_task, ann, "6.00", date(2026, 3, 16))  # the 220 standard rate from 15 March
    a3 = entry(us_task, ann, "5.00", date(2026, 2, 24), S.INVOICED)
    entry(internal[us.pk], ann, "4.00", date(2026, 3, 4), billable=False)
    entry(us_task, ann, "8.00", date(2026, 3, 5), S.DRAFT)
    entry(us_task, ann, "8.00", date(2026, 3, 6), S.SUBMITTED)
    entry(us_task, ann, "3.00", date(2026, 3, 10), S.REJECTED)
    entry(us_task, ann, "2.00", date(2026, 2, 10), S.WRITTEN_OFF)
    entry(fixed_task, ann, "5.00", date(2026, 2, 11))  # utilization, not realization
    b1 = entry(us_task, bob, "4.00", date(2026, 3, 3), S.INVOICED, rate="180.0000")
    entry(us_task, bob, "3.00", date(2026, 2, 12), billable=False)  # client, not billable
    b3 = entry(us_task, bob, "1.00", date(2026, 3, 9), rate="180.0000")
    entry(us_task, carl, "8.00", date(2026, 2, 20))
    d1 = entry(gb_task, dee, "7.50", date(2026, 3, 2), S.INVOICED, rate="120.0000",
               currency="GBP")
    entry(internal[gb.pk], dee, "2.00", date(2026, 3, 3), billable=False, currency="GBP")
    entry(gb_task, eve, "6.00", date(2026, 3, 10), rate="120.0000", currency="GBP")
    entry(gb_task, eve, "5.00", date(2026, 3, 11), S.SUBMITTED, rate="120.0000",
          currency="GBP")

    us_bill = invoice(us_contract)
    # One line over February and March work: its write-down is shared 750 : 1,500.
    spanning = time_line(us_bill, [a3, a1], "-225.00", R.GOODWILL)
    bob_line = time_line(us_bill, [b1], "80.00", R.NEGOTIATED)
    credit(us_bill, bob_line, "50.00")
    credit(us_bill, spanning, "30.00", status=Invoice.Status.DRAFT)  # not issued: no effect
    time_line(invoice(us_contract, status=Invoice.Status.DRAFT), [b3])  # a draft bills nothing
    time_line(invoice(gb_contract), [d1], "20.00", R.RATE_CORRECTION)
    return World(us=us, gb=gb, us_client=us_client, gb_client=gb_client, ann=ann)


# --- The plain SQL side -------------------------------------------------------------------


def month_last(month):
    return month.replace(day=monthrange(month.year, month.month)[1])


def fetch(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def sql_hours(month, legal_entity_id=None, person_id=None):
    """(billable, client) hours of the month's actual time entries."""
    te, pr, pe = TimeEntry._meta.db_table, Project._meta.db_table, Person._meta.db_table
    sql = (f"SELECT SUM(CASE WHEN te.is_billable THEN te.hours ELSE 0 END), "
           f"SUM(CASE WHEN pr.is_internal THEN 0 ELSE te.hours END) "
           f"FROM {te} te JOIN {pr} pr ON pr.id = te.project_id "
           f"JOIN {pe} pe ON pe.id = te.person_id "
           f"WHERE te.status IN (%s, %s, %s) AND te.work_date >= %s AND te.work_date <= %s")
    params = [*ACTUAL, month, month_last(month)]
    for column, value in (("pe.legal_entity_id", legal_entity_id), ("pe.id", person_id)):
        if value is not None:
            sql += f" AND {column} = %s"
            params.append(value)
    ((billable, client),) = fetch(sql, params)
    return tuple(D(str(value or 0)).quantize(D("0.01")) for value in (billable, client))


def calendar_capacity(month, people):
    """(capacity, target hours) from psa's per-day calendar."""
    people = list(people)
    days = capacity_by_day_for_people(people=people, start=month, end=month_last(month))
    capacity = {p.pk: sum((d.capacity for d in days[p.pk]), D(0)) for p in people}
    return (sum(capacity.values(), D(0)),
            sum((capacity[p.pk] * p.utilization_target / 100 for p in people), D(0)))


TM_WORK = (
    "FROM {te} te JOIN {pr} pr ON pr.id = te.project_id JOIN {ct} c ON c.id = pr.contract_id "
    "JOIN {pe} pe ON pe.id = te.person_id "
    "WHERE te.is_billable = %s AND te.status IN (%s, %s, %s) AND c.billing_model IN (%s, %s) "
    "AND te.work_date >= %s AND te.work_date <= %s")
STANDARD_RATE = (
    "(SELECT l.hourly_rate FROM {rcl} l JOIN {rc} rc ON rc.id = l.rate_card_id "
    " WHERE rc.kind = 'standard' AND rc.is_active = %s AND rc.currency = c.currency "
    " AND l.effective_from <= te.work_date AND l.role_id = COALESCE("
    "  (SELECT pm.role_id FROM {pm} pm WHERE pm.project_id = te.project_id "
    "   AND pm.person_id = te.person_id AND pm.role_id IS NOT NULL ORDER BY pm.id LIMIT 1),"
    "  pe.role_id) ORDER BY l.effective_from DESC LIMIT 1)")
TABLES = {"te": TimeEntry._meta.db_table, "pr": Project._meta.db_table,
          "ct": Contract._meta.db_table, "pe": Person._meta.db_table,
          "rcl": RateCardLine._meta.db_table, "rc": RateCard._meta.db_table,
          "pm": ProjectMember._meta.db_table, "bi": BilledItem._meta.db_table,
          "il": InvoiceLine._meta.db_table, "inv": Invoice._meta.db_table}


def sql_realization(month, legal_entity_id=None):
    """{currency: (hours, standard value, billed)} of the month's billable T&M work."""
    work_params = [True, *ACTUAL, Contract.BillingModel.TIME_AND_MATERIALS,
                   Contract.BillingModel.TIME_AND_MATERIALS_CAP, month, month_last(month)]
    narrow = " AND c.legal_entity_id = %s" if legal_entity_id else ""
    extra = [legal_entity_id] if legal_entity_id else []
    standard = fetch(
        (f"SELECT c.currency, SUM(te.hours), SUM(te.hours * {STANDARD_RATE}) {TM_WORK}{narrow} "
         "GROUP BY c.currency").format(**TABLES), [True, *work_params, *extra])
    issued = list(Invoice.ISSUED_STATES)
    value = "bi.billed_hours * bi.rate"
    credited = ("COALESCE((SELECT SUM(cn.amount) FROM {il} cn JOIN {inv} ci "
                "ON ci.id = cn.invoice_id WHERE cn.credited_line_id = il.id "
                "AND ci.kind = 'credit_note' AND ci.status IN (%s, %s, %s)), 0)")
    billed = fetch(
        (f"SELECT inv.currency, SUM({value}), SUM({value} * il.adjustment / il.base_amount), "
         f"SUM({value} * {credited} / il.base_amount) "
         "FROM {bi} bi JOIN {il} il ON il.id = bi.line_id JOIN {inv} inv ON inv.id = bi.invoice_id "
         "WHERE bi.is_live = %s AND il.kind = 'time' AND inv.kind = 'invoice' "
         "AND inv.status IN (%s, %s, %s) AND bi.time_entry_id IN "
         f"(SELECT te.id {TM_WORK}{narrow}) GROUP BY inv.currency").format(**TABLES),
        [*issued, True, *issued, *work_params, *extra])
    billed_by_currency = {currency: D(str(base)) + D(str(adjustment)) - D(str(credited_amount))
                          for currency, base, adjustment, credited_amount in billed}
    return {currency: (D(str(hours)), D(str(std)).quantize(D("0.01")),
                       billed_by_currency.get(currency, D(0)).quantize(D("0.01")))
            for currency, hours, std in standard}


# --- Utilization ---------------------------------------------------------------------------


class TestUtilization:
    @pytest.mark.parametrize("entity", [None, "us", "gb"])
    def test_every_month_equals_sql_hours_over_calendar_capacity(self, entity):
        world = seed()
        legal_entity = getattr(world, entity) if entity else None
        scope = build_scope(end_month=MAR, legal_entity=legal_entity)

        billable, total = measures_people.utilization(scope)

        people = Person.objects.filter(legal_entity=legal_entity) if entity \
            else Person.objects.all()
        for index, month in enumerate(scope.months):
            capacity, target = calendar_capacity(month, people)
            hours = sql_hours(month, legal_entity.pk if entity else None)
            assert billable.values[index] == ratio_percent(hours[0], capacity), month
            assert total.values[index] == ratio_percent(hours[1], capacity), month
            assert billable.comparison[index] == ratio_percent(target, capacity), month
        assert (billable.key, total.key, billable.comparison_label) == (
            "billable_utilization", "total_utilization", "Target")
        assert billable.note == ""

    def test_the_figures_by_hand_for_the_us_in_february(self):
        world = seed()
        scope = build_scope(end_month=MAR, legal_entity=world.us)

        billable, total = measures_people.utilization(scope)

        # 20 weekdays less Presidents' day: Ann 19 x 8 = 152, Bob 19 x 6.4 = 121.6, Carl from
        # Wednesday 11th 12 x 8 = 96. Billable 5 + 2 + 5 (fixed fee) + 8 = 20 (the written-off
        # hours count); client hours add Bob's 3 non-billable ones.
        assert billable.values[-2] == ratio_percent(D("20"), D("369.6")) == D("5.41")
        assert total.values[-2] == ratio_percent(D("23"), D("369.6")) == D("6.22")
        assert billable.comparison[-2] == ratio_percent(
            D("152") * D("0.8") + D("121.6") * D("0.7") + D("96") * D("0.8"), D("369.6"))

    def test_client_and_service_line_filters_leave_people_alone_and_say_so(self):
        world = seed()
        plain = measures_people.utilization(build_scope(end_month=MAR, legal_entity=world.us))
        narrowed = measures_people.utilization(
            build_scope(end_month=MAR, legal_entity=world.us, client=world.gb_client))
        line = measures_people.utilization(build_scope(end_month=MAR, service_line="Data"))

        assert [m.values for m in narrowed] == [m.values for m in plain]
        assert all("do not narrow" in m.note for m in (*narrowed, *line))

    @pytest.mark.parametrize("key", ["billable_utilization", "total_utilization"])
    def test_rows_add_up_to_the_figure(self, key):
        world = seed()
        scope = build_scope(end_month=MAR, legal_entity=world.us)
        measure = {m.key: m for m in measures_people.utilization(scope)}[key]

        table = measures_people.ROWS[key](scope, MAR)

        percent = "billable_percent" if key == "billable_utilization" else "total_percent"
        assert table.total[percent] == measure.values[-1]
        assert table.total["target_percent"] == measure.comparison[-1]
        people = list(Person.objects.filter(legal_entity=world.us))
        assert sorted(row["url"] for row in table.rows) == sorted(
            reverse("person-detail", args=[p.pk]) for p in people)
        assert table.total["capacity_hours"] == calendar_capacity(MAR, people)[0]
        assert table.total["billable_hours"] == sum(r["billable_hours"] for r in table.rows)
        assert [r[percent] for r in table.rows] == sorted(r[percent] for r in table.rows)
        (ann,) = [r for r in table.rows if r["url"].endswith(f"/{world.ann.pk}/")]
        assert (ann["billable_hours"], ann["client_hours"]) == sql_hours(
            MAR, person_id=world.ann.pk)
        assert ann["actual_hours"] == D("20.00")  # 10 + 6 + 4 internal; draft and others not
        assert (ann["role"], ann["legal_entity"]) == ("Consultant", "Northwind US")


# --- Realization and effective bill rate ---------------------------------------------------


class TestRealization:
    def test_the_figures_by_hand_for_the_us(self):
        world = seed()
        scope = build_scope(end_month=MAR, legal_entity=world.us)

        rate_of_realization, bill_rate = measures_people.realization_and_bill_rate(scope)

        # March: standard 10 x 200 + 6 x 220 + 4 x 250 (senior on the team) + 1 x 250 = 4,570;
        # billed 1,500 - 150 (its share of the write-down) + 720 + 80 - 50 credited = 2,100.
        assert rate_of_realization.values[-1] == D("45.95")
        assert bill_rate.values[-1] == D("100.00")  # 2,100 ÷ 21 h
        # February: standard 5 x 200 + 2 x 200 + 8 x 200 = 3,000; billed 750 - 75 = 675.
        assert rate_of_realization.values[-2] == D("22.50")
        assert bill_rate.values[-2] == D("45.00")
        assert rate_of_realization.values[0] is None

    @pytest.mark.parametrize("entity", ["us", "gb"])
    def test_equals_sql_in_the_entity_currency(self, entity):
        world = seed()
        legal_entity = getattr(world, entity)
        scope = build_scope(end_month=MAR, legal_entity=legal_entity)

        rate_of_realization, bill_rate = measures_people.realization_and_bill_rate(scope)

        for index, month in enumerate(scope.months):
            found = sql_realization(month, legal_entity.pk)
            ((hours, standard, billed),) = found.values() or [(D(0), D(0), D(0))]
            assert rate_of_realization.values[index] == ratio_percent(billed, standard), month
            expected_rate = (billed / hours).quantize(D("0.01")) if hours else None
            assert bill_rate.values[index] == expected_rate, month

    def test_converts_each_currency_with_the_months_rate(self):
        seed()
        scope = build_scope(end_month=MAR, currency="USD")

        rate_of_realization, bill_rate = measures_people.realization_and_bill_rate(scope)

        for index, month, fx in ((-1, MAR, D("1.30")), (-2, FEB, D("1.25"))):
            found = sql_realization(month)
            rates = {"USD": D(1), "GBP": fx}
            billed = sum((v[2] * rates[c] for c, v in found.items()), D(0))
            standard = sum((v[1] * rates[c] for c, v in found.items()), D(0))
            hours = sum((v[0] for v in found.values()), D(0))
            assert rate_of_realization.values[index] == ratio_percent(billed, standard)
            assert bill_rate.values[index] == (billed / hours).quantize(D("0.01"))
        assert set(sql_realization(MAR)) == {"USD", "GBP"}

    def test_a_currency_without_a_rate_is_left_out(self):
        seed()
        scope = build_scope(end_month=MAR, currency="EUR")

        rate_of_realization, bill_rate = measures_people.realization_and_bill_rate(scope)

        assert rate_of_realization.values[-1] is None and bill_rate.values[-1] is None
        assert scope.rates.missing_pairs == ["GBP→EUR", "USD→EUR"]

    @pytest.mark.parametrize("entity", [None, "us"])
    def test_equals_the_realization_page_billed_over_standard(self, entity):
        world = seed()
        legal_entity = getattr(world, entity) if entity else None
        scope = build_scope(end_month=MAR, legal_entity=legal_entity)
        rate_of_realization, _ = measures_people.realization_and_bill_rate(scope)

        for index, month in ((-1, MAR), (-2, FEB)):
            rows = realization(start=month, end=month_last(month), group_by="contract")
            if legal_entity:
                ours = set(Contract.objects.filter(legal_entity=legal_entity)
                           .values_list("pk", flat=True))
                rows = [row for row in rows if row.key in ours]
            fx = {"USD": D(1), "GBP": scope.rates.rate("GBP", month)}
            billed = sum((row.billed * fx[row.currency] for row in rows), D(0))
            standard = sum((row.standard_value * fx[row.currency] for row in rows), D(0))
            assert rate_of_realization.values[index] == ratio_percent(billed, standard)

    def test_client_and_service_line_narrow_the_work(self):
        world = seed()
        by_client = measures_people.realization_and_bill_rate(
            build_scope(end_month=MAR, client=world.gb_client, currency="GBP"))
        by_line = measures_people.realization_and_bill_rate(
            build_scope(end_month=MAR, service_line="Data", currency="GBP"))

        ((hours, standard, billed),) = sql_realization(MAR, world.gb.pk).values()
        assert by_client[0].values[-1] == by_line[0].values[-1] == ratio_percent(billed,
                                                                               standard)
        assert by_client[0].values[-2] is None  # the GB work is all in March
        assert by_line[1].values[-1] == (billed / hours).quantize(D("0.01"))

    @pytest.mark.parametrize("key", ["realization", "effective_bill_rate"])
    def test_rows_add_up_to_the_figure(self, key):
        seed()
        scope = build_scope(end_month=MAR, currency="USD")
        figures = {m.key: m for m in measures_people.realization_and_bill_rate(scope)}

        table = measures_people.ROWS[key](scope, MAR)

        assert table.total["realization_percent"] == figures["realization"].values[-1]
        assert table.total["effective_rate"] == figures["effective_bill_rate"].values[-1]
        assert table.total["billed"] == sum(row["billed"] for row in table.rows)
        assert table.total["hours"] == D("34.50")  # 10 + 6 + 4 + 1 in the US, 7.5 + 6 in GB
        codes = {row["code"] for row in table.rows}
        assert codes == set(Contract.objects.filter(
            billing_model=Contract.BillingModel.TIME_AND_MATERIALS)
            .values_list("code", flat=True))
        for row in table.rows:
            contract = Contract.objects.get(code=row["code"])
            assert row["url"] == reverse("contract-detail", args=[contract.pk])
            assert row["currency"] == contract.currency


# --- A fixed number of queries ------------------------------------------------------------


@pytest.mark.parametrize("copies", [1, 5])
def test_a_fixed_number_of_queries(copies, django_assert_num_queries):
    world = seed(copies)
    scope = build_scope(end_month=MAR, legal_entity=world.gb)
    firm = build_scope(end_month=MAR, currency="USD")

    with django_assert_num_queries(5):
        measures_people.utilization(scope)
    with django_assert_num_queries(4):  # standard lines, standard value, billed, credits
        measures_people.realization_and_bill_rate(firm)
    with django_assert_num_queries(3):
        table = measures_people.ROWS["billable_utilization"](scope, MAR)
    with django_assert_num_queries(4):
        money = measures_people.ROWS["realization"](firm, MAR)

    assert len(table.rows) == 2 * copies  # Dee and Eve (who leaves on 13 March)
    assert len(money.rows) == 2 * copies
