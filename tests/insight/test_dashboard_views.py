"""The dashboard page, the rows behind each figure, the exports and the PDF snapshot: who may
open them, what they show under the filters, and a fixed number of queries."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from insight.selectors.dashboard import ROWS
from tests.insight.world import build_world

pytestmark = pytest.mark.django_db
DASHBOARD = reverse("insight:dashboard")
MARCH = {"month": "2026-03"}
MEASURE_KEYS = ("bookings", "backlog", "billable_utilization", "total_utilization",
                "realization", "effective_bill_rate", "revenue", "wip", "ar", "dso",
                "gross_margin")


@pytest.fixture
def world():
    return build_world()


@pytest.mark.parametrize("role, status", [("executive", 200), ("finance", 200),
                                          ("administrator", 200), ("project_manager", 403),
                                          ("resource_manager", 403), ("consultant", 403)])
def test_only_leaders_and_finance_open_the_dashboard(client, request, world, role, status):
    client.force_login(request.getfixturevalue(role).user)
    assert client.get(DASHBOARD, MARCH).status_code == status
    assert client.get(reverse("insight:measure-rows", args=["bookings"]),
                      MARCH).status_code == status
    assert client.get(reverse("insight:dashboard-pdf"), MARCH).status_code == status


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_every_measure_has_a_tile_linking_to_its_rows(client, executive, world):
    client.force_login(executive.user)
    response = client.get(DASHBOARD, MARCH)
    assert response.status_code == 200
    html = response.content.decode()
    board = response.context["board"]
    assert "{#" not in html and "{%" not in html  # no template syntax leaks onto the page
    assert tuple(m.key for m in board.measures) == MEASURE_KEYS
    assert set(MEASURE_KEYS) == set(ROWS)
    for key in MEASURE_KEYS:
        assert f'id="tile-{key}"' in html
        assert reverse("insight:measure-rows", args=[key]) in html
    assert board.scope.months[-1].isoformat() == "2026-03-01"
    assert len(board.scope.months) == 12


def test_the_legal_entity_filter_shows_its_currency(client, executive, world):
    client.force_login(executive.user)
    firm = client.get(DASHBOARD, MARCH).context["board"]
    uk = client.get(DASHBOARD, {**MARCH, "legal_entity": world.uk.pk}).context["board"]
    assert firm.scope.currency == "USD" and uk.scope.currency == "GBP"
    assert uk.scope.legal_entity_id == world.uk.pk
    # The UK's bookings alone, in pounds, are the firm's bookings less the US part, in dollars.
    us = client.get(DASHBOARD, {**MARCH, "legal_entity": world.us.pk}).context["board"]
    feb = firm.scope.months.index(firm.scope.months[-2])
    assert (firm.by_key["bookings"].values[feb]
            == us.by_key["bookings"].values[feb] + uk.by_key["bookings"].values[feb] * 125 / 100)


def test_bad_filters_are_shown_beside_the_field(client, executive, world):
    client.force_login(executive.user)
    response = client.get(DASHBOARD, {"month": "March", "legal_entity": "999999"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_month_error"' in html and 'id="id_legal_entity_error"' in html


@pytest.mark.parametrize("month", ["0001-01", "9999-12"])
def test_months_off_the_calendar_are_refused_not_crashed(client, executive, world, month):
    client.force_login(executive.user)
    for url in (DASHBOARD, reverse("insight:dashboard-pdf"), reverse("insight:lifecycle"),
                reverse("insight:measure-rows", args=["bookings"])):
        response = client.get(url, {"month": month})
        assert response.status_code == 400, url
        assert 'id="id_month_error"' in response.content.decode()


def test_the_table_exports_to_csv_and_xlsx(client, finance, world):
    client.force_login(finance.user)
    csv_text = b"".join(client.get(DASHBOARD, {**MARCH, "format": "csv"})
                        .streaming_content).decode()
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("measure,unit,2025-04,") and lines[0].endswith("2026-03")
    assert len(lines) == 1 + len(MEASURE_KEYS)
    response = client.get(DASHBOARD, {**MARCH, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 1 + len(MEASURE_KEYS)


def test_the_pdf_snapshot_is_a_pdf(client, executive, world):
    client.force_login(executive.user)
    response = client.get(reverse("insight:dashboard-pdf"), MARCH)
    assert response["Content-Type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(response.content))
    assert len(pdf.pages) >= 2  # tiles and charts, then the twelve-month table
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Dashboard" in text and "Bookings" in text and "Apr 25" in text


@pytest.mark.parametrize("key", MEASURE_KEYS)
def test_each_figure_opens_its_rows_with_exports(client, finance, world, key):
    client.force_login(finance.user)
    url = reverse("insight:measure-rows", args=[key])
    response = client.get(url, {**MARCH, "at": "2026-03"})
    assert response.status_code == 200
    assert response.context["month"].isoformat() == "2026-03-01"
    csv_response = client.get(url, {**MARCH, "at": "2026-03", "format": "csv"})
    header = next(csv.reader(b"".join(csv_response.streaming_content).decode().splitlines()))
    assert header == [column.label for column in response.context["table"].columns]


def test_an_unknown_measure_is_not_found(client, finance, world):
    client.force_login(finance.user)
    assert client.get(reverse("insight:measure-rows", args=["nonsense"])).status_code == 404


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(DASHBOARD, MARCH).status_code == 200
    return len(captured)


def test_the_dashboard_costs_the_same_queries_whatever_the_firm_size(client, executive):
    build_world(engagements=1)
    client.force_login(executive.user)
    small = _queries(client)
    from psa.models import LegalEntity
    from tests.insight.world import add_engagement

    for index in range(1, 6):
        for entity in LegalEntity.objects.all():
            add_engagement(entity, index)
    assert _queries(client) == small


def test_the_dashboard_opens_on_the_last_complete_month(client, executive, world):
    from datetime import timedelta

    from django.utils import timezone

    client.force_login(executive.user)
    board = client.get(DASHBOARD).context["board"]
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    assert board.scope.months[-1] == last_month
