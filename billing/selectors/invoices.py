"""Reads of invoices, their lines and items, invoice runs and what finance holds back."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, DecimalField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from billing.models import (
    BilledItem,
    CapHold,
    HeldItem,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    Payment,
    RunOutcome,
)
from psa.rules import visible

UserLike = User | AnonymousUser
ZERO = Decimal("0.00")


def _credited_total() -> Subquery:
    """Issued credit notes against the invoice (for its balance)."""
    notes = (Invoice.objects.filter(credited_invoice=OuterRef("pk"),
                                    status__in=Invoice.ISSUED_STATES)
             .order_by().values("credited_invoice").annotate(total=Sum("total")).values("total"))
    return Coalesce(Subquery(notes, output_field=DecimalField(max_digits=14, decimal_places=2)),
                    ZERO, output_field=DecimalField(max_digits=14, decimal_places=2))


def invoice_list(*, actor: UserLike, filters: Mapping[str, Any] | None = None
                 ) -> QuerySet[Invoice]:
    """Invoices and credit notes the actor may see, newest first, with what the list shows.

    `filters`: status, kind, client (id), contract (id), legal_entity (id), search (number or
    client name).
    """
    filters = filters or {}
    invoices = (visible(Invoice.objects.all(), actor, "billing.view_invoice")
                .select_related("client", "contract", "legal_entity", "credited_invoice")
                .annotate(_credited_total=_credited_total()))
    for name in ("status", "kind"):
        if filters.get(name):
            invoices = invoices.filter(**{name: filters[name]})
    for name in ("client", "contract", "legal_entity"):
        if filters.get(name):
            invoices = invoices.filter(**{f"{name}_id": filters[name]})
    search = (filters.get("search") or "").strip()
    if search:
        invoices = invoices.filter(Q(number__icontains=search) | Q(client__name__icontains=search))
    return invoices.order_by("-created_at", "-pk")


def invoice_lines(*, invoice: Invoice) -> QuerySet[InvoiceLine]:
    """The invoice's lines in order, each with its source items ready (`line.items.all()`)."""
    items = BilledItem.objects.select_related(
        "time_entry__person", "time_entry__task", "expense__person", "milestone", "installment",
        "retainer_month", "cap_hold").order_by("time_entry__work_date", "expense__expense_date",
                                               "pk")
    return (invoice.lines.select_related("project", "role", "contract", "credited_line")
            .prefetch_related(Prefetch("items", queryset=items))
            .order_by("sequence", "pk"))


def run_list(*, actor: UserLike) -> QuerySet[InvoiceRun]:
    """Invoice runs, newest first (finance, executives and administrators see them all)."""
    if not actor.has_perm("billing.view_invoicerun"):
        return InvoiceRun.objects.none()
    return InvoiceRun.objects.select_related("legal_entity", "started_by").order_by(
        "-created_at", "-pk")


def run_outcome_counts(*, run_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many outcomes of each reason every run has (one query)."""
    counts: dict[int, dict[str, int]] = {run_id: {} for run_id in run_ids}
    for row in (RunOutcome.objects.filter(run_id__in=run_ids).order_by()
                .values("run_id", "reason").annotate(count=Count("id"))):
        counts[row["run_id"]][row["reason"]] = row["count"]
    return counts


def payment_list(*, actor: UserLike) -> QuerySet[Payment]:
    """Payments the actor may see, newest first, with their invoice."""
    return (visible(Payment.objects.select_related("invoice"), actor, "billing.view_payment")
            .order_by("-received_date", "-pk"))


def run_outcomes(*, run: InvoiceRun) -> QuerySet[RunOutcome]:
    """What the run did per contract; exceptions first, then by contract code."""
    return (run.outcomes.select_related("contract__client", "invoice")
            .order_by("reason", "contract__code"))


@dataclass(frozen=True)
class RunDiffRow:
    """One contract's outcome in a run against the previous run that covered it."""

    contract_id: int
    contract_code: str
    previous_reason: str | None
    previous_amount: Decimal | None
    reason: str
    amount: Decimal

    @property
    def delta(self) -> Decimal:
        return self.amount - (self.previous_amount or ZERO)


def run_diff(*, run: InvoiceRun) -> list[RunDiffRow]:
    """How this run differs from the previous run of the same contracts: per contract, the
    outcome of the latest earlier run that covered it against this one (one query)."""
    earlier = (RunOutcome.objects.filter(contract_id=OuterRef("contract_id"),
                                         run__created_at__lt=run.created_at)
               .order_by("-run__created_at", "-run_id"))
    outcomes = (run.outcomes.select_related("contract").order_by("contract__code")
                .annotate(previous_reason=Subquery(earlier.values("reason")[:1]),
                          previous_amount=Subquery(earlier.values("amount")[:1])))
    return [RunDiffRow(contract_id=o.contract_id, contract_code=o.contract.code,
                       previous_reason=o.previous_reason, previous_amount=o.previous_amount,
                       reason=o.reason, amount=o.amount) for o in outcomes]


def invoice_payments(*, invoice: Invoice) -> QuerySet[Payment]:
    """The payments recorded against an invoice, oldest first."""
    return invoice.payments.select_related("recorded_by").order_by("received_date", "pk")


def invoice_credit_notes(*, invoice: Invoice) -> QuerySet[Invoice]:
    """The credit notes raised against an invoice, oldest first."""
    return invoice.credit_notes.order_by("created_at", "pk")


def held_items(*, actor: UserLike) -> QuerySet[HeldItem]:
    """Time entries and expenses finance held back from invoicing."""
    if not actor.has_perm("billing.view_invoicerun"):
        return HeldItem.objects.none()
    return HeldItem.objects.select_related(
        "time_entry__person", "time_entry__project", "expense__person", "expense__project",
        "held_by").order_by("-held_at")


def cap_holds(*, actor: UserLike, status: str | None = CapHold.Status.HELD
              ) -> QuerySet[CapHold]:
    """Amounts held over a cap (by default those still held), oldest first."""
    if not actor.has_perm("billing.view_invoice"):
        return CapHold.objects.none()
    holds = CapHold.objects.select_related("contract__client", "source_invoice")
    if status:
        holds = holds.filter(status=status)
    return holds.order_by("created_at", "pk")
