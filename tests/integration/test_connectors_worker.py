"""The integration hub end to end: the three vendor emulators over real HTTP, their webhooks
into the live server, and a real Celery worker doing the work (ARCHITECTURE.md: Integration
hub). Each flow of issue #7 runs once cleanly, then again with each kind of fault at 30 %,
duplicated and reordered webhooks, and the worker killed halfway; every object must end up
synced exactly once, nothing lost. The figures are printed at the end of each run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from billing.models import Invoice, Payment
from billing.services.issue import invoice_approve, invoice_issue
from crm_sync.models import Connection, Deal, InboundMessage
from crm_sync.sandbox.bamboohr import BambooHREmulator
from crm_sync.sandbox.hubspot import HubSpotEmulator
from crm_sync.sandbox.quickbooks import QuickBooksEmulator
from crm_sync.sandbox.server import RunningEmulator
from crm_sync.services.refs import ref_lookup, ref_of
from crm_sync.tasks import poll_connection_task
from psa.events import outbox_sweep
from psa.models import (
    Client,
    Delivery,
    OutboxEvent,
    Person,
    Project,
    ProjectTemplate,
    TemplateMilestone,
    TemplateTask,
)
from resourcing.models import Assignment, ResourceRequest
from tests.billing.factories import InvoiceFactory, InvoiceLineFactory, with_totals
from tests.crm_sync.conftest import make_connection
from tests.integration.conftest import wait_for
from tests.psa.factories import LegalEntityFactory, PersonFactory, RoleFactory, UserFactory
from tests.resourcing.factories import AssignmentFactory

pytestmark = pytest.mark.integration

REALM = "9130357766900000"
ROLES = (("ANL", "Analyst", 1), ("CONS", "Consultant", 2), ("SCON", "Senior Consultant", 3),
         ("MGR", "Manager", 4), ("PTR", "Partner", 5))
FLOW_TIMEOUT = 180.0
# Faults make work slow on purpose: many attempts, short backoff, a short lease for the kill.
FAULT_WORKER_ENV = {"OUTBOX_MAX_ATTEMPTS": "60", "OUTBOX_LEASE_SECONDS": "5"}


@dataclass
class Hub:
    hubspot: RunningEmulator
    bamboohr: RunningEmulator
    quickbooks: RunningEmulator
    connections: dict[str, Connection]

    @property
    def emulators(self) -> tuple[RunningEmulator, ...]:
        return self.hubspot, self.bamboohr, self.quickbooks

    def faults(self, **values: object) -> None:
        for server in self.emulators:
            httpx.post(f"{server.url}/_sandbox/faults", json=values).raise_for_status()

    def control(self, server: RunningEmulator, path: str, body: dict) -> dict:
        answer = httpx.post(f"{server.url}/_sandbox/{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()


@pytest.fixture
def hub(live_server, transactional_db, settings) -> Hub:
    # This process plays beat's sweeper (`settle`), with the worker's zero grace: a delivery
    # whose retry message was lost with a killed worker is nudged as soon as it is due.
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 0
    entity = LegalEntityFactory()
    for code, name, level in ROLES:
        RoleFactory(code=code, name=name, level=level)
    manager = PersonFactory(legal_entity=entity, role=RoleFactory(code="MGR", name="Manager"))
    template = ProjectTemplate.objects.create(code="standard", name="Standard engagement")
    TemplateTask.objects.bulk_create(
        TemplateTask(template=template, wbs_code=code, name=name, budget_share=share)
        for code, name, share in (("1", "Discovery", 20), ("2", "Delivery", 70),
                                  ("2.1", "Release one", 40), ("3", "Handover", 10)))
    TemplateMilestone.objects.bulk_create(
        TemplateMilestone(template=template, name=name, percent_of_value=share,
                          due_after_days=days)
        for name, share, days in (("Design signed off", 40, 30), ("Final acceptance", 60, 90)))

    servers = [RunningEmulator(cls()) for cls in
               (HubSpotEmulator, BambooHREmulator, QuickBooksEmulator)]
    hubspot, bamboohr, quickbooks = servers
    connections = {
        "hubspot": make_connection(
            "hubspot", hubspot.url, {"access_token": "sandbox-hubspot-token",
                                     "client_secret": "sandbox-hubspot-secret"},
            {"manager_employee_number": manager.employee_number,
             "pipelines": {"default": {"billing_model": "tm", "revenue_method": "as_delivered",
                                       "template": template.code}}},
            legal_entity=entity),
        "bamboohr": make_connection(
            "bamboohr", bamboohr.url, {"api_key": "sandbox-bamboohr-key",
                                       "webhook_key": "sandbox-bamboohr-webhook-key"},
            {"role_map": {"Analytics": "ANL"}}, legal_entity=entity),
        "quickbooks": make_connection(
            "quickbooks", quickbooks.url, {"access_token": "sandbox-qbo-token",
                                           "verifier_token": "sandbox-qbo-verifier"},
            {"realm_id": REALM}, legal_entity=entity),
    }
    for name, server in zip(("hubspot", "bamboohr", "quickbooks"), servers, strict=True):
        server.emulator.webhook_url = f"{live_server.url}/api/v1/integrations/{name}/webhook/"
    yield Hub(hubspot, bamboohr, quickbooks, connections)
    for server in servers:
        server.stop()


def settle(predicate: Callable[[], object], what: str,
           timeout: float = FLOW_TIMEOUT) -> object:
    """Wait for `predicate`, sweeping the outbox every few seconds as beat would, so deliveries
    whose worker was killed are handed on."""
    last_sweep = [0.0]

    def check() -> object:
        if time.monotonic() - last_sweep[0] > 3:
            outbox_sweep()
            last_sweep[0] = time.monotonic()
        return predicate()

    try:
        return wait_for(check, timeout=timeout, interval=0.3, what=what)
    except BaseException:
        for delivery in Delivery.objects.exclude(state=Delivery.State.SUCCEEDED):
            print(f"open delivery {delivery.pk} {delivery.subscriber} {delivery.state} "
                  f"attempts={delivery.attempts} next={delivery.next_attempt_at} "
                  f"error={delivery.last_error[:300]}")
        raise


def outbox_idle() -> bool:
    return not Delivery.objects.filter(state__in=Delivery.OPEN_STATES).exists()


# --- the flows --------------------------------------------------------------------------------


def close_a_deal(hub: Hub, stamp: str) -> str:
    """A new deal in a tentative stage, then closed won in the CRM; returns the deal id."""
    created = hub.control(hub.hubspot, "seed-deal", {
        "company": {"name": f"Initech {stamp}", "domain": f"initech-{stamp}.example"},
        "deal": {"dealname": f"Initech rollout {stamp}", "amount": "96000",
                 "deal_currency_code": "USD", "dealstage": "contractsent"},
        "line_items": [{"name": "Senior Consultant", "quantity": "240", "price": "225",
                        "psa_role": "SCON"},
                       {"name": "Analyst", "quantity": "160", "price": "125",
                        "psa_role": "ANL"}],
    })
    deal_id = str(created["deal_id"])
    settle(lambda: Deal.objects.filter(external_id=deal_id, requests__isnull=False).exists(),
           "the tentative requests of the new deal")
    hub.control(hub.hubspot, f"deals/{deal_id}/stage", {"stage": "closedwon"})
    return deal_id


def check_won_deal(hub: Hub, deal_id: str) -> Project:
    deal = settle(lambda: Deal.objects.filter(external_id=deal_id, project__isnull=False).first(),
                  "the won deal's project")
    project = deal.project
    assert Client.objects.filter(pk=deal.client_id).count() == 1
    assert Project.objects.filter(contract=deal.contract).count() == 1
    assert sorted(project.tasks.values_list("wbs_code", flat=True)) == ["1", "2", "2.1", "3"]
    assert sorted(project.milestones.values_list("amount", flat=True)) == [
        Decimal("38400.00"), Decimal("57600.00")]
    rates = dict(deal.contract.rate_card.lines.values_list("role__code", "hourly_rate"))
    assert rates == {"SCON": Decimal("225.0000"), "ANL": Decimal("125.0000")}
    requests = ResourceRequest.objects.filter(project=project)
    assert requests.count() == 2
    assert not requests.filter(is_tentative=True).exists()
    settle(lambda: remote_deal_property(hub, deal_id, "psa_project_id") == str(project.pk),
           "the deal's writeback")
    return project


def remote_deal_property(hub: Hub, deal_id: str, name: str) -> str | None:
    """A property of the deal as the CRM has it (None while the read meets an injected fault)."""
    try:
        answer = httpx.get(f"{hub.hubspot.url}/crm/v3/objects/deals/{deal_id}",
                           params={"properties": name},
                           headers={"Authorization": "Bearer sandbox-hubspot-token"}, timeout=5)
    except httpx.HTTPError:  # an injected drop
        return None
    return answer.json()["properties"].get(name) if answer.status_code == 200 else None


def import_people_and_terminate(hub: Hub) -> tuple[Person, date]:
    """Pull everyone from the HRIS, book one of them, then terminate them in the HRIS."""
    connection = hub.connections["bamboohr"]
    total = len(hub.bamboohr.emulator.employees)
    poll_connection_task.delay(connection.pk)
    settle(lambda: Person.objects.filter(email__endswith="@northwind.example").count() == total,
           "the people from the HRIS")
    person = ref_lookup(connection, Person, "105")  # Daniel Okafor, active
    assert person is not None
    leaving = timezone.localdate() + timedelta(days=10)
    AssignmentFactory(person=person, role=person.role, start_date=timezone.localdate(),
                      end_date=leaving + timedelta(days=60))
    hub.control(hub.bamboohr, "employees/105/terminate", {"date": leaving.isoformat()})
    return person, leaving


def check_terminated(person: Person, leaving: date) -> None:
    settle(lambda: Person.objects.get(pk=person.pk).termination_date == leaving,
           "the termination from the HRIS")
    settle(lambda: not Assignment.objects.filter(person=person,
                                                 end_date__gt=leaving).exists(),
           "the leaver's bookings ended")
    assert Assignment.objects.filter(person=person, end_date=leaving).count() == 1
    assert Person.objects.filter(email=person.email).count() == 1


def issue_an_invoice() -> Invoice:
    actor = UserFactory()
    draft = InvoiceFactory()
    InvoiceLineFactory(invoice=draft, description="Consultant 8.00 h")
    with transaction.atomic():
        draft = invoice_approve(invoice=with_totals(draft), actor=actor)
        return invoice_issue(invoice=draft, actor=actor, issue_date=timezone.localdate())


def check_invoice_in_erp_then_paid(hub: Hub, invoice: Invoice) -> None:
    connection = hub.connections["quickbooks"]
    qbo_id = settle(lambda: ref_of(connection, invoice), "the invoice in the ERP")
    documents = httpx.get(f"{hub.quickbooks.url}/_sandbox/documents").json()
    assert documents["doc_numbers"]["Invoice"] == {invoice.number: 1}
    hub.control(hub.quickbooks, "payments", {"invoice_id": qbo_id,
                                             "amount": str(invoice.total),
                                             "date": timezone.localdate().isoformat()})
    settle(lambda: Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID,
           "the payment from the ERP")
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert Payment.objects.filter(invoice=invoice).aggregate(
        total=Sum("amount"))["total"] == invoice.total


def run_all_flows(hub: Hub, stamp: str, *, kill: Callable[[], None] | None = None) -> None:
    invoice = issue_an_invoice()
    deal_id = close_a_deal(hub, stamp)
    person, leaving = import_people_and_terminate(hub)
    if kill is not None:
        kill()
    check_won_deal(hub, deal_id)
    check_terminated(person, leaving)
    check_invoice_in_erp_then_paid(hub, invoice)
    settle(outbox_idle, "the outbox to drain")
    for server in hub.emulators:
        settle(server.emulator.webhooks_idle, f"{server.emulator.name}'s webhooks to be sent")
    settle(outbox_idle, "the outbox to drain after the last webhooks")


def duplicated_objects(hub: Hub) -> int:
    """Objects that exist more than once on either side (must be 0)."""
    here = sum(rows.values(key).annotate(n=Count("pk")).filter(n__gt=1).count()
               for rows, key in ((Client.objects.all(), "name"), (Person.objects.all(), "email"),
                                 (Project.objects.filter(contract__isnull=False), "contract"),
                                 (Payment.objects.all(), "invoice")))
    documents = httpx.get(f"{hub.quickbooks.url}/_sandbox/documents").json()["doc_numbers"]
    there = sum(1 for numbers in documents.values() for n in numbers.values() if n > 1)
    return here + there


def figures(hub: Hub, label: str) -> dict[str, int]:
    counts = {
        "events": OutboxEvent.objects.count(),
        "deliveries": Delivery.objects.count(),
        "retried": Delivery.objects.filter(attempts__gt=1).count(),
        "dead": Delivery.objects.filter(state=Delivery.State.DEAD).count(),
        "replayed": Delivery.objects.filter(last_error_context__has_key="replayed_by").count(),
        "lost": Delivery.objects.exclude(state=Delivery.State.SUCCEEDED).count(),
        "inbound": InboundMessage.objects.count(),
        "duplicate_webhooks": InboundMessage.objects.aggregate(
            n=Sum("duplicates"))["n"] or 0,
        "duplicated": duplicated_objects(hub),
    }
    faults = {}
    for server in hub.emulators:
        state = httpx.get(f"{server.url}/_sandbox/state").json()
        for key, value in state["requests"].items():
            if key.startswith("fault:"):
                faults[f"{server.emulator.name}.{key[6:]}"] = value
    print(f"\n[{label}] " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    print(f"[{label}] injected: " + (", ".join(f"{k}={v}" for k, v in sorted(faults.items()))
                                     or "none"))
    return counts


def test_every_flow_end_to_end_with_a_real_worker(hub, celery_worker):
    celery_worker()
    run_all_flows(hub, "clean")
    counts = figures(hub, "no faults")
    assert counts["dead"] == 0 and counts["lost"] == 0 and counts["duplicated"] == 0


FAULT_KINDS = {
    "5xx": {"error_rate": 0.3},
    "429": {"rate_limit_rate": 0.3, "retry_after": 1},
    "timeout": {"timeout_rate": 0.3, "timeout_seconds": 2},
    "dropped": {"drop_rate": 0.3},
}


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_every_flow_exactly_once_under_faults(hub, celery_worker, kind, settings):
    """30 % of the vendors' answers fail this way, webhooks come twice (and out of order), and
    the first worker is killed while work is in flight; a second worker finishes it."""
    # A delivery's attempts are fixed where its event is published (here and the live server).
    settings.OUTBOX_MAX_ATTEMPTS = int(FAULT_WORKER_ENV["OUTBOX_MAX_ATTEMPTS"])
    hub.faults(**FAULT_KINDS[kind], webhook_duplicate_rate=0.5, webhook_reorder=True)
    first = celery_worker(FAULT_WORKER_ENV)

    def kill_and_replace() -> None:
        time.sleep(1.0)
        first.kill()
        celery_worker(FAULT_WORKER_ENV)

    run_all_flows(hub, kind, kill=kill_and_replace)
    counts = figures(hub, f"30 % {kind}")
    assert counts["dead"] == 0 and counts["lost"] == 0 and counts["duplicated"] == 0
    # Exactly once on every side: no second client, project, person or ERP document.
    assert Client.objects.values("name").annotate(n=Count("pk")).filter(n__gt=1).count() == 0
    assert Deal.objects.filter(project__isnull=False).count() == 1
    assert Person.objects.values("email").annotate(n=Count("pk")).filter(n__gt=1).count() == 0
    documents = httpx.get(f"{hub.quickbooks.url}/_sandbox/documents").json()
    assert all(n == 1 for n in documents["doc_numbers"].get("Invoice", {}).values())
    assert Payment.objects.count() == 1
