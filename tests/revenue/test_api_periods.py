"""`/api/v1/periods/`: list with filters and scope, `…/close/` (409 listing what blocks, then
200 and `period.closed`) and `…/reopen/` (administrators, with a reason, audited)."""

from datetime import date

import pytest
from auditlog.models import LogEntry

from psa import roles
from psa.models import OutboxEvent, Period
from tests.psa.api.helpers import error_attrs, error_codes
from tests.psa.factories import (
    LegalEntityFactory,
    PeriodFactory,
    TimeEntryFactory,
    UserFactory,
)
from tests.revenue.test_close import MARCH, books, recognise  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
URL = "/api/v1/periods/"


def close_url(period: Period) -> str:
    return f"{URL}{period.pk}/close/"


def reopen_url(period: Period) -> str:
    return f"{URL}{period.pk}/reopen/"


class TestList:
    def test_filters_by_entity_status_and_month(self, books, token_client):  # noqa: F811
        uk = LegalEntityFactory(code="UK", base_currency="GBP")
        march = PeriodFactory(legal_entity=books.entity, month=MARCH,
                              status=Period.Status.CLOSED)
        april = PeriodFactory(legal_entity=books.entity, month=date(2026, 4, 1))
        uk_march = PeriodFactory(legal_entity=uk, month=MARCH)
        client = token_client(books.finance)

        def ids(**params: str) -> list[int]:
            response = client.get(URL, params)
            assert response.status_code == 200, response.json()
            return sorted(row["id"] for row in response.json()["results"])

        assert ids() == sorted([march.pk, april.pk, uk_march.pk])
        assert ids(legal_entity=str(books.entity.pk)) == sorted([march.pk, april.pk])
        assert ids(status="closed") == [march.pk]
        assert ids(month="2026-03-17") == sorted([march.pk, uk_march.pk])
        row = client.get(f"{URL}{march.pk}/").json()
        assert (row["legal_entity_code"], row["month"], row["status"]) == (
            "US", "2026-03-01", "closed")

    @pytest.mark.parametrize("role", [roles.CONSULTANT, roles.PROJECT_MANAGER])
    def test_roles_without_periods_are_refused(self, role, token_client):
        assert token_client(UserFactory(role=role)).get(URL).status_code == 403


class TestClose:
    def test_blocked_is_409_with_every_blocking_item(self, books, token_client):  # noqa: F811
        period = PeriodFactory(legal_entity=books.entity, month=MARCH)
        TimeEntryFactory(task=books.task, work_date=date(2026, 3, 10), submitted=True)

        response = token_client(books.finance).post(close_url(period))

        assert response.status_code == 409
        assert error_codes(response) == {"unapproved_time", "stale_recognition"}
        assert error_attrs(response) == {None}
        assert response.json()["type"] == "client_error"
        period.refresh_from_db()
        assert period.status == Period.Status.OPEN

    def test_clear_month_closes_and_publishes(self, books, token_client):  # noqa: F811
        recognise(books.entity)
        period = Period.objects.get(legal_entity=books.entity, month=MARCH)

        response = token_client(books.finance).post(close_url(period))

        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["status"] == "closed" and body["closed_by"] == books.finance.pk
        assert response["ETag"]
        assert OutboxEvent.objects.filter(type="period.closed",
                                          aggregate_id=str(period.pk)).exists()
        again = token_client(books.finance).post(close_url(period))
        assert again.status_code == 409 and error_codes(again) == {"invalid_state"}

    def test_an_executive_may_read_but_not_close(self, books, token_client):  # noqa: F811
        period = PeriodFactory(legal_entity=books.entity, month=MARCH)
        client = token_client(UserFactory(role=roles.EXECUTIVE))

        assert client.get(URL).status_code == 200
        assert client.post(close_url(period)).status_code == 403


class TestReopen:
    @pytest.fixture
    def closed(self, books):  # noqa: F811
        return PeriodFactory(legal_entity=books.entity, month=MARCH,
                             status=Period.Status.CLOSED)

    def test_finance_may_not_reopen(self, books, closed, token_client):  # noqa: F811
        response = token_client(books.finance).post(reopen_url(closed), {"reason": "Fix"},
                                                    format="json")

        assert response.status_code == 403
        closed.refresh_from_db()
        assert closed.status == Period.Status.CLOSED

    def test_a_reason_is_required(self, books, closed, token_client):  # noqa: F811
        client = token_client(books.admin)

        missing = client.post(reopen_url(closed), {}, format="json")
        blank = client.post(reopen_url(closed), {"reason": ""}, format="json")

        assert missing.status_code == blank.status_code == 400
        assert error_attrs(missing) == {"reason"}
        closed.refresh_from_db()
        assert closed.status == Period.Status.CLOSED

    def test_reopen_is_audited_and_published(self, books, closed, token_client):  # noqa: F811
        response = token_client(books.admin).post(
            reopen_url(closed), {"reason": "Late supplier invoice"}, format="json")

        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "open"
        log = LogEntry.objects.get_for_object(closed).get(
            additional_data__reason="Late supplier invoice")
        assert log.actor == books.admin
        assert OutboxEvent.objects.get(type="period.reopened").payload["reason"] == (
            "Late supplier invoice")

    def test_reopening_an_open_month_is_409(self, books, token_client):  # noqa: F811
        period = PeriodFactory(legal_entity=books.entity, month=MARCH)

        response = token_client(books.admin).post(reopen_url(period), {"reason": "x"},
                                                  format="json")

        assert response.status_code == 409 and error_codes(response) == {"invalid_state"}

    def test_idempotency_key_replays_the_first_answer(self, books, closed,  # noqa: F811
                                                      token_client):
        client = token_client(books.admin)
        headers = {"HTTP_IDEMPOTENCY_KEY": "reopen-march"}

        first = client.post(reopen_url(closed), {"reason": "Once"}, format="json", **headers)
        second = client.post(reopen_url(closed), {"reason": "Once"}, format="json", **headers)

        assert first.status_code == second.status_code == 200
        assert second.json() == first.json()
        assert OutboxEvent.objects.filter(type="period.reopened").count() == 1
