"""Integration alerts: opened once per stuck condition, e-mailed once, updated while it holds,
resolved when it clears, reopened if it comes back; and the banner on every page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from crm_sync.connectors.base import WebhookEvent
from crm_sync.models import Deal, InboundMessage, SyncAlert, SyncRun
from crm_sync.services.alerts import alert_recipients, alerts_check
from crm_sync.services.inbound import inbound_store
from crm_sync.tasks import alerts_check_task
from psa import events, roles
from psa.models import Delivery
from tests.billing.factories import InvoiceFactory
from tests.crm_sync.conftest import make_connection
from tests.psa.factories import ClientFactory, UserFactory, person_with_role

pytestmark = pytest.mark.django_db
CLOSED_PORT_URL = "http://127.0.0.1:9"
LONG_AGO = timedelta(hours=3)  # past the 60-minute threshold


@pytest.fixture(autouse=True)
def _alert_settings(settings):
    settings.SYNC_ALERT_AFTER_MINUTES = 60
    settings.SYNC_ALERT_EMAILS = ["ops@example.test"]


def stuck_delivery(state: str, *, age: timedelta = LONG_AGO,
                   subscriber: str = "quickbooks.invoice.issued") -> Delivery:
    client = ClientFactory()
    with transaction.atomic():
        event = events.publish("client.changed", aggregate=client, payload={})
    Delivery.objects.filter(event=event).delete()
    delivery = Delivery.objects.create(event=event, subscriber=subscriber, state=state,
                                       attempts=3, next_attempt_at=timezone.now(),
                                       last_error="TransientRemoteError: 503")
    Delivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - age)
    return delivery


def open_keys() -> set[str]:
    return set(SyncAlert.objects.filter(resolved_at__isnull=True).values_list("key", flat=True))


class TestLifecycle:
    def test_opens_once_mails_once_and_resolves_when_cleared(self):
        dead = stuck_delivery(Delivery.State.DEAD)

        first = alerts_check()

        assert [alert.key for alert in first] == ["deliveries.dead"]
        assert first[0].count == 1
        assert "quickbooks.invoice.issued: 1" in first[0].detail
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["ops@example.test"]
        assert "Dead deliveries" in mail.outbox[0].subject
        assert "/integrations/" in mail.outbox[0].body

        stuck_delivery(Delivery.State.DEAD, subscriber="hubspot.contract.changed")
        second = alerts_check()

        assert SyncAlert.objects.count() == 1
        assert second[0].count == 2
        assert len(mail.outbox) == 1, "an alert already open is not mailed again"

        Delivery.objects.filter(state=Delivery.State.DEAD).update(
            state=Delivery.State.SUCCEEDED, succeeded_at=timezone.now())
        assert alerts_check() == []
        alert = SyncAlert.objects.get(key="deliveries.dead")
        assert alert.resolved_at is not None
        assert dead.pk

    def test_a_cleared_condition_that_comes_back_is_reopened_and_mailed_again(self):
        delivery = stuck_delivery(Delivery.State.DEAD)
        alerts_check()
        Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.SUCCEEDED)
        alerts_check()

        Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.DEAD)
        [alert] = alerts_check()

        assert alert.resolved_at is None
        assert SyncAlert.objects.count() == 1
        assert len(mail.outbox) == 2

    def test_failed_deliveries_alert_only_after_the_threshold(self):
        stuck_delivery(Delivery.State.FAILED, age=timedelta(minutes=20))
        assert alerts_check() == []

        stuck_delivery(Delivery.State.FAILED, age=LONG_AGO)
        [alert] = alerts_check()
        assert alert.key == "deliveries.failed"
        assert alert.count == 1

    def test_pending_deliveries_no_worker_took(self):
        fresh = stuck_delivery(Delivery.State.PENDING)  # created long ago, due now (a replay)
        assert alerts_check() == []

        Delivery.objects.filter(pk=fresh.pk).update(
            next_attempt_at=timezone.now() - LONG_AGO)
        [alert] = alerts_check()
        assert (alert.key, alert.count) == ("deliveries.waiting", 1)

    def test_a_failed_send_is_retried_by_the_next_check(self, settings):
        settings.EMAIL_BACKEND = "tests.crm_sync.test_alerts.BrokenBackend"
        stuck_delivery(Delivery.State.DEAD)

        alerts_check()
        assert SyncAlert.objects.get().notified_at is None

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        alerts_check()
        assert SyncAlert.objects.get().notified_at is not None
        assert len(mail.outbox) == 1

    def test_the_beat_task_returns_how_many_are_open(self):
        stuck_delivery(Delivery.State.DEAD)

        assert alerts_check_task() == 1


class BrokenBackend:
    """An e-mail backend whose server is down."""

    def __init__(self, **kwargs: object) -> None:
        pass

    def send_messages(self, messages: list) -> int:
        raise ConnectionRefusedError("smtp is down")


class TestConditions:
    def test_inbound_messages_stuck_per_connection(self):
        crm = make_connection("hubspot", CLOSED_PORT_URL, {}, name="crm")
        inbound_store(connection=crm, items=[WebhookEvent("old", "deal.creation", "1", {}),
                                             WebhookEvent("new", "deal.creation", "2", {}),
                                             WebhookEvent("done", "deal.creation", "3", {})])
        InboundMessage.objects.filter(event_id__in=["old", "done"]).update(
            received_at=timezone.now() - LONG_AGO)
        InboundMessage.objects.filter(event_id="done").update(
            state=InboundMessage.State.PROCESSED)
        Delivery.objects.all().delete()  # only the messages' own state matters here

        [alert] = alerts_check()

        assert alert.key == "inbound.stuck:crm"
        assert alert.count == 1

    def test_won_deals_without_a_project_after_the_threshold(self):
        crm = make_connection("hubspot", CLOSED_PORT_URL, {}, name="crm")
        Deal.objects.create(connection=crm, external_id="1", name="Old win",
                            won_at=timezone.now() - LONG_AGO, correlation_id="a")
        Deal.objects.create(connection=crm, external_id="2", name="Fresh win",
                            won_at=timezone.now(), correlation_id="b")

        [alert] = alerts_check()

        assert (alert.key, alert.count) == ("deals.unprojected", 1)

    def test_issued_invoices_not_in_the_erp_only_with_an_erp(self):
        old = InvoiceFactory(issued=True, issued_at=timezone.now() - LONG_AGO)
        InvoiceFactory(issued=True, issued_at=timezone.now())
        assert alerts_check() == []  # no ERP connection: nothing is expected there

        make_connection("quickbooks", CLOSED_PORT_URL, {}, name="erp")
        [alert] = alerts_check()

        assert (alert.key, alert.count) == ("invoices.not_in_erp", 1)
        assert old.pk

    def test_a_connection_whose_polls_failed_for_longer_than_the_threshold(self):
        crm = make_connection("hubspot", CLOSED_PORT_URL, {}, name="crm")
        hour_ago = timezone.now() - timedelta(minutes=90)

        def poll(status, at, error=""):
            run = SyncRun.objects.create(connection=crm, flow="poll", status=status, error=error)
            SyncRun.objects.filter(pk=run.pk).update(started_at=at)

        poll(SyncRun.Status.SUCCEEDED, hour_ago - timedelta(minutes=10))
        poll(SyncRun.Status.FAILED, timezone.now(), "HTTP 401")
        assert alerts_check() == []  # one transient failure is the next poll's business

        poll(SyncRun.Status.FAILED, hour_ago, "HTTP 401")  # failing since before the cutoff
        [alert] = alerts_check()
        assert alert.key == "poll.failed:crm"
        assert "HTTP 401" in alert.detail

        poll(SyncRun.Status.SUCCEEDED, timezone.now() + timedelta(seconds=2))
        assert alerts_check() == []


class TestRecipients:
    def test_administrators_when_no_address_is_configured(self, settings):
        settings.SYNC_ALERT_EMAILS = []
        UserFactory(role=roles.ADMINISTRATOR, email="admin@example.test")
        UserFactory(role=roles.ADMINISTRATOR, email="gone@example.test", is_active=False)
        UserFactory(role=roles.FINANCE, email="finance@example.test")

        assert alert_recipients() == ["admin@example.test"]


class TestBanner:
    def test_shown_to_those_who_may_see_sync_health(self, client):
        stuck_delivery(Delivery.State.DEAD)
        alerts_check()

        client.force_login(person_with_role(roles.FINANCE).user)
        page = client.get(reverse("home")).content.decode()
        assert "1 integration alert open" in page
        assert reverse("crm_sync:health") in page

        client.force_login(person_with_role(roles.CONSULTANT).user)
        assert "integration alert" not in client.get(reverse("home")).content.decode()

    def test_gone_once_resolved(self, client):
        delivery = stuck_delivery(Delivery.State.DEAD)
        alerts_check()
        Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.SUCCEEDED)
        alerts_check()

        client.force_login(person_with_role(roles.EXECUTIVE).user)
        assert "integration alert" not in client.get(reverse("home")).content.decode()
