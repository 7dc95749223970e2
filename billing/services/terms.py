"""Billing terms: installment schedules of fixed fees, and hours rounding policies.

Callers check `billing.change_billingterms`; these services enforce the billing rules.
"""

import calendar
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef

from billing.errors import BillingTermsError
from billing.models import BilledItem, Installment, RoundingPolicy
from psa.common.money import quantize, split
from psa.models import Client, Contract

MAX_INSTALLMENTS = 120


def month_day_clamped(start: date, months_later: int) -> date:
    """`start` moved `months_later` months on, on the same day of month or the month's last
    day when it is shorter (31 Jan + 1 month = 28 or 29 Feb; + 2 months = 31 Mar)."""
    month_index = start.month - 1 + months_later
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def installment_amounts(value: Decimal, count: int, currency: str) -> list[Decimal]:
    """`value` in `count` equal parts, rounded, the last taking the residual (money.split).

    Where the value is so small that rounding the equal parts up would leave the last part
    negative (below count x (count - 1) half-cents, e.g. 0.05 in 10 parts), the parts are
    differences of rounded running totals instead: still in cents, none negative, and adding
    up to the value exactly.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    parts = split(value, [1] * count, currency)
    if parts[-1] >= 0:
        return parts
    running = [quantize(value * step / count, currency) for step in range(count + 1)]
    return [running[step + 1] - running[step] for step in range(count)]


def _schedule_dates(contract: Contract, count: int | None,
                    dates: Sequence[date] | None) -> list[date]:
    if (count is None) == (dates is None):
        raise BillingTermsError("Give either a number of installments or their dates.",
                                attr="count")
    if count is not None:
        if not 1 <= count <= MAX_INSTALLMENTS:
            raise BillingTermsError(
                f"The number of installments must be between 1 and {MAX_INSTALLMENTS}.",
                attr="count")
        return [month_day_clamped(contract.start_date, step) for step in range(count)]
    ordered = sorted(dates or [])
    if not ordered:
        raise BillingTermsError("Give at least one installment date.", attr="dates")
    if len(set(ordered)) != len(ordered):
        raise BillingTermsError("Two installments fall on the same date.", attr="dates")
    if len(ordered) > MAX_INSTALLMENTS:
        raise BillingTermsError(f"At most {MAX_INSTALLMENTS} installments.", attr="dates")
    return ordered


@transaction.atomic
def installments_generate(*, contract: Contract, actor: User, count: int | None = None,
                          dates: Sequence[date] | None = None) -> list[Installment]:
    """Replace a fixed-fee contract's installment schedule; the parts add up to its value.

    Either `count` monthly installments from the contract's start (same day of month,
    clamped to the month's end) or one per date in `dates`. Amounts come from
    `installment_amounts` (equal parts, the last takes the residual). Existing rows are
    reused by sequence (so the audit trail shows before and after) and surplus rows deleted.

    Raises BillingTermsError unless the contract bills fixed installments and is not
    cancelled, when neither or both of count/dates are given, on bad counts or duplicate
    dates, and when any installment of the schedule is already billed (a live invoice link)
    or a surplus one was ever invoiced.
    """
    contract = Contract.objects.select_for_update(of=("self",)).get(pk=contract.pk)
    if contract.billing_model != Contract.BillingModel.FIXED_INSTALLMENTS:
        raise BillingTermsError(
            f"Contract {contract.code} is not billed by installments.", attr="contract")
    if contract.status == Contract.Status.CANCELLED:
        raise BillingTermsError(f"Contract {contract.code} is cancelled.", attr="contract")
    due_dates = _schedule_dates(contract, count, dates)

    existing = list(
        Installment.objects.select_for_update(of=("self",)).filter(contract=contract)
        .annotate(is_billed=Exists(BilledItem.objects.filter(installment=OuterRef("pk"),
                                                            is_live=True)),
                  was_invoiced=Exists(BilledItem.objects.filter(installment=OuterRef("pk"))))
        .order_by("sequence"))
    billed = [row for row in existing if row.is_billed]
    if billed:
        raise BillingTermsError(
            f"Installment {billed[0].sequence} ({billed[0].due_date:%Y-%m-%d}) is already "
            f"billed; the schedule can no longer be regenerated.", attr="installments")

    amounts = installment_amounts(contract.value_amount, len(due_dates), contract.currency)
    by_sequence = {row.sequence: row for row in existing}
    result = []
    for sequence, (due_date, amount) in enumerate(zip(due_dates, amounts, strict=True),
                                                  start=1):
        row = by_sequence.pop(sequence, None) or Installment(contract=contract,
                                                             sequence=sequence)
        row.due_date, row.amount = due_date, amount
        row.description = f"Installment {sequence} of {len(due_dates)}"
        row.full_clean()
        row.save()
        result.append(row)
    for surplus in by_sequence.values():
        if surplus.was_invoiced:
            raise BillingTermsError(
                f"Installment {surplus.sequence} was on a voided or credited invoice; keep at "
                f"least {surplus.sequence} installments.", attr="installments")
        surplus.delete()
    return result


@transaction.atomic
def rounding_policy_set(*, actor: User, client: Client | None = None,
                        contract: Contract | None = None, increment_minutes: int, method: str,
                        scope: str) -> RoundingPolicy:
    """Create or change the hours rounding policy of one client or one contract.

    Raises BillingTermsError unless exactly one of client/contract is given, the increment
    is 6 or 15 minutes, and method and scope are known values.
    """
    if (client is None) == (contract is None):
        raise BillingTermsError("A rounding policy is for one client or one contract.",
                                attr="contract")
    if increment_minutes not in RoundingPolicy.INCREMENTS:
        raise BillingTermsError("Hours round to 6 or 15 minutes.", attr="increment_minutes")
    if method not in RoundingPolicy.Method.values:
        raise BillingTermsError(f"Unknown rounding method {method!r}.", attr="method")
    if scope not in RoundingPolicy.Scope.values:
        raise BillingTermsError(f"Unknown rounding scope {scope!r}.", attr="scope")
    owner = {"client": client} if client is not None else {"contract": contract}
    policy = (RoundingPolicy.objects.select_for_update(of=("self",)).filter(**owner).first()
              or RoundingPolicy(**owner))
    policy.increment_minutes, policy.method, policy.scope = increment_minutes, method, scope
    policy.full_clean()
    policy.save()
    return policy
