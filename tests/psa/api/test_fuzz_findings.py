"""What the schemathesis run (tests/api_fuzz) found, each pinned by a plain test."""

from datetime import date

import pytest
from django.test import Client as DjangoClient

from tests.psa.api.helpers import error_attrs, error_codes
from tests.psa.factories import ClientFactory, LegalEntityFactory, ProjectFactory

pytestmark = pytest.mark.django_db

CLIENTS = "/api/v1/clients/"


@pytest.fixture
def finance_api(finance, token_client):
    return token_client(finance.user)


class TestQueryParameters:
    @pytest.mark.parametrize("size", ["null", "0", "-3", "2.5", "ten", "١٢"])
    def test_a_page_size_that_is_not_a_whole_number_from_1_is_400(self, finance_api, size):
        response = finance_api.get(CLIENTS, {"page_size": size})

        assert response.status_code == 400
        assert error_attrs(response) == {"page_size"}

    def test_a_page_size_over_the_maximum_is_the_maximum(self, finance_api, settings):
        settings.API_MAX_PAGE_SIZE = 2
        ClientFactory.create_batch(3)

        response = finance_api.get(CLIENTS, {"page_size": "50"})

        assert response.status_code == 200 and len(response.json()["results"]) == 2

    @pytest.mark.parametrize("word", ["yes", "0.33", "maybe"])
    def test_a_boolean_filter_refuses_anything_but_true_or_false(self, finance_api, word):
        response = finance_api.get("/api/v1/legal-entities/", {"is_active": word})

        assert response.status_code == 400
        assert error_attrs(response) == {"is_active"}

    def test_a_boolean_filter_still_filters(self, finance_api):
        LegalEntityFactory(code="ON")
        LegalEntityFactory(code="OFF", is_active=False)

        active = finance_api.get("/api/v1/legal-entities/", {"is_active": "true"}).json()
        inactive = finance_api.get("/api/v1/legal-entities/", {"is_active": "False"}).json()

        active_codes = {row["code"] for row in active["results"]}
        assert "ON" in active_codes and "OFF" not in active_codes  # finance's entity is active too
        assert {row["code"] for row in inactive["results"]} == {"OFF"}

    def test_a_typed_filter_given_with_no_value_is_400_not_an_unfiltered_list(self, finance_api):
        response = finance_api.get("/api/v1/projects/", {"status": ""})

        assert response.status_code == 400
        assert error_codes(response) == {"blank"} and error_attrs(response) == {"status"}

    def test_an_empty_text_filter_still_means_no_filter(self, finance_api):
        response = finance_api.get("/api/v1/legal-entities/", {"code": ""})

        assert response.status_code == 200


class TestBodies:
    def test_a_form_encoded_body_is_415_rather_than_silently_dropping_nested_fields(
            self, finance_api):
        entity = LegalEntityFactory()

        response = finance_api.post(CLIENTS, {"code": "ACME", "name": "Acme",
                                              "legal_entity": entity.pk}, format="multipart")

        assert response.status_code == 415
        assert error_codes(response) == {"unsupported_media_type"}

    def test_a_body_over_the_size_limit_is_400_in_the_error_shape(self, finance_api, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

        response = finance_api.post(CLIENTS, {"code": "ACME", "name": "A" * 500}, format="json")

        assert response.status_code == 400
        assert error_codes(response) == {"bad_request"}
        assert "DATA_UPLOAD" not in response.content.decode()  # no setting names leak


class TestRoutesNoViewAnswers:
    @pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/v1/clients/abc/",
                                      "/api/v1/clients/%C2%8B/"])
    def test_an_unrouted_api_path_is_404_in_the_error_shape(self, finance_api, path):
        response = finance_api.get(path)

        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert error_codes(response) == {"not_found"}

    def test_pages_keep_their_html_404(self, finance):
        browser = DjangoClient()
        browser.force_login(finance.user)

        response = browser.get("/no-such-page/")

        assert response.status_code == 404 and "text/html" in response["Content-Type"]


def test_dates_before_the_year_1000_keep_four_digits(finance_api):
    project = ProjectFactory(start_date=date(648, 3, 2))

    response = finance_api.get(f"/api/v1/projects/{project.pk}/")

    assert response.json()["start_date"] == "0648-03-02"


def test_every_operation_documents_the_error_statuses_it_can_answer():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"400", "401", "404", "405", "500"} <= codes, (method, path, codes)
            if method in ("post", "patch", "delete"):
                assert "409" in codes, (method, path)
            if method == "patch":
                assert "412" in codes, (method, path)
    error = schema["components"]["schemas"]["ClientErrorResponse"]
    assert set(error["properties"]) == {"type", "errors"}


def test_the_api_still_answers_when_the_cache_holding_rate_limits_is_down(
        finance_api, settings, caplog, monkeypatch):
    from psa.common import throttling

    monkeypatch.setattr(throttling, "_last_warning", [0.0])
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6399/0"}}  # nothing listens

    response = finance_api.get(CLIENTS)

    assert response.status_code == 200
    assert "rate limit not applied" in caplog.text


class TestIdsNoRowCanHave:
    """Numbers past BIGINT reached the database as an overflow: a 500."""

    HUGE = 10**22

    def test_in_a_bulk_time_entry_body_it_is_400_by_index(self, finance_api):
        response = finance_api.post("/api/v1/time-entries/bulk/", {"entries": [
            {"task": self.HUGE, "work_date": "2026-03-02", "hours": "1.00"}]})

        assert response.status_code == 400
        assert "0.task" in error_attrs(response)

    def test_as_a_related_id_it_is_400_does_not_exist(self, finance_api):
        response = finance_api.post("/api/v1/projects/", {
            "code": "P1", "name": "P", "client": self.HUGE, "contract": str(self.HUGE)})

        assert response.status_code == 400
        assert {"client", "contract"} <= error_attrs(response)
        assert "does_not_exist" in error_codes(response)

    @pytest.mark.parametrize(("path", "param"), [
        ("/api/v1/projects/", "client"), ("/api/v1/payments/", "client"),
        ("/api/v1/revenue-schedules/", "legal_entity")])
    def test_in_a_filter_it_is_400(self, finance_api, path, param):
        response = finance_api.get(path, {param: str(self.HUGE)})

        assert response.status_code == 400
        assert error_attrs(response) == {param}

    def test_in_the_capacity_report_it_is_400(self, resource_manager, token_client):
        response = token_client(resource_manager.user).get("/api/v1/capacity/", {
            "person": f"1,{self.HUGE}", "start": "2026-03-02", "end": "2026-03-29"})

        assert response.status_code == 400
        assert error_attrs(response) == {"person"}

    @pytest.mark.parametrize("path", ["/api/v1/clients/{n}/", "/api/v1/people/{n}/skills/",
                                      "/api/v1/invoices/1/lines/{n}/describe/"])
    def test_in_an_api_path_it_is_404(self, finance_api, path):
        response = finance_api.get(path.format(n=self.HUGE))

        assert response.status_code == 404
        assert error_codes(response) == {"not_found"}

    def test_in_a_credit_note_line_it_is_400(self, finance_api):
        response = finance_api.post("/api/v1/credit-notes/", {
            "invoice": 1, "reason": "r", "lines": [{"line": self.HUGE, "amount": "1.00"}]})

        assert response.status_code == 400
        assert "lines.0.line" in error_attrs(response)

    def test_in_a_page_path_it_is_404(self, finance):
        browser = DjangoClient()
        browser.force_login(finance.user)

        assert browser.get(f"/projects/{self.HUGE}/").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/skills/", "/api/v1/events/",
                                  "/api/v1/revenue-schedules/"])
def test_a_timestamp_with_an_offset_postgres_cannot_store_is_compared_in_utc(
        finance_api, administrator, token_client, path):
    """ISO 8601 allows +19:56; PostgreSQL refuses offsets past ±15:59 (it was a 500)."""
    api = token_client(administrator.user) if "events" in path else finance_api

    response = api.get(path, {"updated_since": "0168-09-11T22:02:19.167683+19:56"})

    assert response.status_code == 200


def test_a_timestamp_before_the_first_utc_instant_is_400(finance_api):
    response = finance_api.get("/api/v1/skills/", {"updated_since": "0001-01-01T00:30:00+14:00"})

    assert response.status_code == 400
    assert error_attrs(response) == {"updated_since"}
