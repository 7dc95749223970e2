"""`/revenue/forecast/`: the page with its chart and grouping switch, the CSV and XLSX exports,
a validation error and the role matrix."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from psa.models import Contract
from revenue.selectors.forecast import ForecastCell
from revenue.views.forecast import forecast_chart
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    PersonFactory,
    ProjectFactory,
    RateCardFactory,
    RateCardLineFactory,
    RoleFactory,
)
from tests.resourcing.factories import AssignmentFactory, ResourceRequestFactory

pytestmark = pytest.mark.django_db
D = Decimal
URL = reverse("revenue:forecast")


@pytest.fixture
def world():
    """T&M: 20 h/week 2 Mar - 24 Apr 2026 at 150.00; a 50 % deal in June at 200.00."""
    role = RoleFactory()
    RateCardLineFactory(rate_card=RateCardFactory(standard=True, currency="USD"), role=role)
    contract = ContractFactory(client=ClientFactory(name="Bolt"),
                               revenue_method=Contract.RevenueMethod.AS_DELIVERED)
    AssignmentFactory(person=PersonFactory(role=role),
                      project=ProjectFactory(contract=contract, service_line="Data"))
    ResourceRequestFactory(project=None, deal_name="Globex rollout", is_tentative=True,
                           probability=D("50.00"), role=role, hours_per_week=D("40.00"),
                           start_date=date(2026, 6, 1), end_date=date(2026, 6, 12),
                           bill_rate=D("200.0000"), currency="USD")


class TestForecastPage:
    def test_finance_sees_chart_table_and_figures(self, client, finance, world):
        client.force_login(finance.user)
        response = client.get(URL, {"start": "2026-01"})
        assert response.status_code == 200
        body = response.content.decode()
        assert "<svg" in body and "T&amp;M scheduled: 13,200.00 USD" in body
        assert "Weighted pipeline: 8,000.00 USD" in body
        assert "32,000.00" in body  # 13,200.00 + 10,800.00 + 8,000.00
        assert response.context["forecast"].group_by == "month"

    def test_group_by_switch(self, client, finance, world):
        client.force_login(finance.user)
        response = client.get(URL, {"start": "2026-01", "group_by": "client"})
        assert response.status_code == 200
        body = response.content.decode()
        assert "Bolt" in body and "Deal: Globex rollout" in body
        links = response.context["group_links"]
        assert [link["current"] for link in links] == [False, True, False]
        assert "group_by=service_line" in links[2]["url"] and "start=2026-01" in links[2]["url"]

    def test_csv_export(self, client, finance, world):
        client.force_login(finance.user)
        response = client.get(URL, {"start": "2026-01", "group_by": "service_line",
                                    "format": "csv"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert lines[0] == ["Service line", "Month", "Currency", "Schedules", "T&M scheduled",
                            "Weighted pipeline", "Total"]
        assert ["Data", "2026-04", "USD", "0.00", "10800.00", "0.00", "10800.00"] in lines

    def test_xlsx_export(self, client, finance, world):
        client.force_login(finance.user)
        response = client.get(URL, {"start": "2026-01", "format": "xlsx"})
        assert response.status_code == 200
        assert response["Content-Disposition"].endswith('.xlsx"')
        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == "Month" and len(rows) == 13
        june = next(row for row in rows if row[0] == "2026-06")
        assert june[1] == "USD" and D(str(june[4])) == D(str(june[5])) == D("8000.00")

    def test_a_bad_month_is_a_validation_error(self, client, finance):
        client.force_login(finance.user)
        response = client.get(URL, {"start": "not-a-month"})
        assert response.status_code == 400
        assert "Enter a valid date" in response.content.decode()

    def test_empty_state(self, client, finance):
        client.force_login(finance.user)
        response = client.get(URL)
        assert response.status_code == 200
        assert "No revenue is forecast" in response.content.decode()

    @pytest.mark.parametrize("role, status", [
        ("consultant", 403), ("project_manager", 403), ("resource_manager", 403),
        ("finance", 200), ("executive", 200), ("administrator", 200)])
    def test_role_matrix(self, client, request, role, status):
        client.force_login(request.getfixturevalue(role).user)
        assert client.get(URL).status_code == status

    def test_anonymous_goes_to_sign_in(self, client):
        response = client.get(URL)
        assert response.status_code == 302 and "login" in response["Location"]


def test_chart_geometry_stacks_to_scale():
    months = [date(2026, 1, 1), date(2026, 2, 1)]
    chart = forecast_chart(months, [ForecastCell(D("100"), D("50"), D("30")), ForecastCell()])
    assert chart["ticks"][-1]["label"] == "200"  # a nice ceiling above the 180.00 peak
    segments = chart["bars"][0]["segments"]
    assert [s["series"] for s in segments] == ["schedule", "tm", "pipeline"]
    assert [s["height"] for s in segments] == [110, 55, 33]  # 220 px for 200
    assert segments[0]["y"] + segments[0]["height"] == chart["base"]
    assert segments[1]["y"] + segments[1]["height"] == segments[0]["y"]
    assert chart["bars"][1]["segments"] == []
