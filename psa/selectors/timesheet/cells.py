"""The grid's pieces and their HTML: days, cells, rows, groups, the week and its totals."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property, lru_cache
from html import escape

from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.formats import localize
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

from psa.models import Person, Project, RunningTimer, Task, TimeEntry
from psa.selectors.timesheet.parsing import day_label, format_hours

ZERO = Decimal("0.00")
STATUS_LABELS = dict(TimeEntry.Status.choices)
READ_ONLY_NOTE = {
    TimeEntry.Status.SUBMITTED: "Submitted: waiting for approval, read-only.",
    TimeEntry.Status.APPROVED: "Approved: read-only.",
    TimeEntry.Status.INVOICED: "Invoiced: read-only.",
    TimeEntry.Status.WRITTEN_OFF: "Written off: read-only.",
}



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



@dataclass(frozen=True)
class WeekTotals:
    """The totals a saved cell changes: its row's, its day's and the week's."""

    row_total: Decimal
    day_total: Decimal
    week_total: Decimal
    col: int
    task_id: int
