"""Time entry services: every rule of DOMAIN.md, the workflow, rate freezing and the timer."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from auditlog.models import LogEntry

from psa import roles
from psa.errors import (
    PeriodClosedError,
    RateNotFoundError,
    SelfApprovalError,
    StaleVersionError,
    TimeEntryStateError,
    TimeEntryValidationError,
)
from psa.models import OutboxEvent, Period, Project, RateCardLine, RunningTimer, TimeEntry
from psa.services.time_entries import (
    time_entries_approve,
    time_entries_reject,
    time_entry_create,
    time_entry_delete,
    time_entry_reopen,
    time_entry_update,
    timer_start,
    timer_stop,
    timesheet_cell_save,
    timesheet_copy_previous_week,
    timesheet_submit,
)
from tests.psa.factories import (
    ContractFactory,
    CostRateFactory,
    PeriodFactory,
    ProjectFactory,
    ProjectMemberFactory,
    RateCardFactory,
    RateCardLineFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
    person_with_role,
)

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 3, 9)
TUESDAY = date(2026, 3, 10)
H = Decimal


@pytest.fixture
def world():
    """A T&M project (rates Consultant 150.00, Senior 200.00) with a consultant on its team."""
    consultant_role = RoleFactory(code="CONS", name="Consultant", level=2)
    senior_role = RoleFactory(code="SEN", name="Senior", level=3)
    card = RateCardFactory(currency="USD")
    RateCardLineFactory(rate_card=card, role=consultant_role, hourly_rate=H("150.0000"))
    RateCardLineFactory(rate_card=card, role=senior_role, hourly_rate=H("200.0000"))
    contract = ContractFactory(rate_card=card)
    manager = person_with_role(roles.PROJECT_MANAGER)
    project = ProjectFactory(contract=contract, manager=manager)
    person = person_with_role(roles.CONSULTANT)  # its job role is CONS (Consultant)
    ProjectMemberFactory(project=project, person=person)
    CostRateFactory(person=person, hourly_cost=H("80.0000"))
    CostRateFactory(person=manager, hourly_cost=H("95.0000"))
    task = TaskFactory(project=project)

    class World:
        pass

    w = World()
    w.__dict__.update(person=person, manager=manager, project=project, task=task, card=card,
                      contract=contract, senior=senior_role, consultant_role=consultant_role)
    return w


def create(w, **kwargs):
    values = {"actor": w.person.user, "person": w.person, "task": w.task, "work_date": TUESDAY,
              "hours": H("8")}
    values.update(kwargs)
    return time_entry_create(**values)


def submitted(w, **kwargs):
    entry = create(w, **kwargs)
    timesheet_submit(actor=w.person.user, person=w.person, week_start=MONDAY)
    entry.refresh_from_db()
    return entry


# --- Creating: every rule -------------------------------------------------------------------


def test_a_valid_entry_is_a_billable_draft(world):
    entry = create(world, hours=H("7.5"), notes="Workshop")

    assert (entry.status, entry.hours, entry.project, entry.is_billable) == (
        "draft", H("7.5"), world.project, True)


@pytest.mark.parametrize("hours", [H("-1"), H("0"), H("0.1"), H("24.25"), H("25"), H("7.3")])
def test_hours_must_be_quarter_hours_between_0_and_24(world, hours):
    with pytest.raises(TimeEntryValidationError) as caught:
        create(world, hours=hours)

    assert caught.value.attr == "hours"
    assert "steps of a quarter hour" in caught.value.detail
    assert not TimeEntry.objects.exists()


def test_24_hours_is_the_most_per_day_across_tasks(world):
    other = TaskFactory(project=world.project)
    create(world, hours=H("20"))

    with pytest.raises(TimeEntryValidationError) as caught:
        create(world, task=other, hours=H("5"))

    assert caught.value.attr == "hours"
    assert "25.00 hours" in caught.value.detail
    create(world, task=other, hours=H("4"))  # exactly 24 is fine
    assert TimeEntry.objects.count() == 2


def test_one_entry_per_cell(world):
    create(world)

    with pytest.raises(TimeEntryValidationError, match="already has an entry"):
        create(world, hours=H("1"))


def test_closed_task_is_refused(world):
    world.task.is_open = False
    world.task.save()

    with pytest.raises(TimeEntryValidationError, match="is closed") as caught:
        create(world)
    assert caught.value.attr == "task"


def test_a_task_with_sub_tasks_is_refused(world):
    TaskFactory(project=world.project, parent=world.task)

    with pytest.raises(TimeEntryValidationError, match="has sub-tasks"):
        create(world)


@pytest.mark.parametrize("status", [Project.Status.ON_HOLD, Project.Status.CLOSED,
                                    Project.Status.TENTATIVE])
def test_only_active_projects_take_time(world, status):
    Project.objects.filter(pk=world.project.pk).update(status=status)

    with pytest.raises(TimeEntryValidationError, match="only be booked on active projects"):
        create(world)


def test_before_hire_and_after_termination_are_refused(world):
    world.person.hire_date = date(2026, 3, 10)
    world.person.termination_date = date(2026, 3, 20)
    world.person.save()

    with pytest.raises(TimeEntryValidationError, match=r"before .* was hired") as caught:
        create(world, work_date=date(2026, 3, 9))
    assert caught.value.attr == "work_date"
    with pytest.raises(TimeEntryValidationError, match=r"after .* left"):
        create(world, work_date=date(2026, 3, 23))
    create(world, work_date=date(2026, 3, 20))


def test_a_closed_period_refuses_create_update_and_delete(world):
    entry = create(world)
    period = PeriodFactory(legal_entity=world.project.legal_entity, month=date(2026, 4, 1),
                           status=Period.Status.CLOSED)

    with pytest.raises(PeriodClosedError, match="April 2026 is closed"):
        create(world, work_date=date(2026, 4, 7))
    with pytest.raises(PeriodClosedError):  # moving into a closed month
        time_entry_update(actor=world.person.user, entry=entry, work_date=date(2026, 4, 7))
    Period.objects.filter(pk=period.pk).update(month=date(2026, 3, 1))
    with pytest.raises(PeriodClosedError):  # changing an entry dated in a closed month
        time_entry_update(actor=world.person.user, entry=entry, work_date=date(2026, 5, 5))
    with pytest.raises(PeriodClosedError):
        time_entry_delete(actor=world.person.user, entry=entry)
    entry.refresh_from_db()
    assert entry.work_date == TUESDAY


def test_notes_are_required_where_the_project_says_so(world):
    Project.objects.filter(pk=world.project.pk).update(requires_time_notes=True)

    with pytest.raises(TimeEntryValidationError, match="requires a note") as caught:
        create(world, notes="  ")
    assert caught.value.attr == "notes"
    assert create(world, notes="Design review").notes == "Design review"


def test_non_billable_tasks_and_internal_projects_give_non_billable_entries(world):
    task = TaskFactory(project=world.project, is_billable=False)
    assert create(world, task=task, is_billable=True).is_billable is False

    internal = ProjectFactory(contract=None, client=None, is_internal=True,
                              manager=world.manager, legal_entity=world.project.legal_entity,
                              currency="USD")
    ProjectMemberFactory(project=internal, person=world.person)
    assert create(world, task=TaskFactory(project=internal), work_date=MONDAY,
                  is_billable=True).is_billable is False
    assert create(world, work_date=date(2026, 3, 11), is_billable=False).is_billable is False


def test_the_person_must_be_on_the_team(world):
    stranger_project = ProjectFactory()

    with pytest.raises(TimeEntryValidationError, match="is not on the team of project"):
        create(world, task=TaskFactory(project=stranger_project))
    # the project's manager may book without being a team member
    create(world, person=world.manager, actor=world.manager.user)


# --- Updating and deleting ------------------------------------------------------------------


def test_update_changes_a_draft_and_checks_the_version(world):
    entry = create(world)
    entry = time_entry_update(actor=world.person.user, entry=entry, hours=H("6.25"),
                              notes="Less", expected_version=entry.version)
    assert (entry.hours, entry.notes) == (H("6.25"), "Less")

    with pytest.raises(StaleVersionError):
        time_entry_update(actor=world.person.user, entry=entry, hours=H("5"),
                          expected_version="20000101T000000.000000")
    with pytest.raises(TimeEntryValidationError):
        time_entry_update(actor=world.person.user, entry=entry, hours=H("0.1"))


def test_update_counts_other_entries_of_the_day_but_not_itself(world):
    entry = create(world, hours=H("20"))
    time_entry_update(actor=world.person.user, entry=entry, hours=H("24"))
    create(world, task=TaskFactory(project=world.project), work_date=MONDAY, hours=H("5"))

    with pytest.raises(TimeEntryValidationError, match=r"29\.00 hours"):
        time_entry_update(actor=world.person.user, entry=entry, work_date=MONDAY)


@pytest.mark.parametrize("trait", ["submitted", "approved"])
def test_submitted_and_approved_entries_cannot_be_changed(world, trait):
    entry = TimeEntryFactory(person=world.person, task=world.task, **{trait: True})

    with pytest.raises(TimeEntryStateError):
        time_entry_update(actor=world.person.user, entry=entry, hours=H("1"))
    with pytest.raises(TimeEntryStateError):
        time_entry_delete(actor=world.person.user, entry=entry)
    with pytest.raises(TimeEntryStateError):
        timesheet_cell_save(actor=world.person.user, person=world.person, task=world.task,
                            work_date=entry.work_date, hours=H("2"))


def test_cell_save_creates_updates_and_deletes(world):
    def save(hours, notes=None):
        return timesheet_cell_save(actor=world.person.user, person=world.person,
                                   task=world.task, work_date=TUESDAY, hours=hours, notes=notes)

    entry = save(H("3"), "First")
    assert save(H("4.5")).pk == entry.pk
    entry.refresh_from_db()
    assert (entry.hours, entry.notes) == (H("4.5"), "First")
    assert save(H("0")) is None
    assert not TimeEntry.objects.exists()


# --- Workflow --------------------------------------------------------------------------------


def test_submit_week_submits_drafts_and_rejected_and_publishes_one_event(world):
    first = create(world, hours=H("8"))
    second = create(world, work_date=date(2026, 3, 13), hours=H("4.5"))
    create(world, work_date=date(2026, 3, 16))  # next week: untouched

    entries = timesheet_submit(actor=world.person.user, person=world.person, week_start=MONDAY)

    assert {e.pk for e in entries} == {first.pk, second.pk}
    assert set(TimeEntry.objects.values_list("status", flat=True)) == {"submitted", "draft"}
    event = OutboxEvent.objects.get(type="timesheet.submitted")
    assert event.aggregate_id == str(world.person.pk)
    assert event.payload == {"person_id": world.person.pk, "week_start": "2026-03-09",
                             "time_entry_ids": [first.pk, second.pk], "total_hours": "12.50"}
    with pytest.raises(TimeEntryValidationError, match="Nothing to submit"):
        timesheet_submit(actor=world.person.user, person=world.person, week_start=MONDAY)
    with pytest.raises(TimeEntryValidationError, match="Monday"):
        timesheet_submit(actor=world.person.user, person=world.person, week_start=TUESDAY)


def test_approval_freezes_rates_and_publishes(world):
    entry = submitted(world, hours=H("7.5"))

    (approved,) = time_entries_approve(actor=world.manager.user, entries=[entry])

    approved.refresh_from_db()
    assert (approved.status, approved.bill_rate, approved.bill_currency, approved.rate_source,
            approved.cost_rate, approved.cost_currency, approved.approved_by) == (
        "approved", H("150.0000"), "USD", "contract_card", H("80.0000"), "USD",
        world.manager.user)
    assert approved.approved_at is not None
    event = OutboxEvent.objects.get(type="time_entry.approved")
    assert event.payload["hours"] == "7.50"
    assert event.payload["bill_amount"] == "1125.00"
    assert event.payload["cost_amount"] == "600.00"


def test_approval_uses_the_team_role_and_ignores_later_rate_changes(world):
    ProjectMemberFactory._meta.model.objects.filter(person=world.person).update(
        role=world.senior)
    entry = submitted(world, hours=H("2"))
    time_entries_approve(actor=world.manager.user, entries=[entry])

    RateCardLine.objects.filter(rate_card=world.card).update(hourly_rate=H("999.0000"))
    RateCardLineFactory(rate_card=world.card, role=world.senior, hourly_rate=H("300.0000"),
                        effective_from=date(2026, 1, 1))

    entry.refresh_from_db()
    assert entry.bill_rate == H("200.0000")


def test_a_non_billable_entry_freezes_only_the_cost(world):
    entry = submitted(world, is_billable=False)

    time_entries_approve(actor=world.manager.user, entries=[entry])

    entry.refresh_from_db()
    assert (entry.bill_rate, entry.cost_rate) == (None, H("80.0000"))


def test_approval_without_a_rate_says_whose_entry_and_approves_nothing(world):
    first = create(world, task=TaskFactory(project=world.project), work_date=MONDAY)
    second = create(world)
    timesheet_submit(actor=world.person.user, person=world.person, week_start=MONDAY)
    RateCardLine.objects.all().delete()

    with pytest.raises(RateNotFoundError) as caught:
        time_entries_approve(actor=world.manager.user, entries=[first, second])

    assert "cannot be approved" in caught.value.detail
    assert world.person.full_name in caught.value.detail
    assert world.project.code in caught.value.detail
    assert "2026-03-09" in caught.value.detail
    assert not TimeEntry.objects.filter(status="approved").exists()
    assert not OutboxEvent.objects.filter(type="time_entry.approved").exists()


def test_approval_without_a_cost_rate_is_refused(world):
    entry = submitted(world)
    world.person.cost_rates.all().delete()

    with pytest.raises(RateNotFoundError, match="No cost rate"):
        time_entries_approve(actor=world.manager.user, entries=[entry])


def test_nobody_approves_their_own_time_not_even_an_administrator(world):
    admin = person_with_role(roles.ADMINISTRATOR)
    ProjectMemberFactory(project=world.project, person=admin)
    entry = TimeEntryFactory(person=admin, task=world.task, submitted=True)

    with pytest.raises(SelfApprovalError):
        time_entries_approve(actor=admin.user, entries=[entry])
    with pytest.raises(SelfApprovalError):
        time_entries_reject(actor=admin.user, entries=[entry], reason="No")


def test_only_submitted_entries_are_approved_or_rejected(world):
    draft = create(world)

    with pytest.raises(TimeEntryStateError):
        time_entries_approve(actor=world.manager.user, entries=[draft])
    with pytest.raises(TimeEntryStateError):
        time_entries_reject(actor=world.manager.user, entries=[draft], reason="No")


def test_reject_needs_a_reason_then_the_consultant_fixes_and_resubmits(world):
    entry = submitted(world)
    with pytest.raises(TimeEntryValidationError) as caught:
        time_entries_reject(actor=world.manager.user, entries=[entry], reason="  ")
    assert caught.value.attr == "reason"

    time_entries_reject(actor=world.manager.user, entries=[entry], reason="Wrong task")

    entry.refresh_from_db()
    assert (entry.status, entry.rejection_reason) == ("rejected", "Wrong task")
    assert OutboxEvent.objects.get(type="time_entry.rejected").payload["reason"] == "Wrong task"
    time_entry_update(actor=world.person.user, entry=entry, hours=H("6"))
    (again,) = timesheet_submit(actor=world.person.user, person=world.person, week_start=MONDAY)
    assert (again.pk, again.status) == (entry.pk, "submitted")
    time_entries_approve(actor=world.manager.user, entries=[again])


def test_finance_reopen_clears_the_frozen_rates(world):
    entry = submitted(world)
    time_entries_approve(actor=world.manager.user, entries=[entry])
    finance = person_with_role(roles.FINANCE)
    with pytest.raises(TimeEntryValidationError):
        time_entry_reopen(actor=finance.user, entry=entry, reason="")

    entry = time_entry_reopen(actor=finance.user, entry=entry, reason="Wrong project")

    entry.refresh_from_db()
    assert (entry.status, entry.bill_rate, entry.cost_rate, entry.approved_by) == (
        "draft", None, None, None)
    event = OutboxEvent.objects.get(type="time_entry.reopened")
    assert (event.payload["reason"], event.payload["bill_rate"]) == ("Wrong project", "150.0000")
    change = LogEntry.objects.get_for_object(entry).filter(action=LogEntry.Action.UPDATE).first()
    assert change.changes["status"] == ["approved", "draft"]
    with pytest.raises(TimeEntryStateError):
        time_entry_reopen(actor=finance.user, entry=entry, reason="Again")


def test_copy_previous_week_fills_empty_valid_cells_only(world):
    closed_task = TaskFactory(project=world.project)
    kept = create(world, work_date=date(2026, 3, 2), hours=H("6"), notes="Copied")
    create(world, task=closed_task, work_date=date(2026, 3, 3))
    create(world, work_date=date(2026, 3, 4), hours=H("2"))
    create(world, work_date=date(2026, 3, 11), hours=H("1"))  # this week's cell is filled
    closed_task.is_open = False
    closed_task.save()

    created = timesheet_copy_previous_week(actor=world.person.user, person=world.person,
                                           week_start=MONDAY)

    assert [(e.work_date, e.hours, e.notes, e.status) for e in created] == [
        (MONDAY, kept.hours, "Copied", "draft")]
    assert TimeEntry.objects.filter(work_date__gte=MONDAY).count() == 2


def test_copy_previous_week_skips_days_after_termination(world):
    create(world, work_date=date(2026, 3, 2))
    create(world, work_date=date(2026, 3, 5))
    world.person.termination_date = date(2026, 3, 10)
    world.person.save()

    created = timesheet_copy_previous_week(actor=world.person.user, person=world.person,
                                           week_start=MONDAY)

    assert [e.work_date for e in created] == [MONDAY]


# --- Timer ----------------------------------------------------------------------------------


def test_timer_rounds_up_to_the_quarter_hour_into_today_of_the_persons_zone(world):
    world.person.time_zone = "America/Los_Angeles"
    world.person.save()
    start = datetime(2026, 3, 11, 5, 0, tzinfo=ZoneInfo("UTC"))  # 2026-03-10 in Los Angeles
    create(world, hours=H("1"))
    with time_machine.travel(start, tick=False):
        timer_start(actor=world.person.user, person=world.person, task=world.task)
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        entry = timer_stop(actor=world.person.user, person=world.person)

    assert (entry.work_date, entry.hours) == (TUESDAY, H("2.25"))
    assert not RunningTimer.objects.exists()


def test_starting_a_second_timer_books_the_first(world):
    other = TaskFactory(project=world.project)
    start = datetime(2026, 3, 10, 14, 0, tzinfo=ZoneInfo("UTC"))
    with time_machine.travel(start, tick=False):
        timer_start(actor=world.person.user, person=world.person, task=world.task)
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        timer_start(actor=world.person.user, person=world.person, task=other)

    assert TimeEntry.objects.get(task=world.task).hours == H("0.25")
    assert RunningTimer.objects.get(person=world.person).task == other


def test_stopping_without_a_timer_is_refused(world):
    with pytest.raises(TimeEntryValidationError, match="No timer"):
        timer_stop(actor=world.person.user, person=world.person)
