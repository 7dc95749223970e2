"""The HubSpot emulator over real HTTP: auth, errors, search paging, throttling, webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import pytest

from crm_sync.connectors.hubspot import HubSpotConnector
from crm_sync.http import RemoteRetryAfter
from crm_sync.sandbox.hubspot import HubSpotEmulator
from tests.crm_sync.conftest import make_connection

TOKEN = "sandbox-hubspot-token"
SECRET = "sandbox-hubspot-secret"


@pytest.fixture
def hubspot(run_emulator):
    return run_emulator(HubSpotEmulator, seed=1)


@pytest.fixture
def api(hubspot):
    with httpx.Client(base_url=hubspot.url, headers={"Authorization": f"Bearer {TOKEN}"},
                      timeout=5) as client:
        yield client


def seed(api: httpx.Client, name: str, stage: str = "qualifiedtobuy") -> dict:
    response = api.post("/_sandbox/seed-deal", json={
        "company": {"name": f"{name} Inc", "domain": f"{name.lower()}.example"},
        "deal": {"dealname": name, "amount": "1000", "dealstage": stage},
        "line_items": [{"name": "Consultant", "quantity": "10", "price": "100",
                        "psa_role": "CONS"}]})
    assert response.status_code == 201
    return response.json()


class TestAuthAndErrors:
    def test_missing_or_wrong_token_is_401_in_hubspots_error_shape(self, hubspot):
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            response = httpx.get(f"{hubspot.url}/crm/v3/objects/deals", headers=headers)
            assert response.status_code == 401
            body = response.json()
            assert body["status"] == "error"
            assert body["category"] == "INVALID_AUTHENTICATION"
            assert body["correlationId"]

    def test_unknown_object_is_404_and_invalid_stage_is_400_validation_error(self, api):
        missing = api.get("/crm/v3/objects/deals/424242")
        assert missing.status_code == 404
        assert missing.json()["category"] == "OBJECT_NOT_FOUND"
        deal_id = seed(api, "Initech")["deal_id"]
        invalid = api.patch(f"/crm/v3/objects/deals/{deal_id}",
                            json={"properties": {"dealstage": "nowhere"}})
        assert invalid.status_code == 400
        assert invalid.json()["category"] == "VALIDATION_ERROR"
        assert invalid.json()["errors"][0]["code"] == "INVALID_OPTION"
        read_only = api.patch(f"/crm/v3/objects/deals/{deal_id}",
                              json={"properties": {"hs_lastmodifieddate": "1"}})
        assert read_only.status_code == 400

    def test_throttle_fault_answers_429_with_retry_after_and_rate_limit_body(self, api):
        api.post("/_sandbox/faults", json={"rate_limit_rate": 1.0, "retry_after": 7})
        response = api.get("/crm/v3/objects/deals")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        body = response.json()
        assert body["status"] == "error"
        assert body["errorType"] == "RATE_LIMIT"
        assert body["policyName"] == "SECONDLY"
        assert body["message"] == "You have reached your secondly limit."

    def test_connector_maps_the_429_to_retry_after(self, db, hubspot, api):
        connection = make_connection("hubspot", hubspot.url,
                                     {"access_token": TOKEN, "client_secret": SECRET})
        with HubSpotConnector(connection) as connector:
            assert "daily API calls" in connector.test()
        api.post("/_sandbox/faults", json={"rate_limit_rate": 1.0, "retry_after": 7})
        with HubSpotConnector(connection) as connector, pytest.raises(RemoteRetryAfter) as caught:
            connector.test()
        assert caught.value.seconds == 7


class TestObjects:
    def test_read_with_associations_and_string_properties(self, api):
        created = seed(api, "Umbrella")
        deal = api.get(f"/crm/v3/objects/deals/{created['deal_id']}",
                       params={"properties": "dealname,amount,deal_currency_code",
                               "associations": "companies,line_items"}).json()
        assert deal["properties"]["amount"] == "1000"
        assert deal["properties"]["deal_currency_code"] == "USD"
        assert deal["properties"]["hs_lastmodifieddate"].isdigit()
        assert deal["associations"]["companies"]["results"] == [
            {"id": created["company_id"], "type": "deal_to_company"}]
        assert [r["id"] for r in deal["associations"]["line_items"]["results"]] == \
            created["line_item_ids"]
        lines = api.post("/crm/v3/objects/line_items/batch/read", json={
            "properties": ["quantity", "price", "psa_role"],
            "inputs": [{"id": i} for i in created["line_item_ids"]]}).json()
        assert lines["results"][0]["properties"]["psa_role"] == "CONS"

    def test_create_with_association_and_v4_default_association(self, api):
        company = api.post("/crm/v3/objects/companies",
                           json={"properties": {"name": "Hooli", "domain": "hooli.example"}})
        assert company.status_code == 201
        deal = api.post("/crm/v3/objects/deals", json={
            "properties": {"dealname": "Hooli", "amount": 5},
            "associations": [{"to": {"id": company.json()["id"]}, "types": [
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]}]}).json()
        assert deal["properties"]["amount"] == "5"
        line = api.post("/crm/v3/objects/line_items",
                        json={"properties": {"name": "x", "quantity": "2", "price": "3"}}).json()
        put = api.put(f"/crm/v4/objects/deals/{deal['id']}/associations/default/line_items/"
                      f"{line['id']}")
        assert put.status_code == 200
        read = api.get(f"/crm/v3/objects/deals/{deal['id']}",
                       params={"associations": "companies,line_items"}).json()
        assert read["associations"]["line_items"]["results"][0]["id"] == line["id"]
        assert read["associations"]["companies"]["results"][0]["id"] == company.json()["id"]

    def test_search_pages_by_after_cursor_in_modification_order(self, api):
        before = api.post("/crm/v3/objects/deals/search", json={"limit": 1}).json()["total"]
        ids = [seed(api, f"Co{n}")["deal_id"] for n in range(5)]
        first = api.get(f"/crm/v3/objects/deals/{ids[0]}").json()
        cursor = str(int(first["properties"]["hs_lastmodifieddate"]) - 1)
        seen, after, pages = [], None, 0
        while True:
            body = {"filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate",
                                                   "operator": "GT", "value": cursor}]}],
                    "sorts": [{"propertyName": "hs_lastmodifieddate",
                               "direction": "ASCENDING"}], "limit": 2}
            if after:
                body["after"] = after
            page = api.post("/crm/v3/objects/deals/search", json=body).json()
            assert page["total"] == 5
            seen += [row["id"] for row in page["results"]]
            pages += 1
            after = page.get("paging", {}).get("next", {}).get("after")
            if not after:
                break
        assert seen == ids and pages == 3
        everything = api.post("/crm/v3/objects/deals/search", json={"limit": 1}).json()
        assert everything["total"] == before + 5
        too_big = api.post("/crm/v3/objects/deals/search", json={"limit": 201})
        assert too_big.status_code == 400

    def test_pipeline_stages_carry_probabilities(self, api):
        pipeline = api.get("/crm/v3/pipelines/deals").json()["results"][0]
        stages = {s["id"]: s["metadata"] for s in pipeline["stages"]}
        assert pipeline["id"] == "default"
        assert stages["presentationscheduled"]["probability"] == "0.6"
        assert stages["closedwon"] == {"isClosed": "true", "probability": "1.0"}


class TestWebhooks:
    def test_changes_send_signed_events_once_per_changed_property(self, hubspot, api):
        emulator = hubspot.emulator
        emulator.webhook_url = "capture"
        created = seed(api, "Soylent")
        deal_id = created["deal_id"]
        api.patch(f"/crm/v3/objects/deals/{deal_id}",
                  json={"properties": {"amount": "2000", "dealname": "Soylent"}})
        api.patch(f"/crm/v3/objects/deals/{deal_id}", json={"properties": {"amount": "2000"}})
        api.post(f"/_sandbox/deals/{deal_id}/stage", json={"stage": "closedwon"})
        batches = [json.loads(body) for body in emulator.captured]
        assert [[e["subscriptionType"] for e in b] for b in batches] == [
            ["deal.creation"], ["deal.propertyChange"], ["deal.propertyChange"]]
        assert batches[1][0]["propertyName"] == "amount"
        assert batches[1][0]["propertyValue"] == "2000"
        assert batches[2][0]["changeSource"] == "CRM_UI"
        event_ids = [b[0]["eventId"] for b in batches]
        assert event_ids == sorted(set(event_ids))

        url = "http://testserver/api/v1/integrations/hubspot/webhook/"
        body = emulator.captured[0]
        headers = emulator.signed_headers(body, url)
        message = f"POST{url}{body.decode()}{headers['X-HubSpot-Request-Timestamp']}"
        expected = base64.b64encode(hmac.new(SECRET.encode(), message.encode(),
                                             hashlib.sha256).digest()).decode()
        assert headers["X-HubSpot-Signature-v3"] == expected
        assert headers["X-HubSpot-Signature-Version"] == "v3"

    def test_reset_restores_the_demo_fixtures(self, api):
        seed(api, "Extra")
        api.post("/_sandbox/reset")
        state = api.get("/_sandbox/state").json()
        assert state["deals"] == 2 and state["companies"] == 2 and state["line_items"] == 4
