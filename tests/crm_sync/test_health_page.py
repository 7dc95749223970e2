"""The sync health page: connections and flows from grouped aggregates, the business view on
constructed data, failures with replay of many, the connection page and its edit form, the
lists behind each figure, and a query count that does not grow with the deliveries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection as db_connection
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice
from crm_sync.connectors.base import WebhookEvent
from crm_sync.models import Connection, Deal, InboundMessage, SyncRun
from crm_sync.selectors.health import connection_health, connections_with_last_poll
from crm_sync.services.inbound import inbound_store
from psa import events, roles
from psa.models import Contract, Delivery, ExternalRef, OutboxEvent
from tests.billing.factories import BilledItemFactory, HeldItemFactory, InvoiceFactory
from tests.crm_sync.conftest import make_connection
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
    person_with_role,
)

pytestmark = pytest.mark.django_db
HEALTH = "/integrations/"
CLOSED_PORT_URL = "http://127.0.0.1:9"


@pytest.fixture
def admin_client(client):
    client.force_login(person_with_role(roles.ADMINISTRATOR).user)
    return client


@pytest.fixture
def finance_client(client):
    client.force_login(person_with_role(roles.FINANCE).user)
    return client


def event_of(event_type: str = "client.created") -> OutboxEvent:
    """An event whose deliveries each test constructs itself (none from live subscribers)."""
    client = ClientFactory()
    with transaction.atomic():
        event = events.publish(event_type, aggregate=client, payload={"client_id": client.pk})
    Delivery.objects.filter(event=event).delete()
    return event


def delivery(subscriber: str, state: str, *, event: OutboxEvent | None = None,
             age: timedelta = timedelta(0), error: str = "") -> Delivery:
    event = event or event_of()
    now = timezone.now()
    row, _ = Delivery.objects.update_or_create(event=event, subscriber=subscriber, defaults={
        "state": state, "attempts": 1, "next_attempt_at": now, "last_error": error,
        "last_error_context": {"status": 503, "history": [{"error": "first try"}]} if error
        else {}, "succeeded_at": now - age if state == Delivery.State.SUCCEEDED else None})
    Delivery.objects.filter(pk=row.pk).update(created_at=now - age, updated_at=now - age)
    row.refresh_from_db()
    return row


class TestEmpty:
    def test_renders_empty_states(self, finance_client):
        response = finance_client.get(HEALTH)

        assert response.status_code == 200
        html = response.content.decode()
        assert "No external system is connected yet" in html
        assert "No failed or dead delivery" in html
        assert "No ERP connection" in html
        figures = response.context["figures"]
        assert (figures.deals_won_unprojected, figures.unbilled_time_count,
                figures.changes_unpropagated) == (0, 0, 0)

    def test_every_list_has_an_empty_state(self, finance_client):
        assert "No vendor event has arrived yet" in finance_client.get(
            reverse("crm_sync:messages")).content.decode()
        for kind in ("deals", "time", "changes"):
            response = finance_client.get(reverse("crm_sync:backlog", args=[kind]))
            assert response.status_code == 200
            assert 'class="empty"' in response.content.decode(), kind
        response = finance_client.get(reverse("crm_sync:backlog", args=["invoices"]))
        assert "No ERP connection is enabled" in response.content.decode()
        assert finance_client.get(reverse("crm_sync:backlog", args=["nope"])).status_code == 404


class TestFlows:
    def test_connection_flows_from_deliveries_inbound_messages_and_polls(self, finance_client):
        crm = make_connection("hubspot", CLOSED_PORT_URL, {"access_token": "x"}, name="crm")
        push = "hubspot.project.created"
        delivery(push, Delivery.State.SUCCEEDED, age=timedelta(hours=2))
        delivery(push, Delivery.State.SUCCEEDED, age=timedelta(hours=30))  # outside 24 h
        delivery(push, Delivery.State.DEAD, error="RemoteError: 400")
        delivery(push, Delivery.State.PENDING, age=timedelta(minutes=45))
        delivery(push, Delivery.State.FAILED, age=timedelta(minutes=10), error="503")
        inbound_store(connection=crm, items=[WebhookEvent("e1", "deal.propertyChange", "7",
                                                          {"objectId": 7})])
        SyncRun.objects.create(connection=crm, flow="poll", status=SyncRun.Status.FAILED,
                               finished_at=timezone.now(), error="TransientRemoteError: down")

        [health] = connection_health(connections=list(connections_with_last_poll()))

        flows = {flow.name: flow for flow in health.flows}
        assert set(flows) == {push, "crm_sync.inbound", "poll"}
        flow = flows[push]
        assert (flow.queue_depth, flow.failed, flow.dead) == (2, 1, 1)
        assert (flow.succeeded_24h, flow.finished_24h) == (1, 2)
        assert flow.success_rate == Decimal("50.0")
        assert timedelta(minutes=44) < flow.lag < timedelta(minutes=46)
        assert flow.status == "failing"
        assert flows["crm_sync.inbound"].queue_depth == 1
        assert flows["poll"].last_failed
        assert health.status == "failing"
        assert health.last_poll_error == "TransientRemoteError: down"

        html = finance_client.get(HEALTH).content.decode()
        assert "Push project.created" in html
        assert "Inbound changes" in html
        assert "TransientRemoteError: down" in html
        assert "Failing" in html

    def test_a_quiet_healthy_connection(self):
        make_connection("quickbooks", CLOSED_PORT_URL, {}, name="erp")
        delivery("quickbooks.invoice.issued", Delivery.State.SUCCEEDED, age=timedelta(hours=1))

        [health] = connection_health()

        assert health.status == "healthy"
        assert health.success_rate == Decimal("100.0")
        assert not health.lag_is_backlog
        assert timedelta(minutes=59) < health.lag < timedelta(minutes=61)


class TestBusinessView:
    def test_figures_count_what_has_not_moved_on(self, finance_client):
        crm = make_connection("hubspot", CLOSED_PORT_URL, {}, name="crm")
        erp = make_connection("quickbooks", CLOSED_PORT_URL, {}, name="erp")
        now = timezone.now()
        Deal.objects.create(connection=crm, external_id="1", name="Won, no project",
                            won_at=now, correlation_id="c1")
        Deal.objects.create(connection=crm, external_id="2", name="Won with project",
                            won_at=now, correlation_id="c2", project=ProjectFactory())
        Deal.objects.create(connection=crm, external_id="3", name="Open", correlation_id="c3")

        counted = [TimeEntryFactory(approved=True, hours=Decimal("8.00")),
                   TimeEntryFactory(approved=True, hours=Decimal("1.50"))]
        BilledItemFactory(time_entry=counted[1], is_live=False)  # a voided invoice's link
        billed = TimeEntryFactory(approved=True)
        BilledItemFactory(time_entry=billed)
        HeldItemFactory(time_entry=TimeEntryFactory(approved=True))
        TimeEntryFactory(approved=True, task=TaskFactory(is_billable=False))
        fixed = ContractFactory(billing_model=Contract.BillingModel.FIXED_MILESTONES)
        TimeEntryFactory(approved=True, task=TaskFactory(project=ProjectFactory(contract=fixed)))
        TimeEntryFactory(submitted=True)

        in_erp, missing = InvoiceFactory(issued=True), InvoiceFactory(issued=True)
        InvoiceFactory(paid=True)  # missing too
        InvoiceFactory()  # a draft is not expected in the ERP
        ExternalRef.objects.create(content_type=ContentType.objects.get_for_model(Invoice),
                                   object_id=in_erp.pk, system=erp.name, external_id="77")
        ExternalRef.objects.create(content_type=ContentType.objects.get_for_model(Invoice),
                                   object_id=missing.pk, system="elsewhere", external_id="1")

        delivery("hubspot.contract.changed", Delivery.State.DEAD, event=event_of(
            "contract.changed"))
        delivery("quickbooks.client.created", Delivery.State.PENDING,
                 event=event_of("client.created"))
        delivery("quickbooks.change_order.approved", Delivery.State.SUCCEEDED,
                 event=event_of("change_order.approved"))
        delivery("revenue.contract.changed", Delivery.State.DEAD, event=event_of(
            "contract.changed"))  # not a connector
        delivery("hubspot.invoice.issued", Delivery.State.DEAD, event=event_of(
            "invoice.issued"))  # not a contract change

        response = finance_client.get(HEALTH)

        figures = response.context["figures"]
        assert figures.deals_won_unprojected == 1
        assert figures.unbilled_time_count == 2
        assert figures.unbilled_time_hours == Decimal("9.50")
        assert figures.erp_name == "erp"
        assert figures.invoices_not_in_erp == 2
        assert figures.changes_unpropagated == 2
        html = response.content.decode()
        assert reverse("crm_sync:backlog", args=["deals"]) in html
        assert "Invoices not in erp" in html

        deals = finance_client.get(reverse("crm_sync:backlog", args=["deals"]))
        assert deals.context["count"] == 1
        assert "Won, no project" in deals.content.decode()
        export = finance_client.get(reverse("crm_sync:backlog", args=["time"]),
                                    {"format": "csv"})
        assert export["Content-Type"].startswith("text/csv")
        lines = b"".join(export.streaming_content).decode().strip().splitlines()
        assert lines[0].startswith("Work date,Person,Project,Hours")
        assert len(lines) == 3
        invoices = finance_client.get(reverse("crm_sync:backlog", args=["invoices"]))
        assert invoices.context["count"] == 2
        changes = finance_client.get(reverse("crm_sync:backlog", args=["changes"]))
        assert changes.context["count"] == 2


class TestFailures:
    def test_failures_show_their_full_context(self, client):
        dead = delivery("hubspot.invoice.issued", Delivery.State.DEAD,
                        error="RemoteError: POST /crm/v3 → 400: bad property")

        client.force_login(person_with_role(roles.ADMINISTRATOR).user)
        html = client.get(HEALTH).content.decode()
        assert f"#{dead.pk}" in html
        assert "bad property" in html
        assert "first try" in html  # the error history
        assert f'&quot;client_id&quot;: {dead.event.payload["client_id"]}' in html
        assert dead.event.correlation_id in html

        # Finance sees what failed and why, but not the payloads (the outbox's, as in the API).
        client.force_login(person_with_role(roles.FINANCE).user)
        html = client.get(HEALTH).content.decode()
        assert "bad property" in html and dead.event.correlation_id in html
        assert "first try" not in html and "&quot;client_id&quot;" not in html
        assert 'name="delivery"' not in html, "finance may not replay: no checkboxes"

    def test_filter_by_state_and_subscriber(self, admin_client):
        dead = delivery("hubspot.invoice.issued", Delivery.State.DEAD, error="x")
        failed = delivery("quickbooks.invoice.issued", Delivery.State.FAILED, error="y")

        def shown(**params):
            response = admin_client.get(HEALTH, params)
            return [row["delivery"].pk for row in response.context["failures"]]

        assert sorted(shown()) == sorted([dead.pk, failed.pk])
        assert shown(state="dead") == [dead.pk]
        assert shown(subscriber="quickbooks.invoice.issued") == [failed.pk]

    def test_replay_many(self, admin_client):
        dead = [delivery("hubspot.invoice.issued", Delivery.State.DEAD, error="x")
                for _ in range(2)]
        done = delivery("hubspot.invoice.issued", Delivery.State.SUCCEEDED)
        html = admin_client.get(HEALTH).content.decode()
        assert f'name="delivery" value="{dead[0].pk}"' in html

        response = admin_client.post(reverse("crm_sync:replay"), {
            "delivery": [d.pk for d in dead] + [done.pk], "next": f"{HEALTH}?state=dead"})

        assert response.status_code == 302
        assert response["Location"] == f"{HEALTH}?state=dead"
        for row in dead:
            row.refresh_from_db()
            assert row.state == Delivery.State.PENDING
            assert row.attempts == 0
        done.refresh_from_db()
        assert done.state == Delivery.State.SUCCEEDED
        page = admin_client.get(response["Location"]).content.decode()
        assert "Replayed 2 deliveries" in page
        assert f"#{done.pk}" in page  # named among those not replayed

    def test_replay_needs_a_selection_and_refuses_other_sites(self, admin_client):
        response = admin_client.post(reverse("crm_sync:replay"),
                                     {"next": "https://evil.example/"})

        assert response.status_code == 302
        assert response["Location"] == HEALTH


class TestQueryCount:
    def _world(self, deliveries: int) -> None:
        crm = Connection.objects.filter(name="crm").first() or make_connection(
            "hubspot", CLOSED_PORT_URL, {}, name="crm")
        make_connection("quickbooks", CLOSED_PORT_URL, {}, name=f"erp{deliveries}",
                        enabled=False)
        event = event_of("contract.changed")
        now = timezone.now()
        states = [Delivery.State.SUCCEEDED, Delivery.State.DEAD, Delivery.State.FAILED,
                  Delivery.State.PENDING]
        Delivery.objects.bulk_create([
            Delivery(event=event, subscriber=f"hubspot.contract.changed.{deliveries}.{i}",
                     state=states[i % 4], next_attempt_at=now, last_error="e",
                     succeeded_at=now if i % 4 == 0 else None)
            for i in range(deliveries)])
        inbound_store(connection=crm, items=[
            WebhookEvent(f"e{deliveries}-{i}", "deal.creation", str(i), {}) for i in range(3)])
        SyncRun.objects.create(connection=crm, flow="poll", status=SyncRun.Status.SUCCEEDED,
                               finished_at=now)

    def test_health_page_queries_do_not_grow_with_deliveries(self, admin_client,
                                                             django_assert_max_num_queries):
        self._world(10)
        admin_client.get(HEALTH)  # warm the session and the content type cache
        with CaptureQueriesContext(db_connection) as few:
            assert admin_client.get(HEALTH).status_code == 200

        self._world(100)
        with django_assert_max_num_queries(len(few)):
            response = admin_client.get(HEALTH)
        assert response.context["failure_count"] > 50
        assert len(few) <= 20  # session, user, roles, person, connections, 3 flow
        #                        aggregates, 4 business figures, failures, alerts, banner


class TestConnectionPage:
    def test_shows_settings_runs_and_cursors_never_secrets(self, finance_client):
        crm = make_connection("hubspot", CLOSED_PORT_URL, {"access_token": "t0ps3cret"},
                              options={"pipeline": "default"}, name="crm")
        SyncRun.objects.create(connection=crm, flow="poll", status=SyncRun.Status.SUCCEEDED,
                               finished_at=timezone.now(), counts={"deals": 3})
        crm.cursors.create(stream="deals", value="2026-11-01T00:00:00Z")

        response = finance_client.get(reverse("crm_sync:connection", args=["crm"]))

        html = response.content.decode()
        assert response.status_code == 200
        assert "t0ps3cret" not in html
        assert "access_token" in html and ">set<" in html
        assert "deals 3" in html
        assert "2026-11-01T00:00:00Z" in html
        assert "&quot;pipeline&quot;: &quot;default&quot;" in html
        assert "Change the connection" not in html, "finance reads, administrators edit"

    def test_administrator_edits_with_write_only_credentials(self, admin_client):
        crm = make_connection("hubspot", CLOSED_PORT_URL,
                              {"access_token": "old-token", "client_secret": "keep-me"},
                              name="crm")
        url = reverse("crm_sync:connection", args=["crm"])
        page = admin_client.get(url).content.decode()
        assert "old-token" not in page and "keep-me" not in page

        response = admin_client.post(url, {
            "base_url": "https://api.hubapi.example", "enabled": "on",
            "options": '{"pipeline": "sales"}', "credential__access_token": "new-token",
            "credential__client_secret": "", "new_credential_key": "app_id",
            "new_credential_value": "42"})

        assert response.status_code == 302
        crm.refresh_from_db()
        assert crm.base_url == "https://api.hubapi.example"
        assert crm.options == {"pipeline": "sales"}
        assert crm.credentials == {"access_token": "new-token", "client_secret": "keep-me",
                                   "app_id": "42"}
        entries = LogEntry.objects.get_for_object(crm)
        assert any("credentials" in (entry.changes or {}) for entry in entries)
        assert not any("new-token" in str(entry.changes) for entry in entries)

    def test_invalid_edit_shows_the_error_and_changes_nothing(self, admin_client):
        crm = make_connection("hubspot", CLOSED_PORT_URL, {"access_token": "a"}, name="crm")
        make_connection("hubspot", CLOSED_PORT_URL, {}, name="crm2", enabled=False)
        url = reverse("crm_sync:connection", args=["crm2"])

        bad_json = admin_client.post(url, {"base_url": CLOSED_PORT_URL, "options": "{nope"})
        second_enabled = admin_client.post(url, {"base_url": CLOSED_PORT_URL, "enabled": "on",
                                                 "options": "{}"})

        assert bad_json.status_code == 400
        assert "Not valid JSON" in bad_json.content.decode()
        assert second_enabled.status_code == 400
        assert "one live connection per vendor" in second_enabled.content.decode()
        assert not Connection.objects.get(name="crm2").enabled
        assert crm.enabled

    def test_test_connection_button_records_the_outcome(self, admin_client):
        crm = make_connection("hubspot", CLOSED_PORT_URL, {"access_token": "a"}, name="crm")

        response = admin_client.post(reverse("crm_sync:connection-test", args=["crm"]),
                                     {"next": HEALTH})

        assert response.status_code == 302
        crm.refresh_from_db()
        assert crm.last_tested_at is not None
        assert crm.last_test_ok is False
        assert crm.runs.filter(flow="test", status=SyncRun.Status.FAILED).exists()
        assert "connection test failed" in admin_client.get(HEALTH).content.decode()


class TestInboundLog:
    def test_latest_first_filtered_by_connection_and_state(self, finance_client):
        crm = make_connection("hubspot", CLOSED_PORT_URL, {}, name="crm")
        hris = make_connection("bamboohr", CLOSED_PORT_URL, {}, name="hris")
        inbound_store(connection=crm, items=[WebhookEvent("a", "deal.creation", "1", {})])
        inbound_store(connection=hris, items=[WebhookEvent("b", "employee.updated", "2",
                                                           {"id": 2})])
        InboundMessage.objects.filter(event_id="a").update(state=InboundMessage.State.FAILED,
                                                           result="ValueError: bad")

        everything = finance_client.get(reverse("crm_sync:messages"))
        failed = finance_client.get(reverse("crm_sync:messages"), {"state": "failed"})
        of_hris = finance_client.get(reverse("crm_sync:messages"), {"connection": "hris"})

        assert [r["message"].event_id for r in everything.context["rows"]] == ["b", "a"]
        assert [r["message"].event_id for r in failed.context["rows"]] == ["a"]
        assert "ValueError: bad" in failed.content.decode()
        assert [r["message"].event_id for r in of_hris.context["rows"]] == ["b"]
