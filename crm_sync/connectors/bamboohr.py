"""BambooHR (HRIS): employees, managers, pay and time off into people and capacity.

Reads only: BambooHR is the system of record for worker identity, employment, manager and
pay; `crm_sync.flows.people` decides what that means here.

- Connection: `base_url` is the company's host (`https://{companyDomain}.bamboohr.com`); the
  API lives under `/api/v1/`. Credentials: `api_key` (HTTP Basic username; the password is
  ignored by BambooHR, "x" is sent) and `webhook_key` (the webhook's private key).
- Options: those of `crm_sync.flows.people` (`role_map`, `default_role`, `hours_per_year`)
  plus `time_off_days` (how far ahead time off is read, default 365).
- Webhooks are event-based (`employee.created|updated|deleted`), signed with
  `X-BambooHR-Signature` = hex HMAC-SHA256(webhook key, body + `X-BambooHR-Timestamp`). They
  carry no event id: a digest of (type, employee id, timestamp, changed fields) is used.
- Polls: stream `employees` (`employees/changed?since=` cursor → one message per changed
  employee, `poll:<id>:<lastChanged>`), and stream `time_off` (the requests of the coming
  `time_off_days`, one message per linked worker whose requests changed).
- Each message re-reads the employee (and their time off) from BambooHR, so a late, repeated
  or reordered message still ends in the current state.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from crm_sync.connectors.base import (
    Connector,
    InboundRequest,
    WebhookEvent,
    WebhookRejectedError,
    digest_id,
    ensure_fresh,
    hmac_sha256,
    signatures_match,
)
from crm_sync.flows.people import (
    TimeOffFacts,
    WorkerFacts,
    linked_worker_ids,
    time_off_apply,
    time_off_range,
    worker_apply,
)
from crm_sync.http import RemoteError, VendorClient
from crm_sync.models import InboundMessage
from crm_sync.services.inbound import inbound_store
from crm_sync.services.polling import cursor_get, cursor_set
from psa.common.errors import DomainError
from psa.common.logging import system_user
from psa.models import TimeOff

if TYPE_CHECKING:
    from crm_sync.models import SyncRun

EMPLOYEE_FIELDS = (
    "firstName", "lastName", "preferredName", "workEmail", "jobTitle", "department",
    "division", "location", "country", "employeeNumber", "status", "employmentHistoryStatus",
    "hireDate", "terminationDate", "supervisorEId", "payRate", "payType", "payPer",
)
TOPIC_OF_ACTION = {"Inserted": "employee.created", "Updated": "employee.updated",
                   "Deleted": "employee.deleted"}
TIME_OFF_TOPIC = "time_off.changed"
EPOCH = "1970-01-01T00:00:00+00:00"
DEFAULT_TIME_OFF_DAYS = 365
# BambooHR's `country` field holds a country's name; ours is ISO 3166 alpha-2. Names not
# listed (and not already a code) leave the person's country as it is.
COUNTRY_CODES = {
    "united states": "US", "united states of america": "US", "usa": "US",
    "united kingdom": "GB", "great britain": "GB", "canada": "CA", "ireland": "IE",
    "germany": "DE", "france": "FR", "spain": "ES", "italy": "IT", "netherlands": "NL",
    "switzerland": "CH", "australia": "AU", "new zealand": "NZ", "japan": "JP",
    "india": "IN", "mexico": "MX", "brazil": "BR", "poland": "PL", "sweden": "SE",
}


class BambooHRConnector(Connector):
    vendor: ClassVar[str] = "bamboohr"

    # --- client and test ----------------------------------------------------------------

    def build_client(self) -> VendorClient:
        base = self.connection.base_url.rstrip("/")
        if not base.endswith("/api/v1"):
            base = f"{base}/api/v1"
        return VendorClient(base, auth=(self.credentials.get("api_key", ""), "x"))

    def test(self) -> str:
        directory = self.client.get_json("/employees/directory")
        count = len(directory.get("employees", []))
        return f"Connected to BambooHR: {count} employees in the directory."

    # --- webhooks -----------------------------------------------------------------------

    def verify_webhook(self, request: InboundRequest) -> list[WebhookEvent]:
        key = self.credentials.get("webhook_key", "")
        signature = request.headers.get("x-bamboohr-signature")
        stamp = request.headers.get("x-bamboohr-timestamp", "")
        if not key:
            raise WebhookRejectedError("No BambooHR webhook key is configured for this "
                                       "connection; the webhook cannot be verified.")
        if not signature or not stamp:
            raise WebhookRejectedError("The X-BambooHR-Signature or X-BambooHR-Timestamp "
                                       "header is missing.")
        try:
            seconds = float(stamp)
        except ValueError:
            raise WebhookRejectedError("X-BambooHR-Timestamp is not a number of seconds.") \
                from None
        expected = hmac_sha256(key, request.body + stamp.encode()).hex()
        if not signatures_match(expected, signature.strip().lower()):
            raise WebhookRejectedError("The X-BambooHR-Signature does not match the body.")
        ensure_fresh(seconds, request.received_at, what="X-BambooHR-Timestamp")
        try:
            event = json.loads(request.body)
            data = event["data"]
            employee_id = str(data["employeeId"])
            topic = str(event["type"])
        except (ValueError, KeyError, TypeError):
            raise DomainError("The webhook is not a BambooHR event-based JSON payload.",
                              code="invalid_payload") from None
        changed = sorted(data.get("changedFields") or [])
        return [WebhookEvent(
            event_id=digest_id(topic, employee_id, event.get("timestamp"), changed),
            topic=topic, object_id=employee_id, payload=event)]

    # --- inbound ------------------------------------------------------------------------

    def handle_inbound(self, message: InboundMessage) -> str:
        employee_id = message.object_id
        if message.topic in ("employee.created", "employee.updated"):
            return self._employee_sync(employee_id)
        if message.topic == TIME_OFF_TOPIC:
            window = self._window()
            return time_off_apply(connection=self.connection, external_id=employee_id,
                                  time_off=self._time_off(employee_id, window), window=window,
                                  actor=system_user())
        if message.topic == "employee.deleted":
            # Deleting a record in BambooHR is a correction, not a leaver; the person's
            # time and bookings stay. A leaver is terminated in BambooHR instead.
            return (f"ignored: employee {employee_id} was deleted in BambooHR; the person "
                    f"is kept (terminate leavers in BambooHR)")
        return f"ignored: topic {message.topic}"

    def _employee_sync(self, employee_id: str) -> str:
        try:
            employee = self.client.get_json(f"/employees/{employee_id}",
                                            params={"fields": ",".join(EMPLOYEE_FIELDS)})
        except RemoteError as exc:
            if exc.status == 404:
                return f"ignored: employee {employee_id} no longer exists in BambooHR"
            raise
        window = self._window()
        facts = worker_facts(employee, self._time_off(employee_id, window), window)
        return worker_apply(connection=self.connection, facts=facts, actor=system_user())

    def _window(self) -> tuple[date, date]:
        return time_off_range(int(self.options.get("time_off_days") or DEFAULT_TIME_OFF_DAYS))

    def _requests(self, window: tuple[date, date],
                  employee_id: str | None = None) -> list[dict[str, Any]]:
        params = {"start": window[0].isoformat(), "end": window[1].isoformat()}
        if employee_id is not None:
            params["employeeId"] = employee_id
        # Every status: a cancelled or denied request must reach us to be removed.
        return list(self.client.get_json("/time_off/requests", params=params) or [])

    def _time_off(self, employee_id: str, window: tuple[date, date]
                  ) -> tuple[TimeOffFacts, ...]:
        return tuple(time_off_facts(item) for item in self._requests(window, employee_id)
                     if str(item.get("employeeId")) == employee_id)

    # --- polls --------------------------------------------------------------------------

    def poll(self, run: SyncRun) -> dict[str, int]:
        employees = self._poll_employees()
        time_off = self._poll_time_off()
        return {"employees_changed": employees[0], "time_off_workers": time_off[0],
                "stored": employees[1] + time_off[1],
                "duplicates": employees[2] + time_off[2]}

    def _poll_employees(self) -> tuple[int, int, int]:
        since = cursor_get(self.connection, "employees") or EPOCH
        body = self.client.get_json("/employees/changed", params={"since": since})
        changes = sorted((body.get("employees") or {}).values(), key=lambda c: int(c["id"]))
        items = [WebhookEvent(event_id=self._poll_event_id(c),
                              topic=TOPIC_OF_ACTION.get(c.get("action"), "employee.updated"),
                              object_id=str(c["id"]), payload={"source": "poll", **c})
                 for c in changes]
        received = inbound_store(connection=self.connection, items=items)
        # Only after the changes are stored: a crash in between re-reads them (deduplicated).
        cursor_set(self.connection, "employees", body.get("latest") or since)
        return len(changes), received.stored, received.duplicates

    def _poll_event_id(self, change: dict[str, Any]) -> str:
        """`poll:<id>:<lastChanged>`, unless that id may hide a later change.

        BambooHR's `lastChanged` has whole seconds, so a second change in the same second
        as one already received carries the same id. A message received before that second
        was over may have read the employee before the second change: the change is then
        stored again under a numbered id, until one is received after the second is over.
        """
        base = f"poll:{change['id']}:{change['lastChanged']}"
        received = list(InboundMessage.objects.filter(
            connection=self.connection, event_id__startswith=base)
            .order_by("-received_at").values_list("event_id", "received_at")[:1])
        if not received:
            return base
        event_id, received_at = received[0]
        changed_at = datetime.fromisoformat(change["lastChanged"])
        if changed_at.tzinfo is None:
            changed_at = changed_at.replace(tzinfo=UTC)
        settled = changed_at + timedelta(seconds=1)
        if received_at >= settled:
            return event_id
        count = InboundMessage.objects.filter(connection=self.connection,
                                              event_id__startswith=base).count()
        return f"{base}:{count}"

    def _poll_time_off(self) -> tuple[int, int, int]:
        linked = linked_worker_ids(self.connection)
        if not linked:
            return 0, 0, 0
        window = self._window()
        by_employee: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in self._requests(window):
            by_employee[str(item.get("employeeId"))].append(item)
        items = []
        for employee_id in linked:
            requests = sorted(by_employee.get(employee_id, []), key=lambda r: int(r["id"]))
            state = [(r["id"], (r.get("status") or {}).get("status"),
                      (r.get("status") or {}).get("lastChanged"), r.get("start"), r.get("end"),
                      r.get("dates")) for r in requests]
            items.append(WebhookEvent(
                event_id=f"poll:time_off:{employee_id}:{digest_id(employee_id, state)}",
                topic=TIME_OFF_TOPIC, object_id=employee_id,
                payload={"source": "poll", "employeeId": employee_id,
                         "requests": [r["id"] for r in requests]}))
        received = inbound_store(connection=self.connection, items=items)
        cursor_set(self.connection, "time_off", window[0].isoformat())
        return received.stored, received.stored, received.duplicates


# --- BambooHR's fields into the flow's facts ------------------------------------------------


def _day(value: Any) -> date | None:
    """BambooHR writes a missing date as "0000-00-00"."""
    if not value or str(value).startswith("0000"):
        return None
    return date.fromisoformat(str(value)[:10])


def _pay(value: Any) -> tuple[Decimal | None, str]:
    """"120000.00 USD" → (Decimal("120000.00"), "USD"); unknown → (None, "")."""
    parts = str(value or "").replace(",", "").split()
    if not parts:
        return None, ""
    try:
        amount = Decimal(parts[0].lstrip("$£€"))
    except InvalidOperation:
        return None, ""
    return amount, (parts[1].upper() if len(parts) > 1 else "")


def _country(value: Any) -> str | None:
    text = str(value or "").strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return COUNTRY_CODES.get(text.lower())


def _status(employee: dict[str, Any]) -> str:
    if str(employee.get("status") or "Active").lower() == "inactive":
        return "terminated"
    if "leave" in str(employee.get("employmentHistoryStatus") or "").lower():
        return "leave"
    return "active"


def worker_facts(employee: dict[str, Any], time_off: tuple[TimeOffFacts, ...] | None = None,
                 window: tuple[date, date] | None = None) -> WorkerFacts:
    """One BambooHR employee (the fields of EMPLOYEE_FIELDS) as the flow's WorkerFacts."""
    amount, currency = _pay(employee.get("payRate"))
    supervisor = employee.get("supervisorEId")
    return WorkerFacts(
        external_id=str(employee["id"]),
        first_name=(employee.get("firstName") or "").strip(),
        last_name=(employee.get("lastName") or "").strip(),
        email=(employee.get("workEmail") or "").strip(),
        title=(employee.get("jobTitle") or "").strip(),
        department=(employee.get("department") or "").strip(),
        city=(employee.get("location") or "").strip(),
        country=_country(employee.get("country")),
        employee_number=str(employee.get("employeeNumber") or "").strip(),
        status=_status(employee),
        hire_date=_day(employee.get("hireDate")),
        termination_date=_day(employee.get("terminationDate")),
        manager_external_id=str(supervisor) if supervisor not in (None, "", "0") else None,
        pay_amount=amount, pay_currency=currency,
        pay_type=str(employee.get("payType") or "").lower(),
        pay_period=str(employee.get("payPer") or "").lower(),
        time_off=time_off, time_off_window=window,
    )


def _kind(type_name: str) -> str:
    name = type_name.lower()
    if "sick" in name:
        return TimeOff.Kind.SICK
    if any(word in name for word in ("parent", "maternity", "paternity")):
        return TimeOff.Kind.PARENTAL
    if any(word in name for word in ("vacation", "pto", "annual", "holiday")):
        return TimeOff.Kind.VACATION
    return TimeOff.Kind.OTHER


def time_off_facts(item: dict[str, Any]) -> TimeOffFacts:
    """One BambooHR time-off request; only `approved` ones count as time off here."""
    amounts = {}
    for day, amount in (item.get("dates") or {}).items():
        try:
            amounts[date.fromisoformat(day)] = Decimal(str(amount))
        except (ValueError, InvalidOperation):
            continue
    return TimeOffFacts(
        external_id=str(item["id"]),
        approved=(item.get("status") or {}).get("status") == "approved",
        kind=_kind((item.get("type") or {}).get("name") or ""),
        unit="days" if (item.get("amount") or {}).get("unit") == "days" else "hours",
        amounts=amounts)
