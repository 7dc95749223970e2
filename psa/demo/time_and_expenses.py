"""Months of time entries and expenses in every state, plus time off and expense policies.

Works from what the earlier phases stored (people, teams, leaf tasks, rate cards, cost rates),
loaded once into memory as small maps; entries are planned per person in Python, priced at
approval from those maps by the rule of DOMAIN.md (override on the contract's card, role line
on the contract's card, the client's card, the standard card, each by the line effective on
the work date), and written with `bulk_create(batch_size=2000)`: no query per entry.

States follow the demo's calendar: the current week is draft, the previous week submitted
(some still draft, some already approved), older weeks approved with a few rejected, late or
still waiting. The demo `consultant` has draft entries this week and submitted ones from last
week waiting for the demo `manager`.

Idempotent: a person who already has time entries or expenses is skipped, so a repeat (even
with another --as-of) adds nothing; entries are also unique per cell (ignore_conflicts).
"""

import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from django.db import transaction

from psa import models
from psa.common.money import quantize
from psa.demo.bulk import chunked, insert
from psa.demo.people import CONSULTANT, employee_number
from psa.demo.scope import DemoScope
from psa.selectors.calendar import public_holidays

BATCH_SIZE: Final = 2000
PEOPLE_PER_BATCH: Final = 100
QUARTER: Final = Decimal("0.25")
Status = models.TimeEntry.Status
Category = models.ExpenseCategory

# (category, receipt above, limit, unit rate) per currency
POLICIES: Final = {
    "USD": ((Category.LODGING, "25", "300", None), (Category.AIRFARE, "0", "1200", None),
            (Category.MEALS, "25", "75", None), (Category.GROUND_TRANSPORT, "25", "150", None),
            (Category.MILEAGE, "0", None, "0.7000"), (Category.PER_DIEM, "0", None, "75.0000"),
            (Category.OTHER, "25", "250", None)),
    "GBP": ((Category.LODGING, "20", "220", None), (Category.AIRFARE, "0", "900", None),
            (Category.MEALS, "20", "55", None), (Category.GROUND_TRANSPORT, "20", "110", None),
            (Category.MILEAGE, "0", None, "0.4500"), (Category.PER_DIEM, "0", None, "50.0000"),
            (Category.OTHER, "20", "180", None)),
}
# (category, weight, low, high, merchants); amounts in the project's currency units
EXPENSE_KINDS: Final = (
    (Category.LODGING, 4, 120, 360, ("Marriott", "Hilton", "Premier Inn", "Hyatt")),
    (Category.AIRFARE, 2, 180, 1300, ("Delta", "British Airways", "United", "easyJet")),
    (Category.MEALS, 6, 12, 95, ("Pret A Manger", "Chipotle", "Client lunch", "Dishoom")),
    (Category.GROUND_TRANSPORT, 5, 8, 170, ("Uber", "Addison Lee", "Amtrak", "Avanti")),
    (Category.MILEAGE, 2, 20, 180, ("",)),
    (Category.PER_DIEM, 1, 1, 3, ("",)),
    (Category.OTHER, 1, 10, 260, ("Staples", "Ryman", "Printing", "Parking")),
)
NOTES: Final = ("Workshop preparation", "Client meeting", "Analysis and write-up",
                "Status call and follow-ups", "Review comments addressed", "Build and test",
                "Design session", "Documentation")
REJECTIONS: Final = ("Wrong task: book this on Project management.",
                     "Hours look doubled; please check against the calendar.",
                     "Notes are required on this project.",
                     "Receipt missing for this amount.")
JUSTIFICATIONS: Final = ("Only hotel available near the client site.",
                         "Client dinner approved by the engagement partner.",
                         "Last-minute flight requested by the client.")


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    id: int
    status: str
    start: date
    end: date
    is_internal: bool
    manager_user: int | None
    currency: str
    entity_currency: str
    requires_notes: bool
    # rate resolution order: [(source, card id)], cards already filtered to the currency
    cards: tuple[tuple[str, int], ...]
    expenses_billable: bool
    tasks: tuple[tuple[int, bool, date | None, date | None], ...]  # leaf tasks


@dataclass(slots=True)
class Prices:
    """Rate cards and cost rates in memory, to price approved entries without queries."""

    lines: dict[tuple[int, int], tuple[list[date], list[Decimal]]] = field(default_factory=dict)
    overrides: dict[tuple[int, int], tuple[list[date], list[Decimal]]] = field(
        default_factory=dict)
    costs: dict[int, tuple[list[date], list[tuple[Decimal, str]]]] = field(default_factory=dict)

    @staticmethod
    def _on(series: tuple[list[date], list] | None, day: date) -> object | None:
        if series is None:
            return None
        index = bisect_right(series[0], day)
        return series[1][index - 1] if index else None

    def bill(self, project: ProjectInfo, person_id: int, role_id: int,
             day: date) -> tuple[Decimal, str] | None:
        """(rate, source) by the first match of DOMAIN.md's order, or None."""
        for source, card_id in project.cards:
            if source == "contract_card":
                rate = self._on(self.overrides.get((card_id, person_id)), day)
                if rate is not None:
                    return rate, "contract_override"
            rate = self._on(self.lines.get((card_id, role_id)), day)
            if rate is not None:
                return rate, source
        return None

    def cost(self, person_id: int, day: date) -> tuple[Decimal, str] | None:
        return self._on(self.costs.get(person_id), day)


def _series(rows: list[tuple[object, date, object]]) -> dict:
    grouped: dict[object, list[tuple[date, object]]] = defaultdict(list)
    for key, day, value in rows:
        grouped[key].append((day, value))
    return {key: ([d for d, _ in sorted(items, key=lambda i: i[0])],
                  [v for _, v in sorted(items, key=lambda i: i[0])])
            for key, items in grouped.items()}


def ensure_expense_policies(entity_ids: dict[str, int]) -> None:
    """A policy per category for each legal entity (threshold, limit, mileage, per diem)."""
    currencies = dict(models.LegalEntity.objects.filter(pk__in=entity_ids.values())
                      .values_list("pk", "base_currency"))
    insert(models.ExpensePolicy, (models.ExpensePolicy(
        legal_entity_id=entity_id, category=category, currency=currencies[entity_id],
        receipt_required_above=Decimal(threshold),
        limit_amount=Decimal(limit) if limit else None,
        unit_rate=Decimal(unit) if unit else None)
        for entity_id in entity_ids.values()
        for category, threshold, limit, unit in POLICIES.get(currencies[entity_id], ())))


def _load_projects() -> dict[int, ProjectInfo]:
    entity_currency = dict(models.LegalEntity.objects.values_list("pk", "base_currency"))
    manager_users = dict(models.Person.objects.filter(user__isnull=False)
                         .values_list("pk", "user_id"))
    cards = {pk: (currency, active, kind) for pk, currency, active, kind in
             models.RateCard.objects.values_list("pk", "currency", "is_active", "kind")}
    standard = {currency: pk for pk, (currency, active, kind) in cards.items()
                if kind == models.RateCard.Kind.STANDARD and active}
    contracts = {pk: (currency, card, client_card, billable) for pk, currency, card, client_card,
                 billable in models.Contract.objects.values_list(
                     "pk", "currency", "rate_card_id", "client__rate_card_id",
                     "expenses_billable")}
    parents = set(models.Task.objects.filter(parent__isnull=False)
                  .values_list("parent_id", flat=True))
    leaves: dict[int, list[tuple]] = defaultdict(list)
    for pk, project_id, billable, start, end in models.Task.objects.order_by(
            "project_id", "position", "pk").values_list("pk", "project_id", "is_billable",
                                                        "start_date", "end_date"):
        if pk not in parents:
            leaves[project_id].append((pk, billable, start, end))
    projects = {}
    for row in models.Project.objects.values_list(
            "pk", "status", "start_date", "end_date", "is_internal", "manager_id", "currency",
            "legal_entity_id", "requires_time_notes", "contract_id"):
        pk, status, start, end, internal, manager, currency, entity, notes, contract_id = row
        order: list[tuple[str, int]] = []
        billable_expenses = False
        if contract_id is not None:
            c_currency, card, client_card, billable_expenses = contracts[contract_id]
            for source, card_id in (("contract_card", card), ("client_card", client_card),
                                    ("standard_card", standard.get(c_currency))):
                if card_id is not None and cards[card_id][1] and cards[card_id][0] == c_currency:
                    order.append((source, card_id))
        projects[pk] = ProjectInfo(
            id=pk, status=status, start=start, end=end, is_internal=internal,
            manager_user=manager_users.get(manager), currency=currency,
            entity_currency=entity_currency[entity], requires_notes=notes, cards=tuple(order),
            expenses_billable=billable_expenses, tasks=tuple(leaves.get(pk, ())))
    return projects


def _load_prices() -> Prices:
    prices = Prices()
    prices.lines = _series([((card, role), day, rate) for card, role, day, rate in
                            models.RateCardLine.objects.values_list(
                                "rate_card_id", "role_id", "effective_from", "hourly_rate")])
    prices.overrides = _series([((card, person), day, rate) for card, person, day, rate in
                                models.RateCardOverride.objects.values_list(
                                    "rate_card_id", "person_id", "effective_from",
                                    "hourly_rate")])
    prices.costs = _series([(person, day, (cost, currency)) for person, day, cost, currency in
                            models.CostRate.objects.values_list(
                                "person_id", "effective_from", "hourly_cost", "currency")])
    return prices


@dataclass(frozen=True, slots=True)
class PersonRow:
    id: int
    number: str
    role_id: int
    hire: date
    termination: date | None
    weekly: Decimal
    country: str
    status: str
    zone: str


def _quarters(hours: Decimal) -> Decimal:
    return (hours / QUARTER).to_integral_value() * QUARTER


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


class _Planner:
    """Plans one person's time off, entries and expenses (pure, seeded per person)."""

    def __init__(self, scope: DemoScope, projects: dict[int, ProjectInfo], prices: Prices,
                 memberships: dict[int, list[tuple[int, int | None]]]) -> None:
        self.scope = scope
        self.projects = projects
        self.prices = prices
        self.memberships = memberships
        self.this_week = _monday(scope.as_of)
        self.last_week = self.this_week - timedelta(days=7)
        self.consultant_number = employee_number(CONSULTANT)

    def _at(self, day: date, hour: int, zone: str) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=ZoneInfo(zone))

    def time_off(self, person: PersonRow, rng: random.Random, start: date,
                 end: date) -> list[tuple[date, date, str]]:
        if person.status == models.Person.EmploymentStatus.LEAVE:
            return [(max(start, self.scope.as_of - timedelta(days=40)),
                     self.scope.as_of + timedelta(days=30), models.TimeOff.Kind.PARENTAL)]
        if person.number == self.consultant_number or (end - start).days < 30 \
                or rng.random() < 0.4:
            return []
        first = start + timedelta(days=rng.randint(0, (end - start).days - 14))
        first = _monday(first) + timedelta(days=7)
        if first > end:
            return []
        return [(first, first + timedelta(days=rng.choice((2, 4))), models.TimeOff.Kind.VACATION)]

    def week_state(self, person: PersonRow, week: date, rng: random.Random) -> str:
        """How far the person's week went: draft, submitted, late, approved or mixed."""
        if week >= self.this_week:
            return "draft"
        if week == self.last_week:
            if person.number == self.consultant_number:
                return "submitted"
            roll = rng.random()
            return "draft" if roll < 0.12 else "approved" if roll < 0.35 else "submitted"
        roll = rng.random()
        if week == self.last_week - timedelta(days=7) and roll < 0.15:
            return "submitted"
        return "late" if roll < 0.08 else "approved"

    def plan(self, person: PersonRow, entries: list, expenses: list, leave: list) -> None:
        scope = self.scope
        rng = random.Random(f"{scope.seed}:time:{person.number}")
        start = max(scope.window_start, person.hire)
        end = min(scope.as_of, person.termination or scope.as_of)
        if end < start:
            return
        offs = self.time_off(person, rng, start, end)
        count = len(entries)
        days_off = {a + timedelta(days=n) for a, b, _ in offs for n in range((b - a).days + 1)}
        holidays = public_holidays(country=person.country, start=start, end=end)
        standard = _quarters(person.weekly / 5) or Decimal("8.00")
        members = self.memberships.get(person.id, [])
        weeks: dict[date, str] = {}
        day = start
        while day <= end:
            if day.weekday() >= 5 or day in holidays or day in days_off:
                day += timedelta(days=1)
                continue
            week = _monday(day)
            if week not in weeks:
                weeks[week] = self.week_state(person, week, rng)
            if rng.random() < 0.04:  # a day left out: an incomplete week
                day += timedelta(days=1)
                continue
            self._day(person, day, weeks[week], standard, members, rng, entries, expenses)
            day += timedelta(days=1)
        if len(entries) > count or person.status == models.Person.EmploymentStatus.LEAVE:
            # Leave only for people who book time (or are on leave), so a repeat run, which
            # skips everyone with entries or leave, finds nothing new to add.
            leave.extend(models.TimeOff(person_id=person.id, kind=kind, start_date=a,
                                        end_date=b, status=models.TimeOff.Status.APPROVED)
                         for a, b, kind in offs)

    def _choices(self, members: list[tuple[int, int | None]],
                 day: date) -> tuple[list[tuple], list[tuple]]:
        client, internal = [], []
        for project_id, role_id in members:
            project = self.projects[project_id]
            if project.status == "tentative" or not project.start <= day <= project.end:
                continue
            tasks = [t for t in project.tasks
                     if (t[2] is None or t[2] <= day) and (t[3] is None or day <= t[3])]
            if tasks:
                (internal if project.is_internal else client).append((project, role_id, tasks))
        return client, internal

    def _day(self, person: PersonRow, day: date, state: str, standard: Decimal,
             members: list, rng: random.Random, entries: list, expenses: list) -> None:
        client, internal = self._choices(members, day)
        options = client or internal
        if not options:
            return
        hours = standard
        if rng.random() < 0.1:
            hours += QUARTER * rng.randint(2, 8)
        project, role_id, tasks = rng.choice(options)
        picks = rng.sample(tasks, min(len(tasks), rng.choice((1, 1, 2))))
        if len(picks) == 2:
            first = _quarters(hours * Decimal(rng.randint(30, 70)) / 100)
            split = [(picks[0], first), (picks[1], hours - first)]
        else:
            split = [(picks[0], hours)]
        week = _monday(day)
        for (task_id, task_billable, _, _), task_hours in split:
            entry = self._entry(person, project, role_id or person.role_id, task_id,
                                task_billable, day, task_hours, state, week, rng)
            entries.append(entry)
        if client and rng.random() < 0.06:
            expenses.append(self._expense(person, project, day, entries[-1], rng))

    def _entry(self, person: PersonRow, project: ProjectInfo, role_id: int, task_id: int,
               task_billable: bool, day: date, hours: Decimal, state: str, week: date,
               rng: random.Random) -> models.TimeEntry:
        billable = task_billable and not project.is_internal
        notes = rng.choice(NOTES) if project.requires_notes or rng.random() < 0.3 else ""
        entry = models.TimeEntry(person_id=person.id, project_id=project.id, task_id=task_id,
                                 work_date=day, hours=hours, is_billable=billable, notes=notes,
                                 status=Status.DRAFT)
        if state == "draft":
            return entry
        friday = week + timedelta(days=4)
        late = state == "late"
        entry.submitted_at = self._at(friday + timedelta(days=4 if late else 0),
                                      16 if late else 17, person.zone)
        entry.status = Status.SUBMITTED
        if state == "submitted":
            return entry
        if rng.random() < 0.02:
            entry.status = Status.REJECTED
            entry.rejected_at = entry.submitted_at + timedelta(days=3)
            entry.rejected_by_id = project.manager_user
            entry.rejection_reason = rng.choice(REJECTIONS)
            return entry
        bill = self.prices.bill(project, person.id, role_id, day) if billable else None
        cost = self.prices.cost(person.id, day)
        if cost is None or (billable and bill is None):
            return entry  # no rate: it cannot be approved, so it keeps waiting
        entry.status = Status.APPROVED
        entry.approved_at = entry.submitted_at + timedelta(days=3)
        entry.approved_by_id = project.manager_user
        if bill is not None:
            entry.bill_rate, entry.rate_source = bill
            entry.bill_currency = project.currency
        entry.cost_rate, entry.cost_currency = cost
        return entry

    def _expense(self, person: PersonRow, project: ProjectInfo, day: date,
                 entry: models.TimeEntry, rng: random.Random) -> models.Expense:
        kind = rng.choices(EXPENSE_KINDS, weights=[k[1] for k in EXPENSE_KINDS])[0]
        category, _, low, high, merchants = kind
        policy = {c: (limit, unit) for c, _, limit, unit in
                  POLICIES.get(project.entity_currency, POLICIES["USD"])}
        limit, unit = policy[category]
        currency, rate = project.currency, Decimal("1")
        quantity = unit_rate = None
        if category in (Category.MILEAGE, Category.PER_DIEM):
            quantity = Decimal(rng.randint(low, high))
            unit_rate = Decimal(unit)
            amount = quantize(quantity * unit_rate, currency)
        else:
            amount = Decimal(rng.randint(low * 100, high * 100)) / 100
            if currency == "GBP" and rng.random() < 0.1:  # paid in euros on a trip
                currency, rate = "EUR", Decimal("0.8600")
        project_amount = quantize(amount * rate, project.currency)
        over = limit is not None and project_amount > Decimal(limit)
        status = entry.status
        expense = models.Expense(
            person_id=person.id, project_id=project.id, expense_date=day, category=category,
            merchant=rng.choice(merchants), amount=amount, currency=currency,
            exchange_rate=rate, project_amount=project_amount,
            project_currency=project.currency, quantity=quantity, unit_rate=unit_rate,
            is_billable=project.expenses_billable, is_over_policy=over,
            justification=rng.choice(JUSTIFICATIONS) if over else "", status=status,
            submitted_at=entry.submitted_at)
        if status == Status.APPROVED:
            expense.approved_at, expense.approved_by_id = entry.approved_at, entry.approved_by_id
        elif status == Status.REJECTED:
            expense.rejected_at, expense.rejected_by_id = entry.rejected_at, entry.rejected_by_id
            expense.rejection_reason = entry.rejection_reason
        return expense


def _people(done: set[int]) -> Iterator[PersonRow]:
    zones = dict(models.LegalEntity.objects.values_list("pk", "time_zone"))
    rows = (models.Person.objects.order_by("employee_number")
            .values_list("pk", "employee_number", "role_id", "hire_date", "termination_date",
                         "weekly_standard_hours", "country", "employment_status",
                         "legal_entity_id"))
    for pk, number, role, hire, termination, weekly, country, status, entity in rows.iterator(
            chunk_size=2000):
        if pk not in done:
            yield PersonRow(pk, number, role, hire, termination, weekly, country, status,
                            zones[entity])


def ensure_time_and_expenses(scope: DemoScope, *, entity_ids: dict[str, int],
                             log: Callable[[str], None]) -> None:
    """Time off, entries and expenses for everyone who has none yet; policies per entity."""
    with transaction.atomic():
        ensure_expense_policies(entity_ids)
    done = set(models.TimeEntry.objects.values_list("person_id", flat=True).distinct())
    done |= set(models.Expense.objects.values_list("person_id", flat=True).distinct())
    done |= set(models.TimeOff.objects.values_list("person_id", flat=True).distinct())
    memberships: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    for project_id, person_id, role_id in models.ProjectMember.objects.order_by(
            "project_id", "person_id").values_list("project_id", "person_id", "role_id"):
        memberships[person_id].append((project_id, role_id))
    planner = _Planner(scope, _load_projects(), _load_prices(), memberships)
    written = 0
    for batch in chunked(_people(done), PEOPLE_PER_BATCH):
        entries: list[models.TimeEntry] = []
        expenses: list[models.Expense] = []
        leave: list[models.TimeOff] = []
        with transaction.atomic():
            for person in batch:
                planner.plan(person, entries, expenses, leave)
                if len(entries) >= BATCH_SIZE:
                    insert(models.TimeEntry, entries, batch_size=BATCH_SIZE)
                    written += len(entries)
                    entries = []
            insert(models.TimeEntry, entries, batch_size=BATCH_SIZE)
            models.Expense.objects.bulk_create(expenses, batch_size=BATCH_SIZE)
            models.TimeOff.objects.bulk_create(leave, batch_size=BATCH_SIZE)
        written += len(entries)
    if written:
        log(f"  time and expenses: {written} entries")
