"""Revenue pages with data and empty: the schedule list (filters, CSV), one contract's schedule
(months with their explanations, the estimate history and form; the same queries for 5
months as for 30), a recognition run's page and progress fragment, the journal list (lines,
CSV)."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from psa import roles
from psa.models import Contract, Period
from revenue.models import ContractEstimate, RecognitionRun
from revenue.services.estimates import contract_estimate_add
from revenue.services.recognition import recognition_run_execute
from revenue.services.schedules import schedule_plan_refresh
from tests.psa.factories import ContractFactory, ProjectFactory, person_with_role

pytestmark = pytest.mark.django_db
D = Decimal
Method = Contract.RevenueMethod
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)


def planned_contract(method: str = Method.RATABLE, manager=None, **kwargs) -> Contract:
    kwargs.setdefault("value_amount", D("10000.00"))
    kwargs.setdefault("start_date", JAN)
    kwargs.setdefault("end_date", date(2026, 3, 31))
    contract = ContractFactory(revenue_method=method, **kwargs)
    ProjectFactory(contract=contract, **({"manager": manager} if manager else {}))
    schedule_plan_refresh(contract=contract)
    return contract


def recognise(contract: Contract, month: date) -> RecognitionRun:
    run = RecognitionRun.objects.create(legal_entity=contract.legal_entity, period=month)
    return recognition_run_execute(run_id=run.pk)


@pytest.fixture
def finance_client(client):
    client.force_login(person_with_role(roles.FINANCE).user)
    return client


def text(response) -> str:
    return response.content.decode()


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


class TestScheduleList:
    def test_lists_schedules_with_their_figures(self, finance_client):
        contract = planned_contract(code="ACME-042", name="Cloud migration")
        recognise(contract, JAN)

        response = finance_client.get(reverse("revenue:schedule-list"))

        assert response.status_code == 200
        page = text(response)
        assert "ACME-042" in page and "Cloud migration" in page
        assert "10,000.00 USD" in page and "3,444.44" in page
        assert reverse("revenue:schedule-detail", args=[contract.pk]) in page
        assert "1 schedule" in page

    def test_filters_stay_in_the_url_and_narrow_the_list(self, finance_client):
        planned_contract(code="RAT-1")
        planned_contract(Method.PERCENT_COMPLETE_COST, code="PCT-1")

        page = text(finance_client.get(reverse("revenue:schedule-list"),
                                       {"method": "pct_cost"}))
        assert "PCT-1" in page and "RAT-1" not in page
        page = text(finance_client.get(reverse("revenue:schedule-list"), {"q": "rat-"}))
        assert "RAT-1" in page and "PCT-1" not in page
        page = text(finance_client.get(reverse("revenue:schedule-list"), {"q": "nothing"}))
        assert "No schedules match these filters" in page

    def test_an_htmx_filter_returns_only_the_results(self, finance_client):
        planned_contract(code="RAT-1")
        response = finance_client.get(reverse("revenue:schedule-list"), {"q": "RAT"},
                                      HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
        page = text(response)
        assert page.lstrip().startswith('<div id="results"') and "RAT-1" in page

    def test_empty_state(self, finance_client):
        page = text(finance_client.get(reverse("revenue:schedule-list")))
        assert "No revenue schedules yet" in page

    def test_csv_export(self, finance_client):
        contract = planned_contract(code="ACME-042")
        recognise(contract, JAN)

        response = finance_client.get(reverse("revenue:schedule-export"))

        assert response["Content-Type"].startswith("text/csv")
        header, row = csv_rows(response)
        assert header[0] == "Contract" and row[0] == "ACME-042"
        values = dict(zip(header, row, strict=True))
        assert values["Value"] == "10000.00" and values["Planned total"] == "10000.00"
        assert values["Recognised to date"] == "3444.44"
        assert values["Method"] == "Ratable over the service period"


class TestScheduleDetail:
    def test_shows_every_month_with_its_explanation(self, finance_client):
        contract = planned_contract(code="ACME-042")
        recognise(contract, JAN)

        response = finance_client.get(reverse("revenue:schedule-detail", args=[contract.pk]))

        assert response.status_code == 200
        page = text(response)
        for figure in ("3,444.44", "3,111.11", "3,444.45"):
            assert figure in page
        assert "Jan 2026" in page and "Mar 2026" in page
        assert "28 of 90 days" in page  # February's plan: inputs and formula
        assert "recognised before" in page  # January's explanation comes from the run
        assert "31 of 90 days" in page  # ... and its plan's stays beside it
        assert "Recognised and planned: inputs and formula" in page
        assert "Days in the month" in page  # the inputs as labelled values
        assert "Estimates at completion" not in page  # ratable: no estimates

    def test_a_percent_complete_schedule_shows_the_history_and_the_form(self, client):
        manager = person_with_role(roles.PROJECT_MANAGER)
        contract = planned_contract(Method.PERCENT_COMPLETE_COST, manager=manager)
        contract_estimate_add(contract=contract, actor=manager.user, effective_month=JAN,
                              total_cost_amount=D("80000.00"), note="Initial plan")
        contract_estimate_add(contract=contract, actor=manager.user, effective_month=FEB,
                              total_cost_amount=D("100000.00"), note="Scope grew")
        client.force_login(manager.user)

        page = text(client.get(reverse("revenue:schedule-detail", args=[contract.pk])))

        assert "80,000.00 USD" in page and "100,000.00 USD" in page
        assert "Scope grew" in page and "In force" in page
        assert 'name="total_cost_amount"' in page and 'name="total_hours"' not in page
        assert reverse("revenue:estimate-add", args=[contract.pk]) in page

    def test_an_executive_sees_no_estimate_form(self, client):
        contract = planned_contract(Method.PERCENT_COMPLETE_HOURS)
        client.force_login(person_with_role(roles.EXECUTIVE).user)
        page = text(client.get(reverse("revenue:schedule-detail", args=[contract.pk])))
        assert "Estimates at completion" in page and "No estimate yet" in page
        assert 'name="total_hours"' not in page

    def test_a_contract_without_a_schedule_is_404(self, finance_client):
        contract = ContractFactory()
        response = finance_client.get(reverse("revenue:schedule-detail", args=[contract.pk]))
        assert response.status_code == 404

    def test_the_same_queries_for_5_months_as_for_30(self, finance_client):
        def queries(end: date) -> int:
            contract = planned_contract(Method.PERCENT_COMPLETE_COST, end_date=end)
            contract_estimate_add(contract=contract, actor=None, effective_month=JAN,
                                  total_cost_amount=D("1000.00"))
            recognise(contract, JAN)
            url = reverse("revenue:schedule-detail", args=[contract.pk])
            finance_client.get(url)  # the session and the user's roles, once
            with CaptureQueriesContext(connection) as captured:
                assert finance_client.get(url).status_code == 200
            return len(captured)

        assert queries(date(2026, 5, 31)) == queries(date(2028, 6, 30))


class TestEstimateAdd:
    def url(self, contract: Contract) -> str:
        return reverse("revenue:estimate-add", args=[contract.pk])

    def test_the_manager_adds_an_estimate(self, client):
        manager = person_with_role(roles.PROJECT_MANAGER)
        contract = planned_contract(Method.PERCENT_COMPLETE_HOURS, manager=manager)
        client.force_login(manager.user)

        response = client.post(self.url(contract), {"effective_month": "2026-11",
                                                     "total_hours": "1200", "note": "Re-plan"})

        assert response.status_code == 302
        assert response["Location"].endswith("#estimates")
        estimate = ContractEstimate.objects.get()
        assert estimate.effective_month == date(2026, 11, 1)
        assert estimate.total_hours == D("1200.00") and estimate.created_by == manager.user
        page = text(client.get(response["Location"]))
        assert "Estimate of 1,200.00 h recorded from November 2026" in page

    def test_a_non_positive_figure_is_shown_beside_the_field(self, finance_client):
        contract = planned_contract(Method.PERCENT_COMPLETE_COST)

        response = finance_client.post(self.url(contract), {"effective_month": "2026-11",
                                                            "total_cost_amount": "0"})

        assert response.status_code == 400
        page = text(response)
        assert 'id="id_total_cost_amount_error"' in page and "more than zero" in page
        assert 'value="0"' in page  # the typed value stays for a retry
        assert not ContractEstimate.objects.exists()

    def test_a_closed_month_is_refused_beside_the_month(self, finance_client):
        contract = planned_contract(Method.PERCENT_COMPLETE_COST)
        Period.objects.create(legal_entity=contract.legal_entity, month=JAN,
                              status=Period.Status.CLOSED)

        response = finance_client.post(self.url(contract), {"effective_month": "2026-01",
                                                            "total_cost_amount": "5000"})

        assert response.status_code == 400
        assert 'id="id_effective_month_error"' in text(response)
        assert "January 2026 is closed" in text(response)
        assert not ContractEstimate.objects.exists()

    def test_a_missing_figure_is_a_form_error(self, finance_client):
        contract = planned_contract(Method.PERCENT_COMPLETE_COST)
        response = finance_client.post(self.url(contract), {"effective_month": "2026-11"})
        assert response.status_code == 400 and "This field is required" in text(response)
        assert not ContractEstimate.objects.exists()

    def test_a_ratable_contract_takes_no_estimate(self, finance_client):
        contract = planned_contract(Method.RATABLE)
        response = finance_client.post(self.url(contract), {"effective_month": "2026-11",
                                                            "total_cost_amount": "5000"})
        assert response.status_code == 302
        assert not ContractEstimate.objects.exists()


class TestRunPage:
    def test_a_queued_run_polls_its_progress(self, finance_client):
        contract = planned_contract()
        run = RecognitionRun.objects.create(legal_entity=contract.legal_entity, period=JAN)

        page = text(finance_client.get(reverse("revenue:run-detail", args=[run.pk])))

        progress = reverse("revenue:run-progress", args=[run.pk])
        assert f'hx-get="{progress}?polling=1"' in page and 'hx-trigger="every 1s"' in page
        assert "Waiting for a worker" in page and "<progress" in page
        assert "this page updates by itself" in page

    def test_a_completed_run_shows_what_it_posted(self, finance_client):
        contract = planned_contract(code="ACME-042")
        run = recognise(contract, JAN)

        page = text(finance_client.get(reverse("revenue:run-detail", args=[run.pk])))

        assert "hx-trigger" not in page
        assert "1 of 1 contract · 1 entry posted" in page
        assert "3,444.44 USD" in page and "ACME-042" in page
        assert "recognised before" in page  # the entry's explanation
        assert "JE " in page

    def test_a_run_that_posted_nothing_says_so(self, finance_client):
        contract = planned_contract()
        recognise(contract, JAN)
        again = recognise(contract, JAN)
        page = text(finance_client.get(reverse("revenue:run-detail", args=[again.pk])))
        assert "This run posted nothing" in page

    def test_the_progress_fragment_asks_for_a_reload_when_finished(self, finance_client):
        contract = planned_contract()
        run = recognise(contract, JAN)
        url = reverse("revenue:run-progress", args=[run.pk])

        response = finance_client.get(url, {"polling": "1"}, HTTP_HX_REQUEST="true")

        assert response.status_code == 200 and response["HX-Refresh"] == "true"
        assert 'id="run-progress"' in text(response)
        assert "HX-Refresh" not in finance_client.get(url)

    def test_a_failed_run_shows_why(self, finance_client):
        contract = planned_contract()
        Period.objects.create(legal_entity=contract.legal_entity, month=JAN,
                              status=Period.Status.CLOSED)
        run = recognise(contract, JAN)
        page = text(finance_client.get(reverse("revenue:run-detail", args=[run.pk])))
        assert "The run failed" in page and "closed" in page

    def test_an_unknown_run_is_404(self, finance_client):
        assert finance_client.get(reverse("revenue:run-detail", args=[999])).status_code == 404


class TestJournalList:
    def test_lists_entries_with_their_lines(self, finance_client):
        contract = planned_contract(code="ACME-042")
        recognise(contract, JAN)

        page = text(finance_client.get(reverse("revenue:journal-list")))

        assert "Revenue recognised Jan 2026: ACME-042" in page
        assert "1250" in page and "4000" in page  # unbilled receivable and revenue accounts
        assert "Balanced" in page and page.count("3,444.44") >= 3

    def test_filters_by_period_and_source(self, finance_client):
        contract = planned_contract()
        recognise(contract, JAN)
        recognise(contract, FEB)
        url = reverse("revenue:journal-list")
        page = text(finance_client.get(url, {"period": "2026-02"}))
        assert "Feb 2026" in page and "Revenue recognised Jan 2026" not in page
        page = text(finance_client.get(url, {"source": "invoice"}))
        assert "No journal entries match these filters" in page

    def test_empty_state(self, finance_client):
        page = text(finance_client.get(reverse("revenue:journal-list")))
        assert "No journal entries yet" in page

    def test_csv_has_one_row_per_line(self, finance_client):
        contract = planned_contract(code="ACME-042")
        recognise(contract, JAN)

        rows = csv_rows(finance_client.get(reverse("revenue:journal-export")))

        header, *lines = rows
        assert header[0] == "Entry" and len(lines) == 2
        by_account = {line[header.index("Account role")]: line for line in lines}
        assert by_account["unbilled"][header.index("Debit")] == "3444.44"
        assert by_account["revenue"][header.index("Credit")] == "3444.44"
        assert all(line[header.index("Period")] == "2026-01" for line in lines)
        assert all(line[header.index("Contract")] == "ACME-042" for line in lines)
