"""The hub's own machinery: secrets at rest, inbound dedup, HTTP error mapping, templates."""

from datetime import date
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.db import IntegrityError, transaction

from crm_sync import crypto
from crm_sync.connectors.base import WebhookEvent
from crm_sync.http import (
    RemoteError,
    RemoteRetryAfter,
    TransientRemoteError,
    VendorClient,
    retry_after_seconds,
)
from crm_sync.models import Connection, InboundMessage
from crm_sync.ownership import owned_values
from crm_sync.sandbox.server import Emulator, Response, route
from crm_sync.services.inbound import inbound_store
from crm_sync.services.refs import ref_link, ref_lookup, ref_of
from psa.models import Delivery, ProjectTemplate, TemplateMilestone, TemplateTask
from psa.services.templates import project_apply_template
from tests.crm_sync.conftest import make_connection
from tests.psa.factories import ClientFactory, ProjectFactory


@pytest.fixture
def fresh_keys(settings):
    """Each test picks its own keys; the derived Fernet is cached per key set."""
    crypto._fernet.cache_clear()
    yield settings
    crypto._fernet.cache_clear()


class TestSecretsAtRest:
    def test_credentials_are_stored_encrypted_and_read_back(self, db, fresh_keys):
        make_connection("hubspot", "http://127.0.0.1:1",
                        {"access_token": "tok-123", "client_secret": "s3cret"})
        stored = Connection.objects.values_list("credentials_encrypted", flat=True).get()
        assert "tok-123" not in stored and "s3cret" not in stored
        assert Connection.objects.get().credentials == {"access_token": "tok-123",
                                                        "client_secret": "s3cret"}

    def test_rotation_keeps_old_secrets_readable_and_rewrites_them(self, fresh_keys):
        old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        fresh_keys.CONNECTOR_ENCRYPTION_KEYS = [old]
        token = crypto.encrypt_text("vendor-key")
        crypto._fernet.cache_clear()
        fresh_keys.CONNECTOR_ENCRYPTION_KEYS = [new, old]
        assert crypto.decrypt_text(token) == "vendor-key"
        rotated = crypto.rotate_token(token)
        crypto._fernet.cache_clear()
        fresh_keys.CONNECTOR_ENCRYPTION_KEYS = [new]
        assert crypto.decrypt_text(rotated) == "vendor-key"
        with pytest.raises(crypto.SecretUnreadableError, match="PSA_CONNECTOR_KEYS"):
            crypto.decrypt_text(token)


class TestInboundDedup:
    def test_an_event_is_stored_and_published_once(self, db):
        connection = make_connection("hubspot", "http://127.0.0.1:1", {})
        event = WebhookEvent(event_id="42", topic="deal.propertyChange", object_id="7",
                             payload={"eventId": 42})
        first = inbound_store(connection=connection, items=[event, event])
        second = inbound_store(connection=connection, items=[event])
        assert (first.stored, first.duplicates) == (1, 1)
        assert (second.stored, second.duplicates) == (0, 1)
        message = InboundMessage.objects.get()
        assert message.duplicates == 2
        assert Delivery.objects.filter(event__type="inbound.received",
                                       subscriber="crm_sync.inbound").count() == 1

    def test_only_one_live_connection_per_vendor(self, db):
        make_connection("hubspot", "http://127.0.0.1:1", {})
        with pytest.raises(IntegrityError), transaction.atomic():
            make_connection("hubspot", "http://127.0.0.1:2", {}, name="hubspot-2")
        make_connection("hubspot", "http://127.0.0.1:2", {}, name="hubspot-old", enabled=False)


class TestExternalRefs:
    def test_unique_on_both_sides(self, db):
        connection = make_connection("hubspot", "http://127.0.0.1:1", {})
        client, other = ClientFactory(), ClientFactory()
        ref_link(connection, client, "c-1")
        ref_link(connection, client, "c-1")  # idempotent
        assert ref_lookup(connection, type(client), "c-1") == client
        assert ref_of(connection, client) == "c-1"
        with pytest.raises(IntegrityError), transaction.atomic():
            ref_link(connection, client, "c-2")
        with pytest.raises(IntegrityError), transaction.atomic():
            ref_link(connection, other, "c-1")


class FlakyVendor(Emulator):
    name = "flaky"

    @route("GET", r"/ok")
    @route("POST", r"/ok")
    def ok(self, request):
        return Response(200, {"ok": True})

    @route("GET", r"/missing")
    def missing(self, request):
        return Response(404, {"message": "no such thing"})


class TestHttpErrorMapping:
    def test_statuses_map_to_what_the_outbox_needs(self, run_emulator):
        server = run_emulator(FlakyVendor, seed=1)
        with VendorClient(server.url, timeout=1) as client:
            assert client.get_json("/ok") == {"ok": True}
            with pytest.raises(RemoteError) as missing:
                client.get_json("/missing")
            assert missing.value.status == 404 and "no such thing" in str(missing.value)
            assert not isinstance(missing.value, TransientRemoteError)
            server.emulator.faults.update({"rate_limit_rate": 1, "retry_after": 7})
            with pytest.raises(RemoteRetryAfter) as throttled:
                client.get_json("/ok")
            assert throttled.value.seconds == 7 and throttled.value.status == 429
            server.emulator.faults.update({"rate_limit_rate": 0, "error_rate": 1})
            with pytest.raises(TransientRemoteError) as failed:
                client.get_json("/ok")
            assert failed.value.status in (500, 502, 503)

    def test_dropped_connection_and_timeout_are_transient(self, run_emulator):
        server = run_emulator(FlakyVendor)
        with VendorClient(server.url, timeout=0.5) as client:
            server.emulator.faults.update({"drop_rate": 1})
            with pytest.raises(TransientRemoteError, match="connection failed"):
                client.request("POST", "/ok")
            server.emulator.faults.update({"drop_rate": 0, "timeout_rate": 1,
                                           "timeout_seconds": 1.5})
            with pytest.raises(TransientRemoteError, match="timed out"):
                client.request("POST", "/ok")

    def test_retry_after_accepts_seconds_and_dates(self):
        assert retry_after_seconds("12") == 12
        assert retry_after_seconds(None, default=30) == 30
        assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past
        assert retry_after_seconds("soon", default=5) == 5


def test_ownership_keeps_only_what_the_remote_owns():
    values = {"name": "Acme", "payment_terms_days": 15, "website": "acme.example"}
    assert owned_values(values, {"name", "website"}, what="client") == {
        "name": "Acme", "website": "acme.example"}


class TestProjectTemplate:
    def test_tasks_and_milestones_add_up_to_the_cent(self, db):
        template = ProjectTemplate.objects.create(code="std", name="Standard")
        TemplateTask.objects.bulk_create([
            TemplateTask(template=template, wbs_code="1", name="Plan", budget_share=30),
            TemplateTask(template=template, wbs_code="1.1", name="Kick-off", budget_share=10),
            TemplateTask(template=template, wbs_code="2", name="Deliver", budget_share=60)])
        TemplateMilestone.objects.bulk_create([
            TemplateMilestone(template=template, name=name, percent_of_value=Decimal(share),
                              due_after_days=days)
            for name, share, days in (("A", "33.33", 10), ("B", "33.33", 40),
                                      ("C", "33.34", 400))])
        project = ProjectFactory(budget_hours=Decimal("1000"), start_date=date(2026, 1, 5),
                                 end_date=date(2026, 12, 31), currency="USD")
        project_apply_template(project=project, template=template,
                               milestone_value=Decimal("10000.00"))
        project_apply_template(project=project, template=template,
                               milestone_value=Decimal("10000.00"))  # a replay adds nothing
        tasks = {t.wbs_code: t for t in project.tasks.all()}
        assert sorted(tasks) == ["1", "1.1", "2"]
        assert tasks["1.1"].parent == tasks["1"] and tasks["2"].parent is None
        assert tasks["2"].budget_hours == Decimal("600.00")
        milestones = list(project.milestones.order_by("due_date"))
        assert [m.amount for m in milestones] == [Decimal("3333.00"), Decimal("3333.00"),
                                                  Decimal("3334.00")]
        assert sum(m.amount for m in milestones) == Decimal("10000.00")
        assert milestones[-1].due_date == date(2026, 12, 31)  # capped at the project's end
