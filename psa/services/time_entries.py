"""Writes on time entries: the grid cell, the week's workflow, approval and the timer.

The rules of an entry live in `psa.services.time_rules` (shared with the bulk API); the
approval side (approve, reject, reopen) in `psa.services.time_approval`; the set-based loading
and insert used by the bulk API and "copy last week" in `psa.services.time_bulk`. Everything is
importable from here, under the names of the issue #3 contract.
"""

import math
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from psa import events
from psa.errors import TimeEntryStateError, TimeEntryValidationError
from psa.models import Person, ProjectMember, RunningTimer, Task, TimeEntry
from psa.models.time import HOURS_STEP
from psa.services.common import lock_for_change, pick
from psa.services.periods import closed_months, period_ensure_open
from psa.services.time_approval import (
    time_entries_approve,
    time_entries_reject,
    time_entry_reopen,
)
from psa.services.time_bulk import BulkItem, entries_insert, facts_for_items
from psa.services.time_rules import (
    ZERO,
    EntryFacts,
    billable_for,
    entry_ensure_valid,
    entry_errors,
)

__all__ = [
    "time_entries_approve",
    "time_entries_reject",
    "time_entry_create",
    "time_entry_delete",
    "time_entry_reopen",
    "time_entry_update",
    "timer_start",
    "timer_stop",
    "timesheet_cell_save",
    "timesheet_copy_previous_week",
    "timesheet_submit",
    "week_of",
]

UPDATABLE = ("hours", "notes", "work_date", "task", "is_billable")


def week_of(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


def _lock_person(person_id: int) -> Person:
    """Lock the person's row: their entries' day totals are checked under this lock.

    The person is always the last row a time service locks, so two writers never wait on
    each other in a cycle.
    """
    return Person.objects.select_for_update(of=("self",)).get(pk=person_id)


def _facts(*, person: Person, task_id: int, work_date: date, hours: Decimal, notes: str,
           entry_pk: int | None = None) -> EntryFacts:
    """Load what the rules need for one entry: three queries."""
    loaded = (
        Task.objects.select_related("project")
        .annotate(has_children=Exists(Task.objects.filter(parent=OuterRef("pk"))),
                  person_on_team=Exists(ProjectMember.objects.filter(
                      project=OuterRef("project_id"), person=person)))
        .get(pk=task_id)
    )
    day_entries = list(TimeEntry.objects.filter(person=person, work_date=work_date)
                       .exclude(pk=entry_pk).values_list("task_id", "hours"))
    closed = closed_months(legal_entity_id=loaded.project.legal_entity_id, start=work_date,
                           end=work_date)
    return EntryFacts(
        person=person, task=loaded, work_date=work_date, hours=hours, notes=notes,
        task_has_children=loaded.has_children,
        on_team=loaded.person_on_team or loaded.project.manager_id == person.pk,
        period_closed=bool(closed),
        other_hours=sum((h for _, h in day_entries), ZERO),
        cell_taken=any(task_id == loaded.pk for task_id, _ in day_entries))


def _ensure_editable(entry: TimeEntry) -> None:
    if not entry.is_editable:
        raise TimeEntryStateError(
            f"This entry is {entry.get_status_display().lower()}: only draft and rejected "
            f"entries can be changed.", attr="status")


@transaction.atomic
def time_entry_create(*, actor: User, person: Person, task: Task, work_date: date,
                      hours: Decimal, notes: str = "", is_billable: bool | None = None
                      ) -> TimeEntry:
    """Book `hours` of `person` on `task` on `work_date` as a draft.

    Raises TimeEntryValidationError (a rule of DOMAIN.md) or PeriodClosedError.
    """
    return _entry_create(person=person, task=task, work_date=work_date, hours=hours, notes=notes,
                         is_billable=is_billable)


def _entry_create(*, person: Person, task: Task, work_date: date, hours: Decimal, notes: str,
                  is_billable: bool | None) -> TimeEntry:
    """The body of `time_entry_create`, for callers already inside a transaction."""
    person = _lock_person(person.pk)
    facts = _facts(person=person, task_id=task.pk, work_date=work_date, hours=hours,
                   notes=notes)
    entry_ensure_valid(facts)
    entry = TimeEntry(person=person, task=facts.task, project=facts.task.project,
                      work_date=work_date, hours=hours, notes=notes,
                      is_billable=billable_for(facts.task, is_billable))
    entry.save()
    return entry


@transaction.atomic
def time_entry_update(*, actor: User, entry: TimeEntry, expected_version: str | None = None,
                      **changes: Any) -> TimeEntry:
    """Change a draft or rejected entry (hours, notes, work_date, task, is_billable).

    Raises TimeEntryStateError for any other status, StaleVersionError on a stale
    `expected_version`, PeriodClosedError when the old or the new date is in a closed period.
    """
    values = pick(changes, UPDATABLE)
    entry = lock_for_change(entry, expected_version=expected_version)
    return _entry_apply(entry, values)


def _entry_apply(entry: TimeEntry, values: dict[str, Any]) -> TimeEntry:
    """Validate and save `values` on an entry whose row lock the caller holds."""
    _ensure_editable(entry)
    person = _lock_person(entry.person_id)
    facts = _facts(person=person, task_id=values["task"].pk if "task" in values else entry.task_id,
                   work_date=values.get("work_date", entry.work_date),
                   hours=values.get("hours", entry.hours),
                   notes=values.get("notes", entry.notes), entry_pk=entry.pk)
    if (facts.work_date, facts.task.project_id) != (entry.work_date, entry.project_id):
        # Moving an entry out of a month changes that month too: it must be open as well.
        period_ensure_open(legal_entity_id=entry.project.legal_entity_id, on=entry.work_date)
    entry_ensure_valid(facts)
    requested = values.get("is_billable", entry.is_billable if "task" not in values else None)
    new = {"task": facts.task, "project": facts.task.project, "work_date": facts.work_date,
           "hours": facts.hours, "notes": facts.notes,
           "is_billable": billable_for(facts.task, requested)}
    changed = [name for name, value in new.items() if getattr(entry, name) != value]
    for name in changed:
        setattr(entry, name, new[name])
    if changed:
        entry.save(update_fields=[*changed, "updated_at"])
    return entry


@transaction.atomic
def time_entry_delete(*, actor: User, entry: TimeEntry) -> None:
    """Delete a draft or rejected entry (TimeEntryStateError otherwise; period must be open)."""
    entry = lock_for_change(entry)
    _ensure_editable(entry)
    period_ensure_open(legal_entity_id=entry.project.legal_entity_id, on=entry.work_date)
    entry.delete()


@transaction.atomic
def timesheet_cell_save(*, actor: User, person: Person, task: Task, work_date: date,
                        hours: Decimal | None, notes: str | None = None) -> TimeEntry | None:
    """Autosave one grid cell: create, update or (hours 0 or empty) delete its entry.

    A submitted or approved cell is read-only (TimeEntryStateError). `notes=None` keeps them.
    """
    entry = (TimeEntry.objects.select_for_update(of=("self",))
             .filter(person=person, task=task, work_date=work_date).first())
    if not hours:
        if entry is not None:
            time_entry_delete(actor=actor, entry=entry)
        return None
    if entry is None:
        return _entry_create(person=person, task=task, work_date=work_date, hours=hours,
                             notes=notes or "", is_billable=None)
    changes: dict[str, Any] = {"hours": hours}
    if notes is not None:
        changes["notes"] = notes
    return _entry_apply(entry, changes)


@transaction.atomic
def timesheet_submit(*, actor: User, person: Person, week_start: date) -> list[TimeEntry]:
    """Submit the week's draft and rejected entries; publishes one `timesheet.submitted`.

    Raises TimeEntryValidationError when `week_start` is not a Monday or nothing is left to
    submit, PeriodClosedError when an entry is dated in a closed period.
    """
    if week_start.weekday() != 0:
        raise TimeEntryValidationError("A week starts on a Monday.", attr="week_start")
    week_end = week_start + timedelta(days=6)
    entries = list(
        TimeEntry.objects.select_for_update(of=("self",)).select_related("project")
        .filter(person=person, work_date__range=(week_start, week_end),
                status__in=TimeEntry.EDITABLE_STATES).order_by("work_date", "id"))
    if not entries:
        raise TimeEntryValidationError(
            f"Nothing to submit for the week of {week_start:%Y-%m-%d}: it has no draft or "
            f"rejected entries.", attr="week_start")
    for entity_id in {e.project.legal_entity_id for e in entries}:
        closed = closed_months(legal_entity_id=entity_id, start=week_start, end=week_end)
        for entry in entries:
            if entry.project.legal_entity_id == entity_id and \
                    entry.work_date.replace(day=1) in closed:
                period_ensure_open(legal_entity_id=entity_id, on=entry.work_date)
    now = timezone.now()
    for entry in entries:
        entry.status, entry.submitted_at = TimeEntry.Status.SUBMITTED, now
        entry.save(update_fields=["status", "submitted_at", "updated_at"])
    events.publish("timesheet.submitted", aggregate=person, payload={
        "person_id": person.pk, "week_start": week_start.isoformat(),
        "time_entry_ids": [e.pk for e in entries],
        "total_hours": str(sum((e.hours for e in entries), ZERO))})
    return entries


@transaction.atomic
def timesheet_copy_previous_week(*, actor: User, person: Person,
                                 week_start: date) -> list[TimeEntry]:
    """Copy last week's entries as drafts on the same weekdays of this week; returns them.

    A copy is skipped where this week's cell is already filled or where it would break a rule
    now (closed task, inactive project, outside employment, closed period, over 24 h a day).
    """
    if week_start.weekday() != 0:
        raise TimeEntryValidationError("A week starts on a Monday.", attr="week_start")
    person = _lock_person(person.pk)
    previous = TimeEntry.objects.filter(
        person=person, work_date__range=(week_start - timedelta(days=7),
                                         week_start - timedelta(days=1))).order_by("work_date",
                                                                                   "id")
    items = [BulkItem(person_id=person.pk, task_id=e.task_id, work_date=e.work_date
                      + timedelta(days=7), hours=e.hours, notes=e.notes,
                      is_billable=e.is_billable) for e in previous]
    if not items:
        return []
    facts = facts_for_items(items, persons={person.pk: person})
    keep = [(item, fact) for item, fact in zip(items, facts, strict=True)
            if isinstance(fact, EntryFacts) and not entry_errors(fact)]
    ids = entries_insert(keep, actor=actor)
    return list(TimeEntry.objects.filter(pk__in=ids).order_by("work_date", "id"))


def _elapsed_hours(started_at: Any, now: Any) -> Decimal:
    """Elapsed time rounded up to the next quarter hour (at least one quarter)."""
    quarters = max(1, math.ceil((now - started_at).total_seconds() / 900))
    return HOURS_STEP * quarters


@transaction.atomic
def timer_start(*, actor: User, person: Person, task: Task) -> RunningTimer:
    """Start a timer on `task`; a timer already running for the person is stopped and booked."""
    person = _lock_person(person.pk)
    if RunningTimer.objects.filter(person=person).exists():
        timer_stop(actor=actor, person=person)
    now = timezone.now()
    today = timezone.localdate(now, ZoneInfo(person.time_zone))
    # The timer adds to the cell, which may already be filled; notes are checked at the stop.
    facts = _facts(person=person, task_id=task.pk, work_date=today, hours=HOURS_STEP, notes="-")
    entry_ensure_valid(replace(facts, cell_taken=False))
    return RunningTimer.objects.create(person=person, task=task, started_at=now)


@transaction.atomic
def timer_stop(*, actor: User, person: Person) -> TimeEntry | None:
    """Stop the person's timer and add the elapsed time (rounded up to 0.25 h) to today's cell.

    Today is the person's, in their time zone. Raises TimeEntryValidationError when no timer
    runs.
    """
    person = _lock_person(person.pk)
    timer = (RunningTimer.objects.select_for_update(of=("self",)).select_related("task")
             .filter(person=person).first())
    if timer is None:
        raise TimeEntryValidationError("No timer is running.", attr="timer")
    now = timezone.now()
    today = timezone.localdate(now, ZoneInfo(person.time_zone))
    elapsed = _elapsed_hours(timer.started_at, now)
    timer.delete()
    current = (TimeEntry.objects.filter(person=person, task=timer.task, work_date=today)
               .values_list("hours", flat=True).first()) or ZERO
    return timesheet_cell_save(actor=actor, person=person, task=timer.task, work_date=today,
                               hours=current + elapsed)
