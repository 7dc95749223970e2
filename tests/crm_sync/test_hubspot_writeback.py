"""What HubSpot learns back: the project a won deal became, and its contract's billing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest

from billing.services.issue import invoice_approve, invoice_issue
from billing.services.payments import payment_record
from crm_sync.models import Deal, InboundMessage
from crm_sync.sandbox.hubspot import HubSpotEmulator
from psa.common.logging import system_user
from psa.models import Delivery, ProjectTemplate, TemplateTask
from psa.services import project_update
from tests.billing.factories import invoice_with_lines
from tests.crm_sync.conftest import drain_outbox, make_connection
from tests.psa.factories import (
    LegalEntityFactory,
    PersonFactory,
    ProjectFactory,
    RoleFactory,
    TimeEntryFactory,
)

WEBHOOK_URL = "http://testserver/api/v1/integrations/hubspot/webhook/"
AUTH = {"Authorization": "Bearer sandbox-hubspot-token"}
HUB = {"crm_sync.inbound", "hubspot.project.created", "hubspot.project.changed",
       "hubspot.invoice.issued", "hubspot.invoice.voided", "hubspot.payment.recorded"}
WRITTEN = ("psa_project_id", "psa_project_code", "psa_project_status", "psa_project_health",
           "psa_invoiced_total", "psa_paid_total", "psa_invoice_status")


@pytest.fixture
def hubspot(run_emulator, db):
    entity = LegalEntityFactory()
    RoleFactory(code="SCON", name="Senior Consultant", level=3)
    PersonFactory(employee_number="MGR-1")
    template = ProjectTemplate.objects.create(code="consulting", name="Consulting")
    TemplateTask.objects.create(template=template, wbs_code="1", name="Delivery",
                                budget_share=Decimal("100"))
    server = run_emulator(HubSpotEmulator, seed=1)
    server.emulator.webhook_url = "capture"
    server.connection = make_connection(
        "hubspot", server.url,
        {"access_token": "sandbox-hubspot-token", "client_secret": "sandbox-hubspot-secret"},
        options={"manager_employee_number": "MGR-1",
                 "pipelines": {"default": {"template": "consulting"}}},
        legal_entity=entity)
    server.api = httpx.Client(base_url=server.url, headers=AUTH, timeout=5)
    yield server
    server.api.close()


def deliver(client, hubspot) -> None:
    """Post the captured webhooks (signed) and run the hub's deliveries until all settle."""
    emulator = hubspot.emulator
    for _ in range(5):
        bodies = list(emulator.captured)
        emulator.captured.clear()
        for body in bodies:
            headers = emulator.signed_headers(body, WEBHOOK_URL)
            response = client.post(WEBHOOK_URL, data=body, content_type="application/json",
                                   **{"HTTP_" + k.upper().replace("-", "_"): v
                                      for k, v in headers.items() if k != "Content-Type"})
            assert response.status_code == 202
        drain_outbox(subscribers=HUB)
        if not emulator.captured:
            return


def crm_deal(hubspot, deal_id: str) -> dict[str, str | None]:
    deal = hubspot.api.get(f"/crm/v3/objects/deals/{deal_id}",
                           params={"properties": ",".join(WRITTEN)}).json()
    return deal["properties"]


def won_deal(client, hubspot) -> tuple[str, Deal]:
    deal_id = hubspot.api.post("/_sandbox/seed-deal", json={
        "company": {"name": "Initech", "domain": "initech.example"},
        "deal": {"dealname": "Initech rollout", "amount": "40000", "dealstage": "closedwon",
                 "psa_start_date": "2027-03-01", "psa_end_date": "2027-05-21"},
        "line_items": [{"name": "Senior Consultant", "quantity": "160", "price": "250",
                        "psa_role": "SCON"}]}).json()["deal_id"]
    deliver(client, hubspot)
    return deal_id, Deal.objects.get(external_id=deal_id)


class TestProjectWriteback:
    def test_closed_won_writes_the_project_onto_the_deal(self, client, hubspot):
        deal_id, deal = won_deal(client, hubspot)

        props = crm_deal(hubspot, deal_id)
        assert props["psa_project_id"] == str(deal.project_id)
        assert props["psa_project_code"] == deal.project.code
        assert props["psa_project_status"] == "active"
        assert props["psa_project_health"] == "on_track"
        assert props["psa_invoiced_total"] is None
        echoes = InboundMessage.objects.filter(payload__propertyName="psa_project_id")
        assert echoes.count() == 1  # our own write came back as a webhook ...
        assert echoes.get().state == InboundMessage.State.IGNORED  # ... and was not news
        assert not Delivery.objects.filter(subscriber__in=HUB).exclude(
            state=Delivery.State.SUCCEEDED).exists()

    def test_status_and_health_follow_the_project(self, client, hubspot):
        deal_id, deal = won_deal(client, hubspot)
        project = deal.project
        TimeEntryFactory(project=project, task=project.tasks.get(), approved=True,
                         hours=Decimal("8.00"), work_date=date(2027, 3, 2))
        project_update(project=project, actor=system_user(),
                       data={"status": "on_hold", "budget_hours": Decimal("4.00")})
        deliver(client, hubspot)

        props = crm_deal(hubspot, deal_id)
        assert props["psa_project_status"] == "on_hold"
        assert props["psa_project_health"] == "at_risk"

    def test_a_project_that_did_not_come_from_a_deal_sends_nothing(self, client, hubspot):
        project = ProjectFactory()
        patches_before = hubspot.api.get("/_sandbox/state").json()["requests"]
        project_update(project=project, actor=system_user(), data={"name": "Renamed"})
        drain_outbox(subscribers=HUB)

        delivery = Delivery.objects.get(subscriber="hubspot.project.changed")
        assert delivery.state == Delivery.State.SUCCEEDED
        patches = {k: v for k, v in hubspot.api.get("/_sandbox/state").json()["requests"].items()
                   if k.startswith("PATCH")}
        assert patches == {k: v for k, v in patches_before.items() if k.startswith("PATCH")}


class TestBillingWriteback:
    def test_issued_invoice_and_payments_reach_the_deal(self, client, hubspot):
        deal_id, deal = won_deal(client, hubspot)
        invoice = invoice_with_lines([Decimal("12000.00")], contract=deal.contract)
        clerk = system_user()
        invoice = invoice_issue(invoice=invoice_approve(invoice=invoice, actor=clerk),
                                actor=clerk, issue_date=date(2027, 3, 31))
        deliver(client, hubspot)

        props = crm_deal(hubspot, deal_id)
        assert props["psa_invoiced_total"] == "12000.00"
        assert props["psa_paid_total"] == "0.00"
        assert props["psa_invoice_status"] == "open"

        payment_record(invoice=invoice, actor=clerk, amount=Decimal("5000.00"),
                       received_date=date(2027, 4, 15))
        deliver(client, hubspot)
        props = crm_deal(hubspot, deal_id)
        assert props["psa_paid_total"] == "5000.00"
        assert props["psa_invoice_status"] == "partially_paid"

        payment_record(invoice=invoice, actor=clerk, amount=Decimal("7000.00"),
                       received_date=date(2027, 4, 30))
        deliver(client, hubspot)
        assert crm_deal(hubspot, deal_id)["psa_invoice_status"] == "paid"
