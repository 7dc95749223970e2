"""Drafting invoices: one contract's billable items onto a draft invoice (DOMAIN.md, The
invoice run).

`draft_client_invoices` is the unit of work of a run: for each active contract of one client
(one invoice per contract, or one per entity and currency for a client that asks for
consolidated invoices) it opens a transaction, locks the contract (so runs at once take turns
on it and a cap is never counted twice), claims the items set-based (linking.py), builds the
lines from aggregates, applies the cap, totals the invoice and records an outcome. An invoice
that claimed nothing is deleted in the same transaction; an error rolls the whole unit back.

Lines: T&M time by project, role and frozen rate (amount = billed hours x rate, rounded at the
line); expenses by category x (1 + markup); one line per milestone, installment and retainer
month, retainer overage by rate; a cap adjustment and "previously held" lines for T&M with a
cap. Time on fixed-fee contracts is never billed.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Subquery, Sum
from django.utils import timezone

from billing.models import (
    BilledItem,
    CapHold,
    HeldItem,
    Installment,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    RetainerMonth,
    RoundingPolicy,
    RunOutcome,
)
from billing.selectors.unbilled import last_due_month, rounding_policy_for
from billing.services.linking import (
    TimeScope,
    attach_items_to_lines,
    link_expenses,
    link_time_entries,
)
from billing.services.totals import invoice_totals_refresh
from psa.common.money import column_sum, quantize
from psa.models import Client, Contract, Expense, Milestone, Role, TimeEntry

BillingModel = Contract.BillingModel
TIME_BILLED = (BillingModel.TIME_AND_MATERIALS, BillingModel.TIME_AND_MATERIALS_CAP)
CAPPED_KINDS = (InvoiceLine.Kind.TIME, InvoiceLine.Kind.CAP_ADJUSTMENT,
                InvoiceLine.Kind.PREVIOUSLY_HELD)
TIMES = "\u00d7"  # the multiplication sign of invoice lines, "37.50 h x 150.00"
HUNDRED = Decimal("100")
ZERO = Decimal("0.00")


@dataclass
class ContractResult:
    """What drafting did for one contract: the outcome a run records."""

    contract: Contract
    reason: str = RunOutcome.Reason.NOTHING_NEW
    items: int = 0
    amount: Decimal = ZERO
    notes: list[str] = field(default_factory=list)


class _Lines:
    """Builds lines on one invoice with increasing sequence numbers."""

    def __init__(self, invoice: Invoice) -> None:
        self.invoice = invoice
        self.sequence = (InvoiceLine.objects.filter(invoice=invoice)
                         .order_by("-sequence").values_list("sequence", flat=True).first() or 0)

    def build(self, *, contract: Contract, kind: str, description: str, amount: Decimal,
              **extra: object) -> InvoiceLine:
        """The next line, unsaved (time and expense lines are inserted together)."""
        self.sequence += 1
        return InvoiceLine(
            invoice=self.invoice, sequence=self.sequence, contract=contract, kind=kind,
            description=description[:300], base_amount=amount, amount=amount, **extra)

    def add(self, **fields: object) -> InvoiceLine:
        line = self.build(**fields)
        line.save()
        return line

    @staticmethod
    def insert(built: list[InvoiceLine]) -> None:
        """One INSERT for lines the run drafted from aggregates. They are not audited one by
        one: the run's outcome records what it drafted, and every later edit is audited."""
        InvoiceLine.objects.bulk_create(built)


def _time_lines(lines: _Lines, contract: Contract, items: "BilledItemSet") -> Decimal:
    """One line per project, role and rate over the invoice's unlined time items."""
    groups = (items.unlined_time().values("time_entry__project_id", "time_entry__project__code",
                                          "time_entry__project__name",
                                          "time_entry__person__role_id", "rate")
              .annotate(hours=Sum("billed_hours"))
              .order_by("time_entry__project__code", "time_entry__person__role_id", "rate"))
    roles = {role.pk: role for role in Role.objects.filter(
        pk__in={g["time_entry__person__role_id"] for g in groups})}
    total, built = ZERO, []
    for group in groups:
        role = roles[group["time_entry__person__role_id"]]
        hours, rate = column_sum(group["hours"]), group["rate"]
        amount = quantize(hours * rate, contract.currency)
        built.append(lines.build(
            contract=contract, kind=InvoiceLine.Kind.TIME,
            description=f"{group['time_entry__project__name']}: {role.name} "
                        f"{hours:.2f} h {TIMES} {rate:.2f}",
            amount=amount, project_id=group["time_entry__project_id"], role=role,
            quantity=hours, unit_price=rate))
        total += amount
    if built:
        lines.insert(built)
        attach_items_to_lines(invoice_id=lines.invoice.pk, contract_id=contract.pk,
                              kind=InvoiceLine.Kind.TIME)
    return total


def _expense_lines(lines: _Lines, contract: Contract, items: "BilledItemSet") -> Decimal:
    """One line per category: Σ amount x (1 + markup), rounded at the line."""
    markup = 1 + contract.expense_markup_percent / HUNDRED
    labels = dict(Expense.Category.choices)
    total, built = ZERO, []
    for group in (items.unlined_expenses()
                  .values("expense__category").annotate(value=Sum("amount"))
                  .order_by("expense__category")):
        category, value = group["expense__category"], column_sum(group["value"])
        amount = quantize(value * markup, contract.currency)
        text = f"Expenses: {labels.get(category, category).lower()} {value:,.2f}"
        if contract.expense_markup_percent:
            text += f" {TIMES} {markup.normalize():f}"
        built.append(lines.build(contract=contract, kind=InvoiceLine.Kind.EXPENSE,
                                 description=text, amount=amount, category=category))
        total += amount
    if built:
        lines.insert(built)
        attach_items_to_lines(invoice_id=lines.invoice.pk, contract_id=contract.pk,
                              kind=InvoiceLine.Kind.EXPENSE)
    return total


class BilledItemSet:
    """The invoice's links to one contract's time entries and expenses. On a one-contract
    invoice that is every link of the invoice (no join); a consolidated invoice narrows by the
    source's project."""

    def __init__(self, invoice: Invoice, contract: Contract) -> None:
        self.invoice, self.contract = invoice, contract
        self.consolidated = invoice.contract_id is None

    def _unlined(self, source: str):
        items = BilledItem.objects.filter(invoice=self.invoice, line__isnull=True,
                                          **{f"{source}__isnull": False})
        if self.consolidated:
            items = items.filter(**{f"{source}__project__contract": self.contract})
        return items

    def unlined_time(self):
        return self._unlined("time_entry")

    def unlined_expenses(self):
        return self._unlined("expense")


def _eligible_milestones(contract: Contract, cut_off: date):
    accepted = Q(status=Milestone.Status.ACCEPTED, accepted_at__date__lte=cut_off)
    completed = Q(status=Milestone.Status.COMPLETED, requires_acceptance=False,
                  completed_at__date__lte=cut_off)
    return (Milestone.objects.filter(accepted | completed, project__contract=contract,
                                     currency=contract.currency)
            .exclude(billed_items__is_live=True).order_by("due_date", "pk"))


def _milestone_lines(lines: _Lines, contract: Contract, cut_off: date,
                     only: set[int] | None = None) -> tuple[Decimal, int]:
    total, count = ZERO, 0
    milestones = _eligible_milestones(contract, cut_off)
    if only is not None:
        milestones = milestones.filter(pk__in=only)
    for milestone in milestones:
        line = lines.add(contract=contract, kind=InvoiceLine.Kind.MILESTONE,
                         description=f"Milestone: {milestone.name}", amount=milestone.amount,
                         project_id=milestone.project_id)
        BilledItem.objects.create(invoice=lines.invoice, line=line, milestone=milestone,
                                  amount=milestone.amount)
        total += milestone.amount
        count += 1
    if count:
        Milestone.objects.filter(billed_items__invoice=lines.invoice, billed_items__is_live=True
                                 ).update(status=Milestone.Status.INVOICED,
                                          updated_at=timezone.now())
    return total, count


def _installment_lines(lines: _Lines, contract: Contract, cut_off: date) -> tuple[Decimal, int]:
    """One line per installment due by the cut-off and not live-billed (two queries to find
    them, whatever the schedule's length)."""
    schedule = Installment.objects.filter(contract=contract)
    size = schedule.count()
    total, count = ZERO, 0
    for installment in (schedule.filter(due_date__lte=cut_off)
                        .exclude(billed_items__is_live=True).order_by("sequence")):
        text = installment.description or f"Installment {installment.sequence} of {size}"
        line = lines.add(contract=contract, kind=InvoiceLine.Kind.INSTALLMENT,
                         description=f"{text} (due {installment.due_date:%d %b %Y})",
                         amount=installment.amount)
        BilledItem.objects.create(invoice=lines.invoice, line=line, installment=installment,
                                  amount=installment.amount)
        total += installment.amount
        count += 1
    return total, count


def _month_starts(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def _retainer_lines(lines: _Lines, contract: Contract, cut_off: date,
                    policy: RoundingPolicy | None, items: BilledItemSet) -> tuple[Decimal, int]:
    """Each ended month (last day on or before the cut-off) bills the retainer once; its hours
    beyond the included hours (counted in date order, earlier invoices' hours first) bill as
    overage at their own frozen rate."""
    total, count = ZERO, 0
    included = contract.retainer_included_hours or ZERO
    # The same "ended by the cut-off" months the workbench shows as ready.
    for month in _month_starts(contract.start_date,
                               min(contract.end_date, last_due_month(cut_off))):
        month_end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        retainer_line = None
        record, _ = RetainerMonth.objects.get_or_create(contract=contract, month=month)
        if not record.billed_items.filter(is_live=True).exists():
            retainer_line = lines.add(contract=contract, kind=InvoiceLine.Kind.RETAINER,
                                      description=f"Retainer {month:%B %Y}",
                                      amount=contract.retainer_amount)
            BilledItem.objects.create(invoice=lines.invoice, line=retainer_line,
                                      retainer_month=record, amount=contract.retainer_amount)
            total += contract.retainer_amount
            count += 1
        claimed = link_time_entries(invoice_id=lines.invoice.pk, policy=policy, scope=TimeScope(
            contract_id=contract.pk, currency=contract.currency, cut_off=month_end, start=month))
        if not claimed:
            continue
        count += claimed
        earlier = (BilledItem.objects.filter(
            is_live=True, time_entry__project__contract=contract,
            time_entry__work_date__gte=month, time_entry__work_date__lte=month_end)
            .exclude(invoice=lines.invoice).aggregate(hours=Sum("billed_hours"))["hours"])
        left = max(ZERO, included - column_sum(earlier))
        overage: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
        for day in (items.unlined_time().values("time_entry__work_date", "rate")
                    .annotate(hours=Sum("billed_hours")).order_by("time_entry__work_date",
                                                                   "rate")):
            hours = column_sum(day["hours"])
            within = min(left, hours)
            left -= within
            if hours > within:
                overage[day["rate"]] += hours - within
        for rate, hours in sorted(overage.items()):
            amount = quantize(hours * rate, contract.currency)
            line = lines.add(contract=contract, kind=InvoiceLine.Kind.RETAINER_OVERAGE,
                             description=f"Overage {month:%B %Y}: {hours:.2f} h beyond "
                                         f"{included:.2f} h included {TIMES} {rate:.2f}",
                             amount=amount, quantity=hours, unit_price=rate)
            items.unlined_time().filter(rate=rate).update(line=line)
            total += amount
        if items.unlined_time().exists():  # hours within the included hours
            hours = column_sum(items.unlined_time().aggregate(hours=Sum("billed_hours"))["hours"])
            target = retainer_line or lines.add(
                contract=contract, kind=InvoiceLine.Kind.RETAINER, amount=ZERO,
                description=f"Retainer {month:%B %Y}: {hours:.2f} h within the included hours")
            items.unlined_time().update(line=target)
    return total, count


def billed_to_date_under_cap(contract: Contract, *, excluding: Invoice) -> Decimal:
    """What counts against the cap: time, cap adjustments and previously held lines of the
    contract's live invoices (any status but void), less issued credit notes of such lines."""
    live = ~Q(invoice__status=Invoice.Status.VOID) & Q(invoice__kind=Invoice.Kind.INVOICE)
    billed = column_sum(InvoiceLine.objects.filter(live, contract=contract,
                                                   kind__in=CAPPED_KINDS)
                        .exclude(invoice=excluding).aggregate(total=Sum("amount"))["total"])
    credited = (InvoiceLine.objects.filter(
        invoice__kind=Invoice.Kind.CREDIT_NOTE, invoice__status__in=Invoice.ISSUED_STATES,
        credited_line__contract=contract, credited_line__kind__in=CAPPED_KINDS)
        .aggregate(total=Sum("amount"))["total"])
    credited = column_sum(credited)
    return billed - credited


def _apply_cap(lines: _Lines, contract: Contract, new_time: Decimal) -> Decimal:
    """Hold what goes beyond the cap (a negative adjustment line and a CapHold), or bill held
    amounts that now fit under a lifted cap. Returns the change to the invoice's amount."""
    headroom = max(ZERO, contract.cap_amount - billed_to_date_under_cap(
        contract, excluding=lines.invoice))
    if new_time > headroom:
        excess = new_time - headroom
        lines.add(contract=contract, kind=InvoiceLine.Kind.CAP_ADJUSTMENT, amount=-excess,
                  description=f"Cap adjustment: not to exceed {contract.cap_amount:,.2f} "
                              f"{contract.currency}")
        CapHold.objects.create(contract=contract, source_invoice=lines.invoice, amount=excess,
                               currency=contract.currency)
        return -excess
    room, released = headroom - new_time, ZERO
    for hold in CapHold.objects.filter(contract=contract, status=CapHold.Status.HELD
                                       ).select_for_update().order_by("created_at", "pk"):
        if hold.amount > room:
            break
        line = lines.add(contract=contract, kind=InvoiceLine.Kind.PREVIOUSLY_HELD,
                         amount=hold.amount,
                         description=f"Previously held over cap ({hold.created_at:%d %b %Y})")
        BilledItem.objects.create(invoice=lines.invoice, line=line, cap_hold=hold,
                                  amount=hold.amount)
        hold.status = CapHold.Status.BILLED
        hold.save(update_fields=["status", "updated_at"])
        room -= hold.amount
        released += hold.amount
    return released


def draft_contract(*, invoice: Invoice, contract: Contract, cut_off: date,
                   kinds: frozenset[str] | None = None,
                   milestone_ids: set[int] | None = None) -> ContractResult:
    """Claim and line one contract's billable items on `invoice` (inside the caller's
    transaction, with the contract locked). `kinds` narrows what is billed ("time",
    "expense", "milestone", "installment", "retainer"); None bills everything due."""
    result = ContractResult(contract=contract)
    wanted = kinds or frozenset({"time", "expense", "milestone", "installment", "retainer"})
    lines, items = _Lines(invoice), BilledItemSet(invoice, contract)
    policy = rounding_policy_for(contract)
    total = ZERO
    if contract.billing_model in TIME_BILLED and "time" in wanted:
        claimed = link_time_entries(invoice_id=invoice.pk, policy=policy, scope=TimeScope(
            contract_id=contract.pk, currency=contract.currency, cut_off=cut_off))
        result.items += claimed
        new_time = _time_lines(lines, contract, items) if claimed else ZERO
        total += new_time
        if contract.billing_model == BillingModel.TIME_AND_MATERIALS_CAP:
            change = _apply_cap(lines, contract, new_time)
            total += change
            if change < 0:
                result.reason = RunOutcome.Reason.OVER_CAP
                result.notes.append(f"{-change:,.2f} {contract.currency} held over the cap")
            elif change > 0:
                result.items += 1
    if contract.billing_model == BillingModel.RETAINER and "retainer" in wanted:
        amount, count = _retainer_lines(lines, contract, cut_off, policy, items)
        total, result.items = total + amount, result.items + count
    if contract.billing_model == BillingModel.FIXED_MILESTONES and "milestone" in wanted:
        amount, count = _milestone_lines(lines, contract, cut_off, milestone_ids)
        total, result.items = total + amount, result.items + count
    if contract.billing_model == BillingModel.FIXED_INSTALLMENTS and "installment" in wanted:
        amount, count = _installment_lines(lines, contract, cut_off)
        total, result.items = total + amount, result.items + count
    if contract.expenses_billable and "expense" in wanted:
        claimed = link_expenses(invoice_id=invoice.pk, contract_id=contract.pk,
                                currency=contract.currency, cut_off=cut_off)
        result.items += claimed
        if claimed:
            total += _expense_lines(lines, contract, items)
    if result.items and result.reason == RunOutcome.Reason.NOTHING_NEW:
        result.reason = RunOutcome.Reason.CREATED
    result.amount = total
    _note_exceptions(result, contract, cut_off)
    return result


def _note_exceptions(result: ContractResult, contract: Contract, cut_off: date) -> None:
    """What was left behind and why: unrated or foreign-currency time, held items."""
    if contract.billing_model not in TIME_BILLED:
        return
    waiting = TimeEntry.objects.filter(project__contract=contract, status=TimeEntry.Status.APPROVED,
                                       is_billable=True, work_date__lte=cut_off).aggregate(
        unrated=Count("pk", filter=Q(bill_rate__isnull=True)),
        foreign=Count("pk", filter=Q(bill_rate__isnull=False) & ~Q(
            bill_currency=contract.currency)))
    unrated, foreign = waiting["unrated"], waiting["foreign"]
    held = HeldItem.objects.filter(Q(time_entry__project__contract=contract)
                                   | Q(expense__project__contract=contract)).count()
    if unrated:
        result.notes.append(f"{unrated} approved entries have no bill rate")
        if result.reason in (RunOutcome.Reason.NOTHING_NEW, RunOutcome.Reason.CREATED):
            result.reason = RunOutcome.Reason.NO_RATE
    if foreign:
        result.notes.append(f"{foreign} entries are rated in another currency")
        if result.reason in (RunOutcome.Reason.NOTHING_NEW, RunOutcome.Reason.CREATED):
            result.reason = RunOutcome.Reason.CURRENCY
    if held:
        result.notes.append(f"{held} items held back by finance")
        if result.reason == RunOutcome.Reason.NOTHING_NEW:
            result.reason = RunOutcome.Reason.HELD


def _mark_invoiced(invoice: Invoice) -> None:
    """The invoice's time entries and expenses move to invoiced (two set-based UPDATEs)."""
    now = timezone.now()
    linked = BilledItem.objects.filter(invoice=invoice)
    TimeEntry.objects.filter(pk__in=Subquery(linked.filter(time_entry__isnull=False)
                                             .values("time_entry_id"))).update(
        status=TimeEntry.Status.INVOICED, updated_at=now)
    Expense.objects.filter(pk__in=Subquery(linked.filter(expense__isnull=False)
                                           .values("expense_id"))).update(
        status=Expense.Status.INVOICED, updated_at=now)


def _new_invoice(client: Client, contract: Contract | None, *, entity_id: int, currency: str,
                 cut_off: date, run: InvoiceRun | None) -> Invoice:
    return Invoice.objects.create(
        legal_entity_id=entity_id, client=client, contract=contract, run=run,
        currency=currency, cut_off=cut_off, payment_terms_days=client.payment_terms_days,
        tax_rate=client.tax_rate)


def _record(run: InvoiceRun | None, result: ContractResult, invoice: Invoice | None) -> None:
    if run is None:
        return
    earlier = RunOutcome.objects.filter(run=run, contract=result.contract).first()
    if earlier is not None and not result.items and earlier.reason != RunOutcome.Reason.FAILED:
        return  # a re-delivered task found its own earlier work done: keep what it recorded
    RunOutcome.objects.update_or_create(run=run, contract=result.contract, defaults={
        "invoice": invoice, "reason": result.reason, "detail": "; ".join(result.notes),
        "amount": result.amount, "items": result.items})


def draft_client_invoices(*, client: Client, contracts: list[Contract], cut_off: date,
                          run: InvoiceRun | None = None) -> list[Invoice]:
    """Draft the invoices of one client's contracts (one per contract, or one per entity and
    currency when the client consolidates), each in its own transaction."""
    if client.consolidated_invoicing:
        by_key: dict[tuple[int, str], list[Contract]] = defaultdict(list)
        for contract in contracts:
            by_key[(contract.legal_entity_id, contract.currency)].append(contract)
        groups = list(by_key.values())
    else:
        groups = [[contract] for contract in contracts]
    created = []
    for group in groups:
        invoice = _draft_group(client, group, cut_off, run)
        if invoice is not None:
            created.append(invoice)
    return created


@transaction.atomic
def _draft_group(client: Client, contracts: list[Contract], cut_off: date,
                 run: InvoiceRun | None) -> Invoice | None:
    locked = list(Contract.objects.select_for_update().filter(
        pk__in=[c.pk for c in contracts]).order_by("pk"))  # one order: no deadlock
    if not client.tax_jurisdiction and not client.tax_rate:
        # A zero rate is only trusted when a jurisdiction says why (exempt, reverse charge...).
        for contract in locked:
            _record(run, ContractResult(contract=contract, reason=RunOutcome.Reason.MISSING_TAX,
                                        notes=[f"{client.name} has no tax rate or "
                                               "jurisdiction"]), None)
        return None
    first = locked[0]
    invoice = _new_invoice(client, first if len(locked) == 1 and not
                           client.consolidated_invoicing else None,
                           entity_id=first.legal_entity_id, currency=first.currency,
                           cut_off=cut_off, run=run)
    results = [draft_contract(invoice=invoice, contract=contract, cut_off=cut_off)
               for contract in locked]
    billed = any(result.items for result in results)
    if billed:
        _mark_invoiced(invoice)
        invoice_totals_refresh(invoice)
    else:
        invoice.delete()
        invoice = None
    for result in results:
        _record(run, result, invoice if result.items else None)
    return invoice


@transaction.atomic
def draft_milestone_invoice(*, milestone: Milestone) -> Invoice | None:
    """Draft the invoice of one accepted (or completed, where no acceptance is needed)
    milestone of a fixed-fee-by-milestones contract; None when it is billed already or not
    billable. Idempotent: the milestone's live link allows one invoice."""
    contract = Contract.objects.select_for_update().get(pk=milestone.project.contract_id)
    if contract.billing_model != BillingModel.FIXED_MILESTONES:
        return None
    if not _eligible_milestones(contract, timezone.localdate()).filter(pk=milestone.pk).exists():
        return None
    client = contract.client
    invoice = _new_invoice(client, contract, entity_id=contract.legal_entity_id,
                           currency=contract.currency, cut_off=timezone.localdate(), run=None)
    draft_contract(invoice=invoice, contract=contract, cut_off=timezone.localdate(),
                   kinds=frozenset({"milestone"}), milestone_ids={milestone.pk})
    invoice_totals_refresh(invoice)
    return invoice
