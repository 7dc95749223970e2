"""Many time entries at once: set-based loading of the rules' facts, one insert, one audit write.

`POST /api/v1/time-entries/bulk/` and "copy last week" use it. The facts of every item are
loaded with a fixed number of queries whatever the number of items (people, tasks, team
memberships, closed periods, the day totals already booked), then each item goes through the
same rules as a single entry (`psa.services.time_rules`), counting the items before it in the
same request as already booked.
"""

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from auditlog.cid import get_cid
from auditlog.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from psa.errors import DomainError, TimeEntryValidationError
from psa.models import Period, Person, ProjectMember, Task, TimeEntry
from psa.services.time_rules import (
    ZERO,
    EntryFacts,
    billable_for,
    entry_errors,
    is_on_team,
    task_project_error,
)

MAX_BULK_ENTRIES = 1000
AUDITED = ("person", "project", "task", "work_date", "hours", "is_billable", "notes", "status")


@dataclass(frozen=True)
class BulkItem:
    """One entry of a bulk request, already parsed into typed values."""

    person_id: int
    task_id: int
    work_date: date
    hours: Decimal
    notes: str = ""
    is_billable: bool | None = None
    project_id: int | None = None


class BulkError(TimeEntryValidationError):
    """Some items of a bulk request break a rule; nothing was written.

    `errors` holds (item index, the item's error) pairs, in item order.
    """

    def __init__(self, errors: list[tuple[int, DomainError]]) -> None:
        super().__init__(f"{len({i for i, _ in errors})} of the entries are not valid; none "
                         f"was saved.", attr="entries")
        self.errors = errors


def _closed_months(entity_ids: set[int], days: list[date]) -> set[tuple[int, date]]:
    rows = Period.objects.filter(
        legal_entity_id__in=entity_ids, status=Period.Status.CLOSED,
        month__gte=min(days).replace(day=1), month__lte=max(days),
    ).values_list("legal_entity_id", "month")
    return set(rows)


def facts_for_items(items: Sequence[BulkItem], *, persons: dict[int, Person] | None = None
                    ) -> list[EntryFacts | DomainError]:
    """The rules' facts of every item (five queries), or the reason an item has none.

    Items count towards the day totals and cells of the items after them. An item whose person
    or task does not exist gets a TimeEntryValidationError instead of facts.
    """
    person_ids = {item.person_id for item in items}
    if persons is None:
        persons = Person.objects.select_for_update(of=("self",)).in_bulk(person_ids)
    tasks = (Task.objects.select_related("project")
             .annotate(has_children=Exists(Task.objects.filter(parent=OuterRef("pk"))))
             .in_bulk({item.task_id for item in items}))
    project_ids = {task.project_id for task in tasks.values()}
    members: dict[int, set[int]] = defaultdict(set)
    for project_id, person_id in ProjectMember.objects.filter(
            project_id__in=project_ids, person_id__in=person_ids).values_list(
            "project_id", "person_id"):
        members[project_id].add(person_id)
    days = [item.work_date for item in items]
    closed = _closed_months({t.project.legal_entity_id for t in tasks.values()}, days)
    day_hours: dict[tuple[int, date], Decimal] = defaultdict(lambda: ZERO)
    cells: set[tuple[int, int, date]] = set()
    for person_id, task_id, work_date, hours in TimeEntry.objects.filter(
            person_id__in=person_ids, work_date__range=(min(days), max(days))).values_list(
            "person_id", "task_id", "work_date", "hours"):
        day_hours[person_id, work_date] += hours
        cells.add((person_id, task_id, work_date))

    found: list[EntryFacts | DomainError] = []
    for item in items:
        person, task = persons.get(item.person_id), tasks.get(item.task_id)
        if person is None:
            found.append(TimeEntryValidationError(
                f"There is no person {item.person_id}.", attr="person"))
            continue
        if task is None:
            found.append(TimeEntryValidationError(
                f"There is no task {item.task_id}.", attr="task"))
            continue
        mismatch = task_project_error(task, item.project_id)
        if mismatch is not None:
            found.append(mismatch)
            continue
        day, cell = (person.pk, item.work_date), (person.pk, task.pk, item.work_date)
        found.append(EntryFacts(
            person=person, task=task, work_date=item.work_date, hours=item.hours,
            notes=item.notes, task_has_children=task.has_children,
            on_team=is_on_team(person_id=person.pk, project=task.project,
                               member_person_ids=members[task.project_id]),
            period_closed=(task.project.legal_entity_id, item.work_date.replace(day=1))
            in closed,
            other_hours=day_hours[day], cell_taken=cell in cells))
        day_hours[day] += item.hours if isinstance(item.hours, Decimal) else ZERO
        cells.add(cell)
    return found


SIMPLE_FIELDS = (models.IntegerField, models.BooleanField, models.ForeignKey)
TEXT_FIELDS = (models.CharField, models.TextField)


def _converter(field: models.Field) -> Callable[[Any], Any]:
    """A column's value as the database driver takes it; repeated values convert once."""
    if isinstance(field, SIMPLE_FIELDS):
        return lambda value: value
    if isinstance(field, TEXT_FIELDS):
        return lambda value: None if value is None else str(value)
    done: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value is None:
            return None
        try:
            return done[value]
        except KeyError:
            done[value] = converted = field.get_db_prep_save(value, connection)
            return converted
        except TypeError:  # unhashable (JSON)
            return field.get_db_prep_save(value, connection)

    return convert


def rows_insert(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (attname → value; a missing column takes its default) with ONE
    `executemany`: no signals, no ids returned.

    `bulk_create` prepares every value of every row through its field (25,000 calls for 1,000
    entries) and splits the statement into batches on SQLite; here only the columns that need
    it (dates, decimals, JSON) go through `get_db_prep_save`, once per distinct value.
    """
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # Only the model's own table and column names, quoted; every value is a parameter.
    sql = (f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    plan = [(f.attname, f.get_default(), _converter(f)) for f in fields]
    with connection.cursor() as cursor:
        cursor.executemany(sql, [tuple(convert(row.get(name, default))
                                       for name, default, convert in plan) for row in rows])


def entries_insert(valid: Sequence[tuple[BulkItem, EntryFacts]], *,
                   actor: User | None) -> list[int]:
    """Insert valid items as drafts, and their audit trail's "created" entries; returns the new
    ids in item order (two `executemany` and one SELECT, whatever the number of items)."""
    if not valid:
        return []
    now = timezone.now()
    rows = [{"created_at": now, "updated_at": now, "person_id": facts.person.pk,
             "project_id": facts.task.project_id, "task_id": facts.task.pk,
             "work_date": item.work_date, "hours": item.hours, "notes": item.notes,
             "is_billable": billable_for(facts.task, item.is_billable),
             "status": TimeEntry.Status.DRAFT}
            for item, facts in valid]
    rows_insert(TimeEntry, rows)
    ids = {(p, t, d): pk for pk, p, t, d in TimeEntry.objects.filter(
        person_id__in={row["person_id"] for row in rows},
        task_id__in={row["task_id"] for row in rows},
        work_date__range=(min(row["work_date"] for row in rows),
                          max(row["work_date"] for row in rows)),
        created_at=now).values_list("pk", "person_id", "task_id", "work_date")}
    content_type = ContentType.objects.get_for_model(TimeEntry)
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    cid = get_cid()
    new_ids = []
    audit = []
    for row in rows:
        pk = ids[row["person_id"], row["task_id"], row["work_date"]]
        new_ids.append(pk)
        audit.append({
            "content_type_id": content_type.pk, "object_pk": str(pk), "object_id": pk,
            "object_repr": TimeEntry.__str__(SimpleNamespace(**row)),
            "action": LogEntry.Action.CREATE, "actor_id": actor_id, "timestamp": now,
            "cid": cid, "changes": {name: ["None", str(row.get(f"{name}_id", row.get(name)))]
                                    for name in AUDITED}})
    rows_insert(LogEntry, audit)
    return new_ids


@transaction.atomic
def time_entries_bulk_create(*, actor: User, items: Sequence[BulkItem]) -> list[int]:
    """Create up to 1,000 draft entries, all or nothing; returns their ids in item order.

    Raises BulkError listing every item that breaks a rule (by index); nothing is written.
    """
    if len(items) > MAX_BULK_ENTRIES:
        raise TimeEntryValidationError(
            f"At most {MAX_BULK_ENTRIES} entries per request; this one has {len(items)}.",
            attr="entries")
    if not items:
        raise TimeEntryValidationError("Give at least one entry.", attr="entries")
    errors: list[tuple[int, DomainError]] = []
    valid: list[tuple[BulkItem, EntryFacts]] = []
    for index, (item, facts) in enumerate(zip(items, facts_for_items(items), strict=True)):
        if isinstance(facts, DomainError):
            errors.append((index, facts))
            continue
        problems = entry_errors(facts)
        if problems:
            errors.extend((index, problem) for problem in problems)
        else:
            valid.append((item, facts))
    if errors:
        raise BulkError(errors=errors)
    return entries_insert(valid, actor=actor)
