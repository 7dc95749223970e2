"""The BambooHR emulator over real HTTP: auth, employees, changed-since, time off, faults."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from crm_sync.http import RemoteRetryAfter, VendorClient
from crm_sync.sandbox.bamboohr import BambooHREmulator

KEY = "sandbox-bamboohr-key"


@pytest.fixture
def server(run_emulator):
    return run_emulator(BambooHREmulator, seed=1)


@pytest.fixture
def api(server):
    with httpx.Client(base_url=f"{server.url}/api/v1", auth=(KEY, "x"),
                      headers={"Accept": "application/json"}, timeout=5) as client:
        yield client


def sandbox(server, path: str, body: dict | None = None) -> httpx.Response:
    return httpx.post(f"{server.url}/_sandbox/{path}", json=body or {}, timeout=5)


class TestAuth:
    def test_wrong_key_is_401_with_the_error_header(self, server):
        response = httpx.get(f"{server.url}/api/v1/employees/directory",
                             auth=("not-the-key", "x"), timeout=5)

        assert response.status_code == 401
        assert response.headers["X-BambooHR-Error-Message"] == "Invalid API key"

    def test_missing_credentials_are_401(self, server):
        response = httpx.get(f"{server.url}/api/v1/employees/directory", timeout=5)

        assert response.status_code == 401
        assert "Basic" in response.headers["X-BambooHR-Error-Message"]

    def test_any_password_is_accepted_with_the_right_key(self, server):
        response = httpx.get(f"{server.url}/api/v1/employees/directory",
                             auth=(KEY, "anything"), timeout=5)

        assert response.status_code == 200


class TestEmployees:
    def test_directory_omits_inactive_employees(self, api):
        body = api.get("/employees/directory").json()

        names = {e["displayName"] for e in body["employees"]}
        assert len(names) == 6
        assert "Oliver Grant" not in names
        assert {f["id"] for f in body["fields"]} >= {"displayName", "jobTitle", "workEmail"}

    def test_one_employee_returns_the_requested_fields_in_bamboohr_formats(self, api):
        body = api.get("/employees/101", params={
            "fields": "firstName,jobTitle,payRate,payType,payPer,terminationDate,"
                      "supervisorEId"}).json()

        assert body == {"id": "101", "firstName": "Morgan", "jobTitle": "Partner",
                        "payRate": "240000.00 USD", "payType": "Salary", "payPer": "Year",
                        "terminationDate": "0000-00-00", "supervisorEId": None}

    def test_unknown_employee_is_404(self, api):
        response = api.get("/employees/999")

        assert response.status_code == 404
        assert "999" in response.headers["X-BambooHR-Error-Message"]

    def test_list_pages_with_cursor_links(self, api):
        ids, url = [], "/employees?page[limit]=3"
        while url:
            body = api.get(url.removeprefix("/api/v1")).json()
            ids += [e["id"] for e in body["data"]]
            url = body["_links"].get("next", {}).get("href")

        assert ids == [str(n) for n in range(101, 108)]  # inactive ones included

    def test_create_answers_201_with_location_and_sends_the_webhook(self, server, api):
        server.emulator.webhook_url = "capture"

        response = api.post("/employees", json={"firstName": "Ava", "lastName": "Cole",
                                                 "jobTitle": "Analyst"})

        assert response.status_code == 201
        assert response.headers["Location"].endswith("/employees/108")
        event = json.loads(server.emulator.captured[-1])
        assert event["type"] == "employee.created"
        assert event["data"]["employeeId"] == "108"


class TestChangedSince:
    def test_changed_lists_only_changes_since_the_given_time(self, server, api):
        for change in server.emulator.changes.values():
            change["lastChanged"] = "2026-01-01T00:00:00+00:00"

        api.post("/employees/104", json={"jobTitle": "Senior Data Analyst"})
        body = api.get("/employees/changed",
                       params={"since": "2026-06-01T00:00:00+00:00"}).json()

        assert list(body["employees"]) == ["104"]
        assert body["employees"]["104"]["action"] == "Updated"
        assert body["latest"] == body["employees"]["104"]["lastChanged"]

    def test_changed_since_the_epoch_lists_everyone_as_inserted(self, api):
        body = api.get("/employees/changed", params={"since": "1970-01-01T00:00:00Z"}).json()

        assert len(body["employees"]) == 7
        assert {c["action"] for c in body["employees"].values()} == {"Inserted"}

    def test_since_is_required(self, api):
        assert api.get("/employees/changed").status_code == 400

    def test_an_update_sends_a_signed_event_webhook(self, server, api):
        emulator = server.emulator
        emulator.webhook_url = "capture"

        api.post("/employees/104", json={"jobTitle": "Senior Data Analyst"})

        body = emulator.captured[-1]
        event = json.loads(body)
        assert event["type"] == "employee.updated"
        assert event["data"] == {"companyId": "12345", "employeeId": "104",
                                 "changedFields": ["jobTitle"]}
        headers = emulator.signed_headers(body, "http://testserver/x")
        expected = hmac.new(b"sandbox-bamboohr-webhook-key",
                            body + headers["X-BambooHR-Timestamp"].encode(),
                            hashlib.sha256).hexdigest()
        assert headers["X-BambooHR-Signature"] == expected

    def test_an_update_that_changes_nothing_sends_nothing(self, server, api):
        server.emulator.webhook_url = "capture"

        api.post("/employees/104", json={"jobTitle": "Data Analyst"})

        assert server.emulator.captured == []

    def test_terminate_control_goes_through_the_update_path(self, server, api):
        server.emulator.webhook_url = "capture"

        sandbox(server, "employees/105/terminate", {"date": "2026-12-04"})

        fields = api.get("/employees/105", params={"fields": "status,terminationDate"}).json()
        assert fields == {"id": "105", "status": "Inactive", "terminationDate": "2026-12-04"}
        event = json.loads(server.emulator.captured[-1])
        assert event["type"] == "employee.updated"
        assert "terminationDate" in event["data"]["changedFields"]
        directory = api.get("/employees/directory").json()["employees"]
        assert "105" not in {e["id"] for e in directory}


class TestTimeOff:
    def window(self) -> dict[str, str]:
        today = datetime.now(UTC).date()
        return {"start": today.isoformat(), "end": (today + timedelta(days=365)).isoformat()}

    def test_requests_filter_by_status_and_employee(self, api):
        every = api.get("/time_off/requests", params=self.window()).json()
        approved = api.get("/time_off/requests",
                           params={**self.window(), "status": "approved"}).json()
        lucas = api.get("/time_off/requests",
                        params={**self.window(), "employeeId": "103"}).json()

        assert len(every) == 2
        assert [(r["employeeId"], r["status"]["status"]) for r in approved] == [
            ("106", "approved")]
        assert [r["status"]["status"] for r in lucas] == ["requested"]
        item = approved[0]
        assert item["type"]["name"] == "Vacation"
        assert item["amount"] == {"unit": "hours", "amount": "24"}
        assert sorted(item["dates"].values()) == ["8", "8", "8"]

    def test_requests_outside_the_range_are_left_out(self, api):
        assert api.get("/time_off/requests",
                       params={"start": "2020-01-01", "end": "2020-12-31"}).json() == []

    def test_start_and_end_are_required(self, api):
        assert api.get("/time_off/requests").status_code == 400

    def test_sandbox_adds_a_request_and_changes_its_status(self, server, api):
        added = sandbox(server, "time_off", {"employeeId": "101", "start": "2027-02-01",
                                             "end": "2027-02-05", "status": "approved",
                                             "type": "Sick"}).json()

        sandbox(server, f"time_off/{added['id']}", {"status": "canceled"})

        found = api.get("/time_off/requests", params={**self.window(), "id": added["id"]})
        assert [r["status"]["status"] for r in found.json()] == ["canceled"]

    def test_approving_a_request_that_is_not_requested_is_409(self, api):
        approved = api.get("/time_off/requests",
                           params={**self.window(), "status": "approved"}).json()[0]

        response = api.put(f"/time_off/requests/{approved['id']}/status",
                           json={"status": "approved"})

        assert response.status_code == 409


class TestThrottling:
    def test_throttled_requests_answer_429_with_retry_after(self, server, api):
        sandbox(server, "faults", {"rate_limit_rate": 1, "retry_after": 7})

        response = api.get("/employees/directory")

        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"

    def test_the_old_503_throttle_also_carries_retry_after(self, server, api):
        sandbox(server, "faults", {"rate_limit_rate": 1, "retry_after": 3,
                                   "throttle_status": 503})

        response = api.get("/employees/directory")

        assert response.status_code == 503
        assert response.headers["Retry-After"] == "3"

    @pytest.mark.parametrize("status", [429, 503])
    def test_our_client_maps_both_throttles_to_retry_after(self, server, settings, status):
        sandbox(server, "faults", {"rate_limit_rate": 1, "retry_after": 5,
                                   "throttle_status": status})

        with VendorClient(f"{server.url}/api/v1", auth=(KEY, "x")) as client, \
                pytest.raises(RemoteRetryAfter) as caught:
            client.get_json("/employees/directory")

        assert caught.value.seconds == 5
        assert caught.value.status == status
