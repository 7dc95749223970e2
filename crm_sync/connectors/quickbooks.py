"""QuickBooks Online (the ERP): invoices, credit memos, customers and journals out; payments in.

Connection: `base_url` is the API host (`https://quickbooks.api.intuit.com`, the sandbox's
`https://sandbox-quickbooks.api.intuit.com`, or the emulator); every call goes to
`{base_url}/v3/company/{options["realm_id"]}/...` with `minorversion=75` and the OAuth 2.0
access token as a Bearer (credentials `access_token`; `verifier_token` checks webhooks).

- Pushes (our events → QuickBooks) live in crm_sync/flows/erp.py: `client.created|changed` →
  Customer, `invoice.issued` → Invoice or CreditMemo, `period.closed` → the month's journal
  entries. Each create carries a stable `requestid`, so a retry after a lost answer gets the
  original document back instead of a second one.
- Payments (QuickBooks → us; the ERP owns them) arrive by webhook and by polling change data
  capture; both store inbound messages that fetch the payment and record it once.

Webhooks: `intuit-signature` = base64(HMAC-SHA256(verifier token, raw body)). The scheme has
no timestamp, so `ensure_fresh` cannot apply: replay protection is the deduplication of each
entity change by `digest_id(realmId, name, id, operation, lastUpdated)` (a replayed body maps
to messages already stored), and applying a change re-reads the object from QuickBooks, so a
replay can only repeat what is true. Intuit's newer CloudEvents format is not parsed yet.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from django.utils import timezone

from crm_sync.connectors.base import (
    Connector,
    InboundRequest,
    WebhookEvent,
    WebhookRejectedError,
    digest_id,
    hmac_sha256,
    signatures_match,
)
from crm_sync.http import RemoteError, VendorClient
from psa.common.errors import DomainError

if TYPE_CHECKING:
    from crm_sync.flows.erp import ErpSync
    from crm_sync.models import InboundMessage, SyncRun
    from psa.models import OutboxEvent

logger = logging.getLogger(__name__)

MINOR_VERSION = "75"  # Intuit's floor since August 2025 (EXTERNAL_APIS.md §5)
THROTTLE_WAIT_SECONDS = 60.0  # "wait 60 seconds before retrying" when a 429 names no wait
CDC_LOOK_BACK = timedelta(days=30) - timedelta(hours=1)  # CDC refuses more than 30 days
CDC_MAX_OBJECTS = 1000
CDC_MAX_ROUNDS = 10
PAYMENT_STREAM = "cdc:Payment"
PAYMENT_OPERATIONS = ("Create", "Update")


class QuickBooksConfigError(DomainError):
    """The connection lacks a setting QuickBooks needs (realm id, an account, ...)."""

    code = "quickbooks_config"


def fault_codes(exc: RemoteError) -> set[str]:
    """The QuickBooks error codes (`Fault.Error[].code`) of a failed call."""
    payload = exc.payload if isinstance(exc.payload, dict) else {}
    errors = (payload.get("Fault") or {}).get("Error") or []
    return {str(error.get("code")) for error in errors if isinstance(error, dict)}


class QuickBooksClient(VendorClient):
    """A VendorClient that adds `minorversion` and QuickBooks' 60-second throttle default."""

    default_retry_after = THROTTLE_WAIT_SECONDS

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                **kwargs: Any) -> httpx.Response:
        return super().request(method, path, params={"minorversion": MINOR_VERSION,
                                                     **(params or {})}, **kwargs)


def _quoted(value: str) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


class QboApi:
    """The handful of QuickBooks verbs the flows use, over one client (one realm)."""

    def __init__(self, client: VendorClient) -> None:
        self.client = client

    def read(self, entity: str, entity_id: str) -> dict[str, Any] | None:
        """The entity, or None when QuickBooks says it does not exist (610)."""
        try:
            return self.client.get_json(f"/{entity.lower()}/{entity_id}")[entity]
        except RemoteError as exc:
            if "610" in fault_codes(exc):
                return None
            raise

    def query(self, entity: str, tail: str = "") -> list[dict[str, Any]]:
        """One page of `SELECT * FROM entity <tail>` (page with STARTPOSITION in `tail`)."""
        # QuickBooks' own query language over HTTP (values quoted by `_quoted`), not SQL.
        statement = f"SELECT * FROM {entity} {tail}".strip()  # noqa: S608
        answer = self.client.get_json("/query", params={"query": statement})["QueryResponse"]
        return answer.get(entity, [])  # QuickBooks leaves the key out when nothing matched

    def find(self, entity: str, **where: str) -> dict[str, Any] | None:
        """The first `entity` whose fields equal `where` (AND; QuickBooks has no OR)."""
        conditions = " AND ".join(f"{field} = {_quoted(value)}" for field, value in where.items())
        rows = self.query(entity, f"WHERE {conditions} MAXRESULTS 1")
        return rows[0] if rows else None

    def create(self, entity: str, body: dict[str, Any], *, requestid: str) -> dict[str, Any]:
        """Create once: a repeated `requestid` returns the first answer, not a second object."""
        return self.client.post_json(f"/{entity.lower()}", body,
                                     params={"requestid": requestid[:50]})[entity]

    def update(self, entity: str, entity_id: str,
               changes: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Sparse update of `changes(current)` with the current SyncToken; on a stale token
        (5010: someone saved in between) re-read and retry once."""
        for attempt in (1, 2):
            current = self.read(entity, entity_id)
            if current is None:
                raise QuickBooksConfigError(f"QuickBooks {entity} {entity_id} no longer exists.")
            body = {**changes(current), "Id": entity_id, "SyncToken": current["SyncToken"],
                    "sparse": True}
            try:
                return self.client.post_json(f"/{entity.lower()}", body)[entity]
            except RemoteError as exc:
                if attempt == 2 or "5010" not in fault_codes(exc):
                    raise
        raise AssertionError("unreachable")

    def changed_since(self, entities: list[str], since: str) -> dict[str, list[dict[str, Any]]]:
        """Change data capture: each entity's objects changed at or after `since`."""
        answer = self.client.get_json("/cdc", params={"entities": ",".join(entities),
                                                      "changedSince": since})
        changed: dict[str, list[dict[str, Any]]] = {entity: [] for entity in entities}
        for block in answer.get("CDCResponse") or []:
            for response in block.get("QueryResponse") or []:
                for entity in entities:
                    changed[entity].extend(response.get(entity) or [])
        return changed


class QuickBooksConnector(Connector):
    vendor = "quickbooks"
    EVENT_HANDLERS = {
        "client.created": "push_client",
        "client.changed": "push_client",
        "invoice.issued": "push_invoice",
        "period.closed": "push_period",
    }

    @property
    def realm_id(self) -> str:
        realm = str(self.options.get("realm_id") or "")
        if not realm:
            raise QuickBooksConfigError("The QuickBooks connection needs its company id "
                                        "(options: realm_id).", attr="options")
        return realm

    @property
    def api(self) -> QboApi:
        return QboApi(self.client)

    def erp(self) -> ErpSync:
        from crm_sync.flows.erp import ErpSync

        return ErpSync(connection=self.connection, api=self.api)

    # --- the verbs ----------------------------------------------------------------------

    def build_client(self) -> VendorClient:
        token = self.credentials.get("access_token", "")
        return QuickBooksClient(
            f"{self.connection.base_url.rstrip('/')}/v3/company/{self.realm_id}",
            headers={"Authorization": f"Bearer {token}"})

    def test(self) -> str:
        info = self.client.get_json(f"/companyinfo/{self.realm_id}")["CompanyInfo"]
        return f"Connected to QuickBooks company {info.get('CompanyName')!r} ({self.realm_id})."

    def verify_webhook(self, request: InboundRequest) -> list[WebhookEvent]:
        verifier = self.credentials.get("verifier_token", "")
        expected = base64.b64encode(hmac_sha256(verifier, request.body)).decode()
        if not verifier or not signatures_match(expected, request.headers.get("intuit-signature")):
            raise WebhookRejectedError("The intuit-signature header is missing or is not the "
                                       "body signed with this connection's verifier token.")
        try:
            payload = json.loads(request.body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise DomainError("The webhook body is not a JSON object.", code="invalid_payload")
        found = []
        for notification in payload.get("eventNotifications") or []:
            realm = str(notification.get("realmId", ""))
            if realm != self.realm_id:
                logger.warning("%s: webhook for another company %s ignored",
                               self.connection.name, realm)
                continue
            for entity in (notification.get("dataChangeEvent") or {}).get("entities") or []:
                name, entity_id = entity.get("name", ""), str(entity.get("id", ""))
                operation, updated = entity.get("operation", ""), entity.get("lastUpdated", "")
                found.append(WebhookEvent(
                    event_id=digest_id(realm, name, entity_id, operation, updated),
                    topic=f"{name}.{operation}", object_id=entity_id,
                    payload={**entity, "realmId": realm}))
        return found

    def handle_inbound(self, message: InboundMessage) -> str:
        name, _, operation = message.topic.partition(".")
        if name != "Payment":
            return f"ignored: {message.topic} (only payments come from QuickBooks)"
        if operation not in PAYMENT_OPERATIONS:
            return (f"ignored: {message.topic} of QuickBooks payment {message.object_id}; "
                    "payments recorded here are not reversed automatically")
        payment = self.api.read("Payment", message.object_id)
        if payment is None:
            return f"ignored: QuickBooks payment {message.object_id} no longer exists"
        return self.erp().payment_pull(payment)

    def poll(self, run: SyncRun) -> dict[str, int]:
        """Payments changed since the cursor (CDC, oldest first), stored as inbound messages."""
        from crm_sync.services.inbound import inbound_store
        from crm_sync.services.polling import cursor_get, cursor_set

        counts = {"changed": 0, "stored": 0, "duplicates": 0}
        floor = timezone.now() - CDC_LOOK_BACK
        for _ in range(CDC_MAX_ROUNDS):
            cursor = cursor_get(self.connection, PAYMENT_STREAM)
            since = max(_parse_time(cursor), floor) if cursor else floor
            payments = self.api.changed_since(["Payment"], since.isoformat())["Payment"]
            if not payments:
                break
            items = [_poll_event(payment) for payment in payments]
            received = inbound_store(connection=self.connection, items=items)
            counts["changed"] += len(items)
            counts["stored"] += received.stored
            counts["duplicates"] += received.duplicates
            newest = max(p["MetaData"]["LastUpdatedTime"] for p in payments)
            cursor_set(self.connection, PAYMENT_STREAM, newest)
            # `changedSince` is inclusive: only a full answer can hide more at later times.
            if len(payments) < CDC_MAX_OBJECTS or newest == cursor:
                break
        return counts

    # --- pushes (EVENT_HANDLERS) --------------------------------------------------------

    def push_client(self, event: OutboxEvent) -> None:
        self.erp().customer_event(client_id=int(event.payload["client_id"]),
                                  fields=event.payload.get("fields"))

    def push_invoice(self, event: OutboxEvent) -> None:
        self.erp().invoice_push_by_id(int(event.payload["invoice_id"]))

    def push_period(self, event: OutboxEvent) -> None:
        self.erp().period_push(legal_entity_id=int(event.payload["legal_entity_id"]),
                               month=date.fromisoformat(event.payload["month"]))


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _poll_event(payment: dict[str, Any]) -> WebhookEvent:
    meta = payment.get("MetaData") or {}
    updated = meta.get("LastUpdatedTime", "")
    if payment.get("status") == "Deleted":
        operation = "Delete"
    else:
        operation = "Create" if meta.get("CreateTime") == updated else "Update"
    return WebhookEvent(event_id=f"poll:Payment:{payment['Id']}:{updated}",
                        topic=f"Payment.{operation}", object_id=str(payment["Id"]),
                        payload=payment)
