"""The lifecycle page (/dashboard/lifecycle/): who may open it, what it shows, its exports and
its filter errors."""

import csv
import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse
from openpyxl import load_workbook

from tests.insight.test_lifecycle import seed_world

URL = reverse("insight:lifecycle")
MARCH = {"month": "2026-03"}
MONTHS = ["2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10",
          "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]


@pytest.mark.django_db
class TestAccess:
    @pytest.mark.parametrize("role", ["finance", "executive", "administrator"])
    def test_finance_executives_and_administrators_open_it(self, client, role, request):
        client.force_login(request.getfixturevalue(role).user)
        response = client.get(URL, MARCH)
        assert response.status_code == 200
        assert response.context["board"] is not None

    @pytest.mark.parametrize("role", ["project_manager", "consultant"])
    def test_managers_and_consultants_are_refused(self, client, role, request):
        client.force_login(request.getfixturevalue(role).user)
        assert client.get(URL, MARCH).status_code == 403
        assert client.get(URL, {**MARCH, "format": "csv"}).status_code == 403

    def test_anonymous_is_sent_to_login(self, client):
        response = client.get(URL, MARCH)
        assert response.status_code == 302
        assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))
        assert "next=" in response["Location"]


@pytest.mark.django_db
class TestPage:
    def test_tiles_table_and_aging_buckets(self, client, finance):
        seed_world()
        client.force_login(finance.user)
        response = client.get(URL, MARCH)
        html = response.content.decode()
        assert response.status_code == 200
        for key in ("deal_to_project", "deal_to_hard_booking", "approved_time_aging",
                    "invoice_cycle_time", "time_compliance", "billing_trigger_latency",
                    "invoice_exception_rate", "sync_success_hubspot", "sync_success_books"):
            assert f'id="tile-{key}"' in html
            assert f'data-measure="{key}"' in html
        assert "Sync success · hubspot" in html
        assert html.count('class="sparkline"') == 9
        assert "<path d=\"M" in html  # a drawn trend line, inline SVG
        assert "61-90 days" in html and "aging-table" in html
        # No deal was won in March: the tile says when the latest figure is from.
        tile = html.split('id="tile-deal_to_project"')[1].split("</li>")[0]
        assert "Latest: 19.0 h in Feb 2026" in tile
        board = response.context["board"]
        exception = board.by_key["invoice_exception_rate"]
        # January (adjusted, clean, voided per entity) against February (clean, credited).
        assert exception.values[-3] == Decimal("66.67")
        assert exception.values[-2] == Decimal("50.00")

    def test_legal_entity_filter_narrows_the_figures(self, client, finance):
        world = seed_world()
        client.force_login(finance.user)
        response = client.get(URL, {**MARCH, "legal_entity": world.uk.pk})
        assert response.status_code == 200
        board = response.context["board"]
        assert board.scope.legal_entity_id == world.uk.pk
        assert board.scope.currency == "GBP"
        assert board.by_key["deal_to_project"].values[-3] == Decimal("8.0")

    def test_empty_state_when_nothing_happened(self, client, finance):
        client.force_login(finance.user)
        response = client.get(URL, {"month": "2018-06"})
        html = response.content.decode()
        assert response.status_code == 200
        assert "No lifecycle data for these months yet" in html
        assert 'class="tiles"' not in html
        assert "format=csv" not in html

    def test_months_ahead_have_no_figures(self, client, finance):
        seed_world()
        client.force_login(finance.user)
        response = client.get(URL, {"month": "2031-01"})
        assert response.status_code == 200
        board = response.context["board"]
        assert board.by_key["approved_time_aging"].values == (None,) * 12
        assert board.by_key["time_compliance"].values == (None,) * 12

    def test_defaults_to_this_month(self, client, finance):
        from django.utils import timezone

        client.force_login(finance.user)
        response = client.get(URL)
        assert response.status_code == 200
        assert response.context["board"].scope.months[-1] == timezone.localdate().replace(day=1)


@pytest.mark.django_db
class TestExports:
    def test_csv_has_a_row_per_measure_and_a_column_per_month(self, client, finance):
        seed_world()
        client.force_login(finance.user)
        response = client.get(URL, {**MARCH, "format": "csv"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert 'filename="lifecycle-2026-03.csv"' in response["Content-Disposition"]
        table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert table[0] == ["measure", "unit", *MONTHS]
        by_label = {row[0]: row for row in table[1:]}
        assert by_label["Invoice exception rate"][1] == "percent"
        assert by_label["Invoice exception rate"][2 + 9:2 + 11] == ["66.67", "50.00"]
        assert by_label["Deal to project"][1] == "hours"
        assert by_label["Deal to project"][2 + 9:2 + 11] == ["7.0", "19.0"]
        assert by_label["Deal to project"][2] == ""  # no deal won in April 2025
        assert "Sync success · books" in by_label
        assert len(table) == 1 + 9

    def test_xlsx_holds_the_same_table(self, client, finance):
        seed_world()
        client.force_login(finance.user)
        response = client.get(URL, {**MARCH, "format": "xlsx"})
        assert response.status_code == 200
        assert 'filename="lifecycle-2026-03.xlsx"' in response["Content-Disposition"]
        sheet = load_workbook(io.BytesIO(response.content))["Lifecycle"]
        table = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert table[0] == ["measure", "unit", *MONTHS]
        by_label = {row[0]: row for row in table[1:]}
        assert Decimal(str(by_label["Billing trigger latency"][2 + 9])) == Decimal("18.7")
        assert by_label["Billing trigger latency"][2] is None


@pytest.mark.django_db
class TestBadFilters:
    @pytest.mark.parametrize(("params", "field"), [
        ({"month": "2026-13"}, "month"),
        ({"month": "2026-03", "legal_entity": "999999"}, "legal_entity"),
        ({"month": "2026-03", "legal_entity": "abc"}, "legal_entity"),
    ])
    def test_error_is_shown_beside_the_field(self, client, finance, params, field):
        client.force_login(finance.user)
        response = client.get(URL, params)
        html = response.content.decode()
        assert response.status_code == 400
        assert response.context["board"] is None
        beside = html.split(f'field-{field} has-error')[1].split('<div class="field')[0]
        assert f'name="{field}"' in beside
        assert 'class="field-error"' in beside
        assert 'class="tiles"' not in html

    def test_a_bad_filter_exports_nothing(self, client, finance):
        client.force_login(finance.user)
        response = client.get(URL, {"month": "nope", "format": "csv"})
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/html")
