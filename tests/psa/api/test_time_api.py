"""/api/v1/time-entries/ (with bulk/) and /api/v1/timesheets/: rules, errors, scope, budgets."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from psa import roles
from psa.models import OutboxEvent, Period, Project, TimeEntry
from tests.psa.api.helpers import error_attrs, error_codes
from tests.psa.factories import (
    PeriodFactory,
    ProjectFactory,
    ProjectMemberFactory,
    TaskFactory,
    TimeEntryFactory,
    person_with_role,
)
from tests.psa.services.test_time_entries import world  # noqa: F401  (the shared fixture)

pytestmark = pytest.mark.django_db

URL = "/api/v1/time-entries/"
BULK = "/api/v1/time-entries/bulk/"
TUESDAY = "2026-03-10"


@pytest.fixture
def client(world, token_client):  # noqa: F811
    return token_client(world.person.user)


def body(world, **kwargs):  # noqa: F811
    values = {"task": world.task.pk, "work_date": TUESDAY, "hours": "7.50", "notes": "Work"}
    values.update(kwargs)
    return values


def post(client, data):
    return client.post(URL, data, format="json")


# --- Single entries -------------------------------------------------------------------------


def test_create_defaults_to_the_callers_person(client, world):  # noqa: F811
    response = post(client, body(world))

    assert response.status_code == 201, response.json()
    row = response.json()
    assert (row["person"], row["project"], row["hours"], row["status"]) == (
        world.person.pk, world.project.pk, "7.50", "draft")
    assert "cost_rate" not in row  # cost rates are for finance and administrators
    assert response["ETag"]


@pytest.mark.parametrize(("change", "attr", "code", "status_code"), [
    ({"hours": "-1"}, "hours", "invalid_time_entry", 400),
    ({"hours": "0.1"}, "hours", "invalid_time_entry", 400),
    ({"hours": "25"}, "hours", "invalid_time_entry", 400),
    ({"hours": "abc"}, "hours", "invalid", 400),
    ({"task": 999999}, "task", "invalid_time_entry", 400),
    ({"work_date": "2019-12-31"}, "work_date", "invalid_time_entry", 400),
    ({"work_date": "2026-02-30"}, "work_date", "invalid", 400),
    ({"person": 999999}, "person", "invalid_time_entry", 400),
])
def test_bad_input_is_refused_and_writes_nothing(client, world, change, attr, code,  # noqa: F811
                                                 status_code):
    response = post(client, body(world, **change))

    assert response.status_code == status_code, response.json()
    assert error_attrs(response) == {attr}
    assert code in error_codes(response)
    assert TimeEntry.objects.count() == 0


def test_rules_through_the_api(client, world):  # noqa: F811
    closed_task = TaskFactory(project=world.project, is_open=False)
    parent = TaskFactory(project=world.project)
    TaskFactory(project=world.project, parent=parent)
    stranger = TaskFactory(project=ProjectFactory())
    other_project = ProjectFactory()
    cases = [
        (body(world, task=closed_task.pk), "is closed"),
        (body(world, task=parent.pk), "has sub-tasks"),
        (body(world, task=stranger.pk), "not on the team"),
        (body(world, project=other_project.pk), "belongs to project"),
    ]
    for data, message in cases:
        response = post(client, data)
        assert response.status_code == 400
        assert message in response.json()["errors"][0]["detail"]
    Project.objects.filter(pk=world.project.pk).update(requires_time_notes=True)
    assert error_attrs(post(client, body(world, notes=""))) == {"notes"}
    Project.objects.filter(pk=world.project.pk).update(status=Project.Status.ON_HOLD)
    assert "active projects" in post(client, body(world)).json()["errors"][0]["detail"]
    assert TimeEntry.objects.count() == 0


def test_24_hours_a_day_across_tasks(client, world):  # noqa: F811
    assert post(client, body(world, hours="20")).status_code == 201
    other = TaskFactory(project=world.project)

    response = post(client, body(world, task=other.pk, hours="5"))

    assert response.status_code == 400
    assert error_attrs(response) == {"hours"}
    assert TimeEntry.objects.count() == 1


def test_closed_period_is_409_for_create_update_and_delete(client, world):  # noqa: F811
    entry = TimeEntryFactory(person=world.person, task=world.task)
    PeriodFactory(legal_entity=world.project.legal_entity, month=date(2026, 3, 1),
                  status=Period.Status.CLOSED)

    assert post(client, body(world, work_date="2026-03-11")).status_code == 409
    response = client.patch(f"{URL}{entry.pk}/", {"hours": "2"}, format="json")
    assert response.status_code == 409
    assert error_codes(response) == {"period_closed"}
    assert client.delete(f"{URL}{entry.pk}/").status_code == 409
    assert TimeEntry.objects.get().hours == Decimal("8.00")


def test_patch_with_if_match_and_stale_version(client, world):  # noqa: F811
    created = post(client, body(world)).json()
    url = f"{URL}{created['id']}/"

    stale = client.patch(url, {"hours": "6"}, format="json", HTTP_IF_MATCH='"2000"')
    fresh = client.patch(url, {"hours": "6"}, format="json",
                         HTTP_IF_MATCH=f'"{created["version"]}"')

    assert stale.status_code == 412
    assert fresh.status_code == 200
    assert fresh.json()["hours"] == "6.00"


def test_delete_drafts_only(client, world):  # noqa: F811
    draft = TimeEntryFactory(person=world.person, task=world.task)
    submitted = TimeEntryFactory(person=world.person, task=world.task, work_date=date(2026, 3, 11),
                                 submitted=True)

    assert client.delete(f"{URL}{submitted.pk}/").status_code == 409
    assert client.patch(f"{URL}{submitted.pk}/", {"hours": "1"},
                        format="json").status_code == 409
    assert client.delete(f"{URL}{draft.pk}/").status_code == 204
    assert list(TimeEntry.objects.values_list("pk", flat=True)) == [submitted.pk]


def test_a_consultant_cannot_book_or_see_another_persons_time(client, world):  # noqa: F811
    colleague = person_with_role(roles.CONSULTANT)
    ProjectMemberFactory(project=world.project, person=colleague)
    theirs = TimeEntryFactory(person=colleague, task=world.task)

    response = post(client, body(world, person=colleague.pk))
    bulk = client.post(BULK, {"entries": [body(world, person=colleague.pk)]}, format="json")

    assert response.status_code == 403
    assert bulk.status_code == 403
    assert client.get(f"{URL}{theirs.pk}/").status_code == 404
    assert client.patch(f"{URL}{theirs.pk}/", {"hours": "1"}, format="json").status_code == 404
    assert TimeEntry.objects.count() == 1


def test_an_administrator_books_for_someone_else(world, token_client):  # noqa: F811
    admin = person_with_role(roles.ADMINISTRATOR)

    response = post(token_client(admin.user), body(world, person=world.person.pk))

    assert response.status_code == 201
    assert response.json()["person"] == world.person.pk
    assert "cost_rate" in response.json()


def test_list_filters(client, world):  # noqa: F811
    mine = TimeEntryFactory(person=world.person, task=world.task, work_date=date(2026, 3, 2))
    later = TimeEntryFactory(person=world.person, task=world.task, submitted=True)
    TimeEntryFactory(task=world.task)  # someone else's

    def ids(**params):
        return [row["id"] for row in client.get(URL, params).json()["results"]]

    assert ids() == [mine.pk, later.pk]
    assert ids(status="submitted") == [later.pk]
    assert ids(date_after="2026-03-05") == [later.pk]
    assert ids(date_before="2026-03-05", project=world.project.pk) == [mine.pk]
    assert ids(updated_since="2999-01-01T00:00:00Z") == []


# --- Timesheets -----------------------------------------------------------------------------


def test_timesheet_week_and_submit(client, world):  # noqa: F811
    TimeEntryFactory(person=world.person, task=world.task, hours=Decimal("7.5"))
    TimeEntryFactory(person=world.person, task=world.task, work_date=date(2026, 3, 12),
                     hours=Decimal("4"))

    week = client.get("/api/v1/timesheets/", {"week_start": "2026-03-09"}).json()

    assert (week["total_hours"], week["capacity_hours"], week["status"]) == (
        "11.50", "40.00", "draft")
    assert [d["hours"] for d in week["days"]][:4] == ["0.00", "7.50", "0.00", "4.00"]
    assert week["days"][5]["capacity"] == "0.00"
    response = client.post("/api/v1/timesheets/submit/",
                           {"person": world.person.pk, "week_start": "2026-03-09"},
                           format="json")
    assert response.status_code == 200, response.json()
    assert len(response.json()["submitted"]) == 2
    assert OutboxEvent.objects.filter(type="timesheet.submitted").count() == 1
    again = client.post("/api/v1/timesheets/submit/", {"week_start": "2026-03-09"},
                        format="json")
    assert again.status_code == 400
    assert error_attrs(again) == {"week_start"}


def test_timesheet_needs_a_monday_and_refuses_others_submission(client, world):  # noqa: F811
    colleague = person_with_role(roles.CONSULTANT)

    assert client.get("/api/v1/timesheets/", {"week_start": "2026-03-10"}).status_code == 400
    assert client.get("/api/v1/timesheets/").status_code == 400
    response = client.post("/api/v1/timesheets/submit/",
                           {"person": colleague.pk, "week_start": "2026-03-09"}, format="json")
    assert response.status_code == 403


# --- Bulk -----------------------------------------------------------------------------------


def bulk_rows(world, count, start=date(2026, 1, 5)):  # noqa: F811
    """`count` entries of 0.25 h spread over tasks and weekdays (never two in a cell)."""
    tasks = [world.task, *[TaskFactory(project=world.project) for _ in range(9)]]
    days = [start + timedelta(days=d) for d in range(330)]
    return [{"task": tasks[i % 10].pk, "work_date": days[i // 10].isoformat(), "hours": "0.25",
             "notes": f"Bulk {i}"} for i in range(count)]


def test_bulk_creates_1000_entries(client, world):  # noqa: F811
    response = client.post(BULK, {"entries": bulk_rows(world, 1000)}, format="json")

    assert response.status_code == 201, response.json()["errors"][:3]
    assert response.json()["count"] == 1000
    assert TimeEntry.objects.count() == 1000
    assert TimeEntry.objects.filter(status="draft", person=world.person).count() == 1000
    assert response.json()["ids"] == list(TimeEntry.objects.order_by("pk").values_list(
        "pk", flat=True))
    first = TimeEntry.objects.get(pk=response.json()["ids"][0])
    assert (first.hours, first.notes, first.is_billable) == (Decimal("0.25"), "Bulk 0", True)
    audit = LogEntry.objects.get_for_object(first).get()
    assert (audit.action, audit.actor_id, audit.changes["hours"]) == (
        LogEntry.Action.CREATE, world.person.user_id, ["None", "0.25"])
    assert LogEntry.objects.filter(action=LogEntry.Action.CREATE,
                                   content_type__model="timeentry").count() == 1000


def test_bulk_refuses_1001(client, world):  # noqa: F811
    rows = [body(world) for _ in range(1001)]

    response = client.post(BULK, {"entries": rows}, format="json")

    assert response.status_code == 400
    assert error_attrs(response) == {"entries"}
    assert TimeEntry.objects.count() == 0


@pytest.mark.parametrize(("bad", "attr"), [
    ({"hours": "0.1"}, "7.hours"),
    ({"hours": "-2"}, "7.hours"),
    ({"hours": "x"}, "7.hours"),
    ({"task": 999999}, "7.task"),
    ({"work_date": "2019-01-01"}, "7.work_date"),
    ({"work_date": None}, "7.work_date"),
])
def test_bulk_with_one_bad_item_writes_nothing(client, world, bad, attr):  # noqa: F811
    rows = bulk_rows(world, 20)
    rows[7].update(bad)

    response = client.post(BULK, {"entries": rows}, format="json")

    assert response.status_code == 400
    assert error_attrs(response) == {attr}
    assert TimeEntry.objects.count() == 0


def test_bulk_counts_its_own_items_towards_the_day_and_the_cell(client, world):  # noqa: F811
    other = TaskFactory(project=world.project)
    rows = [body(world, hours="20"), body(world, task=other.pk, hours="5"),
            body(world, work_date="2026-03-11"), body(world, work_date="2026-03-11")]

    response = client.post(BULK, {"entries": rows}, format="json")

    assert response.status_code == 400
    assert error_attrs(response) == {"1.hours", "3.work_date"}
    assert TimeEntry.objects.count() == 0


def test_bulk_closed_period_item_is_reported(client, world):  # noqa: F811
    PeriodFactory(legal_entity=world.project.legal_entity, month=date(2026, 2, 1),
                  status=Period.Status.CLOSED)
    rows = [body(world), body(world, work_date="2026-02-10")]

    response = client.post(BULK, {"entries": rows}, format="json")

    assert response.status_code == 400
    assert error_attrs(response) == {"1.work_date"}
    assert error_codes(response) == {"period_closed"}


def test_bulk_query_count_does_not_grow_with_the_entries(world, token_client):  # noqa: F811
    """Validation and audit take a fixed number of queries; the inserts are one statement each
    (SQLite's 999-parameter limit makes Django split them into batches there)."""
    rows = bulk_rows(world, 110)
    counts = []
    for size, start in ((10, 0), (100, 10)):
        client = token_client(world.person.user)
        with CaptureQueriesContext(connection) as captured:
            response = client.post(BULK, {"entries": rows[start:start + size]}, format="json")
        assert response.status_code == 201, response.json()
        sql = [q["sql"].lstrip().upper() for q in captured.captured_queries]
        counts.append((sum(not q.startswith("INSERT") for q in sql), len(sql)))
    assert counts[0][0] == counts[1][0]
    if connection.vendor == "postgresql":
        assert counts[0][1] == counts[1][1]


@pytest.mark.parametrize("role", roles.ROLES)
def test_timesheet_follows_the_matrix(role, world, token_client):  # noqa: F811
    """Every role reads its own week; a manager also sees its team's entries, nobody else's."""
    me = person_with_role(role)
    ProjectMemberFactory(project=world.project, person=me)
    TimeEntryFactory(person=me, task=world.task)
    theirs = TimeEntryFactory(person=world.person, task=world.task)
    client = token_client(me.user)

    own = client.get("/api/v1/timesheets/", {"week_start": "2026-03-09"})
    other = client.get("/api/v1/timesheets/", {"week_start": "2026-03-09",
                                               "person": world.person.pk})

    assert own.status_code == 200
    assert own.json()["total_hours"] == "8.00"
    if roles.scope_of(frozenset({role}), "psa.view_person") == roles.ALL:
        ids = [row["id"] for row in other.json()["entries"]]
        granted = roles.scope_of(frozenset({role}), "psa.view_timeentry")
        assert ids == ([theirs.pk] if granted == roles.ALL else [])
    else:
        assert other.status_code == 400
