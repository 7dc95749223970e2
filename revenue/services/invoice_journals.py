"""Journal entries for issued invoices and credit notes (DOMAIN.md, Revenue recognition).

An issued invoice debits accounts receivable (total), credits tax payable (tax), and credits
the contract's unbilled receivable up to its balance, the rest of the subtotal to deferred
revenue; a credit note is the mirror (`journals.invoice_postings`). The split needs the
contract's balances *before* the posting, read from its journal lines
(`journals.contract_balances_many`), so the posting runs in one transaction that first locks
the contract rows: two invoices of one contract posted by two workers at once take turns and
never both credit the same unbilled balance.

Keys (`JournalEntry` allows one entry per (source, source_id)):

- an invoice or credit note for one contract (`Invoice.contract` set) posts ONE entry:
  source "invoice" or "credit_note", source_id = the document's id, contract = its contract;
- a consolidated document (`Invoice.contract` null, each line carries its contract) posts
  ONE ENTRY PER CONTRACT, because the per-contract balances are read from
  `JournalEntry.contract` and must move with each contract's part. Each part's subtotal is
  the sum of that contract's lines; the document's tax is split over the parts by subtotal
  with `money.split` (the last part takes the residual), so the parts' receivable debits add
  up to the document's total to the cent. The part is keyed by the id of the contract's first
  line on the document (lines are immutable once issued, so the key is stable) under the
  sources "invoice_line" / "credit_line". A line id under "invoice" would collide with some
  other invoice's id (two id sequences, one key column) and silently stop that invoice from
  posting, hence the separate source values. `invoice_journal_entries` finds a document's
  entries whichever way it was keyed.

A part whose lines add up to a negative amount (a consolidated invoice where one contract
only carries a credit-like adjustment) is posted as the mirror posting of its absolute amount,
so every line stays a positive debit or credit. A zero part posts nothing.

Re-delivery of `invoice.issued` is harmless: `journal_post` returns None for a key that
already has an entry, and all parts of one document post in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Min, Q, QuerySet, Sum

from billing.models import Invoice, InvoiceLine
from psa.common.errors import DomainError
from psa.common.money import ZERO, split
from psa.models import Contract
from psa.services.periods import period_lock_open
from revenue.models import JournalEntry
from revenue.services.journals import contract_balances_many, invoice_postings, journal_post

# Consolidated documents' per-contract parts (see the module docstring). These two values
# fit JournalEntry.source (max 12 characters); JournalEntry.Source should list them.
SOURCE_INVOICE_PART = "invoice_line"
SOURCE_CREDIT_NOTE_PART = "credit_line"


class InvoiceJournalError(DomainError):
    """An issued document cannot be journalised as it stands (e.g. a line with no contract)."""

    code = "invoice_journal"


@dataclass(frozen=True)
class ContractPart:
    """One contract's share of a document: its subtotal and the key its entry is posted under."""

    contract_id: int
    subtotal: Decimal
    source: str
    source_id: int


def _parts(invoice: Invoice) -> list[ContractPart]:
    """The document's part per contract (one aggregate query for a consolidated document)."""
    credit_note = invoice.kind == Invoice.Kind.CREDIT_NOTE
    if invoice.contract_id is not None:
        source = JournalEntry.Source.CREDIT_NOTE if credit_note else JournalEntry.Source.INVOICE
        return [ContractPart(invoice.contract_id, invoice.subtotal, source, invoice.pk)]
    source = SOURCE_CREDIT_NOTE_PART if credit_note else SOURCE_INVOICE_PART
    rows = list(InvoiceLine.objects.filter(invoice=invoice).order_by()
                .values("contract_id").annotate(subtotal=Sum("amount"), first=Min("id"))
                .order_by("first"))
    if any(row["contract_id"] is None for row in rows):
        raise InvoiceJournalError(
            f"{invoice} is consolidated but has a line without a contract: its revenue "
            "cannot be attributed to a contract.", attr="lines")
    return [ContractPart(row["contract_id"], row["subtotal"] or ZERO, source, row["first"])
            for row in rows]


def _tax_shares(invoice: Invoice, parts: list[ContractPart]) -> list[Decimal]:
    """The document's tax split over the parts by subtotal, the last part taking the residual."""
    if len(parts) == 1:
        return [invoice.tax_amount]
    weights = [part.subtotal for part in parts]
    if not invoice.tax_amount or sum(weights, ZERO) <= 0:
        return [ZERO for _ in parts]
    return split(invoice.tax_amount, weights, invoice.currency)


@transaction.atomic
def invoice_journal_post(*, invoice_id: int) -> list[JournalEntry]:
    """Post the journal entries of an issued invoice or credit note; the new entries (none when
    already posted, when the document is not issued, or when its amounts are zero).

    Raises InvoiceJournalError for a consolidated line without a contract, PeriodClosedError
    when the issue date's period has been closed since (journals.journal_post).
    """
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None or invoice.status not in Invoice.ISSUED_STATES:
        return []
    parts = _parts(invoice)
    contract_ids = sorted({part.contract_id for part in parts})
    # The month first, then the contracts: the order a recognition run takes them in.
    period_lock_open(legal_entity_id=invoice.legal_entity_id, on=invoice.issue_date)
    contracts = {c.pk: c for c in Contract.objects.select_for_update(of=("self",))
                 .filter(pk__in=contract_ids).order_by("pk")}
    balances = contract_balances_many(contract_ids)
    credit_note = invoice.kind == Invoice.Kind.CREDIT_NOTE
    noun = "Credit note" if credit_note else "Invoice"
    posted = []
    for part, tax in zip(parts, _tax_shares(invoice, parts), strict=True):
        unbilled, deferred = balances.get(part.contract_id, (ZERO, ZERO))
        mirror = part.subtotal < 0  # a negative part is posted as the opposite document
        contract = contracts[part.contract_id]
        entry = journal_post(
            legal_entity=invoice.legal_entity_id, entry_date=invoice.issue_date,
            source=part.source, source_id=part.source_id, currency=invoice.currency,
            description=f"{noun} {invoice.number}: {contract.code}",
            postings=invoice_postings(subtotal=abs(part.subtotal), tax=abs(tax),
                                      unbilled=unbilled, deferred=deferred,
                                      credit_note=credit_note != mirror),
            contract=contract)
        if entry is not None:
            posted.append(entry)
    return posted


def invoice_journal_entries(invoice: Invoice) -> QuerySet[JournalEntry]:
    """The journal entries posted for a document, keyed by its id or by its lines' ids."""
    return JournalEntry.objects.filter(
        Q(source__in=(JournalEntry.Source.INVOICE, JournalEntry.Source.CREDIT_NOTE),
          source_id=invoice.pk)
        | Q(source__in=(SOURCE_INVOICE_PART, SOURCE_CREDIT_NOTE_PART),
            source_id__in=InvoiceLine.objects.filter(invoice=invoice).values("pk")))
