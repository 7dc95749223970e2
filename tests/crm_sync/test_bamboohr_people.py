"""BambooHR pulls into people, managers, cost rates, time off and terminations."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from crm_sync.connectors.bamboohr import BambooHRConnector
from crm_sync.flows.people import WorkerFacts, worker_apply
from crm_sync.models import InboundMessage, PendingLink, SyncCursor
from crm_sync.sandbox.bamboohr import BambooHREmulator
from crm_sync.services.inbound import INBOUND_SUBSCRIBER, inbound_process
from crm_sync.services.polling import connection_poll
from crm_sync.services.refs import ref_lookup, ref_of
from psa.common.errors import DomainError
from psa.common.logging import system_user
from psa.errors import TimeEntryValidationError
from psa.models import CostRate, Delivery, OutboxEvent, Person, TimeOff
from psa.services.people import person_update
from psa.services.time_entries import time_entry_create
from resourcing.models import Assignment, ResourceRequest
from tests.crm_sync.conftest import drain_outbox, make_connection
from tests.psa.factories import (
    LegalEntityFactory,
    PersonFactory,
    ProjectFactory,
    ProjectMemberFactory,
    RoleFactory,
    TaskFactory,
)
from tests.resourcing.factories import AssignmentFactory, ResourceRequestFactory

ROLES = (("ANL", "Analyst", 1), ("CONS", "Consultant", 2), ("SCON", "Senior Consultant", 3),
         ("MGR", "Manager", 4), ("PTR", "Partner", 5))
CREDENTIALS = {"api_key": "sandbox-bamboohr-key", "webhook_key": "sandbox-bamboohr-webhook-key"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def server(run_emulator):
    return run_emulator(BambooHREmulator, seed=1)


@pytest.fixture
def roles():
    return {code: RoleFactory(code=code, name=name, level=level) for code, name, level in ROLES}


@pytest.fixture
def connection(server, roles):
    entity = LegalEntityFactory()
    return make_connection("bamboohr", server.url, CREDENTIALS,
                           options={"role_map": {"Analytics": "ANL"}}, legal_entity=entity)


@pytest.fixture
def api(server):
    with httpx.Client(base_url=f"{server.url}/api/v1", auth=(CREDENTIALS["api_key"], "x"),
                      timeout=5) as client:
        yield client


def pull(connection) -> None:
    run = connection_poll(connection, trigger="manual")
    assert run.status == run.Status.SUCCEEDED, run.error
    drain_outbox(subscribers={INBOUND_SUBSCRIBER})
    unfinished = Delivery.objects.filter(subscriber=INBOUND_SUBSCRIBER).exclude(
        state=Delivery.State.SUCCEEDED)
    assert not unfinished.exists(), list(unfinished.values_list("last_error", flat=True))


def person(connection, employee_id: str) -> Person:
    found = ref_lookup(connection, Person, employee_id)
    assert found is not None, f"employee {employee_id} not synced"
    return found


class TestFirstPull:
    def test_creates_people_with_roles_managers_and_status(self, connection, roles):
        pull(connection)

        assert Person.objects.count() == 7
        morgan, priya, lucas = (person(connection, i) for i in ("101", "102", "103"))
        sofia, daniel, oliver = (person(connection, i) for i in ("104", "105", "107"))
        assert (morgan.role, priya.role, daniel.role) == (roles["PTR"], roles["MGR"],
                                                         roles["SCON"])
        assert sofia.role == roles["ANL"]  # "Data Analyst" in Analytics, by the role_map
        assert morgan.manager is None
        assert priya.manager == morgan
        assert daniel.manager == priya
        # Lucas (103) was synced before his manager Daniel (105): linked when Daniel came.
        assert lucas.manager == daniel
        assert not PendingLink.objects.exists()
        assert (morgan.email, morgan.employee_number, morgan.city, morgan.country) == (
            "morgan.reyes@northwind.example", "E-101", "Boston", "US")
        assert morgan.hire_date == date(2015, 3, 2)
        assert morgan.legal_entity == connection.legal_entity
        assert oliver.employment_status == Person.EmploymentStatus.TERMINATED
        assert oliver.termination_date == date(2025, 12, 31)

    def test_cost_rates_come_from_salary_and_hourly_pay(self, connection):
        pull(connection)

        morgan, lucas, sofia = (person(connection, i) for i in ("101", "103", "104"))
        assert list(CostRate.objects.filter(person=morgan).values_list(
            "hourly_cost", "currency", "effective_from")) == [
            (Decimal("115.3846"), "USD", date(2015, 3, 2))]  # 240000 / 2080
        assert CostRate.objects.get(person=lucas).hourly_cost == Decimal("40.0000")
        assert CostRate.objects.get(person=sofia).hourly_cost == Decimal("95.0000")

    def test_approved_time_off_reaches_capacity_and_requested_does_not(self, connection):
        pull(connection)

        emma = person(connection, "106")
        off = TimeOff.objects.get(person=emma)
        assert off.status == TimeOff.Status.APPROVED
        assert off.kind == TimeOff.Kind.VACATION
        assert (off.end_date - off.start_date).days == 2
        assert off.hours_per_day is None  # 8 h = the whole standard day
        assert not TimeOff.objects.filter(person=person(connection, "103")).exists()

    def test_cursor_advances_to_the_latest_change(self, connection, api):
        pull(connection)

        cursor = SyncCursor.objects.get(connection=connection, stream="employees").value
        latest = api.get("/employees/changed", params={"since": "1970-01-01T00:00:00Z"}
                         ).json()["latest"]
        assert cursor == latest


class TestRepeatedPull:
    def test_second_pull_changes_nothing(self, connection):
        pull(connection)
        people = Person.objects.count()
        rates = CostRate.objects.count()
        time_off = list(TimeOff.objects.values_list("pk", "start_date", "end_date"))
        changed_events = OutboxEvent.objects.filter(type="person.changed").count()

        pull(connection)
        for message_id in InboundMessage.objects.values_list("pk", flat=True):
            inbound_process(message_id)  # every message once more, as a replay would

        assert Person.objects.count() == people
        assert CostRate.objects.count() == rates
        assert list(TimeOff.objects.values_list("pk", "start_date", "end_date")) == time_off
        assert OutboxEvent.objects.filter(type="person.changed").count() == changed_events

    def test_existing_person_is_found_by_email_and_linked(self, connection):
        existing = PersonFactory(email="emma.lindqvist@northwind.example",
                                 weekly_standard_hours=Decimal("30.00"))

        pull(connection)

        existing.refresh_from_db()
        assert ref_of(connection, existing) == "106"
        assert existing.last_name == "Lindqvist"
        assert existing.weekly_standard_hours == Decimal("30.00")
        assert Person.objects.filter(email__iexact=existing.email).count() == 1

    def test_pay_change_adds_one_cost_rate_row(self, connection, api):
        pull(connection)
        sofia = person(connection, "104")

        api.post("/employees/104", json={"payRate": "100.00 USD"})
        pull(connection)
        pull(connection)

        assert list(CostRate.objects.filter(person=sofia).order_by("effective_from")
                    .values_list("hourly_cost", "effective_from")) == [
            (Decimal("95.0000"), date(2025, 2, 3)),
            (Decimal("100.0000"), timezone.localdate())]


class TestOwnership:
    def test_local_fields_survive_while_hris_fields_land(self, connection, roles, api):
        pull(connection)
        emma = person(connection, "106")
        person_update(person=emma, actor=system_user(),
                      data={"weekly_standard_hours": Decimal("32.00"),
                            "utilization_target": Decimal("60.00")})

        api.post("/employees/106", json={"jobTitle": "Senior Consultant",
                                         "lastName": "Lindqvist-Berg"})
        pull(connection)

        emma.refresh_from_db()
        assert emma.role == roles["SCON"]
        assert emma.last_name == "Lindqvist-Berg"
        assert emma.weekly_standard_hours == Decimal("32.00")
        assert emma.utilization_target == Decimal("60.00")


class TestTimeOffChanges:
    def test_cancelled_request_is_removed_and_a_new_half_day_added(self, connection, server):
        pull(connection)
        emma = person(connection, "106")
        request_id = server.emulator.requests["1"]["id"]
        day = (timezone.localdate() + timedelta(days=40))
        day += timedelta(days=(7 - day.weekday()) % 7)  # a Monday

        httpx.post(f"{server.url}/_sandbox/time_off/{request_id}", json={"status": "canceled"})
        httpx.post(f"{server.url}/_sandbox/time_off", json={
            "employeeId": "106", "start": day.isoformat(), "end": day.isoformat(),
            "status": "approved", "amountPerDay": "4"})
        pull(connection)

        assert list(TimeOff.objects.filter(person=emma).values_list(
            "start_date", "end_date", "hours_per_day")) == [(day, day, Decimal("4.00"))]


class TestTermination:
    @pytest.fixture
    def staffed(self, connection, roles):
        """Daniel (105) synced, on a project: one booking running, one starting later."""
        pull(connection)
        daniel = person(connection, "105")
        today = timezone.localdate()
        project = ProjectFactory(start_date=today - timedelta(days=60),
                                 end_date=today + timedelta(days=365))
        ProjectMemberFactory(project=project, person=daniel)
        request = ResourceRequestFactory(
            project=project, role=roles["SCON"], hours_per_week=Decimal("20.00"),
            start_date=today - timedelta(days=30), end_date=today + timedelta(days=60),
            status=ResourceRequest.Status.FILLED)
        running = AssignmentFactory(person=daniel, project=project, role=roles["SCON"],
                                    request=request, start_date=request.start_date,
                                    end_date=request.end_date,
                                    hours_per_week=Decimal("20.00"))
        later = AssignmentFactory(person=daniel, project=project, role=roles["SCON"],
                                  start_date=today + timedelta(days=30),
                                  end_date=today + timedelta(days=90))
        return {"person": daniel, "project": project, "request": request,
                "running": running, "later": later, "task": TaskFactory(project=project)}

    def terminate(self, server, connection, last_day: date) -> None:
        httpx.post(f"{server.url}/_sandbox/employees/105/terminate",
                   json={"date": last_day.isoformat()})
        pull(connection)

    def test_future_bookings_end_on_the_last_day(self, server, connection, staffed):
        last_day = timezone.localdate() + timedelta(days=10)

        self.terminate(server, connection, last_day)

        daniel = staffed["person"]
        daniel.refresh_from_db()
        assert daniel.employment_status == Person.EmploymentStatus.TERMINATED
        assert daniel.termination_date == last_day
        staffed["running"].refresh_from_db()
        assert staffed["running"].end_date == last_day
        assert not Assignment.objects.filter(pk=staffed["later"].pk).exists()

    def test_open_requests_are_reopened_and_flagged(self, server, connection, staffed):
        last_day = timezone.localdate() + timedelta(days=10)

        self.terminate(server, connection, last_day)
        self.terminate(server, connection, last_day)  # a repeat flags nothing twice

        request = staffed["request"]
        request.refresh_from_db()
        assert request.status == ResourceRequest.Status.PARTIALLY_FILLED
        assert request.notes.count(f"leaves on {last_day.isoformat()}") == 1

    def test_time_after_the_last_day_is_refused(self, server, connection, staffed):
        last_day = timezone.localdate() + timedelta(days=10)
        self.terminate(server, connection, last_day)
        daniel = Person.objects.get(pk=staffed["person"].pk)

        accepted = time_entry_create(actor=system_user(), person=daniel, task=staffed["task"],
                                     work_date=last_day, hours=Decimal("8.00"))
        with pytest.raises(TimeEntryValidationError) as refused:
            time_entry_create(actor=system_user(), person=daniel, task=staffed["task"],
                              work_date=last_day + timedelta(days=1), hours=Decimal("8.00"))

        assert accepted.pk is not None
        assert refused.value.attr == "work_date"
        assert "left" in refused.value.detail


class TestFlow:
    def test_unmapped_title_without_default_role_is_refused(self, connection):
        facts = WorkerFacts(external_id="900", first_name="Kim", last_name="Lee",
                            email="kim.lee@northwind.example", title="Chief Wizard")

        with pytest.raises(DomainError) as refused:
            worker_apply(connection=connection, facts=facts, actor=system_user())

        assert "role_map" in refused.value.detail
        assert not Person.objects.filter(email="kim.lee@northwind.example").exists()

    def test_default_role_applies_to_new_people_only(self, connection, roles):
        connection.options = {"default_role": "CONS"}
        connection.save()
        facts = WorkerFacts(external_id="900", first_name="Kim", last_name="Lee",
                            email="kim.lee@northwind.example", title="Chief Wizard",
                            hire_date=date(2026, 1, 5))

        worker_apply(connection=connection, facts=facts, actor=system_user())
        kim = person(connection, "900")
        person_update(person=kim, actor=system_user(), data={"role": roles["MGR"]})
        worker_apply(connection=connection, facts=facts, actor=system_user())

        kim.refresh_from_db()
        assert kim.role == roles["MGR"]

    def test_connector_reads_fields_as_facts(self, connection, server):
        with BambooHRConnector(connection) as connector:
            assert connector.test() == "Connected to BambooHR: 6 employees in the directory."
