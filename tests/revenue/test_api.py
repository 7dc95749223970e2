"""Revenue's API (API.md): revenue schedules with their months, recognition runs started and
followed as jobs, journal entries with balanced lines; shapes, filters, the role matrix."""

from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from psa import roles
from psa.models import Contract, Period
from revenue.models import JournalEntry, RecognitionRun
from revenue.services.recognition import recognition_run_execute
from revenue.services.schedules import schedule_plan_refresh
from tests.psa.factories import (
    ContractFactory,
    LegalEntityFactory,
    PersonFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
SCHEDULES, RUNS, JOURNALS = ("/api/v1/revenue-schedules/", "/api/v1/revenue-runs/",
                             "/api/v1/journal-entries/")


def ratable(manager=None, **kwargs) -> Contract:
    """A ratable 10,000.00 contract over Q1 2026 with its plan (DOMAIN.md's example)."""
    contract = ContractFactory(revenue_method=Contract.RevenueMethod.RATABLE,
                               value_amount=D("10000.00"), start_date=JAN,
                               end_date=date(2026, 3, 31), **kwargs)
    ProjectFactory(contract=contract, **({"manager": manager} if manager else {}))
    schedule_plan_refresh(contract=contract)
    return contract


def recognise(contract: Contract, month: date) -> RecognitionRun:
    run = RecognitionRun.objects.create(legal_entity=contract.legal_entity, period=month)
    return recognition_run_execute(run_id=run.pk)


def user(role: str):
    return PersonFactory(user=UserFactory(role=role)).user


@pytest.fixture
def as_role(api_client):
    def sign_in(role: str, person_user=None):
        api_client.force_authenticate(person_user or user(role))
        return api_client

    return sign_in


class TestRevenueSchedules:
    def test_lists_schedules_with_their_months(self, as_role):
        contract = ratable()
        recognise(contract, JAN)

        body = as_role(roles.FINANCE).get(SCHEDULES).json()

        assert set(body) == {"next", "previous", "results"}
        [row] = body["results"]
        assert row["contract"] == contract.pk and row["contract_code"] == contract.code
        assert row["method"] == "ratable" and row["currency"] == "USD"
        assert row["value_amount"] == "10000.00" and row["recognised_to_date"] == "3444.44"
        assert row["planned_total"] == "10000.00"
        assert [(m["month"], m["planned_amount"], m["recognised_amount"])
                for m in row["lines"]] == [("2026-01-01", "3444.44", "3444.44"),
                                           ("2026-02-01", "3111.11", "0.00"),
                                           ("2026-03-01", "3444.45", "0.00")]
        january, february = row["lines"][0], row["lines"][1]
        assert january["variance_amount"] == "0.00"
        assert "recognised before" in january["explanation"]  # the run's explanation
        assert "28 of 90 days" in february["explanation"]  # the plan's
        assert february["inputs"]["days"] == "28"

    def test_retrieve_has_an_etag(self, as_role):
        contract = ratable()
        schedule = contract.revenue_schedule
        response = as_role(roles.EXECUTIVE).get(f"{SCHEDULES}{schedule.pk}/")
        assert response.status_code == 200 and response.headers["ETag"]
        assert len(response.json()["lines"]) == 3

    def test_a_project_manager_sees_only_the_contracts_they_manage(self, as_role):
        manager = PersonFactory(user=UserFactory(role=roles.PROJECT_MANAGER))
        own, other = ratable(manager=manager), ratable()
        client = as_role(roles.PROJECT_MANAGER, manager.user)

        rows = client.get(SCHEDULES).json()["results"]

        assert [row["contract"] for row in rows] == [own.pk]
        assert client.get(f"{SCHEDULES}{other.revenue_schedule.pk}/").status_code == 404

    def test_finance_sees_all_and_a_consultant_is_refused(self, as_role):
        ratable(), ratable()
        assert len(as_role(roles.FINANCE).get(SCHEDULES).json()["results"]) == 2
        response = as_role(roles.CONSULTANT).get(SCHEDULES)
        assert response.status_code == 403 and response.json()["type"] == "client_error"

    def test_filters_and_updated_since(self, as_role):
        first = ratable()
        second = ContractFactory(revenue_method=Contract.RevenueMethod.PERCENT_COMPLETE_COST,
                                 start_date=JAN, end_date=date(2026, 2, 28))
        schedule_plan_refresh(contract=second)
        client = as_role(roles.FINANCE)

        def ids(query: str) -> list[int]:
            return [row["contract"] for row in client.get(f"{SCHEDULES}?{query}").json()[
                "results"]]

        assert ids("method=pct_cost") == [second.pk]
        assert ids(f"contract={first.pk}") == [first.pk]
        later = (timezone.now() + timedelta(seconds=1)).isoformat()
        assert ids(f"updated_since={later.replace('+', '%2B')}") == []
        with mock.patch("django.utils.timezone.now",
                        return_value=timezone.now() + timedelta(seconds=5)):
            Contract.objects.filter(pk=first.pk).update(value_amount=D("12000.00"))
            first.refresh_from_db()
            schedule_plan_refresh(contract=first)
        assert ids(f"updated_since={later.replace('+', '%2B')}") == [first.pk]

    def test_the_list_costs_the_same_queries_for_2_and_6_schedules(self, as_role):
        client = as_role(roles.FINANCE)
        ratable(), ratable()
        client.get(SCHEDULES)  # the user's roles are read once, then cached
        with CaptureQueriesContext(connection) as few:
            client.get(SCHEDULES)
        for _ in range(4):
            ContractFactory(revenue_method=Contract.RevenueMethod.RATABLE,
                            end_date=date(2028, 12, 31))
        for contract in Contract.objects.all():
            schedule_plan_refresh(contract=contract)
        with CaptureQueriesContext(connection) as many:
            assert len(client.get(SCHEDULES).json()["results"]) == 6
        assert len(few) == len(many)

    def test_there_is_no_write(self, as_role):
        response = as_role(roles.FINANCE).post(SCHEDULES, {}, format="json")
        assert response.status_code == 403  # an action the matrix does not map is refused


class TestRevenueRuns:
    def test_start_then_execute_then_follow(self, as_role):
        contract = ratable()
        client = as_role(roles.FINANCE)

        response = client.post(RUNS, {"legal_entity": contract.legal_entity_id,
                                      "period": "2026-01-20"}, format="json")

        assert response.status_code == 201, response.json()
        queued = response.json()
        assert queued["status"] == "queued" and queued["period"] == "2026-01-01"
        assert queued["progress_percent"] == 0 and queued["amounts_posted"] == []
        recognition_run_execute(run_id=queued["id"])

        done = client.get(f"{RUNS}{queued['id']}/").json()
        assert done["status"] == "completed" and done["progress_percent"] == 100
        assert done["entries_posted"] == 1 and done["amount_posted"] == "3444.44"
        assert done["amounts_posted"] == [{"currency": "USD", "amount": "3444.44"}]
        assert done["total_units"] == done["done_units"] == 1
        listed = client.get(f"{RUNS}?status=completed").json()["results"]
        assert [row["id"] for row in listed] == [queued["id"]]
        assert listed[0]["amounts_posted"] == done["amounts_posted"]

    def test_the_job_is_enqueued_on_commit(self, as_role, django_capture_on_commit_callbacks):
        entity = LegalEntityFactory()
        with mock.patch("revenue.tasks.recognition_run_execute_task.apply_async") as enqueue, \
                django_capture_on_commit_callbacks(execute=True):
            response = as_role(roles.FINANCE).post(
                RUNS, {"legal_entity": entity.pk, "period": "2026-02-01"}, format="json")
        assert response.status_code == 201
        enqueue.assert_called_once_with(args=(response.json()["id"],))

    def test_an_idempotency_key_replays_the_first_response(self, as_role):
        entity = LegalEntityFactory()
        client = as_role(roles.FINANCE)
        body = {"legal_entity": entity.pk, "period": "2026-02-01"}
        first = client.post(RUNS, body, format="json", HTTP_IDEMPOTENCY_KEY="run-feb")
        again = client.post(RUNS, body, format="json", HTTP_IDEMPOTENCY_KEY="run-feb")
        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        assert RecognitionRun.objects.count() == 1

    def test_a_closed_or_future_month_is_a_conflict_and_nothing_is_queued(self, as_role):
        entity = LegalEntityFactory()
        Period.objects.create(legal_entity=entity, month=JAN, status=Period.Status.CLOSED)
        client = as_role(roles.FINANCE)

        closed = client.post(RUNS, {"legal_entity": entity.pk, "period": "2026-01-31"},
                             format="json")
        future_month = (timezone.localdate().replace(day=1) + timedelta(days=40)).isoformat()
        future = client.post(RUNS, {"legal_entity": entity.pk, "period": future_month},
                             format="json")

        assert closed.status_code == 409
        assert closed.json()["errors"][0]["code"] == "period_closed"
        assert future.status_code == 409
        assert not RecognitionRun.objects.exists()

    def test_a_validation_error_writes_nothing(self, as_role):
        response = as_role(roles.FINANCE).post(RUNS, {"legal_entity": 999999}, format="json")
        assert response.status_code == 400
        body = response.json()
        assert body["type"] == "validation_error"
        assert {error["attr"] for error in body["errors"]} == {"legal_entity", "period"}
        assert not RecognitionRun.objects.exists()

    @pytest.mark.parametrize(("role", "read", "start"), [
        (roles.CONSULTANT, 403, 403), (roles.PROJECT_MANAGER, 403, 403),
        (roles.EXECUTIVE, 200, 403), (roles.FINANCE, 200, 201),
        (roles.ADMINISTRATOR, 200, 201),
    ])
    def test_the_role_matrix(self, as_role, role, read, start):
        entity = LegalEntityFactory()
        client = as_role(role)
        assert client.get(RUNS).status_code == read
        response = client.post(RUNS, {"legal_entity": entity.pk, "period": "2026-02-01"},
                               format="json")
        assert response.status_code == start
        assert RecognitionRun.objects.exists() == (start == 201)


class TestJournalEntries:
    def test_lists_balanced_entries_with_their_lines(self, as_role):
        contract = ratable()
        recognise(contract, JAN)

        [row] = as_role(roles.FINANCE).get(JOURNALS).json()["results"]

        entry = JournalEntry.objects.get()
        assert row["id"] == entry.pk and row["source"] == "recognition"
        assert row["period"] == "2026-01-01" and row["entry_date"] == "2026-01-31"
        assert row["contract"] == contract.pk and row["currency"] == "USD"
        assert row["total_debit"] == row["total_credit"] == "3444.44"
        debits = sum(D(line["debit"]) for line in row["lines"])
        credits = sum(D(line["credit"]) for line in row["lines"])
        assert debits == credits == D("3444.44")
        assert {line["account_key"] for line in row["lines"]} == {"unbilled", "revenue"}
        assert all(line["account_code"] for line in row["lines"])

    def test_filters(self, as_role):
        contract = ratable()
        recognise(contract, JAN)
        recognise(contract, FEB)
        client = as_role(roles.FINANCE)

        def periods(query: str) -> list[str]:
            return [row["period"] for row in client.get(f"{JOURNALS}?{query}").json()[
                "results"]]

        assert periods("period=2026-02-01") == ["2026-02-01"]
        assert sorted(periods(f"contract={contract.pk}&source=recognition")) == [
            "2026-01-01", "2026-02-01"]
        assert periods("source=invoice") == []
        assert periods(f"legal_entity={contract.legal_entity_id}&entry_before=2026-01-31") == [
            "2026-01-01"]

    @pytest.mark.parametrize(("role", "status"), [
        (roles.CONSULTANT, 403), (roles.PROJECT_MANAGER, 403), (roles.RESOURCE_MANAGER, 403),
        (roles.EXECUTIVE, 200), (roles.FINANCE, 200),
    ])
    def test_the_role_matrix(self, as_role, role, status):
        assert as_role(role).get(JOURNALS).status_code == status

    def test_a_service_token_needs_the_scope(self, token_client):
        account = UserFactory(role=roles.SERVICE)
        allowed = token_client(account, scopes=["revenue.view_journalentry"])
        refused = token_client(account, scopes=["revenue.view_revenueschedule"])
        assert allowed.get(JOURNALS).status_code == 200
        assert refused.get(JOURNALS).status_code == 403
        assert refused.get(SCHEDULES).status_code == 200

    def test_anonymous_is_401(self, api_client):
        assert api_client.get(JOURNALS).status_code == 401
