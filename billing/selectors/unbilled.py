"""What is ready to invoice, per contract, up to a cut-off date; and the rounding policy read.

"Unbilled" means: no LIVE `BilledItem` links the item (a voided invoice or a releasing credit
note leaves only dead links). Items finance held back (`HeldItem`) are not ready; they are
counted apart. Every figure comes from aggregate queries: a fixed number of queries whatever
the number of contracts or items.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db.models import (
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import BilledItem, CapHold, HeldItem, Installment, RetainerMonth, RoundingPolicy
from psa.common.money import ZERO, quantize
from psa.models import Contract, Expense, LegalEntity, Milestone, TimeEntry
from psa.rules import visible
from psa.selectors.projects import EXACT_PRODUCT

BM = Contract.BillingModel
TIME_BILLED_MODELS = (BM.TIME_AND_MATERIALS, BM.TIME_AND_MATERIALS_CAP)
# Retainer time is shown as hours only: beyond the included hours it may be billed as overage.
TIME_SHOWN_MODELS = (*TIME_BILLED_MODELS, BM.RETAINER)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class ReadyRow:
    """One active contract's billable items dated on or before the cut-off and not billed.

    Amounts are in the contract's currency, each rounded as its invoice line would be (time
    per contract, expenses per category with the markup); `held_items` counts time entries
    and expenses finance held back, `held_over_cap` the amounts held over a cap.
    """

    contract_id: int
    contract_code: str
    contract_name: str
    client_id: int
    client_name: str
    legal_entity_id: int
    billing_model: str
    currency: str
    time_hours: Decimal
    time_amount: Decimal
    expense_amount: Decimal
    milestone_count: int
    milestone_amount: Decimal
    installment_count: int
    installment_amount: Decimal
    retainer_months: int
    retainer_amount: Decimal
    held_items: int
    held_over_cap: Decimal
    oldest_item_date: date | None
    age_days: int | None

    @property
    def total_amount(self) -> Decimal:
        """What an invoice run would bill now, before any cap."""
        return (self.time_amount + self.expense_amount + self.milestone_amount
                + self.installment_amount + self.retainer_amount)

    @property
    def has_anything(self) -> bool:
        return bool(self.total_amount or self.time_hours or self.held_items
                    or self.held_over_cap)


def rounding_policy_for(contract: Contract) -> RoundingPolicy | None:
    """The hours rounding policy that applies to `contract`: its own, else its client's."""
    policies = list(RoundingPolicy.objects.filter(
        Q(contract_id=contract.pk) | Q(client_id=contract.client_id)))
    own = [policy for policy in policies if policy.contract_id == contract.pk]
    return (own or policies or [None])[0]


def _live_link(source: str) -> Exists:
    return Exists(BilledItem.objects.filter(**{source: OuterRef("pk")}, is_live=True))


def _held(source: str) -> Exists:
    return Exists(HeldItem.objects.filter(**{source: OuterRef("pk")}))


def last_due_month(cut_off: date) -> date:
    """The first day of the last month whose last day is on or before `cut_off`."""
    following = cut_off + timedelta(days=1)
    month = following.replace(day=1)
    return (month - timedelta(days=1)).replace(day=1)


def _months(first: date, last: date) -> int:
    """Months from `first` to `last` inclusive (both first days of months); 0 if reversed."""
    return max(0, (last.year - first.year) * 12 + last.month - first.month + 1)


def _month_end(first_of_month: date, months_later: int) -> date:
    index = first_of_month.month - 1 + months_later
    year, month = first_of_month.year + index // 12, index % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def _contracts(legal_entity: LegalEntity | None, actor: User | None) -> QuerySet[Contract]:
    contracts = Contract.objects.filter(status=Contract.Status.ACTIVE)
    if legal_entity is not None:
        contracts = contracts.filter(legal_entity=legal_entity)
    if actor is not None:
        contracts = visible(contracts, actor, "billing.view_invoicerun")
    return contracts


def _time(ids: QuerySet, cut_off: date) -> dict[int, dict]:
    rows = (TimeEntry.objects
            .filter(project__contract__in=ids,
                    project__contract__billing_model__in=TIME_SHOWN_MODELS,
                    status=TimeEntry.Status.APPROVED, is_billable=True, work_date__lte=cut_off,
                    bill_rate__isnull=False,
                    bill_currency=F("project__contract__currency"))
            .annotate(billed=_live_link("time_entry"), held=_held("time_entry"))
            .filter(billed=False).order_by()
            .values(contract_id=F("project__contract_id"))
            .annotate(total_hours=Sum("hours", filter=Q(held=False)),
                      value=Sum(F("hours") * F("bill_rate"), filter=Q(held=False),
                                output_field=EXACT_PRODUCT),
                      oldest=Min("work_date", filter=Q(held=False)),
                      held_count=Count("id", filter=Q(held=True))))
    return {row["contract_id"]: row for row in rows}


def _expenses(ids: QuerySet, cut_off: date) -> dict[int, dict]:
    """Per contract: amount with markup (rounded per category, as the invoice lines are),
    the oldest date and the held count."""
    rows = (Expense.objects
            .filter(project__contract__in=ids, project__contract__expenses_billable=True,
                    status=Expense.Status.APPROVED, is_billable=True,
                    expense_date__lte=cut_off,
                    project_currency=F("project__contract__currency"))
            .annotate(billed=_live_link("expense"), held=_held("expense"))
            .filter(billed=False).order_by()
            .values("category", contract_id=F("project__contract_id"),
                    contract_currency=F("project__contract__currency"),
                    markup=F("project__contract__expense_markup_percent"))
            .annotate(total=Sum("project_amount", filter=Q(held=False)),
                      oldest=Min("expense_date", filter=Q(held=False)),
                      held_count=Count("id", filter=Q(held=True))))
    result: dict[int, dict] = {}
    for row in rows:
        total = result.setdefault(row["contract_id"], {"amount": ZERO, "oldest": None,
                                                       "held": 0})
        if row["total"] is not None:
            total["amount"] += quantize(row["total"] * (1 + row["markup"] / HUNDRED),
                                        row["contract_currency"])
        total["oldest"] = _earliest(total["oldest"], row["oldest"])
        total["held"] += row["held_count"]
    return result


def _milestones(ids: QuerySet, cut_off: date) -> dict[int, dict]:
    """Accepted milestones, and completed ones needing no acceptance, ready by the cut-off."""
    rows = (Milestone.objects
            .filter(project__contract__in=ids,
                    project__contract__billing_model=BM.FIXED_MILESTONES,
                    currency=F("project__contract__currency"))
            .filter(Q(status=Milestone.Status.ACCEPTED)
                    | Q(status=Milestone.Status.COMPLETED, requires_acceptance=False))
            .annotate(billed=_live_link("milestone"),
                      ready_at=Coalesce("accepted_at", "completed_at"))
            .filter(billed=False, ready_at__date__lte=cut_off).order_by()
            .values(contract_id=F("project__contract_id"))
            .annotate(total=Sum("amount"), count=Count("id"), oldest=Min("ready_at")))
    return {row["contract_id"]: row for row in rows}


def _installments(ids: QuerySet, cut_off: date) -> dict[int, dict]:
    rows = (Installment.objects
            .filter(contract__in=ids, contract__billing_model=BM.FIXED_INSTALLMENTS,
                    due_date__lte=cut_off)
            .annotate(billed=_live_link("installment")).filter(billed=False).order_by()
            .values("contract_id")
            .annotate(total=Sum("amount"), count=Count("id"), oldest=Min("due_date")))
    return {row["contract_id"]: row for row in rows}


def _retainer_months_billed(ids: QuerySet, cut_off: date) -> dict[int, int]:
    rows = (RetainerMonth.objects
            .filter(contract__in=ids, contract__billing_model=BM.RETAINER,
                    month__lte=last_due_month(cut_off))
            .filter(_live_link("retainer_month")).order_by()
            .values("contract_id").annotate(count=Count("id")))
    return {row["contract_id"]: row["count"] for row in rows}


def _held_over_cap(ids: QuerySet) -> dict[int, Decimal]:
    rows = (CapHold.objects.filter(contract__in=ids, status=CapHold.Status.HELD).order_by()
            .values("contract_id").annotate(total=Sum("amount")))
    return {row["contract_id"]: row["total"] for row in rows}


def _earliest(*dates: date | None) -> date | None:
    present = [value for value in dates if value is not None]
    return min(present) if present else None


def _retainer(contract: Contract, cut_off: date, billed: int) -> tuple[int, Decimal, date | None]:
    """Months due and not billed, their amount, and the last day of the first of them.

    Months count from the contract's start month to the last month ending by the cut-off
    (and no later than the end month); the billed ones are assumed to be the earliest,
    as invoice runs bill them in order.
    """
    if contract.billing_model != BM.RETAINER:
        return 0, ZERO, None
    first = contract.start_date.replace(day=1)
    last = min(last_due_month(cut_off), contract.end_date.replace(day=1))
    due = max(0, _months(first, last) - billed)
    oldest = _month_end(first, billed) if due else None
    return due, (contract.retainer_amount or ZERO) * due, oldest


def invoice_ready_by_contract(*, cut_off: date, legal_entity: LegalEntity | None = None,
                              actor: User | None = None) -> list[ReadyRow]:
    """Per active contract (in code order), what an invoice run with this cut-off would find.

    T&M time: approved billable hours x frozen rate, rounded per contract, at raw hours (an
    hours rounding policy applies when the run bills them); retainer time as hours only
    (possible overage), and fixed-fee time never. Expenses with the contract's markup where
    expenses are billable; milestones accepted (or completed where no acceptance is needed)
    by the cut-off; installments due by the cut-off; retainer months ended by the cut-off.
    Items in another currency than the contract's are the run's exceptions and are not
    counted. Contracts with nothing to show are left out. With `actor`, only contracts the
    actor may see under `billing.view_invoicerun`. Seven queries whatever the data size.
    """
    contracts = list(_contracts(legal_entity, actor).select_related("client")
                     .order_by("code"))
    if not contracts:
        return []
    ids = _contracts(legal_entity, actor).values("pk")
    time, expenses = _time(ids, cut_off), _expenses(ids, cut_off)
    milestones, installments = _milestones(ids, cut_off), _installments(ids, cut_off)
    retainers, caps = _retainer_months_billed(ids, cut_off), _held_over_cap(ids)

    rows = []
    for contract in contracts:
        currency = contract.currency
        t = time.get(contract.pk, {})
        bills_time = contract.billing_model in TIME_BILLED_MODELS
        e = expenses.get(contract.pk, {})
        m = milestones.get(contract.pk, {})
        i = installments.get(contract.pk, {})
        months, retainer_amount, retainer_oldest = _retainer(
            contract, cut_off, retainers.get(contract.pk, 0))
        milestone_oldest = timezone.localdate(m["oldest"]) if m.get("oldest") else None
        oldest = _earliest(t.get("oldest") if bills_time else None, e.get("oldest"),
                           milestone_oldest, i.get("oldest"), retainer_oldest)
        row = ReadyRow(
            contract_id=contract.pk, contract_code=contract.code, contract_name=contract.name,
            client_id=contract.client_id, client_name=contract.client.name,
            legal_entity_id=contract.legal_entity_id, billing_model=contract.billing_model,
            currency=currency,
            time_hours=t.get("total_hours") or ZERO,
            time_amount=quantize(t.get("value") or ZERO, currency) if bills_time else ZERO,
            expense_amount=e.get("amount", ZERO),
            milestone_count=m.get("count", 0),
            milestone_amount=m.get("total") or ZERO,
            installment_count=i.get("count", 0),
            installment_amount=i.get("total") or ZERO,
            retainer_months=months, retainer_amount=quantize(retainer_amount, currency),
            held_items=t.get("held_count", 0) + e.get("held", 0),
            held_over_cap=caps.get(contract.pk) or ZERO,
            oldest_item_date=oldest,
            age_days=(cut_off - oldest).days if oldest else None)
        if row.has_anything:
            rows.append(row)
    return rows
