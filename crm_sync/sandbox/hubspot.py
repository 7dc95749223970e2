"""HubSpot CRM emulator: v3 objects and search, v4 associations, the deal pipeline, private-app
usage, v3-signed webhooks (shared/integrations/EXTERNAL_APIS.md §1).

Objects (deals, companies, contacts, line_items) keep every property as a string, with
`createdate`, `hs_object_id` and `hs_lastmodifieddate` (epoch milliseconds, strictly increasing
across the emulator so a poll's `GT` cursor never skips a change). Each write that changes a
deal sends one webhook: a JSON array with a `deal.creation` event, or one `deal.propertyChange`
event per changed property.

Control endpoints besides the shared ones (crm_sync/sandbox/server.py):

- `POST /_sandbox/seed-deal` `{"company": {"name", "domain"} | "company_id", "deal": {...},
  "line_items": [{"name", "quantity", "price", "psa_role"}]}` → `{"company_id", "deal_id",
  "line_item_ids"}`; the deal is created last, already associated, so its creation webhook
  finds everything in place;
- `POST /_sandbox/deals/{id}/stage` `{"stage": "closedwon"}` and
  `POST /_sandbox/deals/{id}/properties` `{"properties": {...}}`: a salesperson's edit in the
  CRM (same path as `PATCH`, `changeSource: CRM_UI`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from crm_sync.sandbox.server import CONTROL_PREFIX, Emulator, Request, Response, route

OBJECT_TYPES = ("deals", "companies", "contacts", "line_items")
SINGULAR = {"deals": "deal", "companies": "company", "contacts": "contact",
            "line_items": "line_item"}
# HUBSPOT_DEFINED unlabeled association type ids (EXTERNAL_APIS.md: 279, 5, 3, 19, 20; the
# reverse directions follow HubSpot's published table).
ASSOCIATION_TYPE_IDS = {
    ("deals", "companies"): 5, ("companies", "deals"): 6,
    ("deals", "contacts"): 3, ("contacts", "deals"): 4,
    ("deals", "line_items"): 19, ("line_items", "deals"): 20,
    ("contacts", "companies"): 279, ("companies", "contacts"): 280,
}
DEFAULT_PROPERTIES = {
    "deals": ("amount", "closedate", "createdate", "dealname", "dealstage",
              "hs_lastmodifieddate", "hs_object_id", "pipeline"),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "contacts": ("createdate", "email", "firstname", "hs_lastmodifieddate", "hs_object_id",
                 "lastname"),
    "line_items": ("amount", "createdate", "hs_lastmodifieddate", "hs_object_id", "name",
                   "price", "quantity"),
}
ALWAYS_RETURNED = ("createdate", "hs_lastmodifieddate", "hs_object_id")
READ_ONLY = frozenset(ALWAYS_RETURNED)
NUMERIC = {"deals": ("amount",), "line_items": ("quantity", "price", "amount")}
STAGES = (  # (id, label, probability, closed): HubSpot's default deal pipeline
    ("appointmentscheduled", "Appointment scheduled", "0.2", False),
    ("qualifiedtobuy", "Qualified to buy", "0.4", False),
    ("presentationscheduled", "Presentation scheduled", "0.6", False),
    ("decisionmakerboughtin", "Decision maker bought-in", "0.8", False),
    ("contractsent", "Contract sent", "0.9", False),
    ("closedwon", "Closed won", "1.0", True),
    ("closedlost", "Closed lost", "0.0", True),
)
SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000
SEARCH_MAX_GROUPS = 5
SEARCH_MAX_FILTERS = 6
LIST_MAX_LIMIT = 100
DAILY_LIMIT = 500_000
PORTAL_ID = 12345678
APP_ID = 987654
# HubSpot decodes these percent-escapes in the URI before hashing a v3 signature.
URI_DECODES = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
               "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}
CATEGORY = {400: "VALIDATION_ERROR", 401: "INVALID_AUTHENTICATION", 403: "MISSING_SCOPES",
            404: "OBJECT_NOT_FOUND", 409: "CONFLICT", 429: "RATE_LIMITS"}


def signature_uri(url: str) -> str:
    """The URI as HubSpot hashes it: some percent-escapes decoded (either case)."""
    return re.sub(r"%[0-9a-fA-F]{2}", lambda m: URI_DECODES.get(m.group(0).upper(), m.group(0)),
                  url)


def v3_signature(secret: str, method: str, url: str, body: bytes, timestamp_ms: str) -> str:
    message = f"{method}{signature_uri(url)}{body.decode()}{timestamp_ms}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: str) -> Decimal | None:
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        return None


def _compare(left: str, right: Any) -> int:
    """Numbers compare as numbers (amounts, epoch ms), everything else case-insensitively."""
    a, b = _number(left), _number(_text(right))
    if a is None or b is None:
        a, b = left.lower(), _text(right).lower()  # type: ignore[assignment]
    return (a > b) - (a < b)  # type: ignore[operator]


def _matches(properties: dict[str, str], spec: dict[str, Any]) -> bool:
    name, operator = spec["propertyName"], spec.get("operator", "EQ")
    value = properties.get(name, "")
    if operator == "HAS_PROPERTY":
        return value != ""
    if operator == "NOT_HAS_PROPERTY":
        return value == ""
    if value == "":
        return operator in ("NEQ", "NOT_IN")
    if operator in ("IN", "NOT_IN"):
        inside = any(_compare(value, item) == 0 for item in spec["values"])
        return inside if operator == "IN" else not inside
    if operator == "BETWEEN":
        return _compare(value, spec["value"]) >= 0 and _compare(value, spec["highValue"]) <= 0
    if operator == "CONTAINS_TOKEN":
        return _text(spec["value"]).lower().strip("*") in value.lower()
    tests = {"EQ": lambda c: c == 0, "NEQ": lambda c: c != 0, "GT": lambda c: c > 0,
             "GTE": lambda c: c >= 0, "LT": lambda c: c < 0, "LTE": lambda c: c <= 0}
    if operator not in tests:
        raise ValueError(f"Unsupported operator {operator!r}")
    return tests[operator](_compare(value, spec["value"]))


def _sort_key(value: str) -> tuple[int, Any]:
    number = _number(value)
    return (0, number) if number is not None else (1, value.lower())


class HubSpotEmulator(Emulator):
    name = "hubspot"

    def __init__(self, *, access_token: str = "sandbox-hubspot-token",  # noqa: S107 (sandbox)
                 client_secret: str = "sandbox-hubspot-secret",  # noqa: S107 (sandbox)
                 **kwargs: Any) -> None:
        self.access_token = access_token
        self.client_secret = client_secret
        self._last_ms = 0
        super().__init__(**kwargs)

    # --- state ------------------------------------------------------------------------------

    def reset(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in OBJECT_TYPES}
        self.links: dict[tuple[str, str], dict[str, list[str]]] = {}
        self._next_id = 10_001
        self._next_event_id = 1_000_001
        self.api_calls = 0
        self.events_sent = 0
        self._quiet = True  # fixtures are there before anyone subscribed
        try:
            self._seed_fixtures()
        finally:
            self._quiet = False

    def state(self) -> dict[str, Any]:
        return {**{kind: len(rows) for kind, rows in self.records.items()},
                "events_sent": self.events_sent, "api_calls": self.api_calls}

    def _seed_fixtures(self) -> None:
        today = datetime.now(UTC).date()
        start = today + timedelta(days=30)
        end = start + timedelta(weeks=12)
        demo = (
            (("Acme Logistics", "acme-logistics.example"),
             {"dealname": "Acme Logistics - Network optimisation", "amount": "127500",
              "dealstage": "presentationscheduled"},
             (("Senior Consultant", "400", "225", "SCON"), ("Analyst", "300", "125", "ANL"))),
            (("Globex Retail", "globex.example"),
             {"dealname": "Globex Retail - Pricing analytics", "amount": "89000",
              "dealstage": "decisionmakerboughtin"},
             (("Manager", "120", "275", "MGR"), ("Consultant", "320", "175", "CONS"))),
        )
        for (name, domain), deal, lines in demo:
            self.seed_deal({
                "company": {"name": name, "domain": domain},
                "deal": {**deal, "closedate": (today + timedelta(days=21)).isoformat(),
                         "psa_billing_model": "tm", "psa_revenue_method": "as_delivered",
                         "psa_start_date": start.isoformat(), "psa_end_date": end.isoformat()},
                "line_items": [{"name": n, "quantity": q, "price": p, "psa_role": r}
                               for n, q, p, r in lines]})

    def _now_ms(self) -> int:
        """Strictly increasing epoch milliseconds: two changes never share a timestamp."""
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
        return self._last_ms

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    # --- auth, errors, throttling ------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        if request.headers.get("authorization", "") == f"Bearer {self.access_token}":
            return None
        return self.error(
            401, "Authentication credentials not found. This API supports OAuth 2.0 "
                 "authentication and you can find more details at "
                 "https://developers.hubspot.com/docs/methods/auth/oauth-overview")

    def error(self, status: int, message: str, **extra: Any) -> Response:
        category = CATEGORY.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")
        return Response(status, {"status": "error", "message": message,
                                 "correlationId": str(uuid.uuid4()), "category": category,
                                 **extra})

    def throttled(self) -> Response:
        return Response(self.faults.throttle_status, {
            "status": "error", "message": "You have reached your secondly limit.",
            "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
            "policyName": "SECONDLY", "groupName": "api-calls-secondly"},
            headers={"X-HubSpot-RateLimit-Secondly": "19",
                     "X-HubSpot-RateLimit-Secondly-Remaining": "0"})

    def dispatch(self, request: Request) -> Response:
        response = super().dispatch(request)
        if not request.path.startswith(CONTROL_PREFIX):
            self.api_calls += 1
            response.headers.setdefault("X-HubSpot-RateLimit-Daily", str(DAILY_LIMIT))
            response.headers.setdefault("X-HubSpot-RateLimit-Daily-Remaining",
                                        str(max(0, DAILY_LIMIT - self.api_calls)))
            response.headers.setdefault("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
            response.headers.setdefault("X-HubSpot-RateLimit-Max", "190")
        return response

    def _invalid(self, message: str, code: str, **context: Any) -> Response:
        return self.error(400, message, errors=[{"message": message, "code": code,
                                                 "context": context}])

    # --- webhooks ---------------------------------------------------------------------------

    def sign_webhook(self, body: bytes, url: str, *, timestamp_ms: int | None = None,
                     method: str = "POST") -> dict[str, str]:
        """v3 headers; `timestamp_ms` lets a test sign a request from the past."""
        stamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
        return {"X-HubSpot-Signature-v3": v3_signature(self.client_secret, method, url, body,
                                                       stamp),
                "X-HubSpot-Request-Timestamp": stamp,
                "X-HubSpot-Signature-Version": "v3",
                "X-HubSpot-Timeout-Millis": "10000"}

    def _deal_events(self, deal_id: str, changes: dict[str, str] | None, source: str,
                     occurred_ms: int) -> None:
        """Send one webhook for a deal write: its creation, or one event per changed property."""
        if self._quiet:
            return
        base = {"subscriptionId": 234567, "portalId": PORTAL_ID, "appId": APP_ID,
                "occurredAt": occurred_ms, "attemptNumber": 0, "objectId": int(deal_id),
                "changeSource": source, "sourceId": "userId:45678" if source == "CRM_UI"
                else f"{APP_ID}"}
        items = []
        if changes is None:
            items.append({"eventId": self._event_id(), **base,
                          "subscriptionType": "deal.creation", "changeFlag": "CREATED"})
        else:
            for name, value in changes.items():
                items.append({"eventId": self._event_id(), **base,
                              "subscriptionType": "deal.propertyChange",
                              "propertyName": name, "propertyValue": value})
        if items:
            self.events_sent += len(items)
            self.webhook(items)

    def _event_id(self) -> int:
        self._next_event_id += 1
        return self._next_event_id

    # --- objects ----------------------------------------------------------------------------

    def _type(self, request: Request, key: str = "type") -> str:
        kind = request.params[key]
        if kind not in OBJECT_TYPES:
            raise ValueError(f"Unable to infer object type from: {kind}")
        return kind

    def _validate(self, kind: str, properties: Any) -> Response | None:
        if not isinstance(properties, dict):
            return self._invalid("Invalid input JSON: properties must be an object.",
                                 "INVALID_JSON")
        read_only = sorted(READ_ONLY & set(properties))
        if read_only:
            return self._invalid(f"Property values were not valid: {read_only} are read-only.",
                                 "READ_ONLY_VALUE", propertyName=read_only)
        for name in NUMERIC.get(kind, ()):
            if name in properties and properties[name] not in (None, "") \
                    and _number(_text(properties[name])) is None:
                return self._invalid(
                    f'Property values were not valid: {properties[name]!r} was not a valid '
                    f'number for "{name}".', "INVALID_INTEGER", propertyName=[name])
        stage = properties.get("dealstage") if kind == "deals" else None
        if stage is not None and stage not in {s[0] for s in STAGES}:
            return self._invalid(
                f'Property values were not valid: {stage!r} was not one of the allowed options '
                'for "dealstage".', "INVALID_OPTION", propertyName=["dealstage"])
        return None

    def _create(self, kind: str, properties: dict[str, Any], *, source: str,
                associations: list[tuple[str, str]] = ()) -> dict[str, Any]:
        object_id, now = self._new_id(), self._now_ms()
        values = {name: _text(value) for name, value in properties.items()}
        if kind == "deals":
            values.setdefault("pipeline", "default")
            values.setdefault("dealstage", STAGES[0][0])
        self._line_amount(kind, values)
        values.update(createdate=_iso(now), hs_lastmodifieddate=str(now),
                      hs_object_id=object_id)
        record = {"id": object_id, "properties": values, "createdAt": _iso(now),
                  "updatedAt": _iso(now), "archived": False}
        self.records[kind][object_id] = record
        for to_kind, to_id in associations:
            self._associate(kind, object_id, to_kind, to_id)
        if kind == "deals":
            self._deal_events(object_id, None, source, now)
        return record

    def _update(self, kind: str, object_id: str, properties: dict[str, Any], *,
                source: str) -> dict[str, Any]:
        """Apply changed properties; only a real change moves hs_lastmodifieddate."""
        record = self.records[kind][object_id]
        values = dict(record["properties"])
        values.update({name: _text(value) for name, value in properties.items()})
        self._line_amount(kind, values)
        changes = {name: value for name, value in values.items()
                   if record["properties"].get(name, "") != value}
        if changes:
            now = self._now_ms()
            values["hs_lastmodifieddate"] = str(now)
            record["properties"], record["updatedAt"] = values, _iso(now)
            if kind == "deals":
                self._deal_events(object_id, changes, source, now)
        return record

    @staticmethod
    def _line_amount(kind: str, values: dict[str, str]) -> None:
        if kind != "line_items":
            return
        quantity, price = _number(values.get("quantity", "")), _number(values.get("price", ""))
        if quantity is not None and price is not None:
            values["amount"] = str(quantity * price)

    def _associate(self, from_kind: str, from_id: str, to_kind: str, to_id: str) -> None:
        for (a_kind, a_id), (b_kind, b_id) in (((from_kind, from_id), (to_kind, to_id)),
                                               ((to_kind, to_id), (from_kind, from_id))):
            targets = self.links.setdefault((a_kind, a_id), {}).setdefault(b_kind, [])
            if b_id not in targets:
                targets.append(b_id)

    def _shape(self, kind: str, record: dict[str, Any], names: list[str] | None,
               associations: list[str] = ()) -> dict[str, Any]:
        wanted = names or list(DEFAULT_PROPERTIES[kind])
        wanted = [*wanted, *(n for n in ALWAYS_RETURNED if n not in wanted)]
        props = record["properties"]
        shaped = {"id": record["id"], "properties": {n: props.get(n) for n in wanted},
                  "createdAt": record["createdAt"], "updatedAt": record["updatedAt"],
                  "archived": record["archived"]}
        found = {}
        for to_kind in associations:
            ids = self.links.get((kind, record["id"]), {}).get(to_kind, [])
            if ids:
                label = f"{SINGULAR[kind]}_to_{SINGULAR[to_kind]}"
                found[to_kind] = {"results": [{"id": i, "type": label} for i in ids]}
        if found:
            shaped["associations"] = found
        return shaped

    @staticmethod
    def _names(request: Request, key: str) -> list[str]:
        raw = ",".join(request.query.get(key, []))
        return [name.strip() for name in raw.split(",") if name.strip()]

    def _not_found(self, kind: str, object_id: str) -> Response:
        return self.error(404, f"resource not found: no {SINGULAR[kind]} with id {object_id}")

    @route("GET", r"/crm/v3/objects/(?P<type>\w+)/(?P<id>\d+)")
    def object_read(self, request: Request) -> Response:
        kind, object_id = self._type(request), request.params["id"]
        record = self.records[kind].get(object_id)
        if record is None:
            return self._not_found(kind, object_id)
        associations = [a for a in self._names(request, "associations") if a in OBJECT_TYPES]
        return Response(200, self._shape(kind, record, self._names(request, "properties"),
                                         associations))

    @route("PATCH", r"/crm/v3/objects/(?P<type>\w+)/(?P<id>\d+)")
    def object_update(self, request: Request) -> Response:
        kind, object_id = self._type(request), request.params["id"]
        if object_id not in self.records[kind]:
            return self._not_found(kind, object_id)
        properties = (request.json() or {}).get("properties")
        invalid = self._validate(kind, properties)
        if invalid is not None:
            return invalid
        record = self._update(kind, object_id, properties, source="INTEGRATION")
        return Response(200, self._shape(kind, record, list(properties)))

    @route("POST", r"/crm/v3/objects/(?P<type>\w+)")
    def object_create(self, request: Request) -> Response:
        kind = self._type(request)
        body = request.json() or {}
        properties = body.get("properties", {})
        invalid = self._validate(kind, properties)
        if invalid is not None:
            return invalid
        associations = []
        for item in body.get("associations", []):
            to_id = str(item["to"]["id"])
            type_ids = {t["associationTypeId"] for t in item["types"]}
            to_kind = next((to for (src, to), tid in ASSOCIATION_TYPE_IDS.items()
                            if src == kind and tid in type_ids), None)
            if to_kind is None or to_id not in self.records[to_kind]:
                return self._invalid(f"Invalid association {item!r} for {kind}.",
                                     "INVALID_ASSOCIATION")
            associations.append((to_kind, to_id))
        record = self._create(kind, properties, source="INTEGRATION",
                              associations=associations)
        return Response(201, self._shape(kind, record, list(properties)))

    @route("GET", r"/crm/v3/objects/(?P<type>\w+)")
    def object_list(self, request: Request) -> Response:
        kind = self._type(request)
        limit = int(request.arg("limit", "10"))
        if not 1 <= limit <= LIST_MAX_LIMIT:
            return self._invalid(f"limit must be between 1 and {LIST_MAX_LIMIT}.",
                                 "INVALID_LIMIT")
        after = int(request.arg("after", "0") or 0)
        rows = sorted(self.records[kind].values(), key=lambda r: int(r["id"]))
        rows = [r for r in rows if int(r["id"]) > after]
        page = rows[:limit]
        body: dict[str, Any] = {"results": [self._shape(kind, r, self._names(request,
                                                                             "properties"))
                                            for r in page]}
        if len(rows) > limit:
            nxt = page[-1]["id"]
            body["paging"] = {"next": {"after": nxt,
                                       "link": f"/crm/v3/objects/{kind}?after={nxt}"}}
        return Response(200, body)

    @route("POST", r"/crm/v3/objects/(?P<type>\w+)/search")
    def object_search(self, request: Request) -> Response:
        kind = self._type(request)
        body = request.json() or {}
        limit, after = int(body.get("limit", 10)), int(body.get("after", 0) or 0)
        if not 1 <= limit <= SEARCH_MAX_LIMIT:
            return self._invalid(f"limit must be between 1 and {SEARCH_MAX_LIMIT}.",
                                 "INVALID_LIMIT")
        if after + limit > SEARCH_MAX_RESULTS:
            return self._invalid(f"Search returns at most {SEARCH_MAX_RESULTS} results; "
                                 "narrow the filters.", "TOO_MANY_RESULTS")
        groups = body.get("filterGroups", [])
        if len(groups) > SEARCH_MAX_GROUPS or any(
                len(g.get("filters", [])) > SEARCH_MAX_FILTERS for g in groups):
            return self._invalid("Too many filter groups or filters.", "TOO_MANY_FILTERS")
        rows = [r for r in self.records[kind].values()
                if not groups or any(all(_matches(r["properties"], f) for f in g["filters"])
                                     for g in groups)]
        rows.sort(key=lambda r: int(r["id"]))
        for spec in reversed(body.get("sorts", [])):
            if isinstance(spec, str):
                spec = {"propertyName": spec.lstrip("-"),
                        "direction": "DESCENDING" if spec.startswith("-") else "ASCENDING"}
            rows.sort(key=lambda r, n=spec["propertyName"]: _sort_key(r["properties"].get(n,
                                                                                          "")),
                      reverse=spec.get("direction", "ASCENDING") == "DESCENDING")
        page = rows[after:after + limit]
        names = body.get("properties") or None
        result: dict[str, Any] = {"total": len(rows),
                                  "results": [self._shape(kind, r, names) for r in page]}
        if after + limit < len(rows):
            nxt = str(after + limit)
            result["paging"] = {"next": {"after": nxt,
                                         "link": f"/crm/v3/objects/{kind}/search?after={nxt}"}}
        return Response(200, result)

    @route("POST", r"/crm/v3/objects/(?P<type>\w+)/batch/read")
    def object_batch_read(self, request: Request) -> Response:
        kind = self._type(request)
        body = request.json() or {}
        started = _iso(int(time.time() * 1000))
        names = body.get("properties") or None
        ids = [str(item["id"]) for item in body.get("inputs", [])]
        found = [self._shape(kind, self.records[kind][i], names) for i in ids
                 if i in self.records[kind]]
        missing = [i for i in ids if i not in self.records[kind]]
        result: dict[str, Any] = {"status": "COMPLETE", "results": found, "startedAt": started,
                                  "completedAt": _iso(int(time.time() * 1000))}
        if not missing:
            return Response(200, result)
        result.update(numErrors=1, errors=[{
            "status": "error", "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {SINGULAR[kind].upper()} objects, they may be "
                       "deleted or not exist. Check that ids are valid.",
            "context": {"ids": missing}}])
        return Response(207, result)

    @route("PUT", r"/crm/v4/objects/(?P<from_type>\w+)/(?P<from_id>\d+)/associations/default/"
                  r"(?P<to_type>\w+)/(?P<to_id>\d+)")
    def association_default(self, request: Request) -> Response:
        from_kind, to_kind = self._type(request, "from_type"), self._type(request, "to_type")
        from_id, to_id = request.params["from_id"], request.params["to_id"]
        for kind, object_id in ((from_kind, from_id), (to_kind, to_id)):
            if object_id not in self.records[kind]:
                return self._not_found(kind, object_id)
        type_id = ASSOCIATION_TYPE_IDS.get((from_kind, to_kind))
        if type_id is None:
            return self._invalid(f"No default association from {from_kind} to {to_kind}.",
                                 "INVALID_ASSOCIATION")
        self._associate(from_kind, from_id, to_kind, to_id)
        now = _iso(int(time.time() * 1000))
        return Response(200, {"status": "COMPLETE", "startedAt": now, "completedAt": now,
                              "results": [{"from": {"id": from_id}, "to": {"id": to_id},
                                           "associationSpec": {
                                               "associationCategory": "HUBSPOT_DEFINED",
                                               "associationTypeId": type_id}}]})

    @route("GET", r"/crm/v3/pipelines/deals")
    def pipelines(self, request: Request) -> Response:
        created = "2020-01-01T00:00:00.000Z"
        stages = [{"id": sid, "label": label, "displayOrder": order, "archived": False,
                   "metadata": {"isClosed": "true" if closed else "false",
                                "probability": probability},
                   "createdAt": created, "updatedAt": created}
                  for order, (sid, label, probability, closed) in enumerate(STAGES)]
        return Response(200, {"results": [{"id": "default", "label": "Sales Pipeline",
                                           "displayOrder": 0, "archived": False,
                                           "stages": stages, "createdAt": created,
                                           "updatedAt": created}]})

    @route("GET", r"/account-info/v3/api-usage/daily/private-apps")
    def api_usage(self, request: Request) -> Response:
        now = datetime.now(UTC)
        resets = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return Response(200, {"results": [{
            "name": "private-apps-api-calls-daily", "usageLimit": DAILY_LIMIT,
            "currentUsage": self.api_calls + 1, "collectedAt": now.isoformat(),
            "resetsAt": resets.isoformat(), "fetchStatus": "SUCCESS"}]})

    # --- control ----------------------------------------------------------------------------

    def control(self, request: Request) -> Response | None:
        path = request.path[len(CONTROL_PREFIX):].rstrip("/")
        if request.method != "POST":
            return None
        if path == "seed-deal":
            return Response(201, self.seed_deal(request.json() or {}))
        match = re.fullmatch(r"deals/(\d+)/(stage|properties)", path)
        if match is None:
            return None
        deal_id, action = match.groups()
        if deal_id not in self.records["deals"]:
            return self._not_found("deals", deal_id)
        body = request.json() or {}
        properties = {"dealstage": body["stage"]} if action == "stage" else body["properties"]
        invalid = self._validate("deals", properties)
        if invalid is not None:
            return invalid
        record = self._update("deals", deal_id, properties, source="CRM_UI")
        return Response(200, self._shape("deals", record, None))

    def seed_deal(self, spec: dict[str, Any]) -> dict[str, Any]:
        """A company, its line items and a deal associated with both (the deal last)."""
        company_id = str(spec.get("company_id") or "")
        if not company_id:
            company_id = self._create("companies", spec.get("company", {}),
                                      source="CRM_UI")["id"]
        line_ids = [self._create("line_items", line, source="CRM_UI")["id"]
                    for line in spec.get("line_items", [])]
        today = datetime.now(UTC).date()
        deal = {"pipeline": "default", "dealstage": STAGES[0][0], "deal_currency_code": "USD",
                "closedate": (today + timedelta(days=30)).isoformat(), **spec.get("deal", {})}
        deal_id = self._create("deals", deal, source="CRM_UI",
                               associations=[("companies", company_id),
                                             *(("line_items", i) for i in line_ids)])["id"]
        return {"company_id": company_id, "deal_id": deal_id, "line_item_ids": line_ids}
