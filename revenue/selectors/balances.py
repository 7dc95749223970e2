"""Contract balances at a period end (DOMAIN.md, Revenue recognition: Balances).

Per contract: billed to date B (issued invoices' subtotals less issued credit notes', issue
date on or before the period end) and recognised to date R (recognition entries of the months
that end on or before it). R > B is an unbilled receivable (contract asset), B > R deferred
revenue (contract liability); at most one of the two is non-zero. One row per contract, then
one total row per currency (amounts in different currencies are never added up).

The same figures are kept in the ledger: every issued document and every recognition entry
posts a journal entry whose unbilled / deferred lines move by exactly R - B
(services/journals.py), so the journal-derived balances at the same date must agree. Each row
carries them (`journal_unbilled`, `journal_deferred`) where the contract has journal lines, and
`ledger_matches` says whether they agree: the auditors' reconciliation on the page.

Every figure is an aggregate query grouped by contract (five queries whatever the number of
contracts); each can be reproduced by plain SQL over the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Q, Sum, When

from billing.models import Invoice, InvoiceLine
from psa.common.money import ZERO, quantize
from psa.models import Contract, LegalEntity
from revenue.models import AccountKey, JournalLine, RecognitionEntry

AMOUNT = DecimalField(max_digits=16, decimal_places=2)
CHUNK = 2000


@dataclass(frozen=True)
class BalanceRow:
    """Billed and recognised to date of one contract (or, with no contract, a currency's
    total) and the balance they leave."""

    contract_id: int | None
    contract_code: str
    contract_name: str
    client_name: str
    legal_entity_code: str
    currency: str
    billed: Decimal
    recognised: Decimal
    unbilled: Decimal  # contract asset: max(R - B, 0); a total row sums its contracts'
    deferred: Decimal  # contract liability: max(B - R, 0); a total row sums its contracts'
    journal_unbilled: Decimal | None = None
    journal_deferred: Decimal | None = None

    @property
    def is_total(self) -> bool:
        return self.contract_id is None

    @property
    def ledger_matches(self) -> bool | None:
        """Whether the journals give the same balances (None: the contract has no journals)."""
        if self.journal_unbilled is None or self.journal_deferred is None:
            return None
        return (self.journal_unbilled, self.journal_deferred) == (self.unbilled, self.deferred)


def first_month_after(period_end: date) -> date:
    """The first day of the first month that does not end on or before `period_end`."""
    return (period_end + timedelta(days=1)).replace(day=1)


def _scope(legal_entity: LegalEntity | int | None, contract: Contract | int | None,
           prefix: str) -> Q:
    q = Q()
    if legal_entity is not None:
        entity_id = legal_entity if isinstance(legal_entity, int) else legal_entity.pk
        q &= Q(**{f"{prefix}legal_entity_id": entity_id})
    if contract is not None:
        q &= Q(**{f"{prefix}pk": contract if isinstance(contract, int) else contract.pk})
    return q


def _signed(field: str, kind_field: str) -> Case:
    """The amount with a credit note's sign (negative)."""
    return Case(When(**{kind_field: Invoice.Kind.CREDIT_NOTE}, then=-F(field)),
                default=F(field), output_field=AMOUNT)


def billed_to_date(*, period_end: date, legal_entity: LegalEntity | int | None = None,
                   contract: Contract | int | None = None) -> dict[int, Decimal]:
    """B per contract: issued documents' subtotals (credit notes negative) issued on or before
    `period_end`. A consolidated document (no contract) counts each line for its contract."""
    issued = Q(status__in=Invoice.ISSUED_STATES, issue_date__lte=period_end)
    billed: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for contract_id, total in (
            Invoice.objects.filter(issued, contract__isnull=False)
            .filter(_scope(legal_entity, contract, "contract__"))
            .order_by().values("contract_id")
            .annotate(total=Sum(_signed("subtotal", "kind")))
            .values_list("contract_id", "total")):
        billed[contract_id] += total or ZERO
    lines = (InvoiceLine.objects.filter(invoice__in=Invoice.objects.filter(
        issued, contract__isnull=True)).filter(_scope(legal_entity, contract, "contract__")))
    for contract_id, total in (lines.order_by().values("contract_id")
                               .annotate(total=Sum(_signed("amount", "invoice__kind")))
                               .values_list("contract_id", "total")):
        if contract_id is not None:
            billed[contract_id] += total or ZERO
    return dict(billed)


def recognised_to_date(*, period_end: date, legal_entity: LegalEntity | int | None = None,
                       contract: Contract | int | None = None) -> dict[int, Decimal]:
    """R per contract: recognition entries of the months ending on or before `period_end`."""
    return {contract_id: total or ZERO for contract_id, total in (
        RecognitionEntry.objects.filter(month__lt=first_month_after(period_end))
        .filter(_scope(legal_entity, contract, "contract__"))
        .order_by().values("contract_id").annotate(total=Sum("amount"))
        .values_list("contract_id", "total"))}


def journal_balances_at(*, period_end: date, legal_entity: LegalEntity | int | None = None,
                        contract: Contract | int | None = None,
                        ) -> dict[int, tuple[Decimal, Decimal]]:
    """(unbilled receivable, deferred revenue) per contract from its journal lines dated on or
    before `period_end`; contracts without such lines are absent."""
    sums: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in (JournalLine.objects.filter(
            entry__entry_date__lte=period_end, entry__contract__isnull=False,
            account_key__in=(AccountKey.UNBILLED, AccountKey.DEFERRED))
            .filter(_scope(legal_entity, contract, "entry__contract__"))
            .order_by().values("entry__contract_id", "account_key")
            .annotate(debit=Sum("debit"), credit=Sum("credit"))):
        sums[row["entry__contract_id"]][row["account_key"]] = (
            (row["debit"] or ZERO) - (row["credit"] or ZERO))
    return {pk: (by_key.get(AccountKey.UNBILLED, ZERO), -by_key.get(AccountKey.DEFERRED, ZERO))
            for pk, by_key in sums.items()}


def _contract_facts(ids: Sequence[int]) -> dict[int, dict[str, object]]:
    facts: dict[int, dict[str, object]] = {}
    for start in range(0, len(ids), CHUNK):
        for row in (Contract.objects.filter(pk__in=ids[start:start + CHUNK]).order_by()
                    .values("pk", "code", "name", "currency", "client__name",
                            "legal_entity__code")):
            facts[row["pk"]] = row
    return facts


def _totals(rows: Iterable[BalanceRow]) -> list[BalanceRow]:
    """One total row per currency, in currency order. Its unbilled and deferred figures are
    the sums of the contracts' (the balance sheet shows assets and liabilities gross; the
    total's own R - B would net one contract's asset against another's liability)."""
    by_currency: dict[str, list[BalanceRow]] = defaultdict(list)
    for row in rows:
        by_currency[row.currency].append(row)
    totals = []
    for currency in sorted(by_currency):
        group = by_currency[currency]
        total = BalanceRow(
            contract_id=None, contract_code="", contract_name=f"Total {currency}",
            client_name="", legal_entity_code="", currency=currency,
            billed=sum((r.billed for r in group), ZERO),
            recognised=sum((r.recognised for r in group), ZERO),
            unbilled=sum((r.unbilled for r in group), ZERO),
            deferred=sum((r.deferred for r in group), ZERO))
        totals.append(total)
    return totals


def contract_balances_at(*, period_end: date, legal_entity: LegalEntity | int | None = None,
                         contract: Contract | int | None = None) -> list[BalanceRow]:
    """B, R and the balance per contract at `period_end` (contracts with neither are left
    out), ordered by client and contract, then one total row per currency."""
    scope = {"period_end": period_end, "legal_entity": legal_entity, "contract": contract}
    billed = billed_to_date(**scope)
    recognised = recognised_to_date(**scope)
    ledger = journal_balances_at(**scope)
    ids = sorted(set(billed) | set(recognised))
    facts = _contract_facts(ids)
    rows = []
    for pk in ids:
        fact = facts[pk]
        currency = str(fact["currency"])
        journal = ledger.get(pk)
        b = quantize(billed.get(pk, ZERO), currency)
        r = quantize(recognised.get(pk, ZERO), currency)
        rows.append(BalanceRow(
            contract_id=pk, contract_code=str(fact["code"]), contract_name=str(fact["name"]),
            client_name=str(fact["client__name"]),
            legal_entity_code=str(fact["legal_entity__code"]), currency=currency,
            billed=b, recognised=r, unbilled=max(r - b, ZERO), deferred=max(b - r, ZERO),
            journal_unbilled=quantize(journal[0], currency) if journal else None,
            journal_deferred=quantize(journal[1], currency) if journal else None))
    rows.sort(key=lambda r: (r.client_name.lower(), r.contract_code))
    return [*rows, *_totals(rows)]
