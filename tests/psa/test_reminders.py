"""Timesheet reminders and approval digests: who gets mail, once, and what the digest says."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail

from psa import models, roles
from psa.services.reminders import reminders_send
from psa.tasks_reminders import reminders_send_task
from tests.psa.approval_world import WEEK, build_world, submitted_expense
from tests.psa.factories import (
    LegalEntityFactory,
    PersonFactory,
    ProjectMemberFactory,
    TimeEntryFactory,
    TimeOffFactory,
)

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
AFTER_DEADLINE = datetime(2026, 3, 16, 12, 30, tzinfo=NY)  # Monday after WEEK, past noon
ON_TIME = datetime(2026, 3, 13, 17, tzinfo=NY)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def week_of(person, task, *, hours="8.00", days=5, status="submitted"):
    return [TimeEntryFactory(person=person, task=task, work_date=WEEK + timedelta(days=n),
                             hours=Decimal(hours), status=status,
                             submitted_at=None if status == "draft" else ON_TIME)
            for n in range(days)]


def recipients(kind: str = "") -> dict[str, list]:
    """Mails by address; `kind` keeps those whose subject contains it."""
    found: dict[str, list] = {}
    for message in mail.outbox:
        if kind not in message.subject:
            continue
        for address in message.to:
            found.setdefault(address, []).append(message)
    return found


@pytest.fixture
def team():
    """A manager's project with five people whose week of 9 March 2026 differs."""
    world = build_world()
    complete, short, drafted, on_leave, gone = (PersonFactory(first_name=name) for name in (
        "Complete", "Short", "Drafted", "Leave", "Gone"))
    for person in (complete, short, drafted, on_leave, gone):
        ProjectMemberFactory(project=world.project, person=person)
    week_of(complete, world.task)
    week_of(short, world.task, days=4)
    week_of(drafted, world.task, status="draft")
    TimeOffFactory(person=on_leave, start_date=WEEK, end_date=WEEK + timedelta(days=4))
    gone.termination_date = WEEK - timedelta(days=10)
    gone.employment_status = models.Person.EmploymentStatus.TERMINATED
    gone.save()
    week_of(world.consultant, world.task)  # complete and submitted: waits for the manager
    return world, complete, short, drafted, on_leave, gone


class TestTimesheetReminders:
    @time_machine.travel(AFTER_DEADLINE, tick=False)
    def test_incomplete_and_unsubmitted_weeks_get_one_mail_each(self, team):
        world, complete, short, drafted, on_leave, gone = team

        run = reminders_send()

        assert run.weeks["US"] == WEEK
        got = recipients()
        assert short.email in got and drafted.email in got
        assert complete.email not in got and on_leave.email not in got
        assert gone.email not in got and world.consultant.email not in got
        (to_short,) = got[short.email]
        assert "incomplete" in to_short.subject
        assert "32.00 of 40.00 hours" in to_short.body
        assert "/time/?week=2026-03-09" in to_short.body
        (to_drafted,) = got[drafted.email]
        assert "5 entries are not submitted" in to_drafted.body
        assert models.ReminderLog.objects.filter(kind="timesheet", week_start=WEEK).count() \
            == run.timesheet_reminders

    @time_machine.travel(AFTER_DEADLINE, tick=False)
    def test_a_rerun_sends_nothing_twice(self, team):
        reminders_send()
        sent = len(mail.outbox)

        again = reminders_send()
        reminders_send_task()  # the Celery entry point, run in-process

        assert again.timesheet_reminders == 0 and again.approval_digests == 0
        assert len(mail.outbox) == sent
        assert models.ReminderLog.objects.count() == sent

    @time_machine.travel(datetime(2026, 3, 16, 11, 59, tzinfo=NY), tick=False)
    def test_before_the_deadline_the_week_is_not_reminded_yet(self, team):
        run = reminders_send()

        assert run.weeks["US"] == WEEK - timedelta(days=7)
        assert not models.ReminderLog.objects.filter(week_start=WEEK).exists()

    @time_machine.travel(AFTER_DEADLINE, tick=False)
    def test_each_legal_entity_uses_its_own_time_zone(self, team):
        uk = LegalEntityFactory(code="UK", country="GB", base_currency="GBP",
                                time_zone="Asia/Tokyo", invoice_prefix="UK")
        PersonFactory(legal_entity=uk, country="GB")

        run = reminders_send()

        # 12:30 in New York is already Tuesday 02:30 in Tokyo: the same week is due there
        assert run.weeks == {"US": WEEK, "UK": WEEK}

    @time_machine.travel(AFTER_DEADLINE, tick=False)
    def test_people_are_read_in_batches(self, team, django_assert_max_num_queries):
        for _ in range(20):
            PersonFactory()  # nothing booked: incomplete

        with django_assert_max_num_queries(150):
            run = reminders_send()

        # the 20, Short, Drafted, and both project managers (who booked nothing themselves)
        assert run.timesheet_reminders == 24


class TestApprovalDigest:
    @time_machine.travel(AFTER_DEADLINE, tick=False)
    def test_manager_gets_one_digest_of_what_waits(self, team):
        world = team[0]
        submitted_expense(world, amount=Decimal("88.00"), is_over_policy=True,
                          justification="Client dinner")

        run = reminders_send()

        assert run.approval_digests == 1
        (digest,) = recipients("approval")[world.manager.email]
        assert digest.subject == "3 timesheet weeks wait for your approval"
        assert "Chloe Bennett, week of 9 Mar 2026: 40.00 h (100 % billable), expenses 88.00 USD" \
            in digest.body
        assert "Short" in digest.body and "Over policy" in digest.body
        assert "/approvals/" in digest.body

    @time_machine.travel(AFTER_DEADLINE, tick=False)
    def test_nothing_waiting_means_no_digest(self):
        world = build_world()
        TimeEntryFactory(person=world.consultant, task=world.task, work_date=WEEK,
                         approved=True, submitted_at=datetime(2026, 3, 13, tzinfo=UTC))

        reminders_send()

        assert world.manager.email not in recipients("approval")
        assert world.manager.email in recipients("timesheet")  # his own week is empty

    @time_machine.travel(AFTER_DEADLINE, tick=False)
    def test_manager_without_the_approver_role_gets_no_digest(self, team):
        world = team[0]
        world.manager.user.groups.set([Group.objects.get_or_create(name=roles.CONSULTANT)[0]])

        run = reminders_send()

        assert run.approval_digests == 0
