"""QuickBooks Online emulator: one company (realm) of the Accounting API v3.

What it speaks (EXTERNAL_APIS.md §5), all under `/v3/company/{realmId}/`:

- OAuth 2.0 `Authorization: Bearer <access token>`; anything else is a `401` AuthorizationFault
  (code 120); another realm's path is a `403`;
- `GET companyinfo/{realmId}`; `GET <entity>/{id}` (`400`, code 610 when absent);
- `POST <entity>` for customer, item, class, department, account, invoice, creditmemo,
  journalentry and payment: a body without `Id` creates, one with `Id` + the current `SyncToken`
  updates (full, or partial with `"sparse": true`; a stale token is code 5010), and
  `?operation=delete` deletes. Answers wrap the entity: `{"Invoice": {...}, "time"}`;
- `?requestid=` (≤ 50 characters, per realm): a request id seen before returns the original
  answer and does nothing again. Only successful answers are kept, so a write that failed may be
  retried with the same id (a choice: Intuit's pages do not say what a failed one returns);
- `GET query?query=` or `POST query` (`application/text`): `SELECT * | count(*) FROM <Entity>
  [WHERE <Field> <op> <value> [AND ...]] [ORDERBY <Field> [ASC|DESC]] [STARTPOSITION n]
  [MAXRESULTS n]`, no `OR`, MAXRESULTS ≤ 1000 (default 100); nothing found is an empty
  `QueryResponse`, as QuickBooks answers;
- `GET cdc?entities=Payment,Invoice&changedSince=ISO`: objects changed at or after the time
  (at most 30 days back, ≤ 1000 objects, oldest first), deleted ones as `status: "Deleted"`.

Rules kept: DisplayName/Name unique per list (6240), DocNumber ≤ 21 characters (2050) and unique
per kind of document (6140), references must exist (2500), `Qty x UnitPrice` must equal `Amount`
to the cent (6070), journal entries must balance (6000), a payment line cannot exceed the
invoice's balance (6000). An invoice's `TotalAmt` is its lines plus `TxnTaxDetail.TotalTax`;
its `Balance` drops by the payments applied to it, which appear in its `LinkedTxn`.

Webhooks (Payment, Invoice, Customer: Create, Update, Delete) are batched per request in the
legacy `eventNotifications` shape and signed `intuit-signature` = base64(HMAC-SHA256(verifier
token, body)). Errors are `{"Fault": {"Error": [{Message, Detail, code, element}], "type"},
"time"}`; throttling is `429` (QuickBooks asks for 60 s; here `Retry-After` is the fault's).

Control: `POST /_sandbox/payments {"invoice_id", "amount", "date"}` records a customer payment
through the same path as `POST payment` (so the webhook fires); `GET /_sandbox/documents` counts
objects per entity and per DocNumber.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from crm_sync.sandbox.server import Emulator, Request, Response, route

SANDBOX_ACCESS_TOKEN = "sandbox-qbo-token"
SANDBOX_VERIFIER_TOKEN = "sandbox-qbo-verifier"
SANDBOX_REALM_ID = "9130357766900000"
ENTITIES = {name.lower(): name for name in (
    "Customer", "Item", "Class", "Department", "Account", "Invoice", "CreditMemo",
    "JournalEntry", "Payment")}
NAMED = {"Customer": "DisplayName", "Item": "Name", "Class": "Name", "Department": "Name",
         "Account": "Name"}
WEBHOOK_ENTITIES = ("Payment", "Invoice", "Customer")
COMPANY = r"/v3/company/(?P<realm>\w+)"
WRITABLE = "|".join(ENTITIES)
MAX_RESULTS, DEFAULT_RESULTS, CDC_MAX, CDC_DAYS, MAX_REQUEST_ID, MAX_DOC_NUMBER = (
    1000, 100, 1000, 30, 50, 21)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
FIXTURE_ACCOUNTS = (  # (AcctNum, Name, AccountType) — the firm's chart of accounts, in part
    ("1200", "Accounts Receivable (A/R)", "Accounts Receivable"),
    ("1250", "Unbilled Receivables", "Other Current Asset"),
    ("2200", "Sales Tax Payable", "Other Current Liability"),
    ("2400", "Deferred Revenue", "Other Current Liability"),
    ("4000", "Services Revenue", "Income"),
)
TOKEN = re.compile(r"\s*('(?:\\.|[^'\\])*'|<=|>=|!=|=|<|>|\(|\)|,|[^\s=<>!(),']+)")


class Fault(Exception):
    """A QuickBooks error: HTTP status, code, message, detail and the element it is about."""

    def __init__(self, status: int, code: str, message: str, detail: str = "",
                 element: str = "", kind: str = "ValidationFault") -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.detail, self.element, self.kind = detail or message, element, kind


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")  # 2026-04-10T14:03:07.120+00:00


def _money(value: Any, element: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise Fault(400, "2010", "Request has invalid or unsupported property",
                    f"{element} is not a number: {value!r}", element) from exc


def _day(value: str | None) -> str:
    """A date given to the control endpoint, checked (YYYY-MM-DD); today when absent."""
    return date.fromisoformat(value).isoformat() if value else _now().date().isoformat()


def _wire(value: Any) -> Any:
    """JSON as QuickBooks sends it: amounts are numbers."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def _required(obj: dict[str, Any], *names: str) -> None:
    for name in names:
        if obj.get(name) in (None, "", [], {}):
            raise Fault(400, "2020", "Required param missing, need to supply the required "
                        "value for the API", f"Required parameter {name} is missing", name)


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("value")) if value.get("value") is not None else None
    return None


def _field(obj: dict[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return _ref(value) if isinstance(value, dict) and "value" in value else value


class QuickBooksEmulator(Emulator):
    name = "quickbooks"

    def __init__(self, *, access_token: str = SANDBOX_ACCESS_TOKEN,
                 verifier_token: str = SANDBOX_VERIFIER_TOKEN,
                 realm_id: str = SANDBOX_REALM_ID, seed: int | None = None) -> None:
        self.access_token, self.verifier_token, self.realm_id = (
            access_token, verifier_token, realm_id)
        super().__init__(seed=seed)

    # --- the base class's hooks -------------------------------------------------------------

    def reset(self) -> None:
        self.objects: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in ENTITIES.values()}
        self.deleted: dict[str, list[dict[str, Any]]] = {e: [] for e in ENTITIES.values()}
        self.replies: dict[tuple[str, str], tuple[int, Any]] = {}
        self.next_id = 1
        self.last_time = _now() - timedelta(seconds=1)
        self.pending: list[dict[str, Any]] = []
        for number, name, kind in FIXTURE_ACCOUNTS:
            self._create("Account", {"Name": name, "AcctNum": number, "AccountType": kind})
        self.pending.clear()

    def state(self) -> dict[str, Any]:
        return {**{e: len(objs) for e, objs in self.objects.items()},
                "request_ids": len(self.replies)}

    def authenticate(self, request: Request) -> Response | None:
        if request.headers.get("authorization") == f"Bearer {self.access_token}":
            return None
        return self.error(401, "Authorization Failure", code="120", kind="AuthorizationFault",
                          detail="Authorization Failure: the access token is missing, "
                          "expired or wrong")

    def error(self, status: int, message: str, **extra: Any) -> Response:
        code, kind = {401: ("120", "AuthorizationFault"), 403: ("3100", "AuthorizationFault"),
                      404: ("500", "ValidationFault"), 429: ("3001", "ThrottleExceeded")}.get(
            status, ("10000", "SystemFault") if status >= 500 else ("2010", "ValidationFault"))
        error = {"Message": message, "Detail": extra.get("detail") or message,
                 "code": extra.get("code") or code, "element": extra.get("element", "")}
        return Response(status, {"Fault": {"Error": [error], "type": extra.get("kind") or kind},
                                 "time": _iso(_now())})

    def throttled(self) -> Response:
        return self.error(429, "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                          detail="The request limit was reached: wait 60 seconds before "
                          "retrying.")

    def sign_webhook(self, body: bytes, url: str) -> dict[str, str]:
        digest = hmac.new(self.verifier_token.encode(), body, hashlib.sha256).digest()
        return {"intuit-signature": base64.b64encode(digest).decode()}

    def control(self, request: Request) -> Response | None:
        path = request.path.strip("/").split("/", 1)[-1]
        if path == "payments" and request.method == "POST":
            body = request.json() or {}
            invoice = self.objects["Invoice"].get(str(body.get("invoice_id")))
            if invoice is None:
                return Response(404, {"message": f"no invoice {body.get('invoice_id')}"})
            amount = str(body.get("amount") or invoice["Balance"])
            try:
                day = _day(body.get("date"))
            except ValueError:
                return Response(400, {"message": f"date must be YYYY-MM-DD: {body.get('date')}"})
            payment = {"CustomerRef": dict(invoice["CustomerRef"]), "TotalAmt": amount,
                       "TxnDate": day,
                       "PaymentRefNum": body.get("reference", ""),
                       "Line": [{"Amount": amount, "LinkedTxn": [
                           {"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]}
            return self._answer(lambda: {"Payment": self._write("Payment", payment, None)})
        if path == "documents" and request.method == "GET":
            numbers: dict[str, dict[str, int]] = {}
            for entity in ("Invoice", "CreditMemo", "JournalEntry"):
                for obj in self.objects[entity].values():
                    per = numbers.setdefault(entity, {})
                    per[obj.get("DocNumber", "")] = per.get(obj.get("DocNumber", ""), 0) + 1
            return Response(200, {"counts": {e: len(o) for e, o in self.objects.items()},
                                  "doc_numbers": numbers})
        return None

    # --- routes -----------------------------------------------------------------------------

    @route("GET", COMPANY + r"/companyinfo/(?P<id>\w+)")
    def company_info(self, request: Request) -> Response:
        return self._answer(lambda: self._realm(request) or {"CompanyInfo": {
            "Id": "1", "CompanyName": "Sandbox Company_US_1", "LegalName": "Sandbox Company",
            "Country": "US", "FiscalYearStartMonth": "January", "SyncToken": "0",
            "MetaData": {"CreateTime": "2026-01-01T00:00:00.000+00:00"}}})

    @route("GET", COMPANY + rf"/(?P<entity>{WRITABLE})/(?P<id>\w+)")
    def read(self, request: Request) -> Response:
        entity = ENTITIES[request.params["entity"]]
        return self._answer(lambda: self._realm(request) or {
            entity: self._get(entity, request.params["id"])})

    @route("POST", COMPANY + rf"/(?P<entity>{WRITABLE})")
    def write(self, request: Request) -> Response:
        request_id = request.arg("requestid")
        key = (request.params["realm"], request_id or "")
        if request_id and key in self.replies:  # seen before: the original answer, no write
            self.counts["requestid:replayed"] += 1
            status, body = self.replies[key]
            return Response(status, copy.deepcopy(body))
        entity = ENTITIES[request.params["entity"]]
        response = self._answer(lambda: self._realm(request) or self._request_id_ok(
            request_id) or {entity: self._write(entity, self._json(request),
                                                request.arg("operation"))})
        if request_id and response.status < 400:
            self.replies[key] = (response.status, copy.deepcopy(response.body))
        return response

    @route("GET", COMPANY + r"/query")
    def query_get(self, request: Request) -> Response:
        return self._answer(lambda: self._realm(request) or self._query(
            request.arg("query") or ""))

    @route("POST", COMPANY + r"/query")
    def query_post(self, request: Request) -> Response:
        return self._answer(lambda: self._realm(request) or self._query(
            request.body.decode()))

    @route("GET", COMPANY + r"/cdc")
    def cdc(self, request: Request) -> Response:
        return self._answer(lambda: self._realm(request) or self._cdc(
            request.arg("entities") or "", request.arg("changedSince") or ""))

    # --- request plumbing -------------------------------------------------------------------

    def _answer(self, make: Any) -> Response:
        """Run a handler body; a Fault becomes QuickBooks' error, a success gets `time`."""
        try:
            body = make()
        except Fault as fault:
            return self.error(fault.status, fault.message, code=fault.code,
                              detail=fault.detail, element=fault.element, kind=fault.kind)
        finally:
            self._flush_webhook()
        return Response(200, {**_wire(body), "time": _iso(_now())})

    def _realm(self, request: Request) -> None:
        if request.params["realm"] != self.realm_id:
            raise Fault(403, "3100", "ApplicationAuthorizationFailed", "The token is not "
                        f"authorized for company {request.params['realm']}", kind=
                        "AuthorizationFault")

    def _request_id_ok(self, request_id: str | None) -> None:
        if request_id is not None and not 0 < len(request_id) <= MAX_REQUEST_ID:
            raise Fault(400, "2010", "Request has invalid or unsupported property",
                        f"requestid must be 1 to {MAX_REQUEST_ID} characters", "requestid")

    @staticmethod
    def _json(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(request.body or b"{}", parse_float=Decimal)
        except ValueError as exc:
            raise Fault(400, "2010", "Request has invalid or unsupported property",
                        f"The body is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise Fault(400, "2010", "Request has invalid or unsupported property",
                        "The body must be one JSON object")
        return body

    def _get(self, entity: str, obj_id: Any) -> dict[str, Any]:
        obj = self.objects[entity].get(str(obj_id))
        if obj is None:
            raise Fault(400, "610", "Object Not Found", f"Object Not Found: {entity} "
                        f"{obj_id} does not exist or was deleted", "Id")
        return obj

    def _tick(self) -> str:
        """Now, strictly after the previous write (so change-data-capture cursors move)."""
        moment = max(_now(), self.last_time + timedelta(milliseconds=1))
        self.last_time = moment
        return _iso(moment)

    # --- writes -----------------------------------------------------------------------------

    def _write(self, entity: str, body: dict[str, Any], operation: str | None) -> dict:
        if operation == "delete":
            return self._delete(entity, body)
        if body.get("Id"):
            return self._update(entity, body)
        return self._create(entity, body)

    def _create(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        obj = {k: v for k, v in copy.deepcopy(body).items() if k != "sparse"}
        obj["Id"], obj["SyncToken"] = str(self.next_id), "0"
        self._prepare(entity, obj)
        self.next_id += 1
        moment = self._tick()
        obj["MetaData"] = {"CreateTime": moment, "LastUpdatedTime": moment}
        self.objects[entity][obj["Id"]] = obj
        self._changed(entity, obj, "Create")
        self._settle(entity, obj, None)
        return obj

    def _update(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        current = self._get(entity, body["Id"])
        if str(body.get("SyncToken")) != current["SyncToken"]:
            raise Fault(400, "5010", "Stale Object Error", "Stale Object Error : You and "
                        "another user were working on this at the same time; the other "
                        "finished first, so this change was not saved", "SyncToken")
        changes = {k: v for k, v in copy.deepcopy(body).items() if k != "sparse"}
        sparse = str(body.get("sparse")).lower() == "true"
        obj = {**copy.deepcopy(current), **changes} if sparse else changes
        obj["Id"], obj["SyncToken"] = current["Id"], str(int(current["SyncToken"]) + 1)
        self._prepare(entity, obj)
        obj["MetaData"] = {"CreateTime": current["MetaData"]["CreateTime"],
                           "LastUpdatedTime": self._tick()}
        self.objects[entity][obj["Id"]] = obj
        self._changed(entity, obj, "Update")
        self._settle(entity, obj, current)
        return obj

    def _delete(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        current = self._get(entity, body.get("Id"))
        if str(body.get("SyncToken")) != current["SyncToken"]:
            raise Fault(400, "5010", "Stale Object Error", "Stale Object Error", "SyncToken")
        if entity == "Invoice" and current.get("LinkedTxn"):
            raise Fault(400, "6000", "A business validation error has occurred while "
                        "processing your request", "Business Validation Error: delete the "
                        "payments applied to this invoice first")
        del self.objects[entity][current["Id"]]
        tombstone = {"Id": current["Id"], "status": "Deleted",
                     "MetaData": {"LastUpdatedTime": self._tick()}}
        self.deleted[entity].append(tombstone)
        self._changed(entity, tombstone, "Delete")
        self._settle(entity, None, current)
        return {"Id": current["Id"], "status": "Deleted", "domain": "QBO"}

    def _settle(self, entity: str, new: dict | None, old: dict | None) -> None:
        """A payment written or deleted: the invoices it applied to get their new balance."""
        if entity != "Payment":
            return
        touched = {t for obj in (new, old) if obj for t in self._linked(obj)}
        for invoice_id in sorted(touched):
            invoice = self.objects["Invoice"].get(invoice_id)
            if invoice is None:
                continue
            self._balance(invoice)
            invoice["SyncToken"] = str(int(invoice["SyncToken"]) + 1)
            invoice["MetaData"]["LastUpdatedTime"] = self._tick()
            self._changed("Invoice", invoice, "Update")

    @staticmethod
    def _linked(payment: dict[str, Any]) -> dict[str, Decimal]:
        """Amount applied per invoice id by one payment's lines."""
        applied: dict[str, Decimal] = {}
        for line in payment.get("Line") or []:
            for txn in line.get("LinkedTxn") or []:
                if txn.get("TxnType") == "Invoice":
                    tid = str(txn.get("TxnId"))
                    applied[tid] = applied.get(tid, ZERO) + _money(line.get("Amount"), "Amount")
        return applied

    def _balance(self, invoice: dict[str, Any], *, excluding: str | None = None,
                 extra: Decimal = ZERO) -> Decimal:
        """Set (and return) the invoice's Balance and LinkedTxn from the stored payments."""
        paid, links = ZERO, []
        for payment in self.objects["Payment"].values():
            amount = self._linked(payment).get(invoice["Id"])
            if amount is not None and payment["Id"] != excluding:
                paid += amount
                links.append({"TxnId": payment["Id"], "TxnType": "Payment"})
        balance = invoice["TotalAmt"] - paid - extra
        if excluding is None:
            invoice["Balance"], invoice["LinkedTxn"] = balance, links
        return balance

    def _changed(self, entity: str, obj: dict[str, Any], operation: str) -> None:
        if entity in WEBHOOK_ENTITIES:
            self.pending.append({"name": entity, "id": obj["Id"], "operation": operation,
                                 "lastUpdated": obj["MetaData"]["LastUpdatedTime"]})

    def _flush_webhook(self) -> None:
        if self.pending:
            entities, self.pending = self.pending, []
            self.webhook({"eventNotifications": [{
                "realmId": self.realm_id, "dataChangeEvent": {"entities": entities}}]})

    # --- validation and derived fields, per entity ------------------------------------------

    def _prepare(self, entity: str, obj: dict[str, Any]) -> None:
        if entity in NAMED:
            self._named(entity, obj)
        if entity in ("Invoice", "CreditMemo"):
            self._sales_document(entity, obj)
        elif entity == "JournalEntry":
            self._journal(obj)
        elif entity == "Payment":
            self._payment(obj)

    def _exists(self, entity: str, ref: Any, element: str) -> None:
        if _ref(ref) not in self.objects[entity]:
            raise Fault(400, "2500", "Invalid Reference Id", f"Invalid Reference Id : "
                        f"{entity} {_ref(ref)} does not exist", element)

    def _named(self, entity: str, obj: dict[str, Any]) -> None:
        field = NAMED[entity]
        if entity == "Customer" and not obj.get("DisplayName"):
            obj["DisplayName"] = obj.get("CompanyName") or obj.get("GivenName")
        _required(obj, field)
        name = str(obj[field]).strip().casefold()
        for other in self.objects[entity].values():
            if other["Id"] != obj["Id"] and str(other[field]).strip().casefold() == name:
                raise Fault(400, "6240", "Duplicate Name Exists Error", "The name supplied "
                            f"already exists. : Another {entity.lower()} is already using "
                            "this name. Please use a different name.", field)
        obj.setdefault("Active", True)
        obj.setdefault("FullyQualifiedName", obj[field])
        if entity == "Item":
            obj.setdefault("Type", "Service")
            if obj["Type"] in ("Service", "NonInventory"):
                _required(obj, "IncomeAccountRef")
                self._exists("Account", obj["IncomeAccountRef"], "IncomeAccountRef")
        if entity == "Account":
            _required(obj, "AccountType")

    def _doc_number(self, entity: str, obj: dict[str, Any]) -> None:
        number = obj.get("DocNumber")
        if not number:
            return
        if len(str(number)) > MAX_DOC_NUMBER:
            raise Fault(400, "2050", "String length is either shorter or longer than "
                        "supported by specification", f"DocNumber is {len(number)} characters;"
                        f" the maximum is {MAX_DOC_NUMBER}", "DocNumber")
        for other in self.objects[entity].values():
            if other["Id"] != obj["Id"] and other.get("DocNumber") == number:
                raise Fault(400, "6140", "Duplicate Document Number Error", "You must specify "
                            f"a different number. This number has already been used. DocNumber"
                            f"={number} is assigned to TxnType={entity} with TxnId="
                            f"{other['Id']}", "DocNumber")

    def _sales_document(self, entity: str, obj: dict[str, Any]) -> None:
        _required(obj, "CustomerRef", "Line")
        self._exists("Customer", obj["CustomerRef"], "CustomerRef")
        self._doc_number(entity, obj)
        lines, subtotal = [], ZERO
        for line in obj["Line"]:
            if line.get("DetailType") == "SubTotalLineDetail":
                continue  # computed, as QuickBooks does
            detail = line.get("SalesItemLineDetail") or {}
            if line.get("DetailType") != "SalesItemLineDetail":
                raise Fault(400, "2170", "Invalid Enumeration", "Line.DetailType must be "
                            "SalesItemLineDetail", "Line.DetailType")
            amount = _money(line.get("Amount"), "Line.Amount")
            self._exists("Item", detail.get("ItemRef"), "Line.SalesItemLineDetail.ItemRef")
            if detail.get("ClassRef"):
                self._exists("Class", detail["ClassRef"], "Line.SalesItemLineDetail.ClassRef")
            for name in ("Qty", "UnitPrice"):
                if detail.get(name) is not None:
                    detail[name] = _money(detail[name], name)
            if detail.get("Qty") is not None and detail.get("UnitPrice") is not None:
                product = detail["Qty"] * detail["UnitPrice"]
                if product.quantize(CENT, ROUND_HALF_UP) != amount:
                    raise Fault(400, "6070", "Amount is not equal to UnitPrice * Qty",
                                f"Amount {amount} is not UnitPrice * Qty ({product})",
                                "Line.Amount")
            lines.append({**line, "Id": str(len(lines) + 1), "LineNum": len(lines) + 1,
                          "Amount": amount, "SalesItemLineDetail": detail})
            subtotal += amount
        if not lines:
            _required({}, "Line")
        tax = _money((obj.get("TxnTaxDetail") or {}).get("TotalTax", "0"), "TotalTax")
        total = subtotal + tax
        if total < 0:
            raise Fault(400, "6000", "A business validation error has occurred while "
                        "processing your request", "Business Validation Error: the "
                        "transaction total cannot be negative", "TotalAmt")
        obj["Line"] = [*lines, {"Amount": subtotal, "DetailType": "SubTotalLineDetail",
                                "SubTotalLineDetail": {}}]
        obj["TxnTaxDetail"] = {**(obj.get("TxnTaxDetail") or {}), "TotalTax": tax}
        obj.setdefault("TxnDate", _now().date().isoformat())
        obj["TotalAmt"] = total
        if entity == "Invoice":
            obj.setdefault("DueDate", obj["TxnDate"])
            if self._balance(obj) < 0:
                raise Fault(400, "6000", "A business validation error has occurred while "
                            "processing your request", "Business Validation Error: the "
                            "payments applied exceed the new total", "TotalAmt")
        else:
            obj["Balance"] = obj["RemainingCredit"] = total

    def _journal(self, obj: dict[str, Any]) -> None:
        _required(obj, "Line")
        self._doc_number("JournalEntry", obj)
        totals = {"Debit": ZERO, "Credit": ZERO}
        for n, line in enumerate(obj["Line"], start=1):
            detail = line.get("JournalEntryLineDetail") or {}
            posting = detail.get("PostingType")
            if line.get("DetailType") != "JournalEntryLineDetail" or posting not in totals:
                raise Fault(400, "2170", "Invalid Enumeration", "Each line needs DetailType "
                            "JournalEntryLineDetail and PostingType Debit or Credit",
                            "Line.JournalEntryLineDetail.PostingType")
            self._exists("Account", detail.get("AccountRef"), "Line.AccountRef")
            if detail.get("ClassRef"):
                self._exists("Class", detail["ClassRef"], "Line.ClassRef")
            line["Amount"] = _money(line.get("Amount"), "Line.Amount")
            line["Id"] = str(n)
            totals[posting] += line["Amount"]
        if totals["Debit"] != totals["Credit"]:
            raise Fault(400, "6000", "A business validation error has occurred while "
                        "processing your request", "Business Validation Error: You can't "
                        f"save this transaction because it's out of balance (debits "
                        f"{totals['Debit']}, credits {totals['Credit']}).", "Line")
        obj.setdefault("TxnDate", _now().date().isoformat())
        obj["TotalAmt"] = totals["Debit"]

    def _payment(self, obj: dict[str, Any]) -> None:
        _required(obj, "CustomerRef", "TotalAmt")
        self._exists("Customer", obj["CustomerRef"], "CustomerRef")
        obj["TotalAmt"] = total = _money(obj["TotalAmt"], "TotalAmt")
        for line in obj.get("Line") or []:
            line["Amount"] = _money(line.get("Amount"), "Line.Amount")
        applied = self._linked(obj)
        for invoice_id, amount in applied.items():
            invoice = self.objects["Invoice"].get(invoice_id)
            if invoice is None:
                self._exists("Invoice", {"value": invoice_id}, "Line.LinkedTxn.TxnId")
            if _ref(invoice["CustomerRef"]) != _ref(obj["CustomerRef"]):
                raise Fault(400, "6000", "A business validation error has occurred while "
                            "processing your request", f"Business Validation Error: invoice "
                            f"{invoice_id} belongs to another customer", "Line.LinkedTxn")
            if amount <= 0 or self._balance(invoice, excluding=obj["Id"], extra=amount) < 0:
                raise Fault(400, "6000", "A business validation error has occurred while "
                            "processing your request", f"Business Validation Error: {amount}"
                            f" is more than invoice {invoice_id} still owes", "Line.Amount")
        unapplied = total - sum(applied.values(), ZERO)
        if unapplied < 0:
            raise Fault(400, "6000", "A business validation error has occurred while "
                        "processing your request", "Business Validation Error: the lines "
                        "apply more than the payment's TotalAmt", "TotalAmt")
        obj["UnappliedAmt"] = unapplied
        obj.setdefault("TxnDate", _now().date().isoformat())

    # --- reads ------------------------------------------------------------------------------

    def _query(self, text: str) -> dict[str, Any]:
        head = re.match(r"\s*select\s+(?P<what>.+?)\s+from\s+(?P<entity>\w+)(?P<rest>.*)$",
                        text, re.IGNORECASE | re.DOTALL)
        if head is None:
            raise _parse_error("expected SELECT ... FROM <Entity>")
        entity = ENTITIES.get(head["entity"].lower())
        if entity is None:
            raise _parse_error(f"unknown entity {head['entity']}")
        where, order, start, limit = _clauses(head["rest"])
        rows = [o for o in self.objects[entity].values()
                if all(_matches(o, *condition) for condition in where)]
        if head["what"].replace(" ", "").lower() == "count(*)":
            return {"QueryResponse": {"totalCount": len(rows)}}
        rows.sort(key=lambda o: int(o["Id"]))
        for field, descending in reversed(order):
            rows.sort(key=lambda o, f=field: _sort_key(_field(o, f)), reverse=descending)
        page = rows[start - 1:start - 1 + limit]
        if not page:
            return {"QueryResponse": {}}
        return {"QueryResponse": {entity: copy.deepcopy(page), "startPosition": start,
                                  "maxResults": len(page)}}

    def _cdc(self, names: str, since_text: str) -> dict[str, Any]:
        try:
            since = datetime.fromisoformat(since_text.replace(" ", "+"))
        except ValueError as exc:
            raise Fault(400, "2010", "Request has invalid or unsupported property",
                        "changedSince must be an ISO-8601 date-time", "changedSince") from exc
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        if since < _now() - timedelta(days=CDC_DAYS):
            raise Fault(400, "2010", "Request has invalid or unsupported property",
                        f"changedSince cannot be more than {CDC_DAYS} days ago", "changedSince")
        found: list[tuple[datetime, str, dict[str, Any]]] = []
        for name in filter(None, (n.strip() for n in names.split(","))):
            entity = ENTITIES.get(name.lower())
            if entity is None:
                raise Fault(400, "2010", "Request has invalid or unsupported property",
                            f"unknown entity {name}", "entities")
            for obj in [*self.objects[entity].values(), *self.deleted[entity]]:
                moment = datetime.fromisoformat(obj["MetaData"]["LastUpdatedTime"])
                if moment >= since:
                    found.append((moment, entity, obj))
        found.sort(key=lambda item: item[0])
        grouped: dict[str, list[dict[str, Any]]] = {}
        for _, entity, obj in found[:CDC_MAX]:
            grouped.setdefault(entity, []).append(copy.deepcopy(obj))
        return {"CDCResponse": [{"QueryResponse": [
            {entity: objs, "startPosition": 1, "maxResults": len(objs), "totalCount": len(objs)}
            for entity, objs in grouped.items()]}]}


# --- the query language ---------------------------------------------------------------------


def _parse_error(detail: str) -> Fault:
    return Fault(400, "4000", "Error parsing query", f"QueryParserError: {detail}")


def _literal(token: str) -> Any:
    if token.startswith("'"):
        return token[1:-1].replace("\\'", "'")
    if token.lower() in ("true", "false"):
        return token.lower() == "true"
    return token


def _clauses(rest: str) -> tuple[list[tuple[str, str, Any]], list[tuple[str, bool]], int, int]:
    """WHERE conditions, ORDERBY fields, STARTPOSITION and MAXRESULTS of a query's tail."""
    tokens = TOKEN.findall(rest.strip())
    where: list[tuple[str, str, Any]] = []
    order: list[tuple[str, bool]] = []
    start, limit, i = 1, DEFAULT_RESULTS, 0

    def take() -> str:
        nonlocal i
        if i >= len(tokens):
            raise _parse_error("unexpected end of query")
        i += 1
        return tokens[i - 1]

    while i < len(tokens):
        word = take().upper()
        if word in ("WHERE", "AND"):
            field, op = take(), take().upper()
            if op == "IN":
                values, token = [], take()
                while token != ")":
                    if token not in ("(", ","):
                        values.append(_literal(token))
                    token = take()
                where.append((field, "IN", values))
            elif op in ("=", "!=", "<", ">", "<=", ">=", "LIKE"):
                where.append((field, op, _literal(take())))
            else:
                raise _parse_error(f"unsupported operator {op}")
        elif word == "OR":
            raise _parse_error("OR is not supported in WHERE; run one query per value")
        elif word == "ORDERBY":
            order.append((take(), False))
            while i < len(tokens) and tokens[i].upper() in ("ASC", "DESC", ","):
                if take().upper() == "DESC":
                    order[-1] = (order[-1][0], True)
                elif tokens[i - 1] == ",":
                    order.append((take(), False))
        elif word in ("STARTPOSITION", "MAXRESULTS"):
            try:
                number = int(take())
            except ValueError as exc:
                raise _parse_error(f"{word} needs a number") from exc
            if word == "STARTPOSITION":
                start = max(1, number)
            elif not 0 < number <= MAX_RESULTS:
                raise _parse_error(f"MAXRESULTS must be between 1 and {MAX_RESULTS}")
            else:
                limit = number
        else:
            raise _parse_error(f"unexpected {word}")
    return where, order, start, limit


def _comparable(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return str(value).casefold()


def _sort_key(value: Any) -> tuple[int, Any]:
    value = _comparable(value)
    return (0, value) if isinstance(value, Decimal) else (1, str(value))


def _matches(obj: dict[str, Any], field: str, op: str, wanted: Any) -> bool:
    actual = _comparable(_field(obj, field))
    if op == "IN":
        return actual in [_comparable(w) for w in wanted]
    if op == "LIKE":
        pattern = re.escape(str(wanted).casefold()).replace("%", ".*")
        return actual is not None and re.fullmatch(pattern, str(actual)) is not None
    wanted = _comparable(wanted)
    if op in ("=", "!="):
        return (actual == wanted) == (op == "=")
    if actual is None or type(actual) is not type(wanted):
        return False
    return {"<": actual < wanted, ">": actual > wanted, "<=": actual <= wanted,
            ">=": actual >= wanted}[op]
