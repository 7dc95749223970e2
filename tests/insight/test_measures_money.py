"""The money measures of the dashboard (issue #8): every figure equals a plain SQL query over
the same seeded rows, converted per currency and rounded once; the rows behind a figure add
up to it; billing's own selectors agree where the definitions coincide; a missing rate is
reported, not fatal; and each measure runs a fixed number of queries whatever the data size.
"""

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import BilledItem, Invoice
from billing.selectors.receivables import ar_aging, dso
from billing.selectors.unbilled import invoice_ready_by_contract
from insight.selectors import measures_money
from insight.selectors.dashboard import build_scope
from insight.selectors.scope import month_end
from psa.common.money import quantize
from psa.models import Contract, Milestone, TimeEntry
from tests.billing.factories import InvoiceFactory
from tests.insight.money_world import (
    ACTIVE,
    BOOKED,
    CHANGE,
    CONTRACT,
    ENTRY,
    EXPENSE,
    INVOICE,
    ITEM,
    LINE,
    MILESTONE,
    PROJECT,
    SCHEDULE,
    TIME,
    combine,
    entity_sql,
    exact,
    instant_after,
    per_currency,
    seed_money_world,
    sql,
    sql_receivable,
    sql_sales,
    to_target,
    uk_entity,
    us_entity,
)
from tests.psa.factories import (
    ContractFactory,
    ExpenseFactory,
    MilestoneFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
END = date(2026, 4, 1)
FEB, MAR, APR = date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)
CHECKED_MONTHS = (FEB, MAR, APR)
GROUPS = {"bookings": measures_money.bookings_and_backlog,
          "backlog": measures_money.bookings_and_backlog,
          "revenue": measures_money.revenue_against_forecast,
          "wip": measures_money.work_in_progress,
          "ar": measures_money.receivables_and_dso,
          "dso": measures_money.receivables_and_dso,
          "gross_margin": measures_money.gross_margin}
# The key of each rows table's total that equals the figure.
TOTAL_KEYS = {"bookings": "amount_converted", "backlog": "backlog_converted",
              "revenue": "recognised_converted", "wip": "total_converted",
              "ar": "open_converted", "dso": "dso", "gross_margin": "margin_percent"}


# ---- plain SQL -------------------------------------------------------------------------

def sql_bookings(month: date, entity: object) -> dict[str, Decimal]:
    where, params = entity_sql("c", entity)
    span = [month, month_end(month)]
    signed = per_currency(f"SELECT c.currency, SUM(c.value_amount) FROM {CONTRACT} c WHERE "
                          f"{BOOKED} AND c.signed_date BETWEEN %s AND %s{where} "
                          "GROUP BY c.currency", span + params)
    changes = (f"SELECT c.currency, SUM(co.value_change_amount) FROM {CHANGE} co JOIN "
               f"{CONTRACT} c ON c.id = co.contract_id WHERE co.status = 'approved' AND "
               f"{BOOKED} AND {{column}} BETWEEN %s AND %s{where} GROUP BY c.currency")
    of_signed = per_currency(changes.format(column="c.signed_date"), span + params)
    effective = per_currency(changes.format(column="co.effective_date"), span + params)
    return combine((signed, 1), (of_signed, -1), (effective, 1))


def sql_backlog(month: date, entity: object) -> dict[str, Decimal]:
    where, params = entity_sql("c", entity)
    end = month_end(month)
    value = per_currency(f"SELECT c.currency, SUM(c.value_amount) FROM {CONTRACT} c WHERE "
                         f"{ACTIVE} AND c.signed_date <= %s{where} GROUP BY c.currency",
                         [end, *params])
    later = per_currency(
        f"SELECT c.currency, SUM(co.value_change_amount) FROM {CHANGE} co JOIN {CONTRACT} c "
        f"ON c.id = co.contract_id WHERE co.status = 'approved' AND {ACTIVE} AND "
        f"c.signed_date <= %s AND co.effective_date > %s{where} GROUP BY c.currency",
        [end, end, *params])
    recognised = per_currency(
        f"SELECT c.currency, SUM(e.amount) FROM {ENTRY} e JOIN {CONTRACT} c ON "
        f"c.id = e.contract_id WHERE {ACTIVE} AND c.signed_date <= %s AND e.month <= %s"
        f"{where} GROUP BY c.currency", [end, end, *params])
    return combine((value, 1), (later, -1), (recognised, -1))


def sql_revenue(month: date, entity: object) -> dict[str, Decimal]:
    where, params = entity_sql("c", entity)
    return per_currency(f"SELECT e.currency, SUM(e.amount) FROM {ENTRY} e JOIN {CONTRACT} c ON "
                        f"c.id = e.contract_id WHERE e.month BETWEEN %s AND %s{where} "
                        "GROUP BY e.currency", [month, month_end(month), *params])


def sql_plan(month: date, entity: object) -> dict[str, Decimal]:
    where, params = entity_sql("c", entity)
    return per_currency(
        f"SELECT s.currency, SUM(l.planned_amount) FROM {LINE} l JOIN {SCHEDULE} s ON "
        f"s.id = l.schedule_id JOIN {CONTRACT} c ON c.id = s.contract_id WHERE l.month "
        f"BETWEEN %s AND %s{where} GROUP BY s.currency", [month, month_end(month), *params])


def sql_wip(month: date, entity: object) -> dict[str, Decimal]:
    """Time per contract and expenses per contract and category rounded as billing rounds
    them, milestones as they are; unbilled = no live link to an invoice issued by then."""
    where, params = entity_sql("c", entity)
    end, after = month_end(month), instant_after(month_end(month))
    unbilled = (f"LEFT JOIN {ITEM} bi ON bi.{{source}}_id = x.id AND bi.is_live = %s "
                f"LEFT JOIN {INVOICE} i ON i.id = bi.invoice_id")
    not_issued = "(i.issue_date IS NULL OR i.issue_date > %s)"
    on_contract = (f"JOIN {PROJECT} p ON p.id = x.project_id JOIN {CONTRACT} c ON "
                   "c.id = p.contract_id")
    totals: dict[str, Decimal] = {}
    time = sql(f"SELECT x.bill_currency, SUM(x.hours * x.bill_rate) FROM {TIME} x "
               f"{on_contract} {unbilled.format(source='time_entry')} WHERE "
               "c.billing_model IN ('tm', 'tm_cap') AND x.is_billable = %s AND x.status IN "
               "('approved', 'invoiced') AND x.bill_rate IS NOT NULL AND x.approved_at < %s "
               f"AND {not_issued}{where} GROUP BY c.id, x.bill_currency",
               [True, True, after, end, *params])
    for currency, value in time:
        totals[currency] = totals.get(currency, D(0)) + quantize(exact(value, 6), currency)
    spent = sql(f"SELECT x.project_currency, c.expense_markup_percent, SUM(x.project_amount) "
                f"FROM {EXPENSE} x {on_contract} {unbilled.format(source='expense')} WHERE "
                "c.expenses_billable = %s AND x.is_billable = %s AND x.status IN "
                f"('approved', 'invoiced') AND x.approved_at < %s AND {not_issued}{where} "
                "GROUP BY c.id, x.category, x.project_currency, c.expense_markup_percent",
                [True, True, True, after, end, *params])
    for currency, markup, value in spent:
        amount = quantize(exact(value) * (1 + exact(markup, 4) / 100), currency)
        totals[currency] = totals.get(currency, D(0)) + amount
    ready = "COALESCE(x.accepted_at, x.completed_at)"
    milestones = per_currency(
        f"SELECT x.currency, SUM(x.amount) FROM {MILESTONE} x {on_contract} "
        f"{unbilled.format(source='milestone')} WHERE c.billing_model = 'fixed_milestones' "
        "AND x.status IN ('completed', 'accepted', 'invoiced') AND "
        f"(x.requires_acceptance = %s OR x.accepted_at IS NOT NULL) AND {ready} < %s AND "
        f"{not_issued}{where} GROUP BY x.currency", [True, False, after, end, *params])
    return combine((totals, 1), (milestones, 1))


def sql_cost(month: date, entity: object) -> dict[str, Decimal]:
    where, params = entity_sql("c", entity)
    span = [month, month_end(month)]
    actual = "('approved', 'invoiced', 'written_off')"
    on_contract = (f"JOIN {PROJECT} p ON p.id = x.project_id JOIN {CONTRACT} c ON "
                   "c.id = p.contract_id")
    time = per_currency(f"SELECT x.cost_currency, SUM(x.hours * x.cost_rate) FROM {TIME} x "
                        f"{on_contract} WHERE x.status IN {actual} AND x.work_date BETWEEN %s "
                        f"AND %s{where} GROUP BY x.cost_currency", span + params, places=6)
    spent = per_currency(f"SELECT x.project_currency, SUM(x.project_amount) FROM {EXPENSE} x "
                         f"{on_contract} WHERE x.status IN {actual} AND x.expense_date "
                         f"BETWEEN %s AND %s{where} GROUP BY x.project_currency",
                         span + params)
    return combine((time, 1), (spent, 1))


def expected(key: str, month: date, entity: object, target: str) -> Decimal | None:
    """The figure of measure `key` for `month` from the plain SQL above."""
    if key == "dso":
        receivable = to_target(sql_receivable(month, entity), month, target)
        sales = to_target(sql_sales(month, entity), month, target)
        return None if sales <= 0 else (receivable / sales * 90).quantize(
            D("0.1"), rounding=ROUND_HALF_UP)
    if key == "gross_margin":
        revenue = to_target(sql_revenue(month, entity), month, target)
        cost = to_target(sql_cost(month, entity), month, target)
        return None if not revenue else ((revenue - cost) * 100 / revenue).quantize(D("0.01"))
    queries = {"bookings": sql_bookings, "backlog": sql_backlog, "revenue": sql_revenue,
               "wip": sql_wip, "ar": sql_receivable}
    return to_target(queries[key](month, entity), month, target)


def figure(key: str, scope: object, month: date) -> Decimal | None:
    measure = next(m for m in GROUPS[key](scope) if m.key == key)
    return measure.values[scope.months.index(month)]


# ---- the figures against plain SQL -----------------------------------------------------

@pytest.fixture
def world():
    return seed_money_world()


FILTERS = {"all, converted to USD": lambda: (None, "USD"),
           "US entity": lambda: (us_entity(), "USD"),
           "UK entity": lambda: (uk_entity(), "GBP"),
           "UK entity shown in USD": lambda: (uk_entity(), "USD")}


@pytest.mark.parametrize("how", list(FILTERS))
def test_every_figure_equals_plain_sql_to_the_cent(world, how):
    entity, currency = FILTERS[how]()
    scope = build_scope(end_month=END, legal_entity=entity, currency=currency)
    assert scope.currency == currency
    for key in GROUPS:
        for month in CHECKED_MONTHS:
            assert figure(key, scope, month) == expected(key, month, entity, currency), (
                key, month)
    assert scope.rates.missing_pairs == []


def test_revenue_plan_is_the_comparison_line(world):
    scope = build_scope(end_month=END, currency="USD")
    revenue = measures_money.revenue_against_forecast(scope)[0]
    assert revenue.comparison_label == "Plan"
    for month in CHECKED_MONTHS:
        assert revenue.comparison[scope.months.index(month)] == to_target(
            sql_plan(month, None), month, "USD")


def test_conversion_is_the_gbp_sum_times_the_rate_plus_usd_rounded_once(world):
    scope = build_scope(end_month=END, currency="USD")
    gbp, usd = sql_revenue(MAR, uk_entity())["GBP"], sql_revenue(MAR, us_entity())["USD"]
    assert (gbp, usd) == (D("7000.55"), D("30100.00"))
    assert figure("revenue", scope, MAR) == quantize(gbp * D("1.27") + usd, "USD")
    assert figure("revenue", scope, MAR) == D("38990.70")
    # February uses January's rate, the latest stored on or before it.
    gbp_feb = sql_receivable(FEB, uk_entity())["GBP"]
    assert figure("ar", scope, FEB) == quantize(
        gbp_feb * D("1.25") + sql_receivable(FEB, us_entity())["USD"], "USD")


def test_worked_figures_of_the_us_entity(world):
    """Hand-computed from money_world.py, so a definition the SQL shares cannot drift."""
    scope = build_scope(end_month=END, legal_entity=us_entity())
    values = {key: figure(key, scope, MAR) for key in GROUPS}
    assert values == {
        # A's approved change order; F (cancelled) and E (draft) never count.
        "bookings": D("10000.00"),
        # A 110,000 - 32,000 recognised; B 45,000 + 5,000 (its cut takes effect in April)
        # - 35,000; D fully recognised.
        "backlog": D("93000.00"),
        "revenue": D("30100.00"),
        # time 7.5 h + 3 h (on a draft) + 4 h (invoiced in April) x 150; lodging 520.01 and a
        # released taxi 50.00 x 1.10; milestone accepted 20 March.
        "wip": D("17802.01"),
        # A1 1,299 - 500 paid; A2 1,082.50; B1 20,000 (paid in April); D1 3,247.50.
        "ar": D("25129.00"),
        "dso": D("101.9"),
        # cost: 26.75 h x 80 + expenses 638.84 = 2,778.84.
        "gross_margin": D("90.77"),
    }
    assert figure("bookings", scope, FEB) == D("50000.00")  # B's original value
    assert figure("bookings", scope, APR) == D("-5000.00")  # B's change order
    assert figure("wip", scope, APR) == D("25639.51")


def test_ar_and_dso_equal_billings_selectors_at_a_month_end(world):
    """Where every payment was received by the month end, billing's aging (payments to
    date) and dso() describe the same receivables."""
    for entity, month in ((us_entity(), APR), (uk_entity(), MAR), (uk_entity(), APR)):
        scope = build_scope(end_month=END, legal_entity=entity)
        as_of = month_end(month)
        aging = [row for row in ar_aging(as_of=as_of, legal_entity=entity) if row.is_total]
        assert [row.currency for row in aging] == [entity.base_currency]
        assert figure("ar", scope, month) == aging[0].total
        assert figure("dso", scope, month) == dso(as_of=as_of, legal_entity=entity)


def test_a_missing_rate_is_reported_and_its_currency_left_out():
    seed_money_world(rates=False)
    scope = build_scope(end_month=END, currency="USD")
    for key in GROUPS:
        figure(key, scope, MAR)
    assert scope.rates.missing_pairs == ["GBP→USD"]
    assert figure("bookings", scope, MAR) == D("10000.00")  # C's 88,000 GBP left out
    assert figure("revenue", scope, MAR) == D("30100.00")
    table = measures_money.ROWS["bookings"](scope, MAR)
    assert {row["code"]: row["amount_converted"] for row in table.rows}["C000"] is None


def test_the_service_line_filter_narrows_to_contracts_with_a_project_in_it(world):
    scope = build_scope(end_month=END, service_line="Data", currency="USD")
    assert figure("bookings", scope, FEB) == D("50000.00")  # B only; A is Cloud
    assert figure("revenue", scope, MAR) == quantize(
        D("15000.00") + D("7000.55") * D("1.27"), "USD")


# ---- rows behind a figure --------------------------------------------------------------

@pytest.mark.parametrize("key", list(TOTAL_KEYS))
def test_rows_total_equals_the_figure(world, key):
    for entity, currency in ((None, "USD"), (us_entity(), "USD"), (uk_entity(), "GBP")):
        scope = build_scope(end_month=END, legal_entity=entity, currency=currency)
        for month in CHECKED_MONTHS:
            table = measures_money.ROWS[key](scope, month)
            assert table.total[TOTAL_KEYS[key]] == figure(key, scope, month), (key, month)
            assert table.currency == currency
            assert {column.key for column in table.columns} >= {TOTAL_KEYS[key]}


def test_rows_of_one_currency_add_up_and_link_to_their_pages(world):
    scope = build_scope(end_month=END, legal_entity=us_entity())
    sums = {"bookings": "amount", "backlog": "backlog", "wip": "total", "ar": "open"}
    for key, column in sums.items():
        table = measures_money.ROWS[key](scope, MAR)
        assert sum(row[column] for row in table.rows) == figure(key, scope, MAR)
        assert all(row["url"] for row in table.rows)
    a = Contract.objects.get(code="A000")
    wip = measures_money.ROWS["wip"](scope, MAR)
    assert wip.rows[0] | {"url": None} == {
        "code": "A000", "client": a.client.name, "currency": "USD", "time": D("2175.00"),
        "expenses": D("627.01"), "milestones": D("0.00"), "total": D("2802.01"),
        "total_converted": D("2802.01"), "url": None}
    assert wip.rows[0]["url"] == reverse("contract-detail", args=[a.pk])
    ar = measures_money.ROWS["ar"](scope, APR)
    credited = next(row for row in ar.rows if row["credited"])
    invoice = Invoice.objects.get(number=credited["number"])
    assert credited["url"] == reverse("billing:invoice-detail", args=[invoice.pk])
    assert (credited["total"], credited["paid"], credited["credited"], credited["open"]) == (
        D("1082.50"), D("0.00"), D("108.25"), D("974.25"))
    dso_table = measures_money.ROWS["dso"](scope, APR)
    revenue_lines = [row for row in dso_table.rows if "revenue" in row]
    assert [row["revenue"] for row in revenue_lines] == [D("22700.00")]


def test_bookings_rows_show_the_original_value_and_the_change_orders(world):
    scope = build_scope(end_month=END, legal_entity=uk_entity())
    table = measures_money.ROWS["bookings"](scope, MAR)
    assert [(row["date"], row["amount"]) for row in table.rows] == [
        (date(2026, 3, 3), D("80000.00")), (date(2026, 3, 25), D("8000.00"))]


# ---- billing agrees where the definitions coincide -------------------------------------

def test_wip_of_simple_contracts_equals_what_billing_calls_unbilled():
    """DOMAIN.md's T&M worked example (37.5 h x 150, 12.25 h x 200, lodging 420.00 and taxi
    35.50 with 10 % markup) plus a billed entry, and a milestone contract: the current
    month's WIP per contract is billing's ready amount at the month end."""
    def approved(when: date) -> dict:
        return {"status": TimeEntry.Status.APPROVED,
                "approved_at": datetime(when.year, when.month, when.day, 9, tzinfo=UTC)}

    tm = ContractFactory(code="TM1", expense_markup_percent=D("10.0000"))
    task = TaskFactory(project=ProjectFactory(contract=tm))
    rates = {"bill_currency": "USD", "cost_rate": D("90.0000"), "cost_currency": "USD"}
    for day, hours, rate in ((9, "20.00", "150.0000"), (10, "17.50", "150.0000"),
                             (11, "12.25", "200.0000")):
        TimeEntryFactory(task=task, work_date=date(2026, 3, day), hours=D(hours),
                         bill_rate=D(rate), **rates, **approved(date(2026, 3, 13)))
    billed = TimeEntryFactory(task=task, work_date=date(2026, 3, 2), hours=D("5.00"),
                              bill_rate=D("150.0000"), **rates, **approved(date(2026, 3, 4)))
    invoice = InvoiceFactory(contract=tm, issued=True, issue_date=date(2026, 3, 20))
    BilledItem.objects.create(invoice=invoice, time_entry=billed)
    TimeEntry.objects.filter(pk=billed.pk).update(status=TimeEntry.Status.INVOICED)
    for category, amount in (("lodging", "420.00"), ("ground_transport", "35.50")):
        ExpenseFactory(project=task.project, category=category, amount=D(amount),
                       expense_date=date(2026, 3, 11), **approved(date(2026, 3, 12)))
    fixed = ContractFactory(code="FX1", billing_model=Contract.BillingModel.FIXED_MILESTONES)
    MilestoneFactory(project=ProjectFactory(contract=fixed), amount=D("12345.67"),
                     status=Milestone.Status.ACCEPTED,
                     accepted_at=datetime(2026, 3, 25, 12, tzinfo=UTC))

    wip = {row["code"]: row["total"]
           for row in measures_money.ROWS["wip"](build_scope(end_month=MAR), MAR).rows}
    ready = {row.contract_code: row.time_amount + row.expense_amount + row.milestone_amount
             for row in invoice_ready_by_contract(cut_off=date(2026, 3, 31))}
    assert wip == ready == {"TM1": D("8576.05"), "FX1": D("12345.67")}


# ---- a fixed number of queries ---------------------------------------------------------

GROUP_QUERIES = {measures_money.bookings_and_backlog: 5,
                 measures_money.revenue_against_forecast: 2,
                 measures_money.work_in_progress: 3,
                 measures_money.receivables_and_dso: 2,
                 measures_money.gross_margin: 3}
ROWS_QUERIES = {"bookings": 2, "backlog": 1, "revenue": 2, "wip": 3, "ar": 1, "dso": 2,
                "gross_margin": 3}


@pytest.mark.parametrize("copies", [1, 5])
def test_each_group_and_rows_table_runs_a_fixed_number_of_queries(
        copies, django_assert_num_queries, django_assert_max_num_queries):
    seed_money_world(copies=copies)
    assert Contract.objects.filter(code__startswith="A").count() == copies
    scope = build_scope(end_month=END, currency="USD")
    for group, count in GROUP_QUERIES.items():
        with django_assert_num_queries(count):
            measures = group(scope)
        assert all(len(measure.values) == len(scope.months) for measure in measures)
    for key, count in ROWS_QUERIES.items():
        with django_assert_max_num_queries(count), CaptureQueriesContext(connection) as ran:
            measures_money.ROWS[key](scope, MAR)
        assert len(ran.captured_queries) == count, key


def test_a_completed_contracts_unrecognised_rest_is_booked_but_no_backlog():
    """DOMAIN.md: backlog is for active contracts; bookings count every signed contract."""
    done = ContractFactory(signed_date=date(2026, 3, 5), value_amount=D("1000.00"),
                           status=Contract.Status.COMPLETED)
    scope = build_scope(end_month=date(2026, 3, 1), legal_entity=done.legal_entity)
    bookings, backlog = measures_money.bookings_and_backlog(scope)
    assert bookings.current == D("1000.00")
    assert backlog.current == D("0.00")
    done.status = Contract.Status.ACTIVE
    done.save(update_fields=["status"])
    assert measures_money.bookings_and_backlog(scope)[1].current == D("1000.00")
