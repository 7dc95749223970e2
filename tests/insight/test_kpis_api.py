"""`GET /api/v1/reports/kpis/`: the dashboard's measures for external systems."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from insight.selectors.dashboard import build_scope, dashboard
from tests.insight.world import build_world

pytestmark = pytest.mark.django_db
URL = reverse("report-kpis")


def test_the_measures_match_the_dashboard(token_client, executive):
    world = build_world()
    response = token_client(executive.user).get(
        URL, {"start": "2026-01-01", "end": "2026-03-31", "legal_entity": world.uk.pk})
    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "GBP" and body["start"] == "2026-01-01"
    assert body["end"] == "2026-03-31" and body["legal_entity"] == world.uk.pk
    board = dashboard(scope=build_scope(start_month=date(2026, 1, 1), end_month=date(2026, 3, 1),
                                        legal_entity=world.uk))
    assert [m["key"] for m in body["measures"]] == [m.key for m in board.measures]
    for sent, measure in zip(body["measures"], board.measures, strict=True):
        assert [row["month"] for row in sent["months"]] == ["2026-01-01", "2026-02-01",
                                                            "2026-03-01"]
        for row, value in zip(sent["months"], measure.values, strict=True):
            assert (row["value"] is None) == (value is None)
            if value is not None:
                assert Decimal(row["value"]) == value.quantize(Decimal("0.01"))


def test_a_reversed_or_too_long_range_is_refused_in_the_error_shape(token_client, finance):
    api = token_client(finance.user)
    response = api.get(URL, {"start": "2026-03-01", "end": "2026-01-01"})
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert response.json()["errors"][0]["attr"] == "end"
    assert api.get(URL, {"start": "2024-01-01", "end": "2026-01-31"}).status_code == 400
    far = api.get(URL, {"start": "9999-01-01", "end": "9999-12-01"})
    assert far.status_code == 400 and far.json()["errors"][0]["attr"] == "start"
    missing = api.get(URL, {"end": "2026-01-31"}).json()
    assert missing["errors"][0]["attr"] == "start"


def test_only_dashboard_readers_may_ask(api_client, token_client, consultant, project_manager):
    assert api_client.get(URL, {"start": "2026-01-01", "end": "2026-01-31"}).status_code == 401
    for person in (consultant, project_manager):
        response = token_client(person.user).get(URL, {"start": "2026-01-01",
                                                       "end": "2026-01-31"})
        assert response.status_code == 403
        assert response.json()["type"] == "client_error"
