"""Time compliance (DOMAIN.md): timesheets submitted by the deadline ÷ timesheets expected."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from psa import models, roles
from psa.selectors.compliance import (
    last_due_week,
    person_weeks,
    time_compliance,
    timesheet_deadline,
)
from tests.psa.factories import (
    PersonFactory,
    ProjectFactory,
    ProjectMemberFactory,
    TaskFactory,
    TimeEntryFactory,
    TimeOffFactory,
    person_with_role,
)

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
WEEKS = [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]  # no US holidays


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


TASK = {}


def book(person, week, *, hours=("8.00",) * 5, submitted_at=None, status="submitted"):
    task = TASK["task"]
    rates = {"approved": True} if status == "approved" else {"status": status}
    for n, h in enumerate(hours):
        TimeEntryFactory(person=person, task=task, work_date=week + timedelta(days=n),
                         hours=Decimal(h), submitted_at=submitted_at, **rates)


def on_time(week):
    return datetime.combine(week + timedelta(days=4), datetime.min.time(), NY) + timedelta(
        hours=17)


def late(week):
    return timesheet_deadline(week_start=week, time_zone="America/New_York") + timedelta(
        minutes=1)


class TestDeadline:
    def test_default_deadline_is_the_next_monday_noon_in_the_entity_zone(self):
        deadline = timesheet_deadline(week_start=date(2026, 3, 9), time_zone="Europe/London")

        assert deadline == datetime(2026, 3, 16, 12, tzinfo=ZoneInfo("Europe/London"))

    def test_deadline_follows_the_settings(self, settings):
        settings.TIMESHEET_DEADLINE_WEEKDAY = 1
        settings.TIMESHEET_DEADLINE_HOUR = 9

        deadline = timesheet_deadline(week_start=date(2026, 3, 9), time_zone="UTC")

        assert deadline == datetime(2026, 3, 17, 9, tzinfo=UTC)

    def test_last_due_week_moves_at_the_deadline(self):
        before = datetime(2026, 3, 16, 11, 59, tzinfo=NY)
        after = datetime(2026, 3, 16, 12, 0, tzinfo=NY)

        assert last_due_week(now=before, time_zone="America/New_York") == date(2026, 3, 2)
        assert last_due_week(now=after, time_zone="America/New_York") == date(2026, 3, 9)


def _world():
    admin = person_with_role(roles.ADMINISTRATOR)
    TASK["task"] = TaskFactory(project=ProjectFactory(manager=admin))
    book(admin, WEEKS[0], submitted_at=on_time(WEEKS[0]))
    people = [PersonFactory() for _ in range(6)]
    a, b, c, d, e, f = people
    for week in WEEKS:
        book(a, week, submitted_at=on_time(week))  # always on time
    book(b, WEEKS[0], submitted_at=late(WEEKS[0]))  # late
    book(b, WEEKS[1], submitted_at=on_time(WEEKS[1]), hours=("8.00",) * 4)  # 32 of 40 h
    book(c, WEEKS[1], status="draft")  # never submitted
    book(c, WEEKS[2], submitted_at=on_time(WEEKS[2]), status="approved",
         hours=("10.00",) * 4)  # 40 h in four days: on time
    TimeOffFactory(person=d, start_date=WEEKS[1], end_date=WEEKS[1] + timedelta(days=4))
    book(d, WEEKS[0], submitted_at=on_time(WEEKS[0]), status="rejected")  # rejected later
    e.termination_date = WEEKS[0] + timedelta(days=2)  # expected in week 1 only
    e.save()
    f.hire_date = WEEKS[2] + timedelta(days=3)  # hired on Thursday of week 3: 16 h capacity
    f.save()
    book(f, WEEKS[2] + timedelta(days=3), hours=("8.00", "8.00"), submitted_at=on_time(WEEKS[2]))
    return admin, people


def _sql_counts(week: date) -> tuple[int, int]:
    """Expected and on-time timesheets of a full 40-hour week, in plain SQL."""
    monday, friday, sunday = week, week + timedelta(days=4), week + timedelta(days=6)
    deadline = connection.ops.adapt_datetimefield_value(
        timesheet_deadline(week_start=week, time_zone="America/New_York"))
    employed = """
        SELECT p.id FROM psa_person p
        WHERE p.hire_date <= %s AND (p.termination_date IS NULL OR p.termination_date >= %s)
          AND p.id NOT IN (SELECT o.person_id FROM psa_timeoff o WHERE o.status = 'approved'
                           AND o.start_date <= %s AND o.end_date >= %s)
    """
    # Everyone here works 40 h a week; leave covering Monday to Friday makes capacity zero.
    params = [sunday, monday, monday, friday]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({employed}) e", params)
        expected = cursor.fetchone()[0]
        cursor.execute(f"""
            SELECT COUNT(*) FROM (
                SELECT t.person_id FROM psa_timeentry t
                WHERE t.person_id IN ({employed})
                  AND t.work_date BETWEEN %s AND %s AND t.status <> 'draft'
                  AND t.submitted_at IS NOT NULL AND t.submitted_at < %s
                GROUP BY t.person_id HAVING SUM(t.hours) >= 40) s
        """, [*params, monday, sunday, deadline])
        return expected, cursor.fetchone()[0]


class TestTimeCompliance:
    def test_each_week_matches_plain_sql_for_full_weeks(self):
        admin, _ = _world()

        report = time_compliance(actor=admin.user, start=WEEKS[0], end=WEEKS[1])

        assert [(w.week_start, w.expected, w.on_time) for w in report.weeks] == [
            (week, *_sql_counts(week)) for week in WEEKS[:2]]

    def test_figures_per_week_and_in_total(self):
        admin, _ = _world()

        report = time_compliance(actor=admin.user, start=WEEKS[0], end=WEEKS[2] + timedelta(
            days=6))

        # week 1: admin, a, b, c, d, e expected (f not hired): admin, a, d on time
        # week 2: admin, a, b, c expected (d on leave, e gone): a on time
        # week 3: admin, a, b, c, d, f expected: a, c, f on time
        assert [(w.expected, w.on_time) for w in report.weeks] == [(6, 3), (4, 1), (6, 3)]
        assert (report.expected, report.on_time) == (16, 7)
        assert report.ratio == Decimal("0.4375")
        assert report.weeks[1].ratio == Decimal("0.2500")

    def test_manager_sees_the_people_of_their_projects_only(self):
        _world()
        manager = person_with_role(roles.PROJECT_MANAGER)
        member = PersonFactory()
        TASK["task"] = TaskFactory(project=ProjectFactory(manager=manager))
        ProjectMemberFactory(project=TASK["task"].project, person=member)
        book(member, WEEKS[0], submitted_at=on_time(WEEKS[0]))

        report = time_compliance(actor=manager.user, start=WEEKS[0], end=WEEKS[0])

        assert (report.expected, report.on_time) == (1, 1)

    def test_roles_without_the_permission_see_nothing(self):
        _world()
        consultant = person_with_role(roles.CONSULTANT)

        report = time_compliance(actor=consultant.user, start=WEEKS[0], end=WEEKS[2])

        assert report.expected == 0 and report.ratio is None

    def test_person_weeks_reads_entries_once_per_batch(self, django_assert_num_queries):
        _, people = _world()
        stream = models.Person.objects.filter(pk__in=[p.pk for p in people]).select_related(
            "legal_entity").order_by("pk")

        with django_assert_num_queries(3):  # the people, their entries, their time off
            weeks = list(person_weeks(people=stream.iterator(), start=WEEKS[0], end=WEEKS[2]))

        assert len(weeks) == 3 * len(people)
