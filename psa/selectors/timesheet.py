"""The consultant's week grid (`/time/`): rows, cells, totals and capacity, in fixed queries.

Everything here reads one person's own time: the page always shows the signed-in user's Person,
so no other person's entry can reach it. The number of queries does not depend on the number
of rows (asserted in tests/psa/pages/test_timesheet.py):

1. the week's entries of the person;
2. the row tasks with their projects and clients (this week's, the last four weeks' and the
   running timer's);
3. the projects the person is on (the group headers);
4. approved time off (capacity, through `capacity_by_day`);
5. the running timer;
6. the closed months of the person's legal entity.

A cell's HTML is drawn by `cell_html` (for the page and for the autosave answer alike): with
280 cells on a 40-row week, template includes per cell were most of the page's time.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cached_property, lru_cache
from html import escape

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.formats import localize
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

from psa.models import Person, Project, ProjectMember, RunningTimer, Task, TimeEntry
from psa.selectors.calendar import CalendarDay, capacity_by_day
from psa.services.periods import closed_months

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
RECENT_WEEKS = 4
PICKER_LIMIT = 20
STATUS_LABELS = dict(TimeEntry.Status.choices)
READ_ONLY_NOTE = {
    TimeEntry.Status.SUBMITTED: "Submitted: waiting for approval, read-only.",
    TimeEntry.Status.APPROVED: "Approved: read-only.",
    TimeEntry.Status.INVOICED: "Invoiced: read-only.",
    TimeEntry.Status.WRITTEN_OFF: "Written off: read-only.",
}


# --- Input -----------------------------------------------------------------------------------

class HoursParseError(ValueError):
    """What a person typed in a cell is not a number of hours."""


_CLOCK = re.compile(r"^(\d{1,2})\s*[:h]\s*(\d{1,2})?\s*(?:m|min)?$")
_DECIMAL = re.compile(r"^\d{0,3}(?:\.\d+)?\s*h?$")


def parse_hours(text: str | None) -> Decimal | None:
    """Hours typed in a cell as a Decimal; None for empty or zero (which clears the cell).

    `7.5`, `7,5`, `7:30`, `7h30` and `7.5h` all mean 7.50 hours. Raises HoursParseError for
    anything else (negative numbers, letters, minutes of 60 or more).
    """
    raw = (text or "").strip().lower().replace(",", ".").replace(" ", "")
    if not raw:
        return None
    if raw.startswith("-"):
        raise HoursParseError("Hours cannot be negative.")
    clock = _CLOCK.match(raw)
    if clock:
        hours, minutes = int(clock.group(1)), int(clock.group(2) or 0)
        if minutes >= 60:
            raise HoursParseError("Minutes must be below 60, as in 7:30.")
        value = Decimal(hours) + Decimal(minutes) / Decimal(60)
    elif _DECIMAL.match(raw) and raw.rstrip("h") not in ("", "."):
        try:
            value = Decimal(raw.rstrip("h"))
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
            raise HoursParseError("Type hours like 7.5, 7:30 or 7h30.") from exc
    else:
        raise HoursParseError("Type hours like 7.5, 7:30 or 7h30.")
    value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return value if value > 0 else None


def week_start_of(day: date) -> date:
    """The Monday of the week `day` falls in."""
    return day - timedelta(days=day.weekday())


def parse_week(text: str | None, *, today: date) -> date:
    """The Monday of the week of an ISO date from `?week=`; this week for a missing/bad value."""
    try:
        return week_start_of(date.fromisoformat((text or "").strip()))
    except ValueError:
        return week_start_of(today)


def format_hours(hours: Decimal | None) -> str:
    return "" if hours is None else f"{hours:.2f}"


def day_label(day: date) -> str:
    """`Tue 17 Nov`: how a column and a cell's label name a day."""
    return f"{day:%a} {day.day} {day:%b}"


# --- The grid ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class DayColumn:
    """One day of the week: its capacity and why it is reduced, and the day's total."""

    col: int
    day: date
    capacity: Decimal
    total: Decimal
    holiday: str
    time_off: Decimal
    employed: bool
    is_today: bool
    closed: bool

    @property
    def label(self) -> str:
        return day_label(self.day)

    @property
    def is_off(self) -> bool:
        """A holiday or leave shades the column."""
        return bool(self.holiday) or self.time_off > 0 or not self.employed

    @property
    def off_label(self) -> str:
        if not self.employed:
            return "Not employed"
        if self.holiday:
            return self.holiday
        if self.time_off > 0:
            return f"Leave {self.time_off:.2f} h"
        return ""

    @property
    def ymd(self) -> str:
        return self.day.isoformat()


@dataclass(frozen=True)
class Cell:
    """One grid cell: a task on a day, its entry if any, and whether it may be typed in."""

    task: Task
    col: int
    day: date
    entry: TimeEntry | None
    editable: bool
    lock_reason: str = ""
    typed: str | None = None  # what the person typed, kept after an error for a retry
    typed_notes: str | None = None
    error: str = ""
    saved: bool = False  # just saved by this request
    off: bool = False  # a holiday, leave or outside employment: the column is shaded

    @cached_property  # Row totals and the cell's text both read it
    def hours(self) -> Decimal | None:
        return self.entry.hours if self.entry else None

    @property
    def saved_text(self) -> str:
        return format_hours(self.hours)

    @property
    def value(self) -> str:
        return self.typed if self.typed is not None else self.saved_text

    @property
    def status(self) -> str:
        return self.entry.status if self.entry else "empty"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, "")

    @property
    def notes(self) -> str:
        if self.typed_notes is not None:
            return self.typed_notes
        return self.entry.notes if self.entry else ""

    @property
    def reason(self) -> str:
        if self.entry and self.entry.status == TimeEntry.Status.REJECTED:
            return self.entry.rejection_reason
        return ""

    @property
    def read_only_note(self) -> str:
        if self.entry and self.entry.status in READ_ONLY_NOTE:
            return READ_ONLY_NOTE[self.entry.status]
        return self.lock_reason

    @property
    def label(self) -> str:
        return f"{self.task.project.code} {self.task.name}, {day_label(self.day)}"

    @property
    def key(self) -> str:
        return f"{self.task.pk}-{self.day:%Y%m%d}"

    @property
    def ymd(self) -> str:
        return self.day.isoformat()

    @property
    def url(self) -> str:
        """Where the cell autosaves (the URL is built once, then filled per cell)."""
        return cell_url(self.task.pk, self.ymd)

    @property
    def html(self) -> SafeString:
        """The cell's `<td>` as the grid draws it (see `cell_html`)."""
        return cell_html(self)


@lru_cache(maxsize=1)
def _cell_url_pattern() -> str:
    return reverse("timesheet-cell", args=[0, "DAY"]).replace("/0/DAY/", "/{task}/{day}/")


def cell_url(task_id: int, ymd: str) -> str:
    return _cell_url_pattern().format(task=task_id, day=ymd)


def _text(value: object) -> str:
    """A value escaped as the template engine prints `{{ value }}` (safe strings stay as they
    are, lazy translations are resolved in the active language)."""
    if value.__class__ is str:
        return escape(value) if value else ""
    return conditional_escape(value if isinstance(value, str | Promise) else str(value))


def cell_html(cell: Cell, totals: "WeekTotals | None" = None) -> SafeString:
    """The HTML of one grid cell; `totals` adds the changed totals out of band (HTMX).

    The week page (280 cells for 40 rows) and the autosave answer both draw a cell with this
    one function, so a saved cell is swapped in exactly as the page drew it. It is Python rather
    than a template include because the page is dominated by its cells (bench/README.md): every
    value is escaped as the template engine would escape it. static/js/timesheet.js relies on
    the ids, classes and data attributes.
    """
    k = cell.key
    raw_status = cell.status
    status = _text(raw_status)
    notes = cell.notes
    error = cell.error
    editable = cell.editable
    saved = cell.saved
    label = _text(cell.label)
    status_label = str(cell.status_label)
    reason = cell.reason
    classes = (f"ts-cell d{cell.col} st-{status}"
               f"{' has-note' if notes else ''}{' has-error' if error else ''}"
               f"{'' if editable else ' is-locked'}{' is-saved' if saved and not error else ''}"
               f"{' is-off' if cell.off else ''}")
    state = "error" if error else "saved" if saved else "idle"
    if editable:
        input_end = (f' hx-post="{_text(cell.url)}" hx-trigger="change" hx-target="#cell-{k}"'
                     f' hx-swap="outerHTML" hx-include="#cell-{k}" hx-sync="this:queue last"')
    else:
        input_end = ' readonly aria-readonly="true"'
    if error:
        input_end += ' aria-invalid="true"'
        state_html = f'<span class="ts-error">{_text(error)}</span>'
    elif saved:
        state_html = '<span class="ts-saved">saved ✓</span>'
    else:
        state_html = ""
    if cell.entry and raw_status != "draft":
        state_html += f'<span class="ts-tag">{_text(status_label.lower())}</span>'
        if reason:
            state_html += f'<span class="visually-hidden">: {_text(reason)}</span>'
    if notes:
        state_html += '<span class="visually-hidden">Has a note.</span>'
    return SafeString(
        f'<td id="cell-{k}" class="{classes}" data-col="{cell.col}" data-label="{label}"'
        f' data-status="{_text(status_label)}" data-reason="{_text(reason)}"'
        f' data-lock="{_text(cell.read_only_note)}" data-state="{state}">\n'
        f'  <input type="text" inputmode="decimal" name="hours" id="h-{k}" class="ts-hours"'
        f' value="{_text(cell.value)}" data-saved="{_text(cell.saved_text)}" autocomplete="off"'
        f' spellcheck="false" maxlength="20" aria-label="{label}" aria-describedby="s-{k}"'
        f'{input_end}>\n'
        f'  <input type="hidden" name="notes" value="{_text(notes)}">\n'
        f'  <span class="ts-state" id="s-{k}">{state_html}</span>\n'
        f'  {totals_html(totals) if totals else ""}\n'
        f'</td>\n')


def totals_html(totals: "WeekTotals") -> str:
    """The row, day and week totals a saved cell changed, swapped in out of band (HTMX)."""
    row_total = floatformat(totals.row_total, 2) if totals.row_total else ""
    return (f'<span id="row-total-{_text(localize(totals.task_id))}" hx-swap-oob="true">'
            f'{row_total}</span>'
            f'<span id="day-total-{_text(localize(totals.col))}" hx-swap-oob="true">'
            f'{floatformat(totals.day_total, 2)}</span>'
            f'<span id="week-total" hx-swap-oob="true">{floatformat(totals.week_total, 2)}'
            f'</span>')


@dataclass(frozen=True)
class Row:
    """A project/task pair: seven cells, the week's hours on it and its timer, if running."""

    task: Task
    cells: list[Cell]
    total: Decimal
    usable: bool  # an open leaf task of an active project the person is on
    timer: RunningTimer | None = None

    @property
    def is_billable(self) -> bool:
        return self.task.is_billable

    @property
    def cells_html(self) -> SafeString:
        """The row's seven cells, drawn by `cell_html`."""
        return SafeString("".join([cell.html for cell in self.cells]))


@dataclass
class Group:
    """A project header and its rows (a project the person is on may have none yet)."""

    project: Project
    rows: list[Row] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.project.code} {self.project.name}"


@dataclass(frozen=True)
class WeekGrid:
    """Everything the week page shows for one person."""

    person: Person
    week_start: date
    days: list[DayColumn]
    groups: list[Group]
    total: Decimal
    capacity: Decimal
    timer: RunningTimer | None
    status_counts: dict[str, int]
    today: date

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)

    @property
    def prev_week(self) -> date:
        return self.week_start - timedelta(days=7)

    @property
    def next_week(self) -> date:
        return self.week_start + timedelta(days=7)

    @property
    def rows(self) -> list[Row]:
        return [row for group in self.groups for row in group.rows]

    @property
    def status_badges(self) -> list[tuple[str, str, int]]:
        """(status, label, count) of the week's entries, in workflow order."""
        return [(status, label, self.status_counts[status])
                for status, label in TimeEntry.Status.choices if status in self.status_counts]

    @property
    def submittable(self) -> int:
        """How many entries Submit week would submit (drafts and rejected ones)."""
        return sum(self.status_counts.get(s, 0) for s in TimeEntry.EDITABLE_STATES)

    @property
    def selected_col(self) -> int:
        """The day a phone shows first: today when it is in this week, else Monday."""
        offset = (self.today - self.week_start).days
        return offset if 0 <= offset < 7 else 0


def _leaf_q() -> Exists:
    return ~Exists(Task.objects.filter(parent=OuterRef("pk")))


def usable_tasks(*, person: Person) -> QuerySet[Task]:
    """Open leaf tasks of active projects the person is on: where new time may be entered."""
    member_of = ProjectMember.objects.filter(person=person).values("project_id")
    return (Task.objects.filter(is_open=True, project__status=Project.Status.ACTIVE,
                                project_id__in=member_of)
            .filter(_leaf_q()))


def _entries_by_cell(entries: list[TimeEntry]) -> dict[tuple[int, date], TimeEntry]:
    return {(entry.task_id, entry.work_date): entry for entry in entries}


def _days(calendar: list[CalendarDay], totals: dict[date, Decimal], *, today: date,
          closed: set[date]) -> list[DayColumn]:
    return [DayColumn(col=i, day=c.day, capacity=c.capacity, total=totals.get(c.day, ZERO),
                      holiday=c.holiday, time_off=c.time_off, employed=c.employed,
                      is_today=c.day == today, closed=c.day.replace(day=1) in closed)
            for i, c in enumerate(calendar)]


def _cell(task: Task, day: DayColumn, entry: TimeEntry | None, *, usable: bool) -> Cell:
    if day.closed:
        lock = "This month is closed: nothing dated in it can change."
    elif entry is not None and not entry.is_editable:
        lock = READ_ONLY_NOTE.get(entry.status, "Read-only.")
    elif entry is None and not usable:
        lock = "This task is closed or its project is not active: no new time on it."
    elif not day.employed:
        lock = "Outside your employment dates."
    else:
        lock = ""
    return Cell(task=task, col=day.col, day=day.day, entry=entry, editable=not lock,
                lock_reason=lock, off=day.is_off)


def timesheet_week(*, person: Person, week_start: date, today: date) -> WeekGrid:
    """The week grid of `person` for the week starting on Monday `week_start` (fixed queries).

    Rows are this week's project/task pairs, the pairs used in the four weeks before and the
    running timer's task; each project the person is on heads a group, even with no rows yet.
    """
    week_end = week_start + timedelta(days=6)
    entries = list(TimeEntry.objects.filter(person=person,
                                            work_date__range=(week_start, week_end)))
    timer = RunningTimer.objects.filter(person=person).first()
    recent = TimeEntry.objects.filter(
        person=person, work_date__gte=week_start - timedelta(weeks=RECENT_WEEKS),
        work_date__lt=week_start).values("task_id")
    usable = usable_tasks(person=person).filter(pk=OuterRef("pk"))
    wanted = {entry.task_id for entry in entries} | ({timer.task_id} if timer else set())
    tasks = list(Task.objects
                 .filter(Q(pk__in=wanted) | (Q(pk__in=recent) & Q(Exists(usable))))
                 .annotate(usable=Exists(usable))
                 .select_related("project", "project__client")
                 .order_by("project__code", "position", "wbs_code"))
    projects = list(Project.objects.filter(memberships__person=person,
                                           status=Project.Status.ACTIVE)
                    .select_related("client").order_by("code"))
    closed = closed_months(legal_entity_id=person.legal_entity_id, start=week_start,
                           end=week_end)
    calendar = capacity_by_day(person=person, start=week_start, end=week_end)

    by_cell = _entries_by_cell(entries)
    day_totals: dict[date, Decimal] = defaultdict(lambda: ZERO)
    status_counts: dict[str, int] = defaultdict(int)
    for entry in entries:
        day_totals[entry.work_date] += entry.hours
        status_counts[entry.status] += 1
    days = _days(calendar, day_totals, today=today, closed=closed)

    groups = {project.pk: Group(project=project) for project in projects}
    for task in tasks:
        cells = [_cell(task, day, by_cell.get((task.pk, day.day)), usable=task.usable)
                 for day in days]
        row = Row(task=task, cells=cells, usable=task.usable,
                  total=sum((c.hours for c in cells if c.hours), ZERO),
                  timer=timer if timer and timer.task_id == task.pk else None)
        groups.setdefault(task.project_id, Group(project=task.project)).rows.append(row)
    ordered = sorted(groups.values(), key=lambda g: g.project.code)
    return WeekGrid(person=person, week_start=week_start, days=days, groups=ordered,
                    total=sum(day_totals.values(), ZERO),
                    capacity=sum((d.capacity for d in days), ZERO), timer=timer,
                    status_counts=dict(status_counts), today=today)


# --- Pieces for the HTMX endpoints --------------------------------------------------------------

@dataclass(frozen=True)
class WeekTotals:
    """The totals a saved cell changes: its row's, its day's and the week's."""

    row_total: Decimal
    day_total: Decimal
    week_total: Decimal
    col: int
    task_id: int


def timesheet_totals(*, person: Person, task_id: int, day: date) -> WeekTotals:
    """Totals of the week of `day` after a cell changed (one query)."""
    start = week_start_of(day)
    row = list(TimeEntry.objects.filter(person=person,
                                        work_date__range=(start, start + timedelta(days=6)))
               .values_list("task_id", "work_date", "hours"))
    return WeekTotals(
        row_total=sum((h for t, _, h in row if t == task_id), ZERO),
        day_total=sum((h for _, d, h in row if d == day), ZERO),
        week_total=sum((h for _, _, h in row), ZERO),
        col=(day - start).days, task_id=task_id)


def timesheet_cell(*, person: Person, task: Task, day: date, entry: TimeEntry | None = None,
                   fetch: bool = False, typed: str | None = None,
                   typed_notes: str | None = None, error: str = "", saved: bool = False) -> Cell:
    """One cell for the autosave endpoint's answer; `fetch` reads its entry (one query)."""
    if fetch:
        entry = TimeEntry.objects.filter(person=person, task=task, work_date=day).first()
    editable = entry is None or entry.is_editable
    lock = "" if editable else READ_ONLY_NOTE.get(entry.status, "Read-only.")
    return Cell(task=task, col=(day - week_start_of(day)).days, day=day, entry=entry,
                editable=editable, lock_reason=lock, typed=typed if editable else None,
                typed_notes=typed_notes if editable else None, error=error, saved=saved)


def timesheet_task_search(*, person: Person, q: str, limit: int = PICKER_LIMIT) -> list[Task]:
    """Open leaf tasks of active projects the person is on whose project or task matches `q`."""
    tasks = usable_tasks(person=person).select_related("project", "project__client")
    for word in q.split()[:5]:
        tasks = tasks.filter(Q(name__icontains=word) | Q(wbs_code__istartswith=word)
                             | Q(project__code__icontains=word)
                             | Q(project__name__icontains=word)
                             | Q(project__client__name__icontains=word))
    return list(tasks.order_by("project__code", "position", "wbs_code")[:limit])


def timesheet_row(*, person: Person, task_id: int, week_start: date, today: date) -> Row | None:
    """A new, empty row for a task picked in the grid (None when the person may not use it)."""
    task = (usable_tasks(person=person).filter(pk=task_id)
            .select_related("project", "project__client").first())
    if task is None:
        return None
    week_end = week_start + timedelta(days=6)
    entries = _entries_by_cell(list(TimeEntry.objects.filter(
        person=person, task=task, work_date__range=(week_start, week_end))))
    closed = closed_months(legal_entity_id=person.legal_entity_id, start=week_start,
                           end=week_end)
    calendar = capacity_by_day(person=person, start=week_start, end=week_end)
    days = _days(calendar, {}, today=today, closed=closed)
    cells = [_cell(task, day, entries.get((task.pk, day.day)), usable=True) for day in days]
    return Row(task=task, cells=cells, usable=True,
               total=sum((c.hours for c in cells if c.hours), ZERO))


@dataclass(frozen=True)
class SummaryLine:
    """Hours of one project per day of the week, for the Submit week summary."""

    project_label: str
    hours: list[Decimal]
    total: Decimal


@dataclass(frozen=True)
class WeekSummary:
    week_start: date
    days: list[date]
    lines: list[SummaryLine]
    day_totals: list[Decimal]
    total: Decimal
    to_submit: int  # drafts and rejected entries that Submit week submits
    to_submit_hours: Decimal
    status_counts: dict[str, int]

    @property
    def day_labels(self) -> list[str]:
        return [day_label(d) for d in self.days]


def timesheet_summary(*, person: Person, week_start: date) -> WeekSummary:
    """Hours per day and project of the person's week, and what Submit week would submit."""
    days = [week_start + timedelta(days=i) for i in range(7)]
    rows = (TimeEntry.objects.filter(person=person, work_date__range=(days[0], days[-1]))
            .values("project__code", "project__name", "work_date", "status")
            .annotate(total=Sum("hours"), count=Count("id"))
            .order_by("project__code"))
    per_project: dict[str, list[Decimal]] = {}
    status_counts: dict[str, int] = defaultdict(int)
    to_submit_hours = ZERO
    for row in rows:
        label = f"{row['project__code']} {row['project__name']}"
        hours = per_project.setdefault(label, [ZERO] * 7)
        hours[(row["work_date"] - week_start).days] += row["total"]
        status_counts[row["status"]] += row["count"]
        if row["status"] in TimeEntry.EDITABLE_STATES:
            to_submit_hours += row["total"]
    lines = [SummaryLine(project_label=label, hours=hours, total=sum(hours, ZERO))
             for label, hours in per_project.items()]
    day_totals = [sum((line.hours[i] for line in lines), ZERO) for i in range(7)]
    return WeekSummary(
        week_start=week_start, days=days, lines=lines, day_totals=day_totals,
        total=sum(day_totals, ZERO),
        to_submit=sum(status_counts.get(s, 0) for s in TimeEntry.EDITABLE_STATES),
        to_submit_hours=to_submit_hours, status_counts=dict(status_counts))
