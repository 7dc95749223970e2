"""What waits for an approver: submitted time and expenses, by person and week, with flags.

An approver sees the submitted items the role matrix lets them approve
(`psa.approve_timeentry` / `psa.approve_expense`: projects they manage, or everything for an
administrator) and never their own. Anomaly flags (UI.md, Approvals) point at what deserves a
second look before approving:

- `holiday`: time booked on a public holiday of the person's country (psa.selectors.calendar);
- `leave`: time booked on a day of approved time off;
- `long_day`: a day whose total hours (all the person's entries that day, not only those
  waiting) exceed both 1.5 times the person's standard day and 10 hours;
- `after_termination`: an entry or expense dated after the person's termination date;
- `over_policy`: an expense above its category's policy limit.

The selectors run a fixed number of queries whatever the number of people and weeks.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from django.contrib.auth.models import User
from django.db.models import QuerySet, Sum

from psa.models import Expense, Person, TimeEntry, TimeOff
from psa.rules import visible
from psa.selectors.calendar import public_holidays

ZERO: Final = Decimal("0.00")
LONG_DAY_FACTOR: Final = Decimal("1.5")
LONG_DAY_MIN_HOURS: Final = Decimal("10")
FLAG_LABELS: Final = {
    "holiday": "Public holiday",
    "leave": "On approved leave",
    "long_day": "Long day",
    "after_termination": "After termination",
    "over_policy": "Over policy",
}
# A symbol beside the label (never the only cue: the label is always shown).
FLAG_ICONS: Final = {
    "holiday": "\u2600",  # sun
    "leave": "\u2708",  # airplane
    "long_day": "\u23f1",  # stopwatch
    "after_termination": "\u26d4",  # no entry
    "over_policy": "\u26a0",  # warning sign
}


def week_start_of(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Flag:
    """One anomaly: a code (for icons and the API), its label and a sentence saying why."""

    code: str
    label: str
    detail: str

    @property
    def icon(self) -> str:
        return FLAG_ICONS.get(self.code, "!")


@dataclass(frozen=True)
class ApprovalTimeItem:
    """One submitted time entry in a group, with its own flags."""

    id: int
    work_date: date
    project_id: int
    project_code: str
    task_name: str
    hours: Decimal
    is_billable: bool
    notes: str
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class ApprovalExpenseItem:
    """One submitted expense in a group, with its own flags."""

    id: int
    expense_date: date
    project_id: int
    project_code: str
    category: str
    category_label: str
    merchant: str
    amount: Decimal
    currency: str
    project_amount: Decimal
    project_currency: str
    is_billable: bool
    justification: str
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class MoneyTotal:
    currency: str
    amount: Decimal


@dataclass
class ApprovalGroup:
    """One person's week: totals, flags and the ids of every item waiting in it."""

    person_id: int
    person_name: str
    week_start: date
    hours: Decimal = ZERO
    billable_hours: Decimal = ZERO
    time_entry_ids: list[int] = field(default_factory=list)
    expense_ids: list[int] = field(default_factory=list)
    expense_totals: list[MoneyTotal] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    time_items: list[ApprovalTimeItem] = field(default_factory=list)
    expense_items: list[ApprovalExpenseItem] = field(default_factory=list)

    @property
    def key(self) -> str:
        """A stable id for the group in pages: `<person id>-<week start>`."""
        return f"{self.person_id}-{self.week_start:%Y-%m-%d}"

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)

    @property
    def billable_share(self) -> Decimal | None:
        """Billable hours ÷ hours in percent (2 places); None without hours."""
        if not self.hours:
            return None
        return (self.billable_hours * 100 / self.hours).quantize(Decimal("0.01"))

    @property
    def flag_codes(self) -> list[str]:
        return sorted({flag.code for flag in self.flags})

    @property
    def flag_summary(self) -> list[Flag]:
        """One flag per code (the first sentence, with a count when there are more)."""
        by_code: dict[str, list[Flag]] = defaultdict(list)
        for flag in self.flags:
            by_code[flag.code].append(flag)
        summary = []
        for code in sorted(by_code):
            flags = by_code[code]
            more = f" (and {len(flags) - 1} more)" if len(flags) > 1 else ""
            summary.append(Flag(code, flags[0].label, f"{flags[0].detail}{more}"))
        return summary


def approvable_time_entries(*, actor: User) -> QuerySet[TimeEntry]:
    """Submitted time entries the actor may approve, never the actor's own."""
    entries = TimeEntry.objects.filter(status=TimeEntry.Status.SUBMITTED).exclude(
        person__user=actor)
    return visible(entries, actor, "psa.approve_timeentry")


def approvable_expenses(*, actor: User) -> QuerySet[Expense]:
    """Submitted expenses the actor may approve, never the actor's own."""
    expenses = Expense.objects.filter(status=Expense.Status.SUBMITTED).exclude(
        person__user=actor)
    return visible(expenses, actor, "psa.approve_expense")


def _flag(code: str, detail: str) -> Flag:
    return Flag(code, FLAG_LABELS[code], detail)


class _Calendar:
    """Holidays, leave, termination and day totals of the people in view (4 queries)."""

    def __init__(self, people: dict[int, Person], spans: dict[int, tuple[date, date]]) -> None:
        self.people = people
        self.holidays: dict[int, dict[date, str]] = {}
        for person_id, (start, end) in spans.items():
            person = people[person_id]
            self.holidays[person_id] = public_holidays(country=person.country, start=start,
                                                       end=end)
        self.leave: dict[tuple[int, date], str] = {}
        self.day_totals: dict[tuple[int, date], Decimal] = {}
        if not spans:
            return
        first = min(start for start, _ in spans.values())
        last = max(end for _, end in spans.values())
        for off in TimeOff.objects.filter(person_id__in=list(spans),
                                          status=TimeOff.Status.APPROVED,
                                          start_date__lte=last, end_date__gte=first):
            day = off.start_date
            while day <= off.end_date:
                self.leave[(off.person_id, day)] = off.get_kind_display()
                day += timedelta(days=1)
        totals = (TimeEntry.objects.filter(person_id__in=list(spans),
                                           work_date__range=(first, last))
                  .exclude(status=TimeEntry.Status.REJECTED)
                  .values_list("person_id", "work_date").annotate(total=Sum("hours")))
        self.day_totals = {(person_id, day): total for person_id, day, total in totals}

    def time_flags(self, person_id: int, day: date) -> tuple[Flag, ...]:
        person = self.people[person_id]
        flags = []
        holiday = self.holidays.get(person_id, {}).get(day)
        if holiday:
            flags.append(_flag("holiday", f"{day:%a %d %b %Y} is a public holiday ({holiday})."))
        leave = self.leave.get((person_id, day))
        if leave:
            flags.append(_flag("leave", f"{day:%a %d %b %Y} is approved time off ({leave})."))
        total = self.day_totals.get((person_id, day), ZERO)
        standard_day = person.weekly_standard_hours / 5
        if total > standard_day * LONG_DAY_FACTOR and total > LONG_DAY_MIN_HOURS:
            flags.append(_flag("long_day", f"{total:.2f} h on {day:%a %d %b %Y}, against a "
                                           f"standard day of {standard_day:.2f} h."))
        if person.termination_date and day > person.termination_date:
            flags.append(self.terminated(person, day))
        return tuple(flags)

    @staticmethod
    def terminated(person: Person, day: date) -> Flag:
        return _flag("after_termination",
                     f"{day:%d %b %Y} is after {person.full_name}'s termination date "
                     f"({person.termination_date:%d %b %Y}).")


def _time_rows(entries: QuerySet[TimeEntry]) -> Iterable[TimeEntry]:
    return (entries.select_related("project", "task")
            .only("id", "person_id", "work_date", "hours", "is_billable", "notes",
                  "project__id", "project__code", "task__id", "task__name")
            .order_by("person_id", "work_date", "project__code", "id"))


def _expense_rows(expenses: QuerySet[Expense]) -> Iterable[Expense]:
    return (expenses.select_related("project")
            .only("id", "person_id", "expense_date", "category", "merchant", "amount",
                  "currency", "project_amount", "project_currency", "is_billable",
                  "is_over_policy", "justification", "project__id", "project__code")
            .order_by("person_id", "expense_date", "id"))


def approval_groups(*, actor: User, person_id: int | None = None,
                    week_start: date | None = None) -> list[ApprovalGroup]:
    """What waits for the actor, one group per person and week (oldest week first).

    `person_id` and `week_start` narrow it to one group (the page's expanded row). Every group
    carries its items, totals and flags; six queries whatever the size.
    """
    entries = approvable_time_entries(actor=actor)
    expenses = approvable_expenses(actor=actor)
    if person_id is not None:
        entries = entries.filter(person_id=person_id)
        expenses = expenses.filter(person_id=person_id)
    if week_start is not None:
        week_end = week_start + timedelta(days=6)
        entries = entries.filter(work_date__range=(week_start, week_end))
        expenses = expenses.filter(expense_date__range=(week_start, week_end))
    time_rows = list(_time_rows(entries))
    expense_rows = list(_expense_rows(expenses))

    spans: dict[int, tuple[date, date]] = {}
    for person, day in ([(e.person_id, e.work_date) for e in time_rows]
                        + [(x.person_id, x.expense_date) for x in expense_rows]):
        start, end = spans.get(person, (day, day))
        spans[person] = (min(start, day), max(end, day))
    people = Person.objects.only(
        "id", "first_name", "last_name", "country", "termination_date", "weekly_standard_hours",
    ).in_bulk(list(spans))
    calendar = _Calendar(people, spans)

    groups: dict[tuple[int, date], ApprovalGroup] = {}

    def group_of(person: int, day: date) -> ApprovalGroup:
        key = (person, week_start_of(day))
        if key not in groups:
            groups[key] = ApprovalGroup(person_id=person, person_name=people[person].full_name,
                                        week_start=key[1])
        return groups[key]

    for entry in time_rows:
        group = group_of(entry.person_id, entry.work_date)
        flags = calendar.time_flags(entry.person_id, entry.work_date)
        group.time_items.append(ApprovalTimeItem(
            id=entry.pk, work_date=entry.work_date, project_id=entry.project.pk,
            project_code=entry.project.code, task_name=entry.task.name, hours=entry.hours,
            is_billable=entry.is_billable, notes=entry.notes, flags=flags))
        group.time_entry_ids.append(entry.pk)
        group.hours += entry.hours
        if entry.is_billable:
            group.billable_hours += entry.hours
        # A long day is one anomaly however many entries share it.
        group.flags.extend(f for f in flags if f not in group.flags)

    money: dict[tuple[int, date], dict[str, Decimal]] = defaultdict(lambda: defaultdict(
        lambda: ZERO))
    for expense in expense_rows:
        group = group_of(expense.person_id, expense.expense_date)
        person = people[expense.person_id]
        flags = []
        if expense.is_over_policy:
            flags.append(_flag("over_policy",
                               f"{expense.get_category_display()} of {expense.amount:,.2f} "
                               f"{expense.currency} is over policy: "
                               f"“{expense.justification}”."))
        if person.termination_date and expense.expense_date > person.termination_date:
            flags.append(calendar.terminated(person, expense.expense_date))
        group.expense_items.append(ApprovalExpenseItem(
            id=expense.pk, expense_date=expense.expense_date, project_id=expense.project.pk,
            project_code=expense.project.code, category=expense.category,
            category_label=expense.get_category_display(), merchant=expense.merchant,
            amount=expense.amount, currency=expense.currency,
            project_amount=expense.project_amount, project_currency=expense.project_currency,
            is_billable=expense.is_billable, justification=expense.justification,
            flags=tuple(flags)))
        group.expense_ids.append(expense.pk)
        money[(group.person_id, group.week_start)][expense.project_currency] += (
            expense.project_amount)
        group.flags.extend(f for f in flags if f not in group.flags)

    for key, totals in money.items():
        groups[key].expense_totals = [MoneyTotal(currency, amount)
                                      for currency, amount in sorted(totals.items())]
    return sorted(groups.values(), key=lambda g: (g.week_start, g.person_name, g.person_id))

