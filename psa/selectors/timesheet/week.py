"""The week grid's reads, in a fixed number of queries (see the package docstring)."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, QuerySet

from psa.models import Person, Project, ProjectMember, RunningTimer, Task, TimeEntry
from psa.selectors.calendar import CalendarDay, capacity_by_day
from psa.selectors.timesheet.cells import (
    READ_ONLY_NOTE,
    ZERO,
    Cell,
    DayColumn,
    Group,
    Row,
    WeekGrid,
    WeekTotals,
)
from psa.selectors.timesheet.parsing import week_start_of
from psa.services.periods import closed_months

RECENT_WEEKS = 4
PICKER_LIMIT = 20


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
