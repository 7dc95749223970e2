"""Re-rating a contract's approved, unbilled time after a rate card correction (DOMAIN.md).

Finance previews, per entry, the frozen rate and amount against what the rate resolution
gives today, then applies it as one audited action. Billed entries (a live invoice link)
never change: a difference after billing is a credit note and a rebill. Entries dated in a
closed month are listed but not changed. Callers check `billing.rerate_timeentry`.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from billing.models import BilledItem
from psa import events
from psa.common.money import ZERO, quantize
from psa.models import Contract, Person, ProjectMember, Role, TimeEntry
from psa.services.periods import closed_months
from psa.services.rates_resolution import ResolvedRate, bill_rate_resolve
from psa.services.time_rerate import time_entries_rerate


@dataclass(frozen=True)
class RerateLine:
    """One unbilled entry: its frozen rate and amount, and what re-rating would make them."""

    time_entry_id: int
    person_id: int
    person_name: str
    project_id: int
    work_date: date
    hours: Decimal
    old_rate: Decimal
    new_rate: Decimal
    new_rate_source: str
    old_amount: Decimal
    new_amount: Decimal
    period_closed: bool

    @property
    def difference(self) -> Decimal:
        return self.new_amount - self.old_amount

    @property
    def changes(self) -> bool:
        """Whether applying the re-rate would change this entry."""
        return self.new_rate != self.old_rate and not self.period_closed


@dataclass(frozen=True)
class ReratePreview:
    """Every approved, unbilled, billable entry of a contract with old and new amounts.

    The totals cover the entries that would change (`changes`); entries in a closed month
    are listed with `period_closed` and left out of them.
    """

    contract_id: int
    currency: str
    lines: tuple[RerateLine, ...]
    old_total: Decimal
    new_total: Decimal

    @property
    def difference(self) -> Decimal:
        return self.new_total - self.old_total

    @property
    def changing(self) -> tuple[RerateLine, ...]:
        return tuple(line for line in self.lines if line.changes)


def unbilled_entries(contract: Contract) -> QuerySet[TimeEntry]:
    """The contract's approved, billable, rated time entries with no live invoice link."""
    live = BilledItem.objects.filter(time_entry=OuterRef("pk"), is_live=True)
    return (TimeEntry.objects
            .filter(project__contract=contract, status=TimeEntry.Status.APPROVED,
                    is_billable=True, bill_rate__isnull=False)
            .filter(~Exists(live)))


class _Resolver:
    """Bill rates as at approval (the team member's role on the project, else the person's
    role), memoised per (person, role, work date): the resolver also looks at the person's
    override, so the person is part of the key."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.member_roles: dict[tuple[int, int], Role] = {
            (member.project_id, member.person_id): member.role
            for member in ProjectMember.objects.filter(
                project__contract=contract, role__isnull=False).select_related("role")}
        self.cache: dict[tuple[int, int, date], ResolvedRate] = {}

    def rate(self, *, person: Person, project_id: int, work_date: date) -> ResolvedRate:
        role = self.member_roles.get((project_id, person.pk)) or person.role
        key = (person.pk, role.pk, work_date)
        if key not in self.cache:
            self.cache[key] = bill_rate_resolve(contract=self.contract, person=person,
                                                work_date=work_date, role=role)
        return self.cache[key]


def _closed(contract: Contract, entries: QuerySet[TimeEntry]) -> set[date]:
    first = entries.order_by("work_date").values_list("work_date", flat=True).first()
    if first is None:
        return set()
    last = entries.order_by("-work_date").values_list("work_date", flat=True).first()
    return closed_months(legal_entity_id=contract.legal_entity_id, start=first, end=last)


def rerate_preview(*, contract: Contract) -> ReratePreview:
    """Old and new rate and amount (hours x rate, rounded per entry) of each approved,
    unbilled, billable entry of the contract, in work date order, with the totals.

    Raises RateNotFoundError when no rate resolves for an entry (never a silent zero).
    """
    contract = Contract.objects.select_related("client__rate_card", "rate_card").get(
        pk=contract.pk)
    currency = contract.currency
    resolver = _Resolver(contract)
    entries = unbilled_entries(contract)
    closed = _closed(contract, entries)
    lines = []
    old_total = new_total = ZERO
    for entry in (entries.select_related("person__role")
                  .order_by("work_date", "pk").iterator(chunk_size=2000)):
        resolved = resolver.rate(person=entry.person, project_id=entry.project_id,
                                 work_date=entry.work_date)
        line = RerateLine(
            time_entry_id=entry.pk, person_id=entry.person_id,
            person_name=entry.person.full_name, project_id=entry.project_id,
            work_date=entry.work_date, hours=entry.hours, old_rate=entry.bill_rate,
            new_rate=resolved.hourly_rate, new_rate_source=resolved.source,
            old_amount=quantize(entry.hours * entry.bill_rate, currency),
            new_amount=quantize(entry.hours * resolved.hourly_rate, currency),
            period_closed=entry.work_date.replace(day=1) in closed)
        lines.append(line)
        if line.changes:
            old_total += line.old_amount
            new_total += line.new_amount
    return ReratePreview(contract_id=contract.pk, currency=currency, lines=tuple(lines),
                         old_total=old_total, new_total=new_total)


@transaction.atomic
def rerate_apply(*, contract: Contract, actor: User) -> int:
    """Apply the re-rate preview to the contract's unbilled entries; returns how many changed.

    One transaction: the contract is locked (an invoice run drafting it waits, so nothing is
    billed half way through), the entries are re-read under lock and still must be unbilled,
    each change is audited by `actor`, and `contract.rerated` is published with the totals.
    Raises RateNotFoundError as the preview does.
    """
    contract = Contract.objects.select_for_update(of=("self",)).get(pk=contract.pk)
    preview = rerate_preview(contract=contract)
    changing = preview.changing
    if not changing:
        return 0
    changed = time_entries_rerate(
        entries=unbilled_entries(contract), actor=actor,
        rates={line.time_entry_id: line.new_rate for line in changing})
    events.publish("contract.rerated", aggregate=contract, payload={
        "contract_id": contract.pk, "currency": preview.currency, "entries": changed,
        "old_amount": str(preview.old_total), "new_amount": str(preview.new_total),
        "first_work_date": min(line.work_date for line in changing).isoformat(),
        "last_work_date": max(line.work_date for line in changing).isoformat(),
        "rerated_by_id": actor.pk})
    return changed
