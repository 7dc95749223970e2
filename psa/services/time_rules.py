"""The rules every time entry obeys (DOMAIN.md, Time and expenses), written once.

Each rule is a function of `EntryFacts`, the entry's values plus what the database says about
them, loaded beforehand: one entry at a time by `psa.services.time_entries`, or a thousand at
once with set-based queries by `psa.services.time_bulk`. Both paths therefore refuse exactly
the same entries with exactly the same sentences.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from psa.errors import DomainError, PeriodClosedError, TimeEntryValidationError
from psa.models import Person, Project, Task
from psa.models.time import HOURS_STEP, MAX_HOURS_PER_DAY

ZERO = Decimal("0")


@dataclass(frozen=True)
class EntryFacts:
    """One entry's values and the facts its rules need (`task.project` loaded)."""

    person: Person
    task: Task
    work_date: date
    hours: Decimal
    notes: str
    task_has_children: bool
    on_team: bool
    period_closed: bool
    other_hours: Decimal = ZERO  # the person's other entries that day (this one excluded)
    cell_taken: bool = False  # another entry already holds this person/task/day cell


def hours_error(facts: EntryFacts) -> DomainError | None:
    hours = facts.hours
    try:
        valid = hours is not None and ZERO < hours <= MAX_HOURS_PER_DAY \
            and hours % HOURS_STEP == 0
    except (InvalidOperation, TypeError):
        valid = False
    if valid:
        return None
    return TimeEntryValidationError(
        f"Hours must be more than 0 and at most 24, in steps of a quarter hour (0.25); "
        f"{hours} is not.", attr="hours")


def task_error(facts: EntryFacts) -> DomainError | None:
    task = facts.task
    if not task.is_open:
        return TimeEntryValidationError(
            f"Task {task.wbs_code} {task.name} is closed: time can only be booked on open "
            f"tasks.", attr="task")
    if facts.task_has_children:
        return TimeEntryValidationError(
            f"Task {task.wbs_code} {task.name} has sub-tasks: book the time on one of them.",
            attr="task")
    return None


def project_error(facts: EntryFacts) -> DomainError | None:
    project = facts.task.project
    if project.status != Project.Status.ACTIVE:
        return TimeEntryValidationError(
            f"Project {project.code} is {project.get_status_display().lower()}: time can only "
            f"be booked on active projects.", attr="task")
    return None


def employment_error(facts: EntryFacts) -> DomainError | None:
    person, day = facts.person, facts.work_date
    if person.is_employed_on(day):
        return None
    if day < person.hire_date:
        why = f"before {person.full_name} was hired ({person.hire_date:%Y-%m-%d})"
    else:
        why = f"after {person.full_name} left ({person.termination_date:%Y-%m-%d})"
    return TimeEntryValidationError(f"{day:%Y-%m-%d} is {why}.", attr="work_date")


def team_error(facts: EntryFacts) -> DomainError | None:
    if facts.on_team:
        return None
    project = facts.task.project
    return TimeEntryValidationError(
        f"{facts.person.full_name} is not on the team of project {project.code}: ask its "
        f"manager to add them before booking time.", attr="task")


def period_error(facts: EntryFacts) -> DomainError | None:
    if not facts.period_closed:
        return None
    return period_closed_error(facts.work_date)


def period_closed_error(day: date) -> PeriodClosedError:
    return PeriodClosedError(
        f"{day:%B %Y} is closed for this legal entity: nothing dated in it can be created, "
        f"changed or deleted. Ask finance to reopen the period if a correction is needed.",
        attr="work_date")


def notes_error(facts: EntryFacts) -> DomainError | None:
    project = facts.task.project
    if project.requires_time_notes and not (facts.notes or "").strip():
        return TimeEntryValidationError(
            f"Project {project.code} requires a note on every time entry.", attr="notes")
    return None


def cell_error(facts: EntryFacts) -> DomainError | None:
    if not facts.cell_taken:
        return None
    return TimeEntryValidationError(
        f"{facts.person.full_name} already has an entry for task {facts.task.wbs_code} on "
        f"{facts.work_date:%Y-%m-%d}: change that entry instead.", attr="work_date")


def day_total_error(facts: EntryFacts) -> DomainError | None:
    if hours_error(facts) is not None:
        return None  # the hours themselves are wrong; said once
    total = facts.other_hours + facts.hours
    if total <= MAX_HOURS_PER_DAY:
        return None
    return TimeEntryValidationError(
        f"{facts.person.full_name} would have {total:.2f} hours on {facts.work_date:%Y-%m-%d}; "
        f"at most 24 hours a day can be booked ({facts.other_hours:.2f} already are).",
        attr="hours")


RULES: tuple[Callable[[EntryFacts], DomainError | None], ...] = (
    hours_error, task_error, project_error, employment_error, team_error, period_error,
    notes_error, cell_error, day_total_error,
)


def entry_errors(facts: EntryFacts) -> list[DomainError]:
    """Every rule the entry breaks, in a stable order (empty when it is valid)."""
    return [error for rule in RULES if (error := rule(facts)) is not None]


def entry_ensure_valid(facts: EntryFacts) -> None:
    """Raise the first rule the entry breaks."""
    errors = entry_errors(facts)
    if errors:
        raise errors[0]


def task_project_error(task: Task, project_id: int | None) -> DomainError | None:
    """When the caller names the project too, the task must belong to it."""
    if project_id is None or task.project_id == project_id:
        return None
    return TimeEntryValidationError(
        f"Task {task.wbs_code} {task.name} belongs to project {task.project.code}, not to the "
        f"project given.", attr="task")


def billable_for(task: Task, requested: bool | None) -> bool:
    """Non-billable tasks and internal projects give non-billable entries; else as asked."""
    if not task.is_billable or task.project.is_internal:
        return False
    return requested is not False


def is_on_team(*, person_id: int, project: Project, member_person_ids: set[int]) -> bool:
    return person_id == project.manager_id or person_id in member_person_ids
