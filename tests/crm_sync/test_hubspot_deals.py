"""HubSpot deals become pipeline demand, then a client, contract and staffed project, once.

The emulator is the CRM (real HTTP on loopback); its webhooks are captured, signed, posted to
our endpoint, and the outbox is drained as the worker would.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from crm_sync.flows.deals import CompanyFacts, DealFacts, LineItemFacts, deal_apply
from crm_sync.models import Deal, DealRequest, InboundMessage
from crm_sync.sandbox.hubspot import HubSpotEmulator
from crm_sync.services.inbound import inbound_process
from crm_sync.services.polling import connection_poll, cursor_set
from psa import models as psa_models
from psa.common.logging import system_user
from psa.models import OutboxEvent
from psa.services import client_update
from resourcing.models import ResourceRequest
from tests.crm_sync.conftest import drain_outbox, make_connection
from tests.psa.factories import LegalEntityFactory, PersonFactory, RoleFactory

WEBHOOK_URL = "http://testserver/api/v1/integrations/hubspot/webhook/"
INBOUND = {"crm_sync.inbound"}
AUTH = {"Authorization": "Bearer sandbox-hubspot-token"}
START = date(2027, 3, 1)
END = date(2027, 5, 21)  # twelve weeks, Monday to Friday


@pytest.fixture
def world(db):
    entity = LegalEntityFactory()
    for code, name, level in (("ANL", "Analyst", 1), ("CONS", "Consultant", 2),
                              ("SCON", "Senior Consultant", 3)):
        RoleFactory(code=code, name=name, level=level)
    manager = PersonFactory(employee_number="MGR-1")
    template = psa_models.ProjectTemplate.objects.create(code="consulting", name="Consulting")
    for wbs, name, share in (("1", "Discovery", "40"), ("2", "Delivery", "60")):
        psa_models.TemplateTask.objects.create(template=template, wbs_code=wbs, name=name,
                                               budget_share=Decimal(share))
    for name, percent, days in (("Kick-off", "30", 0), ("Acceptance", "70", 60)):
        psa_models.TemplateMilestone.objects.create(
            template=template, name=name, percent_of_value=Decimal(percent),
            due_after_days=days)
    return {"entity": entity, "manager": manager, "template": template}


@pytest.fixture
def hubspot(run_emulator, world):
    server = run_emulator(HubSpotEmulator, seed=1)
    server.emulator.webhook_url = "capture"
    server.connection = make_connection(
        "hubspot", server.url,
        {"access_token": "sandbox-hubspot-token", "client_secret": "sandbox-hubspot-secret"},
        options={"manager_employee_number": "MGR-1",
                 "pipelines": {"default": {"billing_model": "tm",
                                           "revenue_method": "as_delivered",
                                           "template": "consulting"}}},
        legal_entity=world["entity"])
    server.api = httpx.Client(base_url=server.url, timeout=5)
    # Polls start after the emulator's demo fixtures: tests count only their own deals.
    newest = server.api.post("/crm/v3/objects/deals/search", headers=AUTH, json={
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
        "limit": 1}).json()["results"][0]["properties"]["hs_lastmodifieddate"]
    cursor_set(server.connection, "deals", newest)
    yield server
    server.api.close()


def seed_deal(hubspot, stage: str = "presentationscheduled", **deal: str) -> dict:
    response = hubspot.api.post("/_sandbox/seed-deal", json={
        "company": {"name": "Acme Logistics", "domain": "acme.example"},
        "deal": {"dealname": "Acme network study", "amount": "115000",
                 "deal_currency_code": "USD", "dealstage": stage,
                 "psa_billing_model": "tm_cap", "psa_start_date": START.isoformat(),
                 "psa_end_date": END.isoformat(), **deal},
        "line_items": [{"name": "Senior Consultant", "quantity": "400", "price": "225",
                        "psa_role": "SCON"},
                       {"name": "Analyst", "quantity": "200", "price": "125",
                        "psa_role": "ANL"}]})
    assert response.status_code == 201
    return response.json()


def crm_edit(hubspot, deal_id: str, **properties: str) -> None:
    response = hubspot.api.post(f"/_sandbox/deals/{deal_id}/properties",
                                json={"properties": properties})
    assert response.status_code == 200


def headers_meta(headers: dict[str, str]) -> dict[str, str]:
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()
            if name != "Content-Type"}


def deliver(client, hubspot, *, twice: bool = False) -> None:
    """Post every captured webhook (signed) to our endpoint, then run the inbound worker."""
    emulator = hubspot.emulator
    bodies = list(emulator.captured)
    emulator.captured.clear()
    for body in bodies:
        for _ in range(2 if twice else 1):
            response = client.post(WEBHOOK_URL, data=body, content_type="application/json",
                                   **headers_meta(emulator.signed_headers(body, WEBHOOK_URL)))
            assert response.status_code == 202, response.content
    drain_outbox(subscribers=INBOUND)


def counts() -> dict[str, int]:
    return {"clients": psa_models.Client.objects.count(),
            "contracts": psa_models.Contract.objects.count(),
            "projects": psa_models.Project.objects.count(),
            "tasks": psa_models.Task.objects.count(),
            "milestones": psa_models.Milestone.objects.count(),
            "cards": psa_models.RateCard.objects.count(),
            "card_lines": psa_models.RateCardLine.objects.count(),
            "requests": ResourceRequest.objects.count(),
            "change_orders": psa_models.ChangeOrder.objects.count(),
            "project_events": OutboxEvent.objects.filter(type="project.created").count(),
            "refs": psa_models.ExternalRef.objects.count()}


class TestTentative:
    def test_tentative_stage_raises_requests_weighted_by_probability(self, client, hubspot):
        deal_id = seed_deal(hubspot)["deal_id"]
        deliver(client, hubspot)

        requests = ResourceRequest.objects.order_by("role__code")
        assert [(r.role.code, r.is_tentative, r.probability, r.project_id) for r in requests] \
            == [("ANL", True, Decimal("60.00"), None), ("SCON", True, Decimal("60.00"), None)]
        assert {r.deal_ref for r in requests} == {deal_id}
        scon = requests.get(role__code="SCON")
        assert (scon.start_date, scon.end_date) == (START, END)
        assert scon.hours_per_week == Decimal("33.50")  # 400 h over 60 weekdays, rounded up
        assert scon.bill_rate == Decimal("225")

    def test_rerun_updates_probability_and_never_duplicates(self, client, hubspot):
        deal_id = seed_deal(hubspot)["deal_id"]
        deliver(client, hubspot)
        first_ids = set(ResourceRequest.objects.values_list("pk", flat=True))

        crm_edit(hubspot, deal_id, dealstage="decisionmakerboughtin")
        deliver(client, hubspot, twice=True)
        connection_poll(hubspot.connection)
        drain_outbox(subscribers=INBOUND)

        assert set(ResourceRequest.objects.values_list("pk", flat=True)) == first_ids
        assert set(ResourceRequest.objects.values_list("probability", flat=True)) == {
            Decimal("80.00")}
        assert DealRequest.objects.count() == 2

    def test_stage_below_threshold_raises_nothing(self, client, hubspot):
        seed_deal(hubspot, stage="qualifiedtobuy")
        deliver(client, hubspot)
        assert not ResourceRequest.objects.exists()
        assert Deal.objects.get().probability == Decimal("40.00")

    def test_closed_lost_cancels_the_open_requests(self, client, hubspot):
        deal_id = seed_deal(hubspot)["deal_id"]
        deliver(client, hubspot)
        crm_edit(hubspot, deal_id, dealstage="closedlost")
        deliver(client, hubspot)

        assert set(ResourceRequest.objects.values_list("status", flat=True)) == {
            ResourceRequest.Status.CANCELLED}
        deal = Deal.objects.get()
        assert deal.lost_at is not None and deal.project_id is None


class TestWon:
    def test_closed_won_creates_client_contract_project_and_real_requests(self, client,
                                                                          hubspot, world):
        seeded = seed_deal(hubspot)
        deliver(client, hubspot)
        tentative_ids = set(ResourceRequest.objects.values_list("pk", flat=True))
        hubspot.api.post(f"/_sandbox/deals/{seeded['deal_id']}/stage", json={"stage": "closedwon"})
        deliver(client, hubspot)

        deal = Deal.objects.get()
        customer = deal.client
        assert customer.name == "Acme Logistics"
        assert customer.legal_entity == world["entity"]
        assert psa_models.ExternalRef.objects.get(system="hubspot", object_id=customer.pk,
                                                  content_type__model="client").external_id \
            == seeded["company_id"]
        contract = deal.contract
        assert (contract.value_amount, contract.currency, contract.billing_model,
                contract.revenue_method, contract.cap_amount) == (
            Decimal("115000.00"), "USD", "tm_cap", "as_delivered", Decimal("115000.00"))
        assert (contract.start_date, contract.end_date) == (START, END)
        assert {(line.role.code, line.hourly_rate) for line in contract.rate_card.lines.all()} \
            == {("SCON", Decimal("225.0000")), ("ANL", Decimal("125.0000"))}
        project = deal.project
        assert project.contract == contract and project.manager == world["manager"]
        assert project.budget_hours == Decimal("600.00")
        assert project.budget_revenue_amount == Decimal("115000.00")
        assert sorted(project.tasks.values_list("name", "budget_hours")) == [
            ("Delivery", Decimal("360.00")), ("Discovery", Decimal("240.00"))]
        assert sorted(project.milestones.values_list("amount", flat=True)) == [
            Decimal("34500.00"), Decimal("80500.00")]
        requests = ResourceRequest.objects.all()
        assert set(requests.values_list("pk", flat=True)) == tentative_ids  # converted
        assert {(r.is_tentative, r.probability, r.project_id) for r in requests} == {
            (False, Decimal("100.00"), project.pk)}
        assert deal.won_at and deal.project_created_at
        assert deal.amount_booked == Decimal("115000.00")
        created = OutboxEvent.objects.get(type="project.created")
        assert created.correlation_id == deal.correlation_id

    def test_replays_duplicates_and_polls_create_nothing_twice(self, client, hubspot):
        seeded = seed_deal(hubspot, stage="closedwon")
        deliver(client, hubspot, twice=True)
        after_first = counts()
        assert after_first["projects"] == 1 and after_first["requests"] == 2
        message = InboundMessage.objects.get()
        assert message.duplicates == 1

        inbound_process(message.pk)  # the same webhook processed a second time
        connection_poll(hubspot.connection)  # and a poll message about the same change
        drain_outbox(subscribers=INBOUND)

        assert InboundMessage.objects.filter(topic="deal.polled").count() == 1
        assert counts() == after_first
        assert Deal.objects.get().external_id == seeded["deal_id"]

    def test_staffing_and_rates_are_ours_once_the_deal_is_won(self, client, hubspot):
        """A resource manager's edit of a request, and the contract's rates, survive later CRM
        changes of the won deal (prices and amounts go through change orders)."""
        seeded = seed_deal(hubspot, stage="closedwon")
        deal_id = seeded["deal_id"]
        deliver(client, hubspot)
        request = ResourceRequest.objects.order_by("pk").first()
        request.hours_per_week = Decimal("7.50")
        request.save(update_fields=["hours_per_week"])
        contract = Deal.objects.get().contract
        rates = set(contract.rate_card.lines.values_list("role__code", "hourly_rate"))
        line_id = seeded["line_item_ids"][0]
        hubspot.emulator.records["line_items"][line_id]["properties"]["price"] = "999"
        crm_edit(hubspot, deal_id, amount="130000")
        deliver(client, hubspot)

        request.refresh_from_db()
        assert request.hours_per_week == Decimal("7.50")
        assert ResourceRequest.objects.count() == 2
        assert set(contract.rate_card.lines.values_list("role__code", "hourly_rate")) == rates
        assert psa_models.ChangeOrder.objects.count() == 1

    def test_amount_change_raises_one_pending_change_order_for_the_difference(self, client,
                                                                              hubspot):
        deal_id = seed_deal(hubspot, stage="closedwon")["deal_id"]
        deliver(client, hubspot)
        crm_edit(hubspot, deal_id, amount="130000")
        deliver(client, hubspot, twice=True)
        connection_poll(hubspot.connection)
        drain_outbox(subscribers=INBOUND)

        change_order = psa_models.ChangeOrder.objects.get()
        assert change_order.status == psa_models.ChangeOrder.Status.PENDING
        assert change_order.value_change_amount == Decimal("15000.00")
        assert change_order.cap_change_amount == Decimal("15000.00")  # a capped contract
        assert Deal.objects.get().amount_booked == Decimal("130000.00")
        assert Deal.objects.get().contract.value_amount == Decimal("115000.00")  # until approved

    def test_owned_client_fields_survive_a_deal_update_while_the_crm_name_wins(self, client,
                                                                               hubspot):
        seeded = seed_deal(hubspot, stage="closedwon")
        deliver(client, hubspot)
        customer = Deal.objects.get().client
        client_update(client=customer, actor=system_user(),
                      data={"payment_terms_days": 45, "billing_contact_email": "ap@acme.example"})

        company_patch = hubspot.api.patch(
            f"/crm/v3/objects/companies/{seeded['company_id']}",
            headers=AUTH,
            json={"properties": {"name": "Acme Logistics Group"}})
        assert company_patch.status_code == 200
        crm_edit(hubspot, seeded["deal_id"], dealname="Acme network study, phase 1")
        deliver(client, hubspot)

        customer.refresh_from_db()
        assert customer.name == "Acme Logistics Group"
        assert customer.payment_terms_days == 45
        assert customer.billing_contact_email == "ap@acme.example"
        deal = Deal.objects.get()
        assert deal.contract.name == "Acme network study, phase 1"  # a deal term
        assert deal.project.name == "Acme network study"  # ours once created

    def test_won_deal_without_a_manager_fails_and_leaves_nothing_half_done(self, client,
                                                                            hubspot):
        hubspot.connection.options = {**hubspot.connection.options,
                                      "manager_employee_number": "NOBODY"}
        hubspot.connection.save()
        seed_deal(hubspot, stage="closedwon")
        deliver(client, hubspot)

        assert not psa_models.Client.objects.exists()
        assert not psa_models.Project.objects.exists()
        assert "manager_employee_number" in Deal.objects.get().last_error
        assert InboundMessage.objects.get().state == InboundMessage.State.FAILED


class TestPoll:
    def test_poll_pages_through_changes_stores_each_once_and_advances_the_cursor(self,
                                                                                 hubspot):
        hubspot.connection.options = {**hubspot.connection.options, "poll_page_size": 2}
        hubspot.connection.save()
        ids = [seed_deal(hubspot, stage="qualifiedtobuy")["deal_id"] for _ in range(5)]

        run = connection_poll(hubspot.connection)
        assert run.status == run.Status.SUCCEEDED, run.error
        assert run.counts == {"pages": 3, "changes": 5, "stored": 5, "duplicates": 0}
        polled = InboundMessage.objects.filter(topic="deal.polled").order_by("pk")
        assert [m.object_id for m in polled] == ids

        assert connection_poll(hubspot.connection).counts["changes"] == 0
        crm_edit(hubspot, ids[2], amount="1")
        assert connection_poll(hubspot.connection).counts == {
            "pages": 1, "changes": 1, "stored": 1, "duplicates": 0}


class TestFlowDirectly:
    """`deal_apply` is vendor-neutral: facts in, rows out, without HTTP."""

    @staticmethod
    def facts(*lines: LineItemFacts, minutes: int = 0, stage: str = "presentationscheduled",
              probability: str = "0.6") -> DealFacts:
        return DealFacts(
            id="D1", name="Direct deal", pipeline="default", stage=stage,
            probability=Decimal(probability), amount=Decimal("1000"), currency="USD",
            close_date=START, properties={},
            company=CompanyFacts(id="C1", name="Direct Co", domain="direct.example"),
            line_items=lines,
            modified_at=datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes))

    def test_removed_line_is_cancelled_and_a_returning_line_gets_a_new_request(self, world):
        connection = make_connection("hubspot", "http://127.0.0.1:1", {},
                                     legal_entity=world["entity"])
        scon = LineItemFacts(id="L1", name="Senior", role_code="SCON", hours=Decimal("100"))
        anl = LineItemFacts(id="L2", name="Analyst", role_code="ANL", hours=Decimal("50"))
        deal_apply(connection=connection, facts=self.facts(scon, anl))
        deal_apply(connection=connection, facts=self.facts(scon, minutes=1))
        analyst_request = DealRequest.objects.get(line_item_id="L2").request
        assert analyst_request.status == ResourceRequest.Status.CANCELLED

        deal_apply(connection=connection, facts=self.facts(scon, anl, minutes=2))
        returned = DealRequest.objects.get(line_item_id="L2").request
        assert returned.pk != analyst_request.pk
        assert returned.status == ResourceRequest.Status.OPEN
        assert ResourceRequest.objects.count() == 3

    def test_facts_older_than_the_applied_version_are_ignored(self, world):
        connection = make_connection("hubspot", "http://127.0.0.1:1", {},
                                     legal_entity=world["entity"])
        line = LineItemFacts(id="L1", name="Senior", role_code="SCON", hours=Decimal("100"))
        deal_apply(connection=connection, facts=self.facts(line, minutes=5, probability="0.8"))
        result = deal_apply(connection=connection, facts=self.facts(line, minutes=1))

        assert result.startswith("ignored")
        assert ResourceRequest.objects.get().probability == Decimal("80.00")
        assert Deal.objects.get().probability == Decimal("80.00")
