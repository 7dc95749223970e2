"""The revenue forecast on constructed cases whose answer is known: a ratable contract's plan
not yet recognised, a T&M contract's assignments x rates, a pipeline request at 50 %."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from psa.models import Contract, Project
from resourcing.models import Assignment, ResourceRequest
from revenue.models import RecognitionRun
from revenue.selectors.forecast import (
    ForecastCell,
    forecast_export_header,
    forecast_export_rows,
    month_hours,
    revenue_forecast,
    weekdays_between,
)
from revenue.services.recognition import recognition_run_execute
from revenue.services.schedules import schedule_plan_refresh
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    LegalEntityFactory,
    PersonFactory,
    ProjectFactory,
    RateCardFactory,
    RateCardLineFactory,
    RoleFactory,
)
from tests.resourcing.factories import AssignmentFactory, ResourceRequestFactory

pytestmark = pytest.mark.django_db
D = Decimal
JAN = date(2026, 1, 1)
MONTHS = [date(2026, m, 1) for m in range(1, 13)]


@pytest.fixture
def consultant_role():
    role = RoleFactory()
    RateCardLineFactory(rate_card=RateCardFactory(standard=True, currency="USD"), role=role,
                        hourly_rate=D("150.0000"))
    return role


@pytest.fixture
def world(consultant_role):
    """One ratable contract (10,000.00 Jan-Mar, January recognised), one T&M contract with a
    hard assignment (20 h/week, 2 Mar - 24 Apr) and a soft one (10 h/week, 4-8 May) at the
    standard 150.00, and one pipeline deal (40 h/week, 1-12 Jun, 200.00, 50 %)."""
    ratable = ContractFactory(revenue_method=Contract.RevenueMethod.RATABLE,
                              billing_model=Contract.BillingModel.FIXED_INSTALLMENTS,
                              value_amount=D("10000.00"), start_date=JAN,
                              end_date=date(2026, 3, 31), client=ClientFactory(name="Acme"))
    ProjectFactory(contract=ratable, service_line="Cloud")
    schedule_plan_refresh(contract=ratable)
    run = RecognitionRun.objects.create(legal_entity=ratable.legal_entity, period=JAN)
    recognition_run_execute(run_id=run.pk)

    tm = ContractFactory(client=ClientFactory(name="Bolt"))
    project = ProjectFactory(contract=tm, service_line="Data")
    person = PersonFactory(role=consultant_role)
    AssignmentFactory(person=person, project=project, hours_per_week=D("20.00"),
                      start_date=date(2026, 3, 2), end_date=date(2026, 4, 24))
    AssignmentFactory(person=person, project=project, hours_per_week=D("10.00"),
                      start_date=date(2026, 5, 4), end_date=date(2026, 5, 8),
                      booking=Assignment.Booking.SOFT)

    ResourceRequestFactory(project=None, deal_name="Globex rollout", deal_ref="D-1",
                           is_tentative=True, probability=D("50.00"), role=consultant_role,
                           hours_per_week=D("40.00"), start_date=date(2026, 6, 1),
                           end_date=date(2026, 6, 12), bill_rate=D("200.0000"),
                           currency="USD")
    return {"ratable": ratable, "tm": tm, "project": project, "person": person}


def by_month(forecast) -> dict[date, ForecastCell]:
    return dict(zip(forecast.months, forecast.month_totals, strict=True))


class TestHours:
    def test_weekdays_and_month_hours(self):
        assert weekdays_between(date(2026, 3, 2), date(2026, 3, 31)) == 22
        assert weekdays_between(date(2026, 3, 7), date(2026, 3, 8)) == 0  # a weekend
        assert weekdays_between(date(2026, 3, 9), date(2026, 3, 6)) == 0
        assert month_hours(D("20.00"), date(2026, 3, 2), date(2026, 4, 24),
                           date(2026, 4, 1)) == D("72.00")  # 18 weekdays x 4 h


class TestRevenueForecast:
    def test_by_month_each_source_to_the_cent(self, world):
        forecast = revenue_forecast(start_month=date(2026, 1, 15), months=12)
        assert forecast.months == tuple(MONTHS) and forecast.currency == "USD"
        cells = by_month(forecast)
        # ratable: January is recognised, February and March are the plan
        assert cells[date(2026, 1, 1)] == ForecastCell()
        assert cells[date(2026, 2, 1)] == ForecastCell(schedule=D("3111.11"))
        # 22 weekdays x 20 h / 5 = 88 h x 150.00
        assert cells[date(2026, 3, 1)] == ForecastCell(schedule=D("3444.45"), tm=D("13200.00"))
        # 18 weekdays x 4 h = 72 h x 150.00
        assert cells[date(2026, 4, 1)] == ForecastCell(tm=D("10800.00"))
        # soft: 10 h x 150.00 x 50 %
        assert cells[date(2026, 5, 1)] == ForecastCell(tm=D("750.00"))
        # 10 weekdays x 8 h = 80 h x 200.00 x 50 %
        assert cells[date(2026, 6, 1)] == ForecastCell(pipeline=D("8000.00"))
        assert all(cells[m] == ForecastCell() for m in MONTHS[6:])
        assert forecast.total == ForecastCell(schedule=D("6555.56"), tm=D("24750.00"),
                                              pipeline=D("8000.00"))
        assert [row.label for row in forecast.rows] == [f"{m:%b %Y}" for m in MONTHS]

    def test_by_client_and_by_service_line(self, world):
        by_client = {row.label: row.total for row in
                     revenue_forecast(start_month=JAN, group_by="client").rows}
        assert by_client == {
            "Acme": ForecastCell(schedule=D("6555.56")),
            "Bolt": ForecastCell(tm=D("24750.00")),
            "Deal: Globex rollout": ForecastCell(pipeline=D("8000.00")),
        }
        forecast = revenue_forecast(start_month=JAN, group_by="service_line")
        # largest first
        assert [row.label for row in forecast.rows] == ["Data", "No service line", "Cloud"]
        assert {row.label: row.total.total for row in forecast.rows} == {
            "Data": D("24750.00"), "Cloud": D("6555.56"), "No service line": D("8000.00")}
        march = forecast.months.index(date(2026, 3, 1))
        assert forecast.month_totals[march].total == D("16644.45")

    def test_window_starts_where_asked(self, world):
        forecast = revenue_forecast(start_month=date(2026, 4, 1), months=3)
        assert forecast.months == (date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1))
        assert forecast.total == ForecastCell(tm=D("11550.00"), pipeline=D("8000.00"))

    def test_a_cap_stops_t_and_m(self, consultant_role):
        capped = ContractFactory(billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP,
                                 cap_amount=D("15000.00"))
        AssignmentFactory(person=PersonFactory(role=consultant_role),
                          project=ProjectFactory(contract=capped), hours_per_week=D("20.00"),
                          start_date=date(2026, 3, 2), end_date=date(2026, 4, 24))
        cells = by_month(revenue_forecast(start_month=JAN))
        assert cells[date(2026, 3, 1)].tm == D("13200.00")
        assert cells[date(2026, 4, 1)].tm == D("1800.00")  # the cap less March

    def test_pipeline_on_a_real_project_counts_only_what_assignments_leave_open(
            self, consultant_role):
        project = ProjectFactory(service_line="Data")
        request = ResourceRequestFactory(project=project, is_tentative=True,
                                         probability=D("60.00"), role=consultant_role,
                                         hours_per_week=D("40.00"), bill_rate=D("100.0000"),
                                         start_date=date(2026, 6, 1),
                                         end_date=date(2026, 6, 12),
                                         status=ResourceRequest.Status.PARTIALLY_FILLED)
        AssignmentFactory(person=PersonFactory(role=consultant_role), project=project,
                          request=request, hours_per_week=D("20.00"),
                          start_date=date(2026, 6, 1), end_date=date(2026, 6, 12))
        june = by_month(revenue_forecast(start_month=JAN))[date(2026, 6, 1)]
        # scheduled: 40 h x 150.00; pipeline: (80 - 40) h x 100.00 x 60 %
        assert june == ForecastCell(tm=D("6000.00"), pipeline=D("2400.00"))

    def test_tentative_projects_are_pipeline_only_and_cancelled_requests_nothing(
            self, consultant_role):
        project = ProjectFactory(status=Project.Status.TENTATIVE)
        request = ResourceRequestFactory(project=project, probability=D("25.00"),
                                         role=consultant_role, bill_rate=None,
                                         hours_per_week=D("40.00"),
                                         start_date=date(2026, 6, 1),
                                         end_date=date(2026, 6, 5))
        AssignmentFactory(person=PersonFactory(role=consultant_role), project=project,
                          request=request, hours_per_week=D("40.00"),
                          start_date=date(2026, 6, 1), end_date=date(2026, 6, 5),
                          booking=Assignment.Booking.SOFT)
        ResourceRequestFactory(project=None, deal_name="Lost", is_tentative=True,
                               currency="USD", start_date=date(2026, 6, 1),
                               end_date=date(2026, 6, 5), status=ResourceRequest.Status.CANCELLED)
        june = by_month(revenue_forecast(start_month=JAN))[date(2026, 6, 1)]
        # 40 h at the role's standard 150.00 x 25 %; the soft assignment is not T&M
        assert june == ForecastCell(pipeline=D("1500.00"))

    def test_unpriced_hours_are_reported_not_counted(self):
        AssignmentFactory(person=PersonFactory(role=RoleFactory(code="PTNR", name="Partner",
                                                                 level=5)),
                          start_date=date(2026, 3, 2), end_date=date(2026, 3, 6))
        forecast = revenue_forecast(start_month=JAN)
        assert forecast.total == ForecastCell()
        assert forecast.unpriced_hours == D("20.00")

    def test_currency_and_legal_entity(self, world):
        uk = LegalEntityFactory(code="UK", base_currency="GBP", name="Northwind UK Ltd",
                                country="GB", time_zone="Europe/London")
        ContractFactory(client=ClientFactory(legal_entity=uk))
        forecast = revenue_forecast(start_month=JAN)
        assert forecast.currency == "USD" and forecast.other_currencies == ("GBP",)
        pounds = revenue_forecast(start_month=JAN, currency="GBP")
        assert pounds.total == ForecastCell() and pounds.other_currencies == ("USD",)
        uk_only = revenue_forecast(start_month=JAN, legal_entity=uk)
        assert uk_only.currency == "GBP" and uk_only.total == ForecastCell()
        us = revenue_forecast(start_month=JAN, legal_entity=world["tm"].legal_entity)
        # a deal without a project has no legal entity yet: left out of an entity's forecast
        assert us.total == ForecastCell(schedule=D("6555.56"), tm=D("24750.00"))

    def test_export_rows_long_format(self, world):
        forecast = revenue_forecast(start_month=JAN, group_by="client")
        header = forecast_export_header(forecast)
        assert header == ["Client", "Month", "Currency", "Schedules", "T&M scheduled",
                          "Weighted pipeline", "Total"]
        rows = forecast_export_rows(forecast)
        assert len(rows) == 3 * 12
        assert ["Bolt", "2026-03", "USD", D("0.00"), D("13200.00"), D("0.00"),
                D("13200.00")] in rows
        monthly = revenue_forecast(start_month=JAN)
        assert forecast_export_header(monthly)[0] == "Month"
        assert len(forecast_export_rows(monthly)) == 12

    def test_queries_do_not_grow_with_assignments(self, world, consultant_role):
        with CaptureQueriesContext(connection) as few:
            revenue_forecast(start_month=JAN)
        for _ in range(10):  # more people on the same project and rate
            AssignmentFactory(person=PersonFactory(role=consultant_role),
                              project=world["project"], start_date=date(2026, 3, 2),
                              end_date=date(2026, 3, 27))
        with CaptureQueriesContext(connection) as many:
            forecast = revenue_forecast(start_month=JAN)
        assert by_month(forecast)[date(2026, 3, 1)].tm == D("13200.00") + 10 * D("12000.00")
        # fixed reads, plus rate resolution once per (person, contract, role, month)
        per_rate = (len(many.captured_queries) - len(few.captured_queries)) / 10
        assert per_rate <= 4

    def test_unknown_grouping_is_refused(self):
        with pytest.raises(ValueError, match="grouping"):
            revenue_forecast(start_month=JAN, group_by="person")
