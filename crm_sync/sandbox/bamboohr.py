"""BambooHR emulator: employees, changed-since, time off and event-based webhooks.

What it speaks (EXTERNAL_APIS.md §3), all under `/api/v1/`:

- HTTP Basic with the API key as the username and any non-empty password; a wrong key is a
  `401` whose detail is in the `X-BambooHR-Error-Message` header (BambooHR sends no JSON error
  body; the emulator repeats the message as `{"error": ...}` so logs are readable);
- `GET employees/directory` (active employees only), `GET employees` (the newer list, cursor
  paging with `page[limit]`/`page[after]` and `_links.next.href`), `GET employees/{id}?fields=`,
  `POST employees/{id}` (update) and `POST employees` (create, `201` with `Location`);
- `GET employees/changed?since=` → `{"latest", "employees": {"<id>": {"id", "action",
  "lastChanged"}}}`; `since` is inclusive (a change in the same second is sent again rather
  than lost; the client dedupes);
- `GET time_off/requests?start&end[&status&employeeId&type&id]` (requests overlapping the
  range) and `PUT time_off/requests/{id}/status`;
- throttling answers `429` with `Retry-After` (BambooHR since 2026-09-16); the fault
  `throttle_status: 503` emulates the older behaviour, also with `Retry-After`.

Writes to employees send an event-based webhook (`employee.created|updated|deleted`) signed
with `X-BambooHR-Timestamp` (epoch seconds) and `X-BambooHR-Signature` = lowercase hex
HMAC-SHA256(webhook key, body + timestamp). Time off sends no webhook (BambooHR's event
webhooks are about employees only); a change updates the request's `status.lastChanged`.

Control (`/_sandbox/...`): `employees/{id}/terminate` `{"date"}` (status Inactive and the
termination date, through the same path as an API update, so the webhook fires),
`employees/{id}/delete`, `time_off` (add a request), `time_off/{id}` `{"status"}`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from crm_sync.sandbox.server import Emulator, Request, Response, route

API = r"/api/v1"
MISSING_DATE = "0000-00-00"
EMPLOYEE_FIELDS = (
    "firstName", "lastName", "preferredName", "displayName", "workEmail", "jobTitle",
    "department", "division", "location", "country", "employeeNumber", "status",
    "employmentHistoryStatus", "hireDate", "terminationDate", "supervisorEId", "payRate",
    "payType", "payPer",
)
DIRECTORY_FIELDS = ("displayName", "firstName", "lastName", "preferredName", "jobTitle",
                    "workEmail", "department", "location", "division", "photoUrl")
LIST_FIELDS = ("firstName", "lastName", "preferredName", "workEmail", "jobTitle", "status")
TIME_OFF_STATUSES = ("approved", "denied", "superseded", "requested", "canceled")
TIME_OFF_TYPES = {"Vacation": "78", "Sick": "79", "Parental Leave": "80", "Other": "81"}
DEFAULT_PAGE_LIMIT = 50
MAX_PAGE_LIMIT = 100


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.isoformat()  # 2026-01-31T18:42:00+00:00


def _today() -> date:
    return datetime.now(UTC).date()


def _parse_day(value: str) -> date:
    return date.fromisoformat(value)


def _next_monday(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


class BambooHREmulator(Emulator):
    """One BambooHR company: employees, their change log, and time-off requests."""

    name = "bamboohr"

    def __init__(self, *, api_key: str = "sandbox-bamboohr-key",
                 webhook_key: str = "sandbox-bamboohr-webhook-key",
                 company_domain: str = "northwind", company_id: str = "12345",
                 seed: int | None = None) -> None:
        self.api_key = api_key
        self.company_domain = company_domain
        self.company_id = company_id
        super().__init__(seed=seed)
        # The base's `/_sandbox/webhooks` control may replace it ({"secret": ...}).
        self.webhook_secret = webhook_key

    # --- state ------------------------------------------------------------------------------

    def reset(self) -> None:
        self.employees: dict[str, dict[str, Any]] = {}
        self.changes: dict[str, dict[str, str]] = {}
        self.requests: dict[str, dict[str, Any]] = {}
        self.next_employee_id = 101
        self.next_request_id = 1
        self._seed_fixtures()

    def state(self) -> dict[str, Any]:
        active = sum(1 for e in self.employees.values() if e["status"] == "Active")
        return {"employees": len(self.employees), "active": active,
                "time_off_requests": len(self.requests)}

    def _seed_fixtures(self) -> None:
        """Northwind's consultants: a partner at the top, a manager, four below (one hourly,
        one reporting to a colleague with a higher id, so a first import meets a report before
        its manager), a leaver, and two time-off requests (one approved)."""
        people = [
            ("Morgan", "Reyes", "Partner", "Consulting", "Boston", None, "2015-03-02",
             "240000.00 USD", "Salary", "Year"),
            ("Priya", "Shah", "Manager", "Consulting", "Boston", "101", "2018-06-11",
             "175000.00 USD", "Salary", "Year"),
            ("Lucas", "Brennan", "Analyst", "Consulting", "New York", "105", "2024-09-02",
             "83200.00 USD", "Salary", "Year"),
            ("Sofia", "Marin", "Data Analyst", "Analytics", "Chicago", "102", "2025-02-03",
             "95.00 USD", "Hourly", "Hour"),
            ("Daniel", "Okafor", "Senior Consultant", "Consulting", "New York", "102",
             "2020-09-14", "135000.00 USD", "Salary", "Year"),
            ("Emma", "Lindqvist", "Consultant", "Consulting", "Boston", "102", "2022-01-10",
             "110000.00 USD", "Salary", "Year"),
        ]
        for first, last, title, dept, city, boss, hired, pay, pay_type, per in people:
            self._insert({
                "firstName": first, "lastName": last, "jobTitle": title, "department": dept,
                "division": "Northwind US", "location": city, "country": "United States",
                "workEmail": f"{first}.{last}@northwind.example".lower(), "hireDate": hired,
                "supervisorEId": boss, "payRate": pay, "payType": pay_type, "payPer": per,
            }, notify=False)
        self._insert({
            "firstName": "Oliver", "lastName": "Grant", "jobTitle": "Consultant",
            "department": "Consulting", "division": "Northwind US", "location": "Boston",
            "country": "United States", "workEmail": "oliver.grant@northwind.example",
            "hireDate": "2019-04-01", "terminationDate": "2025-12-31", "status": "Inactive",
            "employmentHistoryStatus": "Terminated", "supervisorEId": "102",
            "payRate": "98000.00 USD", "payType": "Salary", "payPer": "Year",
        }, notify=False)
        start = _next_monday(_today() + timedelta(days=14))
        self._add_request({"employeeId": "106", "start": start.isoformat(),
                           "end": (start + timedelta(days=2)).isoformat(),
                           "type": "Vacation", "status": "approved"})
        friday = start + timedelta(days=4)
        self._add_request({"employeeId": "103", "start": friday.isoformat(),
                           "end": friday.isoformat(), "type": "Vacation",
                           "status": "requested"})

    def _insert(self, fields: dict[str, Any], *, notify: bool = True) -> dict[str, Any]:
        employee_id = str(self.next_employee_id)
        self.next_employee_id += 1
        record = {
            "id": employee_id, "preferredName": None, "employeeNumber": f"E-{employee_id}",
            "status": "Active", "employmentHistoryStatus": "Full-Time",
            "hireDate": MISSING_DATE, "terminationDate": MISSING_DATE, "supervisorEId": None,
            "payRate": None, "payType": None, "payPer": None, "department": None,
            "division": None, "location": None, "country": None, "jobTitle": None,
            "workEmail": None, **fields,
        }
        record["displayName"] = f"{record['firstName']} {record['lastName']}"
        self.employees[employee_id] = record
        self._changed(employee_id, "Inserted")
        if notify:
            self._notify("employee.created", employee_id, sorted(fields))
        return record

    def _update(self, employee_id: str, values: dict[str, Any]) -> list[str]:
        """Apply `values` to one employee; log the change and send the webhook if any."""
        record = self.employees[employee_id]
        unknown = sorted(set(values) - set(EMPLOYEE_FIELDS) - {"displayName"})
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        changed = sorted(name for name, value in values.items() if record.get(name) != value)
        if not changed:
            return []
        record.update(values)
        record["displayName"] = f"{record['firstName']} {record['lastName']}"
        self._changed(employee_id, "Updated")
        self._notify("employee.updated", employee_id, changed)
        return changed

    def _changed(self, employee_id: str, action: str) -> None:
        self.changes[employee_id] = {"id": employee_id, "action": action,
                                     "lastChanged": _iso(_now())}

    def _notify(self, event_type: str, employee_id: str, changed: list[str]) -> None:
        self.webhook({
            "type": event_type,
            "timestamp": _now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "data": {"companyId": self.company_id, "employeeId": employee_id,
                     "changedFields": changed},
        })

    def _add_request(self, body: dict[str, Any]) -> dict[str, Any]:
        employee = self.employees[str(body["employeeId"])]
        start, end = _parse_day(body["start"]), _parse_day(body["end"])
        if end < start:
            raise ValueError("end is before start")
        status = body.get("status", "requested")
        if status not in TIME_OFF_STATUSES:
            raise ValueError(f"status must be one of {', '.join(TIME_OFF_STATUSES)}")
        unit = body.get("unit", "hours")
        per_day = Decimal(str(body.get("amountPerDay", "8" if unit == "hours" else "1")))
        dates = body.get("dates") or {
            (start + timedelta(days=n)).isoformat():
                f"{per_day if (start + timedelta(days=n)).weekday() < 5 else 0}"
            for n in range((end - start).days + 1)}
        type_name = body.get("type", "Vacation")
        request_id = str(self.next_request_id)
        self.next_request_id += 1
        total = sum((Decimal(v) for v in dates.values()), Decimal("0"))
        item = {
            "id": request_id, "employeeId": employee["id"],
            "name": f"{employee['firstName']} {employee['lastName']}",
            "start": start.isoformat(), "end": end.isoformat(),
            "created": _today().isoformat(),
            "type": {"id": TIME_OFF_TYPES.get(type_name, "81"), "name": type_name},
            "amount": {"unit": unit, "amount": f"{total}"},
            "status": {"status": status, "lastChanged": _iso(_now()),
                       "lastChangedByUserId": "1"},
            "dates": dates, "notes": {},
        }
        self.requests[request_id] = item
        return item

    def _set_request_status(self, request_id: str, status: str) -> dict[str, Any]:
        if status not in TIME_OFF_STATUSES:
            raise ValueError(f"status must be one of {', '.join(TIME_OFF_STATUSES)}")
        item = self.requests[request_id]
        item["status"] = {"status": status, "lastChanged": _iso(_now()),
                          "lastChangedByUserId": "1"}
        return item

    # --- the vendor's conventions -----------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return self.error(401, "Authentication is required (HTTP Basic, API key as user)")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return self.error(401, "Malformed Authorization header")
        key, _, password = decoded.partition(":")
        if not hmac.compare_digest(key, self.api_key) or not password:
            return self.error(401, "Invalid API key")
        return None

    def error(self, status: int, message: str, **extra: Any) -> Response:
        header = message.encode("ascii", "replace").decode()
        return Response(status, {"error": message, **extra},
                        headers={"X-BambooHR-Error-Message": header})

    def sign_webhook(self, body: bytes, url: str) -> dict[str, str]:
        timestamp = str(int(time.time()))
        signature = hmac.new(self.webhook_secret.encode(), body + timestamp.encode(),
                             hashlib.sha256).hexdigest()
        return {"X-BambooHR-Timestamp": timestamp, "X-BambooHR-Signature": signature}

    # --- employees --------------------------------------------------------------------------

    def _employee(self, employee_id: str) -> dict[str, Any] | None:
        if employee_id == "0":  # the API key's own employee
            employee_id = min(self.employees, key=int, default="")
        return self.employees.get(employee_id)

    @route("GET", API + r"/employees/directory")
    def directory(self, request: Request) -> Response:
        fields = [{"id": name, "type": "text", "name": name} for name in DIRECTORY_FIELDS]
        employees = [{"id": e["id"], **{name: e.get(name) for name in DIRECTORY_FIELDS}}
                     for e in self._sorted() if e["status"] == "Active"]
        return Response(200, {"fields": fields, "employees": employees})

    def _sorted(self) -> list[dict[str, Any]]:
        return [self.employees[key] for key in sorted(self.employees, key=int)]

    @route("GET", API + r"/employees")
    def employee_list(self, request: Request) -> Response:
        limit = min(int(request.arg("page[limit]") or DEFAULT_PAGE_LIMIT), MAX_PAGE_LIMIT)
        if limit < 1:
            raise ValueError("page[limit] must be at least 1")
        after = request.arg("page[after]")
        last_id = int(base64.urlsafe_b64decode(after.encode()).decode()) if after else 0
        rest = [e for e in self._sorted() if int(e["id"]) > last_id]
        page = rest[:limit]
        links: dict[str, Any] = {"self": {"href": f"{API}/employees?page[limit]={limit}"}}
        if len(rest) > limit:
            cursor = base64.urlsafe_b64encode(page[-1]["id"].encode()).decode()
            links["next"] = {"href": f"{API}/employees?page[limit]={limit}"
                                     f"&page[after]={quote(cursor)}"}
        data = [{"id": e["id"], **{name: e.get(name) for name in LIST_FIELDS}} for e in page]
        return Response(200, {"data": data, "_links": links})

    @route("GET", API + r"/employees/changed")
    def employees_changed(self, request: Request) -> Response:
        since_text = (request.arg("since") or "").replace(" ", "+")  # an unencoded "+"
        if not since_text:
            return self.error(400, "The since parameter is required")
        since = datetime.fromisoformat(since_text)
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        found = {key: dict(change) for key, change in self.changes.items()
                 if datetime.fromisoformat(change["lastChanged"]) >= since}
        latest = max((c["lastChanged"] for c in found.values()), default=_iso(since))
        return Response(200, {"latest": latest, "employees": found})

    @route("GET", API + r"/employees/(?P<id>\d+)")
    def employee_get(self, request: Request) -> Response:
        employee = self._employee(request.params["id"])
        if employee is None:
            return self.error(404, f"Employee {request.params['id']} not found")
        names = [n for n in (request.arg("fields") or "firstName,lastName").split(",") if n]
        unknown = sorted(set(names) - set(EMPLOYEE_FIELDS))
        if unknown:
            return self.error(400, f"Unknown field(s): {', '.join(unknown)}")
        return Response(200, {"id": employee["id"], **{n: employee.get(n) for n in names}})

    @route("POST", API + r"/employees/(?P<id>\d+)")
    def employee_update(self, request: Request) -> Response:
        employee_id = request.params["id"]
        if employee_id not in self.employees:
            return self.error(404, f"Employee {employee_id} not found")
        values = request.json()
        if not isinstance(values, dict):
            return self.error(400, "The body is a JSON object of fields")
        self._update(employee_id, values)
        return Response(200, None)

    @route("POST", API + r"/employees")
    def employee_create(self, request: Request) -> Response:
        values = request.json()
        if not isinstance(values, dict) or not values.get("firstName") \
                or not values.get("lastName"):
            return self.error(400, "firstName and lastName are required")
        unknown = sorted(set(values) - set(EMPLOYEE_FIELDS))
        if unknown:
            return self.error(400, f"Unknown field(s): {', '.join(unknown)}")
        record = self._insert(values)
        return Response(201, {"id": record["id"]},
                        headers={"Location": f"{API}/employees/{record['id']}"})

    # --- time off ---------------------------------------------------------------------------

    @route("GET", API + r"/time_off/requests")
    def time_off_requests(self, request: Request) -> Response:
        start_text, end_text = request.arg("start"), request.arg("end")
        if not start_text or not end_text:
            return self.error(400, "start and end (YYYY-MM-DD) are required")
        start, end = _parse_day(start_text), _parse_day(end_text)
        statuses = {s for s in (request.arg("status") or "").split(",") if s}
        employee_id, type_id = request.arg("employeeId"), request.arg("type")
        request_id = request.arg("id")
        found = [
            item for key, item in sorted(self.requests.items(), key=lambda kv: int(kv[0]))
            if _parse_day(item["start"]) <= end and _parse_day(item["end"]) >= start
            and (not statuses or item["status"]["status"] in statuses)
            and (not employee_id or item["employeeId"] == employee_id)
            and (not type_id or item["type"]["id"] == type_id)
            and (not request_id or key == request_id)
        ]
        return Response(200, found)

    @route("PUT", API + r"/time_off/requests/(?P<id>\d+)/status")
    def time_off_status(self, request: Request) -> Response:
        item = self.requests.get(request.params["id"])
        if item is None:
            return self.error(404, f"Time off request {request.params['id']} not found")
        status = (request.json() or {}).get("status", "")
        if status in ("approved", "denied") and item["status"]["status"] != "requested":
            return self.error(409, f"Only a requested request can be {status}")
        self._set_request_status(item["id"], status)
        return Response(200, None)

    # --- control ----------------------------------------------------------------------------

    def control(self, request: Request) -> Response | None:
        path = request.path.rstrip("/")
        body = request.json() or {}
        try:
            if match := re.fullmatch(r"/_sandbox/employees/(\d+)/terminate", path):
                employee_id = match.group(1)
                if employee_id not in self.employees:
                    return self.error(404, f"Employee {employee_id} not found")
                day = _parse_day(body.get("date") or _today().isoformat()).isoformat()
                changed = self._update(employee_id, {
                    "status": "Inactive", "employmentHistoryStatus": "Terminated",
                    "terminationDate": day})
                return Response(200, {"id": employee_id, "terminationDate": day,
                                      "changedFields": changed})
            if match := re.fullmatch(r"/_sandbox/employees/(\d+)/delete", path):
                employee_id = match.group(1)
                if self.employees.pop(employee_id, None) is None:
                    return self.error(404, f"Employee {employee_id} not found")
                self._changed(employee_id, "Deleted")
                self._notify("employee.deleted", employee_id, [])
                return Response(200, {"id": employee_id, "deleted": True})
            if path == "/_sandbox/time_off" and request.method == "POST":
                return Response(201, self._add_request(body))
            if match := re.fullmatch(r"/_sandbox/time_off/(\d+)", path):
                if match.group(1) not in self.requests:
                    return self.error(404, f"Time off request {match.group(1)} not found")
                return Response(200, self._set_request_status(match.group(1),
                                                              body.get("status", "")))
        except (KeyError, ValueError, TypeError) as exc:
            return self.error(400, f"Bad request: {exc}")
        return None
