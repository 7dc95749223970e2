"""The ERP flows (QuickBooks Online): what we push, and the payments we take back.

Every push is keyed so that a retry can never create a second document:

1. our `ExternalRef` first: a row already linked is done (a re-delivered event is a no-op);
2. else a create with a stable `requestid` per row (`psa-invoice-42`, `psa-customer-7`): if the
   answer to an earlier attempt was lost (timeout, dropped connection, worker killed before it
   linked), QuickBooks returns that earlier document instead of making another;
3. then `ref_link`. Name-list duplicates (6240) and document numbers already used (6140) are
   looked up and adopted when they are plainly ours, so a lost `requestid` memory is safe too.

Mapping choices (docs/connectors.md):

- Customer: DisplayName = the client's name, or "name (code)" when another client of ours has
  that name there; a customer of that name nobody here owns (the bookkeeper's) is adopted.
- Invoice/CreditMemo lines: one SalesItemLineDetail per line on one "Services" item (found by
  name, else created on the income account below), ClassRef = the line's project's Class (one
  per project, linked by ExternalRef), Qty/UnitPrice only when they multiply to the amount to
  the cent (QuickBooks refuses otherwise), tax in TxnTaxDetail.TotalTax, DocNumber = our number.
- Accounts: the connection's `options["accounts"]` ({our account code: QuickBooks Account Id})
  first, else the QuickBooks account whose AcctNum is our code. Nothing is created in the
  firm's chart of accounts: a missing account fails the push with a message saying so.
- Journals: a QuickBooks Invoice already posts receivable, tax and its item's income account,
  so an invoice's or credit note's journal is pushed without its receivable and tax lines,
  their net moved to the Services item's income account instead (it nets out there), and only
  after the document itself is in QuickBooks. The books there then match ours account by
  account, with receivable counted once. Each entry carries the Class of its contract's first
  project.
- Payments: the ERP owns them. One `billing.Payment` per (QuickBooks payment, invoice) it
  applies to, linked by ExternalRef `"<payment Id>:<invoice Id>"`; a replay records nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction

from billing.models import Invoice, Payment
from billing.services.payments import payment_record
from crm_sync.connectors.quickbooks import QboApi, QuickBooksConfigError, fault_codes
from crm_sync.http import RemoteError
from crm_sync.models import Connection
from crm_sync.services.refs import ref_link, ref_lookup, ref_of
from psa.common.errors import DomainError, PeriodClosedError
from psa.common.logging import system_user
from psa.common.money import quantize
from psa.models import Client, Contract, ExternalRef, Project
from revenue.models import DEFAULT_ACCOUNTS, AccountKey, JournalEntry
from revenue.services.invoice_journals import SOURCE_CREDIT_NOTE_PART, SOURCE_INVOICE_PART
from revenue.services.journals import account_codes

logger = logging.getLogger(__name__)

SERVICES_ITEM = "Services"
MAX_DOC_NUMBER = 21  # QuickBooks' DocNumber length
CENT = Decimal("0.01")
CUSTOMER_FIELDS = {"name", "code", "billing_address", "billing_contact_email", "country"}
DOCUMENT_SOURCES = {JournalEntry.Source.INVOICE, JournalEntry.Source.CREDIT_NOTE,
                    SOURCE_INVOICE_PART, SOURCE_CREDIT_NOTE_PART}
POSTED_BY_DOCUMENT = {AccountKey.RECEIVABLE, AccountKey.TAX_PAYABLE}


class ErpConflictError(DomainError):
    """QuickBooks holds something that contradicts ours; a person has to look at it."""

    code = "erp_conflict"
    http_status = 409


def _amount(value: Any) -> Decimal:
    """A QuickBooks amount (a JSON number) as Decimal, to the cent when that loses nothing
    (anything finer is left for the billing services to refuse)."""
    amount = Decimal(str(value))  # str() keeps the number's shortest exact digits
    cents = amount.quantize(CENT)
    return cents if cents == amount else amount


def _name(text: str) -> str:
    return text.replace(":", "-").strip()  # a colon in a QuickBooks name means a sub-level


@dataclass
class ErpSync:
    """The flows of one QuickBooks connection (caches live for one delivery or message)."""

    connection: Connection
    api: QboApi
    _accounts: dict[str, str] = field(default_factory=dict)
    _classes: dict[int, str] = field(default_factory=dict)
    _services: tuple[str, str] | None = None

    # --- shared -------------------------------------------------------------------------

    def _serves(self, legal_entity_id: int) -> bool:
        """A connection tied to one legal entity keeps that entity's books only."""
        return self.connection.legal_entity_id in (None, legal_entity_id)

    def _link(self, obj: models.Model, external_id: str) -> None:
        try:
            ref_link(self.connection, obj, external_id)
        except IntegrityError:  # linked meanwhile by a concurrent push of the same row
            if ref_of(self.connection, obj) != str(external_id):
                raise

    def _create_or_adopt(self, entity: str, body: dict[str, Any], requestid: str,
                         **unique: str) -> dict[str, Any]:
        """Create a name-list entry; on 6240 (the name exists) return the existing one."""
        try:
            return self.api.create(entity, body, requestid=requestid)
        except RemoteError as exc:
            found = self.api.find(entity, **unique) if "6240" in fault_codes(exc) else None
            if found is None:
                raise
            return found

    def account_id(self, code: str) -> str:
        """The QuickBooks Account Id of our account `code` (options, else by AcctNum)."""
        mapped = (self.connection.options.get("accounts") or {}).get(code)
        if mapped:
            return str(mapped)
        if code not in self._accounts:
            found = self.api.find("Account", AcctNum=code)
            if found is None:
                raise QuickBooksConfigError(
                    f"QuickBooks has no account numbered {code}. Give the account that number "
                    f"in QuickBooks, or map it in the connection's options: "
                    f'"accounts": {{"{code}": "<QuickBooks account Id>"}}.', attr="options")
            self._accounts[code] = str(found["Id"])
        return self._accounts[code]

    def services_item(self) -> tuple[str, str]:
        """(Item Id, its income account Id) of the "Services" item, created if missing."""
        if self._services is None:
            item = self.api.find("Item", Name=SERVICES_ITEM)
            if item is None:
                entity_id = self.connection.legal_entity_id
                code = (self.connection.options.get("invoice_income_account")
                        or (account_codes(entity_id)[AccountKey.REVENUE] if entity_id
                            else DEFAULT_ACCOUNTS[AccountKey.REVENUE][0]))
                body = {"Name": SERVICES_ITEM, "Type": "Service",
                        "IncomeAccountRef": {"value": self.account_id(code)}}
                item = self._create_or_adopt("Item", body, "psa-item-services",
                                             Name=SERVICES_ITEM)
            income = (item.get("IncomeAccountRef") or {}).get("value")
            if not income:
                raise QuickBooksConfigError(f'The QuickBooks item "{SERVICES_ITEM}" has no '
                                            "income account.")
            self._services = (str(item["Id"]), str(income))
        return self._services

    def class_for(self, project: Project) -> str:
        """The QuickBooks Class of a project (one per project), created on first use."""
        if project.pk not in self._classes:
            existing = ref_of(self.connection, project)
            if not existing:
                name = _name(f"{project.code} {project.name}")[:100]
                created = self._create_or_adopt("Class", {"Name": name},
                                                f"psa-class-{project.pk}", Name=name)
                self._link(project, created["Id"])
                existing = str(created["Id"])
            self._classes[project.pk] = existing
        return self._classes[project.pk]

    # --- customers ----------------------------------------------------------------------

    def customer_event(self, *, client_id: int, fields: list[str] | None = None) -> None:
        """`client.created` / `client.changed`: create the customer, or update what changed."""
        client = Client.objects.filter(pk=client_id).first()
        if client is None or not self._serves(client.legal_entity_id):
            return
        existing = ref_of(self.connection, client)
        if existing is None:
            self.customer_push(client)
        elif fields is None or CUSTOMER_FIELDS & set(fields):
            self._customer_update(client, existing)

    def customer_push(self, client: Client) -> str:
        """The client's QuickBooks Customer Id, creating (or adopting) the customer once."""
        existing = ref_of(self.connection, client)
        if existing:
            return existing
        body = _customer_body(client, _name(client.name))
        try:
            created = self.api.create("Customer", body, requestid=f"psa-customer-{client.pk}")
        except RemoteError as exc:
            if "6240" not in fault_codes(exc):
                raise
            created = self._customer_named(client, body)
        self._link(client, created["Id"])
        return str(created["Id"])

    def _customer_named(self, client: Client, body: dict[str, Any]) -> dict[str, Any]:
        """The name is taken: adopt that customer unless another client of ours owns it, in
        which case this one becomes "name (code)"."""
        found = self.api.find("Customer", DisplayName=body["DisplayName"])
        owner = ref_lookup(self.connection, Client, found["Id"]) if found else None
        if found is not None and owner in (None, client):
            return found
        coded = {**body, "DisplayName": _name(f"{client.name} ({client.code})")}
        return self._create_or_adopt("Customer", coded, f"psa-customer-{client.pk}-code",
                                     DisplayName=coded["DisplayName"])

    def _customer_update(self, client: Client, customer_id: str) -> None:
        plain, coded = _name(client.name), _name(f"{client.name} ({client.code})")

        def changes(current: dict[str, Any]) -> dict[str, Any]:
            keep = current.get("DisplayName") if current.get("DisplayName") in (
                plain, coded) else plain
            return _customer_body(client, keep)

        try:
            self.api.update("Customer", customer_id, changes)
        except RemoteError as exc:
            if "6240" not in fault_codes(exc):
                raise
            self.api.update("Customer", customer_id, lambda _: _customer_body(client, coded))

    # --- invoices and credit notes ------------------------------------------------------

    def invoice_push_by_id(self, invoice_id: int) -> str | None:
        """`invoice.issued`: push the invoice or credit note (None when not ours to push)."""
        invoice = (Invoice.objects.select_related("client").filter(pk=invoice_id).first())
        if (invoice is None or invoice.status not in Invoice.ISSUED_STATES
                or not self._serves(invoice.legal_entity_id)):
            return None
        return self.invoice_push(invoice)

    def invoice_push(self, invoice: Invoice) -> str:
        """The document's QuickBooks Id: an Invoice, or a CreditMemo for a credit note.

        Raises QuickBooksConfigError for a number QuickBooks cannot hold, ErpConflictError when
        QuickBooks has another document under our number.
        """
        existing = ref_of(self.connection, invoice)
        if existing:
            return existing
        if len(invoice.number) > MAX_DOC_NUMBER:
            raise QuickBooksConfigError(
                f"{invoice.number} is longer than QuickBooks' {MAX_DOC_NUMBER} characters; "
                "shorten the legal entity's invoice prefix.", attr="number")
        entity = "CreditMemo" if invoice.is_credit_note else "Invoice"
        body = self._document_body(invoice)
        try:
            created = self.api.create(entity, body,
                                      requestid=f"psa-{entity.lower()}-{invoice.pk}")
        except RemoteError as exc:
            if "6140" not in fault_codes(exc):
                raise
            created = self._document_numbered(entity, invoice)
        if _amount(created.get("TotalAmt", 0)) != invoice.total:
            logger.warning("%s: QuickBooks %s %s totals %s, ours %s (its own tax rules?)",
                           self.connection.name, entity, invoice.number,
                           created.get("TotalAmt"), invoice.total)
        self._link(invoice, created["Id"])
        return str(created["Id"])

    def _document_numbered(self, entity: str, invoice: Invoice) -> dict[str, Any]:
        """Our number is taken (6140): adopt that document only if it is plainly ours."""
        found = self.api.find(entity, DocNumber=invoice.number)
        owner = ref_lookup(self.connection, Invoice, found["Id"]) if found else None
        if (found is None or owner not in (None, invoice)
                or _amount(found.get("TotalAmt", 0)) != invoice.total):
            raise ErpConflictError(
                f"QuickBooks already has {entity} {invoice.number} and it is not this "
                f"document (total {found and found.get('TotalAmt')}, ours {invoice.total}); "
                "renumber or delete it there, then replay.", attr="number")
        return found

    def _document_body(self, invoice: Invoice) -> dict[str, Any]:
        item_id, _ = self.services_item()
        lines = []
        for line in invoice.lines.select_related("project").order_by("sequence", "id"):
            detail: dict[str, Any] = {"ItemRef": {"value": item_id}}
            if line.project is not None:
                detail["ClassRef"] = {"value": self.class_for(line.project)}
            if (line.quantity is not None and line.unit_price is not None
                    and quantize(line.quantity * line.unit_price, invoice.currency)
                    == line.amount):
                detail.update(Qty=str(line.quantity), UnitPrice=str(line.unit_price))
            lines.append({"Amount": str(line.amount), "DetailType": "SalesItemLineDetail",
                          "Description": line.description, "SalesItemLineDetail": detail})
        body: dict[str, Any] = {
            "CustomerRef": {"value": self.customer_push(invoice.client)},
            "DocNumber": invoice.number, "TxnDate": invoice.issue_date.isoformat(),
            "Line": lines, "TxnTaxDetail": {"TotalTax": str(invoice.tax_amount)},
            "PrivateNote": f"PSA {invoice.get_kind_display().lower()} {invoice.number}"}
        if not invoice.is_credit_note:
            body["DueDate"] = invoice.due_date.isoformat()
        return body

    # --- journals -----------------------------------------------------------------------

    def period_push(self, *, legal_entity_id: int, month: date) -> int:
        """`period.closed`: push the month's journal entries not pushed yet; how many."""
        if not self._serves(legal_entity_id):
            return 0
        pushed = ExternalRef.objects.filter(
            content_type=ContentType.objects.get_for_model(JournalEntry),
            system=self.connection.name).values("object_id")
        entries = (JournalEntry.objects.filter(legal_entity_id=legal_entity_id,
                                               period=month.replace(day=1))
                   .exclude(pk__in=pushed).select_related("contract")
                   .prefetch_related("lines").order_by("entry_date", "pk"))
        return sum(1 for entry in entries if self.journal_push(entry))

    def journal_push(self, entry: JournalEntry) -> str | None:
        """The entry's QuickBooks JournalEntry Id (None when nothing is left to post)."""
        existing = ref_of(self.connection, entry)
        if existing:
            return existing
        document = _document_of(entry)
        if document is not None:  # its receivable is posted by the QuickBooks document
            self.invoice_push(document)
        class_id = self._contract_class(entry.contract)
        lines = []
        for account, net in self._journal_postings(entry):
            detail: dict[str, Any] = {"PostingType": "Debit" if net > 0 else "Credit",
                                      "AccountRef": {"value": account}}
            if class_id:
                detail["ClassRef"] = {"value": class_id}
            lines.append({"Amount": str(abs(net)), "DetailType": "JournalEntryLineDetail",
                          "Description": entry.description,
                          "JournalEntryLineDetail": detail})
        if not lines:
            return None
        body = {"DocNumber": f"PSA-JE-{entry.pk}"[:MAX_DOC_NUMBER],
                "TxnDate": entry.entry_date.isoformat(), "PrivateNote": entry.description,
                "Line": lines}
        created = self.api.create("JournalEntry", body, requestid=f"psa-journal-{entry.pk}")
        self._link(entry, created["Id"])
        return str(created["Id"])

    def _journal_postings(self, entry: JournalEntry) -> list[tuple[str, Decimal]]:
        """(QuickBooks account Id, debit - credit) per line; a document's receivable and tax
        become one line on the Services item's income account (see the module docstring)."""
        postings, moved = [], Decimal("0.00")
        for line in entry.lines.all():
            net = line.debit - line.credit
            if entry.source in DOCUMENT_SOURCES and line.account_key in POSTED_BY_DOCUMENT:
                moved += net
            else:
                postings.append((self.account_id(line.account_code), net))
        if moved:
            postings.append((self.services_item()[1], moved))
        return [(account, net) for account, net in postings if net]

    def _contract_class(self, contract: Contract | None) -> str | None:
        project = contract.projects.order_by("pk").first() if contract else None
        return self.class_for(project) if project else None

    # --- payments -----------------------------------------------------------------------

    def payment_pull(self, payment: dict[str, Any]) -> str:
        """Record a QuickBooks payment on the invoices of ours it applies to (once each)."""
        applied: dict[str, Decimal] = {}
        for line in payment.get("Line") or []:
            for txn in line.get("LinkedTxn") or []:
                if txn.get("TxnType") == "Invoice":
                    key = str(txn["TxnId"])
                    applied[key] = applied.get(key, Decimal("0.00")) + _amount(line["Amount"])
        done, skipped = [], []
        for invoice_ref, amount in applied.items():
            invoice = ref_lookup(self.connection, Invoice, invoice_ref)
            if invoice is None:
                skipped.append(f"invoice {invoice_ref} was not issued here")
            elif self._payment_record(payment, invoice, invoice_ref, amount):
                done.append(f"{amount} {invoice.currency} on {invoice.number}")
            else:
                skipped.append(f"already recorded on {invoice.number}")
        subject = f"QuickBooks payment {payment['Id']}"
        if done:
            return f"recorded {subject}: {', '.join(done)}"
        return f"ignored: {subject}: {'; '.join(skipped) or 'applies to no invoice'}"

    def _payment_record(self, payment: dict[str, Any], invoice: Invoice, invoice_ref: str,
                        amount: Decimal) -> bool:
        """Record one invoice's share; False when it was recorded before.

        Raises PeriodClosedError (with the payment named) for a date in a closed month,
        ErpConflictError when QuickBooks now applies another amount than the one recorded.
        """
        key = f"{payment['Id']}:{invoice_ref}"
        received = date.fromisoformat(payment["TxnDate"])
        try:
            with transaction.atomic():
                locked = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
                recorded = ref_lookup(self.connection, Payment, key)
                if recorded is not None:
                    _same_amount(recorded, amount, payment["Id"])
                    return False
                row = payment_record(
                    invoice=locked, actor=system_user(), amount=amount, received_date=received,
                    reference=f"QuickBooks payment {payment['Id']}",
                    currency=(payment.get("CurrencyRef") or {}).get("value"))
                ref_link(self.connection, row, key)
        except PeriodClosedError as exc:
            raise PeriodClosedError(
                f"QuickBooks payment {payment['Id']} ({amount} on {received}) for "
                f"{invoice.number} cannot be recorded: {exc.detail}", attr=exc.attr) from exc
        except IntegrityError:  # the same payment recorded at this moment by another worker
            if ref_lookup(self.connection, Payment, key) is None:
                raise
            return False
        return True


def _document_of(entry: JournalEntry) -> Invoice | None:
    """The issued invoice or credit note a journal entry was posted for, if any."""
    if entry.source in (JournalEntry.Source.INVOICE, JournalEntry.Source.CREDIT_NOTE):
        document = Invoice.objects.filter(pk=entry.source_id).first()
    elif entry.source in (SOURCE_INVOICE_PART, SOURCE_CREDIT_NOTE_PART):
        document = Invoice.objects.filter(lines__pk=entry.source_id).first()
    else:
        return None
    return document if document and document.status in Invoice.ISSUED_STATES else None


def _same_amount(recorded: Payment, amount: Decimal, payment_id: str) -> None:
    if recorded.amount != amount:
        raise ErpConflictError(
            f"QuickBooks payment {payment_id} now applies {amount} to {recorded.invoice}, but "
            f"{recorded.amount} was recorded here; payments are not adjusted automatically, "
            "correct it by hand.", attr="amount")


def _customer_body(client: Client, display_name: str) -> dict[str, Any]:
    body: dict[str, Any] = {"DisplayName": display_name, "CompanyName": client.name,
                            "Notes": f"PSA client {client.code}"}
    if client.billing_contact_email:
        body["PrimaryEmailAddr"] = {"Address": client.billing_contact_email}
    address = [part.strip() for part in client.billing_address.splitlines() if part.strip()]
    if address or client.country:
        body["BillAddr"] = {**{f"Line{n}": text for n, text in enumerate(address[:5], 1)},
                            "Country": client.country}
    return body
