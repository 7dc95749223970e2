"""HubSpot CRM (private app): deals in, project and billing state back out.

Credentials: `access_token` (the private app's static token, sent as a Bearer token) and
`client_secret` (the app's secret, the key of webhook signatures v3). Options: those of
`crm_sync.flows.deals`, plus `poll_page_size` (default 100, at most 200).

- Webhooks: HubSpot posts a JSON array of events signed with `X-HubSpot-Signature-v3` =
  base64(HMAC-SHA256(client secret, method + URI + body + timestamp)); requests whose
  timestamp is older than SYNC_WEBHOOK_TOLERANCE_SECONDS (5 minutes) are refused, and so are
  v1/v2-only requests (they carry no timestamp, so they can be replayed).
- Every deal event, pushed or polled, re-reads the deal as it is now (with its company and
  line items) and hands it to `deal_apply`; other objects' events are stored and ignored.
- Polls search deals modified after the cursor (`hs_lastmodifieddate`, ascending, paged).
- Our project, invoice and payment events write `psa_*` properties back onto the deal.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

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
from crm_sync.flows.deal_writeback import (
    WRITEBACK_PROPERTIES,
    DealWrite,
    billing_writeback,
    contract_of_invoice,
    project_writeback,
)
from crm_sync.flows.deals import CompanyFacts, DealFacts, LineItemFacts, deal_apply
from crm_sync.http import RemoteError, VendorClient
from psa.common.errors import DomainError

if TYPE_CHECKING:
    from crm_sync.models import Connection, InboundMessage, SyncRun
    from psa.models import OutboxEvent

logger = logging.getLogger(__name__)

DEAL_TOPICS = frozenset({"deal.creation", "deal.propertyChange", "deal.restore",
                         "deal.associationChange", "deal.polled"})
DEAL_PROPERTIES = ("dealname", "amount", "dealstage", "pipeline", "closedate",
                   "deal_currency_code", "hs_lastmodifieddate", "psa_billing_model",
                   "psa_revenue_method", "psa_start_date", "psa_end_date",
                   "psa_project_template")
LINE_ITEM_PROPERTIES = ("name", "quantity", "price", "psa_role")
POLL_STREAM = "deals"
SEARCH_MAX_RESULTS = 10_000  # HubSpot's search stops here: restart from the newest seen
# HubSpot decodes these percent-escapes in the URI before hashing (EXTERNAL_APIS.md §1).
URI_DECODES = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
               "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}


def _signature_uri(url: str) -> str:
    for escape, char in URI_DECODES.items():
        url = url.replace(escape, char).replace(escape.lower(), char)
    return url


def _decimal(value: Any, default: Decimal | None = Decimal("0")) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else default
    except InvalidOperation:
        return default


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "")[:10])
    except ValueError:
        return None


def _epoch_ms(value: str | None) -> int | None:
    """`hs_lastmodifieddate` as epoch milliseconds; HubSpot sends it as ms or as ISO 8601."""
    text = (value or "").strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


def _modified_at(value: str | None) -> datetime | None:
    ms = _epoch_ms(value)
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


class HubSpotConnector(Connector):
    vendor = "hubspot"
    EVENT_HANDLERS = {
        "project.created": "push_project",
        "project.changed": "push_project",
        "invoice.issued": "push_billing",
        "invoice.voided": "push_billing",
        "payment.recorded": "push_billing",
    }

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._stage_probabilities: dict[str, dict[str, Decimal]] | None = None

    def build_client(self) -> VendorClient:
        token = self.credentials.get("access_token", "")
        return VendorClient(self.connection.base_url,
                            headers={"Authorization": f"Bearer {token}"})

    def test(self) -> str:
        usage = self.client.get_json("/account-info/v3/api-usage/daily/private-apps")
        row = (usage.get("results") or [{}])[0]
        return (f"Connected to HubSpot: {row.get('currentUsage', '?')} of "
                f"{row.get('usageLimit', '?')} daily API calls used.")

    # --- inbound ----------------------------------------------------------------------------

    def verify_webhook(self, request: InboundRequest) -> list[WebhookEvent]:
        signature = request.headers.get("x-hubspot-signature-v3")
        stamp = request.headers.get("x-hubspot-request-timestamp", "")
        if not signature or not stamp:
            raise WebhookRejectedError(
                "The request has no HubSpot v3 signature (X-HubSpot-Signature-v3 and "
                "X-HubSpot-Request-Timestamp).")
        if not stamp.isdigit():
            raise WebhookRejectedError("X-HubSpot-Request-Timestamp is not epoch milliseconds.")
        ensure_fresh(int(stamp) / 1000, request.received_at, what="HubSpot request")
        secret = self.credentials.get("client_secret", "")
        if not secret:
            raise WebhookRejectedError(f"The {self.connection.name} connection has no "
                                       "client_secret to check HubSpot signatures with.")
        message = (request.method.upper() + _signature_uri(request.url)).encode() \
            + request.body + stamp.encode()
        expected = base64.b64encode(hmac_sha256(secret, message)).decode()
        if not signatures_match(expected, signature):
            raise WebhookRejectedError("The HubSpot v3 signature does not match the request.")
        return self._events(request.body)

    @staticmethod
    def _events(body: bytes) -> list[WebhookEvent]:
        try:
            items = json.loads(body)
        except ValueError as exc:
            raise DomainError("The HubSpot webhook body is not JSON.",
                              code="invalid_payload") from exc
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise DomainError("A HubSpot webhook body is a JSON array of events.",
                              code="invalid_payload")
        return [WebhookEvent(event_id=str(item.get("eventId") or digest_id(item)),
                             topic=str(item.get("subscriptionType", "unknown")),
                             object_id=str(item.get("objectId", "")), payload=item)
                for item in items]

    def handle_inbound(self, message: InboundMessage) -> str:
        if message.topic not in DEAL_TOPICS:
            return f"ignored: {message.topic} is not a deal change"
        if message.payload.get("propertyName") in WRITEBACK_PROPERTIES:
            return f"ignored: {message.payload['propertyName']} is written by this application"
        facts = self.deal_facts(message.object_id)
        if facts is None:
            return f"ignored: deal {message.object_id} no longer exists in HubSpot"
        return deal_apply(connection=self.connection, facts=facts)

    def deal_facts(self, deal_id: str) -> DealFacts | None:
        """The deal as HubSpot has it now, with its first company and its line items; None
        when the deal is gone."""
        deal = self._get_or_none(f"/crm/v3/objects/deals/{deal_id}", params={
            "properties": ",".join(DEAL_PROPERTIES), "associations": "companies,line_items"})
        if deal is None:
            return None
        props = deal.get("properties") or {}
        associations = deal.get("associations") or {}
        pipeline, stage = props.get("pipeline") or "default", props.get("dealstage") or ""
        return DealFacts(
            id=str(deal["id"]), name=props.get("dealname") or f"Deal {deal['id']}",
            pipeline=pipeline, stage=stage,
            probability=self._probabilities().get(pipeline, {}).get(stage, Decimal("0")),
            amount=_decimal(props.get("amount")), currency=props.get("deal_currency_code") or "",
            close_date=_date(props.get("closedate")),
            properties={k: v for k, v in props.items() if v is not None},
            company=self._company(self._associated(associations, "companies")[:1]),
            line_items=self._line_items(self._associated(associations, "line_items")),
            modified_at=_modified_at(props.get("hs_lastmodifieddate")))

    @staticmethod
    def _associated(associations: dict[str, Any], kind: str) -> list[str]:
        """Distinct ids in order (HubSpot lists an object once per association label)."""
        ids = [str(row["id"]) for row in (associations.get(kind) or {}).get("results", [])]
        return list(dict.fromkeys(ids))

    def _get_or_none(self, path: str, **kwargs: Any) -> Any:
        try:
            return self.client.get_json(path, **kwargs)
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise

    def _company(self, ids: list[str]) -> CompanyFacts | None:
        if not ids:
            return None
        company = self._get_or_none(f"/crm/v3/objects/companies/{ids[0]}",
                                    params={"properties": "name,domain"})
        if company is None:
            return None
        props = company.get("properties") or {}
        return CompanyFacts(id=str(company["id"]), name=props.get("name") or "",
                            domain=props.get("domain") or "")

    def _line_items(self, ids: list[str]) -> tuple[LineItemFacts, ...]:
        if not ids:
            return ()
        found = self.client.post_json("/crm/v3/objects/line_items/batch/read", {
            "properties": list(LINE_ITEM_PROPERTIES), "inputs": [{"id": i} for i in ids]})
        by_id = {str(row["id"]): row.get("properties") or {} for row in found["results"]}
        return tuple(
            LineItemFacts(id=i, name=by_id[i].get("name") or "",
                          role_code=(by_id[i].get("psa_role") or "").strip(),
                          hours=_decimal(by_id[i].get("quantity")),
                          rate=_decimal(by_id[i].get("price"), None))
            for i in ids if i in by_id)

    def _probabilities(self) -> dict[str, dict[str, Decimal]]:
        """{pipeline: {stage: probability 0..1}}, read once per connector instance."""
        if self._stage_probabilities is None:
            pipelines = self.client.get_json("/crm/v3/pipelines/deals").get("results", [])
            self._stage_probabilities = {
                p["id"]: {s["id"]: _decimal((s.get("metadata") or {}).get("probability"))
                          for s in p.get("stages", [])} for p in pipelines}
        return self._stage_probabilities

    # --- polling ----------------------------------------------------------------------------

    def poll(self, run: SyncRun) -> dict[str, int]:
        """Store every deal changed since the cursor as a `deal.polled` message (deduplicated
        by id and modification time), then move the cursor to the newest change seen."""
        from crm_sync.services.inbound import inbound_store
        from crm_sync.services.polling import cursor_get, cursor_set

        stored_cursor = cursor_get(self.connection, POLL_STREAM) or "0"
        limit = min(200, int(self.options.get("poll_page_size", 100)))
        since = newest = stored_cursor
        operator, after, fetched = "GT", "", 0
        counts = {"pages": 0, "changes": 0, "stored": 0, "duplicates": 0}
        while True:
            body: dict[str, Any] = {
                "filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate",
                                               "operator": operator, "value": since}]}],
                "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
                "properties": ["hs_lastmodifieddate"], "limit": limit}
            if after:
                body["after"] = str(after)
            page = self.client.post_json("/crm/v3/objects/deals/search", body)
            items = []
            for row in page.get("results", []):
                modified = str(_epoch_ms((row.get("properties") or {})
                                         .get("hs_lastmodifieddate")) or 0)
                items.append(WebhookEvent(
                    event_id=f"poll:{row['id']}:{modified}", topic="deal.polled",
                    object_id=str(row["id"]),
                    payload={"objectId": row["id"], "hs_lastmodifieddate": modified}))
                newest = max(newest, modified, key=int)
            received = inbound_store(connection=self.connection, items=items)
            fetched += len(items)
            counts["pages"] += 1
            counts["changes"] += len(items)
            counts["stored"] += received.stored
            counts["duplicates"] += received.duplicates
            next_after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not next_after:
                break
            after = str(next_after)
            if fetched + limit > SEARCH_MAX_RESULTS:
                # A new search from the newest change seen, that millisecond included (other
                # deals may share it; the ones seen already dedupe by event id).
                operator, since, after, fetched = "GTE", newest, "", 0
        if newest != stored_cursor:
            cursor_set(self.connection, POLL_STREAM, newest)
        return counts

    # --- writeback --------------------------------------------------------------------------

    def push_project(self, event: OutboxEvent) -> None:
        self._patch_deal(project_writeback(connection=self.connection,
                                           project_id=int(event.payload["project_id"])))

    def push_billing(self, event: OutboxEvent) -> None:
        contract_id = event.payload.get("contract_id") or contract_of_invoice(
            event.payload.get("invoice_id"))
        if contract_id is None:
            return
        self._patch_deal(billing_writeback(connection=self.connection,
                                           contract_id=int(contract_id)))

    def _patch_deal(self, write: DealWrite | None) -> None:
        if write is None:
            return  # not from a deal of this connection: nothing to tell the CRM
        self.client.request("PATCH", f"/crm/v3/objects/deals/{write.deal_external_id}",
                            json={"properties": write.properties})
