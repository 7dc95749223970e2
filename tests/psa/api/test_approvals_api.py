"""`/api/v1/approvals/`: what waits for the caller, and bulk approve/reject, all or nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest

from psa import models, roles
from tests.psa.api.helpers import error_attrs, error_codes
from tests.psa.approval_world import WEEK, build_world, submitted_expense, submitted_week
from tests.psa.factories import (
    PersonFactory,
    ProjectMemberFactory,
    TaskFactory,
    TimeEntryFactory,
    TimeOffFactory,
    person_with_role,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/approvals/"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_list_groups_by_person_and_week_with_flags(token_client):
    world = build_world()
    TimeOffFactory(person=world.consultant, start_date=WEEK, end_date=WEEK)
    entries = submitted_week(world, days=2)
    submitted_week(world, week=WEEK + timedelta(days=7), days=1)
    expense = submitted_expense(world, amount=Decimal("12.30"))

    response = token_client(world.manager.user).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    first, second = body["results"]
    assert (first["person"], first["week_start"]) == (world.consultant.pk, "2026-03-09")
    assert second["week_start"] == "2026-03-16"
    assert first["hours"] == "16.00" and first["billable_share"] == "100.00"
    assert first["expense_totals"] == [{"currency": "USD", "amount": "12.30"}]
    assert [f["code"] for f in first["flags"]] == ["leave"]
    assert [e["id"] for e in first["time_entries"]] == [e.pk for e in entries]
    assert first["time_entries"][0]["flags"][0]["code"] == "leave"
    assert [x["id"] for x in first["expenses"]] == [expense.pk]


def test_list_filters_by_person_and_week(token_client):
    world = build_world()
    submitted_week(world, days=1)
    submitted_week(world, week=WEEK + timedelta(days=7), days=1)

    rows = token_client(world.manager.user).get(
        URL, {"person": world.consultant.pk, "week_start": "2026-03-16"}).json()["results"]

    assert [r["week_start"] for r in rows] == ["2026-03-16"]


@pytest.mark.parametrize("role", roles.ROLES)
def test_list_follows_the_role_matrix(role, token_client):
    world = build_world()
    submitted_week(world, days=1)
    person = person_with_role(role)

    response = token_client(person.user).get(URL)

    if roles.scope_of(frozenset({role}), "psa.approve_timeentry") is None:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    # a manager of no project sees nothing; an administrator or service account sees all
    expected = 1 if roles.scope_of(frozenset({role}), "psa.approve_timeentry") == "all" else 0
    assert len(response.json()["results"]) == expected


def test_approve_mixed_selection(token_client):
    world = build_world()
    entries = submitted_week(world, days=2)
    expense = submitted_expense(world)

    response = token_client(world.manager.user).post(URL + "approve/", {
        "time_entries": [e.pk for e in entries], "expenses": [expense.pk]}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "approved", "time_entries": [e.pk for e in entries],
                               "expenses": [expense.pk]}
    assert set(models.TimeEntry.objects.values_list("status", flat=True)) == {"approved"}


def test_ids_outside_the_scope_are_404_and_nothing_is_written(token_client):
    world = build_world()
    mine = submitted_week(world, days=1)
    foreign = TimeEntryFactory(person=PersonFactory(),
                               task=TaskFactory(project=world.other_project),
                               work_date=WEEK, submitted=True)

    response = token_client(world.manager.user).post(URL + "approve/", {
        "time_entries": [mine[0].pk, foreign.pk]}, format="json")

    assert response.status_code == 404
    assert error_attrs(response) == {"time_entries"}
    assert f"#{foreign.pk}" in response.json()["errors"][0]["detail"]
    assert set(models.TimeEntry.objects.values_list("status", flat=True)) == {"submitted"}
    assert not models.OutboxEvent.objects.filter(type="time_entry.approved").exists()


def test_self_approval_is_403(token_client, administrator):
    world = build_world()
    own = submitted_expense(world, person=administrator)

    response = token_client(administrator.user).post(URL + "approve/", {
        "expenses": [own.pk]}, format="json")

    assert response.status_code == 403
    assert error_codes(response) == {"self_approval"}


def test_missing_rate_is_400_with_the_sentence_and_nothing_written(token_client):
    world = build_world()
    fine = submitted_week(world, days=1)
    partner = models.Role.objects.create(code="PTR", name="Partner", level=5)
    unpriced = PersonFactory(role=partner)
    ProjectMemberFactory(project=world.project, person=unpriced)
    bad = submitted_week(world, person=unpriced, days=1)

    response = token_client(world.manager.user).post(URL + "approve/", {
        "time_entries": [fine[0].pk, bad[0].pk]}, format="json")

    assert response.status_code == 400
    assert error_codes(response) == {"rate_not_found"}
    assert set(models.TimeEntry.objects.values_list("status", flat=True)) == {"submitted"}


def test_reject_needs_a_reason(token_client):
    world = build_world()
    entries = submitted_week(world, days=1)

    response = token_client(world.manager.user).post(URL + "reject/", {
        "time_entries": [entries[0].pk]}, format="json")

    assert response.status_code == 400
    assert error_attrs(response) == {"reason"}
    entries[0].refresh_from_db()
    assert entries[0].status == "submitted"


def test_reject_with_reason(token_client):
    world = build_world()
    entries = submitted_week(world, days=1)
    expense = submitted_expense(world)

    response = token_client(world.manager.user).post(URL + "reject/", {
        "time_entries": [entries[0].pk], "expenses": [expense.pk],
        "reason": "Split this across two tasks"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    expense.refresh_from_db()
    assert expense.rejection_reason == "Split this across two tasks"


def test_empty_selection_is_a_validation_error(token_client):
    world = build_world()

    response = token_client(world.manager.user).post(URL + "approve/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"


def test_idempotency_key_replays_the_first_answer(token_client):
    world = build_world()
    entries = submitted_week(world, days=1)
    client = token_client(world.manager.user)
    body = {"time_entries": [entries[0].pk]}

    first = client.post(URL + "approve/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(URL + "approve/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert models.OutboxEvent.objects.filter(type="time_entry.approved").count() == 1
