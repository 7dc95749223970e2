"""My week (`/time/`): the grid, autosave of a cell, the week's actions, the timer, the role
matrix and fixed query counts. Time is pinned to Wednesday 18 Nov 2026 (UTC)."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from psa import roles
from psa.models import OutboxEvent, Period, Project, RunningTimer, Task, TimeEntry
from psa.selectors.timesheet import HoursParseError, parse_hours, parse_week
from psa.services.time_entries import time_entries_reject
from tests.psa.factories import (
    PeriodFactory,
    ProjectFactory,
    ProjectMemberFactory,
    TaskFactory,
    TimeEntryFactory,
    TimeOffFactory,
    UserFactory,
    person_with_role,
)

NOW = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)  # a Wednesday
MON = date(2026, 11, 16)
TUE, WED = MON + timedelta(days=1), MON + timedelta(days=2)


@pytest.fixture(autouse=True)
def _pinned_time():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


class Sheet:
    """A consultant on ACME-042 with two leaf tasks under a phase, and a signed-in browser."""

    def __init__(self, browser_for, role: str = roles.CONSULTANT, code: str = "ACME-042") -> None:
        self.person = person_with_role(role, first_name="Casey", last_name="Lee")
        self.manager = person_with_role(roles.PROJECT_MANAGER, first_name="Morgan")
        self.project = ProjectFactory(code=code, name="Cloud migration",
                                      manager=self.manager)
        ProjectMemberFactory(project=self.project, person=self.person)
        phase = TaskFactory(project=self.project, wbs_code="1", name="Discovery")
        self.workshops = TaskFactory(project=self.project, wbs_code="1.1",
                                     name="Discovery workshops", parent=phase, position=1)
        self.mapping = TaskFactory(project=self.project, wbs_code="1.2", name="Data mapping",
                                   parent=phase, position=2, is_billable=False)
        self.unused = TaskFactory(project=self.project, wbs_code="2", name="Cut-over",
                                  position=3)
        self.browser = browser_for(self.person)

    def page(self, week: str | None = None) -> str:
        url = reverse("timesheet") + (f"?week={week}" if week else "")
        response = self.browser.get(url)
        assert response.status_code == 200
        return response.content.decode()

    def save(self, task: Task, day: date, hours: str, notes: str | None = None):
        data = {"hours": hours} if notes is None else {"hours": hours, "notes": notes}
        return self.browser.post(reverse("timesheet-cell", args=[task.pk, day.isoformat()]),
                                 data, HTTP_HX_REQUEST="true")

    def entry(self, task: Task, day: date) -> TimeEntry | None:
        return TimeEntry.objects.filter(person=self.person, task=task, work_date=day).first()


@pytest.fixture
def sheet(db, browser_for) -> Sheet:
    return Sheet(browser_for)


def _cell(html: str, task: Task, day: date) -> str:
    """The HTML of one cell of the grid."""
    match = re.search(rf'<td id="cell-{task.pk}-{day:%Y%m%d}".*?</td>', html, re.S)
    assert match, f"no cell for {task} on {day}"
    return match.group(0)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- Parsing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["7.5", "7,5", "7:30", "7h30", " 7.50 ", "7.5h", "7h30m"])
def test_parse_hours_reads_every_way_of_typing_seven_and_a_half(typed):
    assert parse_hours(typed) == Decimal("7.50")


@pytest.mark.parametrize(("typed", "expected"), [
    ("", None), ("0", None), ("0:00", None), ("8", Decimal("8.00")), ("0:15", Decimal("0.25")),
    ("12h", Decimal("12.00")), ("0.1", Decimal("0.10")), ("25", Decimal("25.00")),
])
def test_parse_hours_empty_or_zero_clears_and_numbers_pass_through(typed, expected):
    assert parse_hours(typed) == expected


@pytest.mark.parametrize("typed", ["abc", "-1", "7:75", "7..5", "1e3", "h", "."])
def test_parse_hours_refuses_what_is_not_hours(typed):
    with pytest.raises(HoursParseError):
        parse_hours(typed)


def test_parse_week_any_date_gives_its_monday_and_bad_input_this_week():
    assert parse_week("2026-11-19", today=WED) == MON
    assert parse_week("2026-11-22", today=WED) == MON  # a Sunday belongs to the week before it
    assert parse_week("not-a-date", today=WED) == MON
    assert parse_week(None, today=date(2026, 11, 23)) == date(2026, 11, 23)


# --- The page ------------------------------------------------------------------------------------

@pytest.mark.django_db
class TestWeekPage:
    def test_rows_cells_totals_and_capacity_of_the_consultant(self, sheet):
        TimeEntryFactory(person=sheet.person, task=sheet.workshops, work_date=MON,
                         hours=Decimal("4.00"), notes="Kick-off")
        TimeEntryFactory(person=sheet.person, task=sheet.workshops, work_date=TUE,
                         hours=Decimal("6.50"))
        # used two weeks ago: still a row this week, although empty
        TimeEntryFactory(person=sheet.person, task=sheet.mapping,
                         work_date=MON - timedelta(days=14), hours=Decimal("2.00"))
        # used six weeks ago: too long ago to be a row
        TimeEntryFactory(person=sheet.person, task=sheet.unused,
                         work_date=MON - timedelta(days=42), hours=Decimal("1.00"))

        html = sheet.page()

        text = _text(html)
        assert "ACME-042 Cloud migration" in text  # the project's group header
        assert f'id=\"row-{sheet.workshops.pk}\"' in html
        assert f'id=\"row-{sheet.mapping.pk}\"' in html
        assert f'id=\"row-{sheet.unused.pk}\"' not in html
        mon = _cell(html, sheet.workshops, MON)
        assert 'value="4.00"' in mon and "has-note" in mon
        assert 'aria-label="ACME-042 Discovery workshops, Mon 16 Nov"' in mon
        assert 'inputmode="decimal"' in mon and 'name="notes" value="Kick-off"' in mon
        assert 'value="6.50"' in _cell(html, sheet.workshops, TUE)
        assert f'<span id="row-total-{sheet.workshops.pk}">10.50</span>' in html
        assert '<span id="day-total-0" class="ts-day-total">4.00</span>' in html
        assert '<span id="week-total">10.50</span><span class="ts-cap"> / 40.00</span>' in html
        # billable shown per row, with a text alternative; the non-billable row says so too
        row = re.search(rf'<tr class="ts-row[^"]*" id="row-{sheet.workshops.pk}".*?</th>',
                        html, re.S).group(0)
        assert 'title="Billable"' in row and "(billable)" in row
        other = re.search(rf'<tr class="ts-row[^"]*" id="row-{sheet.mapping.pk}".*?</th>',
                          html, re.S).group(0)
        assert "(non-billable)" in other
        assert "Week of 16 Nov 2026 · 10.50 of 40.00 h" in text

    def test_a_public_holiday_lowers_capacity_and_shades_its_column(self, sheet):
        html = sheet.page("2026-11-25")  # Thanksgiving, Thursday 26 Nov 2026 (US)

        assert '<span id="week-total">0.00</span><span class="ts-cap"> / 32.00</span>' in html
        head = re.search(r'<th scope="col" class="ts-dayhead d3[^"]*".*?</th>', html, re.S)
        assert "is-off" in head.group(0) and "Thanksgiving" in head.group(0)
        assert 'data-capacity="0.00"><span id="day-total-3"' in html

    def test_approved_leave_lowers_capacity(self, sheet):
        TimeOffFactory(person=sheet.person, start_date=TUE, end_date=WED)

        html = sheet.page()

        assert '<span class="ts-cap"> / 24.00</span>' in html
        assert "Leave 8.00 h" in html

    def test_other_peoples_entries_never_appear(self, sheet):
        someone = person_with_role(roles.CONSULTANT)
        ProjectMemberFactory(project=sheet.project, person=someone)
        TimeEntryFactory(person=someone, task=sheet.workshops, work_date=MON,
                         hours=Decimal("3.25"), notes="Someone else's secret note")
        TimeEntryFactory(person=someone, task=sheet.unused, work_date=TUE, hours=Decimal("5.00"))

        html = sheet.page()

        assert "3.25" not in html and "secret note" not in html and "5.00" not in html
        assert f'id=\"row-{sheet.unused.pk}\"' not in html
        assert '<span id="week-total">0.00</span>' in html

    def test_week_navigation_from_any_date(self, sheet):
        html = sheet.page("2026-11-19")

        assert "Week of 16 Nov 2026" in html
        assert 'href="/time/?week=2026-11-09" rel="prev"' in html
        assert 'href="/time/?week=2026-11-23" rel="next"' in html
        assert 'aria-label="ACME-042 Discovery workshops, Mon 16 Nov"' not in html  # no rows
        assert "This week" not in _text(html.split('class="ts-weeknav"')[1].split("</nav>")[0])
        later = sheet.page("2026-12-02")
        assert "Week of 30 Nov 2026" in later and 'href="/time/">This week</a>' in later

    def test_projects_the_person_is_on_head_groups_even_without_rows(self, sheet):
        other = ProjectFactory(code="GLOBEX-001", name="Globex rollout")
        ProjectMemberFactory(project=other, person=sheet.person)
        ProjectFactory(code="INITECH-9", name="Not my project")
        ProjectMemberFactory(project=ProjectFactory(code="HOLD-1", status=Project.Status.ON_HOLD),
                             person=sheet.person)

        html = sheet.page()

        assert f'id="group-{other.pk}"' in html and "GLOBEX-001" in html
        assert "INITECH-9" not in html and "HOLD-1" not in html

    def test_status_per_cell_read_only_and_rejected_with_reason(self, sheet):
        TimeEntryFactory(person=sheet.person, task=sheet.workshops, work_date=MON,
                         submitted=True)
        TimeEntryFactory(person=sheet.person, task=sheet.workshops, work_date=TUE,
                         approved=True)
        TimeEntryFactory(person=sheet.person, task=sheet.workshops, work_date=WED,
                         status=TimeEntry.Status.REJECTED,
                         rejection_reason="Workshop was cancelled that day")

        html = sheet.page()

        submitted = _cell(html, sheet.workshops, MON)
        assert "st-submitted" in submitted and 'aria-readonly="true"' in submitted
        assert "readonly" in submitted and "hx-post" not in submitted
        assert "submitted</span>" in submitted
        approved = _cell(html, sheet.workshops, TUE)
        assert "st-approved" in approved and 'aria-readonly="true"' in approved
        rejected = _cell(html, sheet.workshops, WED)
        assert "st-rejected" in rejected and "hx-post" in rejected
        assert 'data-reason="Workshop was cancelled that day"' in rejected
        assert "aria-readonly" not in rejected

    def test_closed_month_cells_are_read_only(self, sheet):
        PeriodFactory(legal_entity=sheet.person.legal_entity, month=date(2026, 11, 1),
                      status=Period.Status.CLOSED)
        TimeEntryFactory(person=sheet.person, task=sheet.workshops, work_date=MON)

        html = sheet.page()

        cell = _cell(html, sheet.workshops, TUE)
        assert 'aria-readonly="true"' in cell and "This month is closed" in cell

    def test_a_user_without_a_person_sees_a_clear_message(self, client):
        user = UserFactory(role=roles.CONSULTANT)
        client.force_login(user)

        response = client.get(reverse("timesheet"))

        assert response.status_code == 200
        assert "not linked to a person" in response.content.decode()


# --- The role matrix -----------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("role", roles.ROLES)
def test_page_status_follows_the_role_matrix(role, browser_for):
    person = person_with_role(role)
    expected = 200 if roles.scope_of(frozenset({role}), "psa.add_timeentry") else 403

    response = browser_for(person).get(reverse("timesheet"))

    assert response.status_code == expected


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["timesheet", "timesheet-tasks", "timesheet-submit"])
def test_anonymous_visitors_are_sent_to_sign_in(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_anonymous_cell_save_writes_nothing(client, sheet):
    response = client.post(reverse("timesheet-cell", args=[sheet.workshops.pk, MON]),
                           {"hours": "8"})

    assert response.status_code == 302
    assert not TimeEntry.objects.exists()


# --- Autosave ------------------------------------------------------------------------------------

@pytest.mark.django_db
class TestCellAutosave:
    def test_save_creates_the_entry_and_answers_the_cell_with_totals(self, sheet):
        TimeEntryFactory(person=sheet.person, task=sheet.mapping, work_date=TUE,
                         hours=Decimal("1.50"))

        response = sheet.save(sheet.workshops, TUE, "7:30", notes="Workshop day 1")

        assert response.status_code == 200
        entry = sheet.entry(sheet.workshops, TUE)
        assert entry.hours == Decimal("7.50") and entry.notes == "Workshop day 1"
        assert entry.status == TimeEntry.Status.DRAFT
        html = response.content.decode()
        assert html.lstrip().startswith(f'<td id="cell-{sheet.workshops.pk}-20261117"')
        assert 'value="7.50"' in html and 'data-saved="7.50"' in html and "saved ✓" in html
        assert f'<span id="row-total-{sheet.workshops.pk}" hx-swap-oob="true">7.50</span>' in html
        assert '<span id="day-total-1" hx-swap-oob="true">9.00</span>' in html
        assert '<span id="week-total" hx-swap-oob="true">9.00</span>' in html

    @pytest.mark.parametrize("typed", ["7.5", "7,5", "7:30", "7h30"])
    def test_every_way_of_typing_saves_seven_and_a_half(self, sheet, typed):
        assert sheet.save(sheet.workshops, MON, typed).status_code == 200

        assert sheet.entry(sheet.workshops, MON).hours == Decimal("7.50")

    def test_update_keeps_the_note_and_zero_or_empty_clears_the_cell(self, sheet):
        sheet.save(sheet.workshops, MON, "8", notes="Design")
        assert sheet.save(sheet.workshops, MON, "6").status_code == 200  # no notes field
        entry = sheet.entry(sheet.workshops, MON)
        assert entry.hours == Decimal("6.00") and entry.notes == "Design"

        response = sheet.save(sheet.workshops, MON, "0")

        assert response.status_code == 200
        assert sheet.entry(sheet.workshops, MON) is None
        assert 'value=""' in response.content.decode()
        assert '<span id="week-total" hx-swap-oob="true">0.00</span>' in response.content.decode()
        sheet.save(sheet.workshops, MON, "4")
        assert sheet.save(sheet.workshops, MON, "").status_code == 200
        assert sheet.entry(sheet.workshops, MON) is None

    @pytest.mark.parametrize(("typed", "status", "message"), [
        ("0.1", 400, "steps of a quarter hour"),
        ("25", 400, "at most 24"),
        ("abc", 400, "Type hours like 7.5, 7:30 or 7h30."),
        ("-2", 400, "Hours cannot be negative."),
    ])
    def test_bad_hours_show_the_error_beside_the_cell_and_write_nothing(self, sheet, typed,
                                                                        status, message):
        sheet.save(sheet.workshops, MON, "2")

        response = sheet.save(sheet.workshops, MON, typed)

        assert response.status_code == status
        html = response.content.decode()
        assert message in html and 'class="ts-error"' in html and 'aria-invalid="true"' in html
        assert f'value="{typed}"' in html  # the typed value stays for a retry
        assert 'data-saved="2.00"' in html  # Escape restores what is saved
        assert "hx-swap-oob" not in html
        assert sheet.entry(sheet.workshops, MON).hours == Decimal("2.00")

    def test_more_than_24_hours_in_a_day_across_rows_is_refused(self, sheet):
        sheet.save(sheet.mapping, MON, "20")

        response = sheet.save(sheet.workshops, MON, "5")

        assert response.status_code == 400
        assert "24" in response.content.decode()
        assert sheet.entry(sheet.workshops, MON) is None

    def test_closed_period_is_refused_beside_the_cell(self, sheet):
        PeriodFactory(legal_entity=sheet.project.legal_entity, month=date(2026, 11, 1),
                      status=Period.Status.CLOSED)

        response = sheet.save(sheet.workshops, MON, "8")

        assert response.status_code == 409
        assert "November 2026 is closed" in response.content.decode()
        assert not TimeEntry.objects.exists()

    def test_a_submitted_cell_is_refused_and_stays_read_only(self, sheet):
        TimeEntryFactory(person=sheet.person, task=sheet.workshops, work_date=MON,
                         hours=Decimal("8.00"), submitted=True)

        response = sheet.save(sheet.workshops, MON, "4")

        assert response.status_code == 409
        html = response.content.decode()
        assert "only draft and rejected entries can be changed" in html
        assert 'value="8.00"' in html and 'aria-readonly="true"' in html
        assert sheet.entry(sheet.workshops, MON).hours == Decimal("8.00")

    def test_a_task_of_a_project_the_person_is_not_on_is_refused(self, sheet):
        elsewhere = TaskFactory(project=ProjectFactory(name="Someone else's audit"))

        response = sheet.save(elsewhere, MON, "8")

        assert response.status_code == 400
        assert not TimeEntry.objects.exists()

    def test_a_rejected_cell_can_be_fixed(self, sheet):
        TimeEntryFactory(person=sheet.person, task=sheet.workshops, work_date=MON,
                         status=TimeEntry.Status.REJECTED, rejection_reason="Too much")

        assert sheet.save(sheet.workshops, MON, "6").status_code == 200

        assert sheet.entry(sheet.workshops, MON).hours == Decimal("6.00")

    def test_unknown_task_is_a_404(self, sheet):
        response = sheet.browser.post(reverse("timesheet-cell", args=[999999, "2026-11-16"]),
                                      {"hours": "8"})
        assert response.status_code == 404
        response = sheet.browser.post(
            reverse("timesheet-cell", args=[sheet.workshops.pk, "2026-13-45"]), {"hours": "8"})
        assert response.status_code == 404


# --- Add row -------------------------------------------------------------------------------------

@pytest.mark.django_db
class TestAddRow:
    def test_picker_finds_open_leaf_tasks_of_my_active_projects_only(self, sheet):
        closed = TaskFactory(project=sheet.project, wbs_code="3", name="Discovery closed",
                             is_open=False)
        foreign = TaskFactory(project=ProjectFactory(code="OTHER-1"), name="Discovery abroad")

        response = sheet.browser.get(reverse("timesheet-tasks"),
                                     {"q": "disc", "week": "2026-11-16"})

        html = response.content.decode()
        assert response.status_code == 200
        assert f'data-task="{sheet.workshops.pk}"' in html
        assert f'data-task="{sheet.mapping.pk}"' not in html  # does not match "disc"
        assert "Discovery</span>" not in html  # the phase is not a leaf
        assert f'data-task="{closed.pk}"' not in html
        assert f'data-task="{foreign.pk}"' not in html
        assert f'hx-target="#group-{sheet.project.pk}"' in html
        everything = sheet.browser.get(reverse("timesheet-tasks")).content.decode()
        assert f'data-task="{sheet.mapping.pk}"' in everything

    def test_row_endpoint_answers_an_empty_row_and_refuses_foreign_tasks(self, sheet):
        response = sheet.browser.get(reverse("timesheet-row"),
                                     {"task": sheet.unused.pk, "week": "2026-11-18"})

        html = response.content.decode()
        assert response.status_code == 200
        assert html.lstrip().startswith(f'<tr class="ts-row" id="row-{sheet.unused.pk}"')
        assert html.count('class="ts-hours"') == 7
        assert 'aria-label="ACME-042 Cut-over, Sun 22 Nov"' in html
        foreign = TaskFactory()
        assert sheet.browser.get(reverse("timesheet-row"),
                                 {"task": foreign.pk}).status_code == 404


# --- Week actions --------------------------------------------------------------------------------

@pytest.mark.django_db
class TestWeekActions:
    def test_copy_last_week_creates_drafts_on_the_same_weekdays(self, sheet):
        TimeEntryFactory(person=sheet.person, task=sheet.workshops,
                         work_date=MON - timedelta(days=7), hours=Decimal("8.00"), notes="A")
        TimeEntryFactory(person=sheet.person, task=sheet.mapping,
                         work_date=TUE - timedelta(days=7), hours=Decimal("3.50"),
                         submitted=True)

        response = sheet.browser.post(reverse("timesheet-copy"), {"week": "2026-11-18"},
                                      follow=True)

        assert response.redirect_chain[-1][0] == "/time/?week=2026-11-16"
        assert sheet.entry(sheet.workshops, MON).hours == Decimal("8.00")
        copied = sheet.entry(sheet.mapping, TUE)
        assert copied.hours == Decimal("3.50") and copied.status == TimeEntry.Status.DRAFT
        assert "Copied 2 entries (11.50 h)" in response.content.decode()

    def test_submit_week_shows_a_summary_then_submits_drafts_and_rejected(self, sheet):
        other = ProjectFactory(code="INT-001", name="Training", manager=sheet.manager)
        ProjectMemberFactory(project=other, person=sheet.person)
        training = TaskFactory(project=other, name="Courses")
        TimeEntryFactory(person=sheet.person, task=sheet.workshops, work_date=MON,
                         hours=Decimal("6.00"))
        TimeEntryFactory(person=sheet.person, task=sheet.mapping, work_date=MON,
                         hours=Decimal("2.00"), status=TimeEntry.Status.REJECTED,
                         rejection_reason="Wrong task")
        TimeEntryFactory(person=sheet.person, task=training, work_date=TUE,
                         hours=Decimal("0.50"))
        approved = TimeEntryFactory(person=sheet.person, task=sheet.workshops, work_date=WED,
                                    hours=Decimal("8.00"), approved=True)

        summary = sheet.browser.get(reverse("timesheet-submit"), {"week": "2026-11-16"})

        text = _text(summary.content.decode())
        assert summary.status_code == 200
        assert "ACME-042 Cloud migration 8.00 8.00 16.00" in text
        assert "INT-001 Training 0.50 0.50" in text
        assert "Total 8.00 0.50 8.00 16.50" in text
        assert "3 draft or rejected entries (8.50 h)" in text

        response = sheet.browser.post(reverse("timesheet-submit"), {"week": "2026-11-16"},
                                      follow=True)

        assert response.redirect_chain[-1][0] == "/time/?week=2026-11-16"
        statuses = set(TimeEntry.objects.exclude(pk=approved.pk)
                       .values_list("status", flat=True))
        assert statuses == {TimeEntry.Status.SUBMITTED}
        assert OutboxEvent.objects.filter(type="timesheet.submitted").count() == 1
        html = response.content.decode()
        assert "Submitted 3 entries (8.50 h) for approval." in html
        assert 'aria-readonly="true"' in _cell(html, sheet.workshops, MON)

    def test_submitting_an_empty_week_says_why(self, sheet):
        response = sheet.browser.post(reverse("timesheet-submit"), {"week": "2026-11-16"},
                                      follow=True)

        assert "Nothing to submit" in response.content.decode()

    def test_rejected_then_fixed_then_resubmitted(self, sheet):
        entry = TimeEntryFactory(person=sheet.person, task=sheet.workshops, work_date=MON,
                                 hours=Decimal("9.00"))
        sheet.browser.post(reverse("timesheet-submit"), {"week": "2026-11-16"})
        time_entries_reject(actor=sheet.manager.user, entries=[entry],
                            reason="Nine hours in a workshop? Please split.")

        html = sheet.page()
        cell = _cell(html, sheet.workshops, MON)
        assert "st-rejected" in cell and "Nine hours in a workshop? Please split." in cell

        assert sheet.save(sheet.workshops, MON, "8").status_code == 200
        sheet.browser.post(reverse("timesheet-submit"), {"week": "2026-11-16"})
        entry.refresh_from_db()
        assert entry.status == TimeEntry.Status.SUBMITTED and entry.hours == Decimal("8.00")


@pytest.mark.django_db
class TestTimer:
    def test_start_shows_the_running_timer_and_stop_adds_time_to_today(self, sheet,
                                                                       _pinned_time):
        sheet.save(sheet.workshops, WED, "1")

        response = sheet.browser.post(reverse("timesheet-timer-start"),
                                      {"task": sheet.workshops.pk, "week": "2026-11-16"},
                                      follow=True)

        html = response.content.decode()
        assert "Timer started on ACME-042 Discovery workshops." in html
        assert 'data-started="2026-11-18T14:00:00+00:00"' in html
        assert f'<tr class="ts-row has-timer" id="row-{sheet.workshops.pk}"' in html

        _pinned_time.move_to(NOW + timedelta(minutes=40))
        response = sheet.browser.post(reverse("timesheet-timer-stop"), {"week": "2026-11-16"},
                                      follow=True)

        assert sheet.entry(sheet.workshops, WED).hours == Decimal("1.75")  # 40 min → 0.75 h
        html = response.content.decode()
        assert "Timer stopped: Wed 18 Nov now has 1.75 h on Discovery workshops." in html
        assert "data-started" not in html

    def test_timer_task_is_a_row_even_when_unused(self, sheet):
        sheet.browser.post(reverse("timesheet-timer-start"), {"task": sheet.unused.pk})

        assert f'id="row-{sheet.unused.pk}"' in sheet.page()

    @pytest.mark.parametrize("task", ["abc", "", "99999999"])
    def test_start_on_a_task_that_is_not_one_is_a_404_and_starts_nothing(self, sheet, task):
        response = sheet.browser.post(reverse("timesheet-timer-start"), {"task": task})
        assert response.status_code == 404
        assert not RunningTimer.objects.exists()

    def test_stop_without_a_timer_says_so(self, sheet):
        response = sheet.browser.post(reverse("timesheet-timer-stop"), follow=True)

        assert "No timer is running." in response.content.decode()


# --- Query counts --------------------------------------------------------------------------------

def _world_with_rows(sheet: Sheet, rows: int, prefix: str = "BULK") -> None:
    """`rows` rows over projects of 5 tasks each: half used this week, half in the weeks before."""
    made = 0
    index = 0
    while made < rows:
        project = ProjectFactory(code=f"{prefix}-{index:03d}", manager=sheet.manager)
        ProjectMemberFactory(project=project, person=sheet.person)
        tasks = Task.objects.bulk_create([
            Task(project=project, wbs_code=f"{i + 1}", name=f"Task {index}.{i}", position=i,
                 budget_hours=Decimal("10.00")) for i in range(min(5, rows - made))])
        entries = []
        for i, task in enumerate(tasks):
            day = MON + timedelta(days=i % 5) if i % 2 == 0 else MON - timedelta(days=9 + i)
            entries.append(TimeEntry(person=sheet.person, task=task, project=project,
                                     work_date=day, hours=Decimal("0.25"),
                                     status=TimeEntry.Status.SUBMITTED if i == 4 else "draft"))
        TimeEntry.objects.bulk_create(entries)
        made += len(tasks)
        index += 1


PAGE_QUERIES = 12  # session, user, groups, person, entries, timer, tasks, projects, periods,
#                    leave, and the two permission look-ups of the navigation
# Saving a cell: the view's own 6 queries (session, user, groups, person, task, and the week's
# totals afterwards) plus what timesheet_cell_save needs: its savepoint and release, the cell's
# row lock, the person's lock, the rule facts (task, day totals, period), the write and the
# audit row (an update also reads the old row for the audit diff). Neither grows with the data.
VIEW_QUERIES = 6
CREATE_QUERIES = VIEW_QUERIES + 9
UPDATE_QUERIES = VIEW_QUERIES + 12


@pytest.mark.django_db
def test_week_page_runs_the_same_queries_for_5_and_40_rows(browser_for,
                                                            django_assert_num_queries):
    few = Sheet(browser_for)
    _world_with_rows(few, 5)
    url = reverse("timesheet")
    with CaptureQueriesContext(connection) as captured:
        html = few.browser.get(url).content.decode()
    assert html.count('class="ts-row') == 5
    assert len(captured) == PAGE_QUERIES, [q["sql"] for q in captured]

    many = Sheet(browser_for, code="ACME-043")
    _world_with_rows(many, 40, prefix="MANY")
    with django_assert_num_queries(PAGE_QUERIES):
        html = many.browser.get(url).content.decode()
    assert html.count('class="ts-row') == 40


@pytest.mark.django_db
def test_saving_a_cell_runs_a_fixed_small_number_of_queries(sheet, django_assert_num_queries):
    _world_with_rows(sheet, 10)
    sheet.save(sheet.workshops, MON, "1")  # warm the session

    with django_assert_num_queries(CREATE_QUERIES):
        assert sheet.save(sheet.workshops, TUE, "8").status_code == 200
    with django_assert_num_queries(UPDATE_QUERIES):
        assert sheet.save(sheet.workshops, TUE, "7:30").status_code == 200
    _world_with_rows(sheet, 30, prefix="MORE")  # more rows and entries change nothing
    with django_assert_num_queries(UPDATE_QUERIES):
        assert sheet.save(sheet.workshops, TUE, "6").status_code == 200
    # a typing error never reaches the service: the cell's entry is read instead of the totals
    with django_assert_num_queries(VIEW_QUERIES):
        assert sheet.save(sheet.workshops, TUE, "abc").status_code == 400
