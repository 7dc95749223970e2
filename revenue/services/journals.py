"""Journal entries (DOMAIN.md: invoice issued, revenue recognised), always balanced.

`journal_post` is the only writer: it refuses an entry whose debits and credits differ, whose
line is both or neither, or whose date falls in a closed period; the database checks the
totals again (`revenue_journalentry_balanced`) and allows one entry per source, so a
re-delivered event posts nothing twice. Per contract, the unbilled receivable and deferred
revenue balances are read from the contract's own journal lines, so at most one of the two is
ever non-zero.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from psa import events
from psa.common.money import column_sum
from psa.models import Contract, LegalEntity
from psa.services.periods import period_lock_open
from revenue.errors import UnbalancedJournalError
from revenue.models import DEFAULT_ACCOUNTS, AccountKey, AccountMapping, JournalEntry, JournalLine

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Posting:
    """One line to post: an account role and either a debit or a credit."""

    key: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO


def account_codes(legal_entity_id: int) -> dict[str, str]:
    """The entity's account code per role, defaults where it has no mapping."""
    codes = {key: code for key, (code, _name) in DEFAULT_ACCOUNTS.items()}
    codes.update(dict(AccountMapping.objects.filter(legal_entity_id=legal_entity_id)
                      .values_list("key", "code")))
    return codes


def contract_balances_many(contract_ids: Sequence[int]) -> dict[int, tuple[Decimal, Decimal]]:
    """(unbilled receivable, deferred revenue) per contract from its journal lines (one
    query); contracts without lines are absent (both zero)."""
    sums: dict[int, dict[str, Decimal]] = {}
    for row in (JournalLine.objects.filter(
            entry__contract_id__in=list(contract_ids),
            account_key__in=(AccountKey.UNBILLED, AccountKey.DEFERRED))
            .order_by().values("entry__contract_id", "account_key")
            .annotate(debit=Sum("debit"), credit=Sum("credit"))):
        sums.setdefault(row["entry__contract_id"], {})[row["account_key"]] = (
            column_sum(row["debit"]) - column_sum(row["credit"]))
    return {pk: (by_key.get(AccountKey.UNBILLED, ZERO), -by_key.get(AccountKey.DEFERRED, ZERO))
            for pk, by_key in sums.items()}


def contract_balances(contract_id: int) -> tuple[Decimal, Decimal]:
    """(unbilled receivable, deferred revenue) of one contract from its journal lines."""
    return contract_balances_many([contract_id]).get(contract_id, (ZERO, ZERO))


@transaction.atomic
def journal_post(*, legal_entity: LegalEntity | int, entry_date: date, source: str,
                 source_id: int, currency: str, description: str,
                 postings: Sequence[Posting], contract: Contract | None = None,
                 publish: bool = True) -> JournalEntry | None:
    """Post one balanced entry; None when the source already has one (idempotent)."""
    entity_id = legal_entity if isinstance(legal_entity, int) else legal_entity.pk
    lines = [p for p in postings if p.debit or p.credit]
    for posting in lines:
        if posting.debit < 0 or posting.credit < 0 or (posting.debit and posting.credit):
            raise UnbalancedJournalError(f"A journal line is a positive debit or a positive "
                                         f"credit, not both ({posting}).")
    debit = sum((p.debit for p in lines), ZERO)
    credit = sum((p.credit for p in lines), ZERO)
    if debit != credit:
        raise UnbalancedJournalError(f"Debits {debit} and credits {credit} differ.")
    if not lines:
        return None
    # Locked, so a month being closed at this moment cannot receive the entry.
    period_lock_open(legal_entity_id=entity_id, on=entry_date)
    if JournalEntry.objects.filter(source=source, source_id=source_id).exists():
        return None
    codes = account_codes(entity_id)
    try:
        with transaction.atomic():
            entry = JournalEntry.objects.create(
                legal_entity_id=entity_id, entry_date=entry_date,
                period=entry_date.replace(day=1), source=source, source_id=source_id,
                contract=contract, currency=currency, description=description[:300],
                total_debit=debit, total_credit=credit)
    except IntegrityError:  # posted meanwhile by another worker
        return None
    JournalLine.objects.bulk_create([
        JournalLine(entry=entry, account_key=p.key, account_code=codes[p.key], debit=p.debit,
                    credit=p.credit) for p in lines])
    if publish:
        events.publish("journal_entry.posted", aggregate=entry, payload={
            "journal_entry_id": entry.pk, "legal_entity_id": entity_id, "source": source,
            "source_id": source_id, "entry_date": entry_date.isoformat(), "currency": currency,
            "total": str(debit)})
    return entry


def recognition_postings(amount: Decimal, *, unbilled: Decimal,
                         deferred: Decimal) -> list[Posting]:
    """Revenue recognised: debit deferred revenue up to its balance and the rest to unbilled
    receivable; credit revenue. A reversal (negative amount, e.g. a lower estimate) debits
    revenue and credits unbilled receivable up to its balance, the rest to deferred revenue."""
    if amount >= 0:
        from_deferred = min(amount, max(deferred, ZERO))
        return [Posting(AccountKey.DEFERRED, debit=from_deferred),
                Posting(AccountKey.UNBILLED, debit=amount - from_deferred),
                Posting(AccountKey.REVENUE, credit=amount)]
    reversal = -amount
    from_unbilled = min(reversal, max(unbilled, ZERO))
    return [Posting(AccountKey.REVENUE, debit=reversal),
            Posting(AccountKey.UNBILLED, credit=from_unbilled),
            Posting(AccountKey.DEFERRED, credit=reversal - from_unbilled)]


def invoice_postings(*, subtotal: Decimal, tax: Decimal, unbilled: Decimal,
                     deferred: Decimal = ZERO, credit_note: bool = False) -> list[Posting]:
    """Invoice issued: debit receivable (total); credit tax payable (tax); credit unbilled
    receivable up to its balance and the rest of the subtotal to deferred revenue.

    A credit note takes it back: credit receivable, debit tax payable, and debit deferred
    revenue up to its balance, the rest to unbilled receivable (so, per contract, at most one
    of the two balances stays non-zero)."""
    if credit_note:
        from_deferred = min(subtotal, max(deferred, ZERO))
        return [Posting(AccountKey.RECEIVABLE, credit=subtotal + tax),
                Posting(AccountKey.TAX_PAYABLE, debit=tax),
                Posting(AccountKey.DEFERRED, debit=from_deferred),
                Posting(AccountKey.UNBILLED, debit=subtotal - from_deferred)]
    from_unbilled = min(subtotal, max(unbilled, ZERO))
    return [Posting(AccountKey.RECEIVABLE, debit=subtotal + tax),
            Posting(AccountKey.TAX_PAYABLE, credit=tax),
            Posting(AccountKey.UNBILLED, credit=from_unbilled),
            Posting(AccountKey.DEFERRED, credit=subtotal - from_unbilled)]
