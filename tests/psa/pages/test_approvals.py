"""The approvals page: groups, expand, bulk approve/reject with errors shown, scope, 360 px."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from psa import models, roles
from tests.psa.approval_world import WEEK, build_world, submitted_expense, submitted_week
from tests.psa.factories import (
    PersonFactory,
    ProjectMemberFactory,
    TaskFactory,
    TimeEntryFactory,
    person_with_role,
)

pytestmark = pytest.mark.django_db
URL = "/approvals/"


def test_url_name_is_approval_list():
    assert reverse("approval-list") == URL


@pytest.mark.parametrize("role", roles.ROLES)
def test_page_follows_the_role_matrix(role, browser_for):
    person = person_with_role(role)
    allowed = any(roles.scope_of(frozenset({role}), perm)
                  for perm in ("psa.approve_timeentry", "psa.approve_expense"))

    response = browser_for(person).get(URL)

    assert response.status_code == (200 if allowed else 403)


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_empty_state_says_what_happens_next(browser_for, project_manager):
    response = browser_for(project_manager).get(URL)

    body = response.content.decode()
    assert "Nothing waits for your approval" in body
    assert "<table" not in body


def test_groups_show_totals_flags_and_script_without_inline_js(browser_for):
    world = build_world()
    world.consultant.termination_date = WEEK + timedelta(days=3)
    world.consultant.save()
    submitted_week(world)
    submitted_expense(world, amount=Decimal("400.00"), is_over_policy=True,
                      justification="Only hotel near the site")

    response = browser_for(world.manager).get(URL)

    body = response.content.decode()
    assert response.status_code == 200
    assert "Chloe Bennett" in body
    assert "40.00" in body and "100 %" in body and "400.00 USD" in body
    assert "After termination" in body and "Over policy" in body
    assert "Only hotel near the site" in body  # the flag's text, not only its icon
    assert "js/approvals.js" in body
    assert " onclick=" not in body and "<script>" not in body
    assert 'class="data cards approvals"' in body  # cards at 360 px


def test_manager_never_sees_other_projects_items(browser_for):
    world = build_world()
    submitted_week(world, days=1)
    stranger = PersonFactory(first_name="Zed", last_name="Outsider")
    TimeEntryFactory(person=stranger, task=TaskFactory(project=world.other_project),
                     work_date=WEEK, submitted=True)

    body = browser_for(world.manager).get(URL).content.decode()

    assert "Chloe Bennett" in body
    assert "Zed Outsider" not in body


def test_expanding_a_group_lists_its_items_with_checkboxes(browser_for):
    world = build_world()
    entries = submitted_week(world, days=2)
    expense = submitted_expense(world, merchant="City Cabs")
    url = reverse("approval-group", args=[world.consultant.pk, WEEK.isoformat()])

    response = browser_for(world.manager).get(url, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 200
    for entry in entries:
        assert f'value="t:{entry.pk}"' in body
    assert f'value="e:{expense.pk}"' in body
    assert "ACME-042 · Discovery workshops" in body and "City Cabs" in body


def test_expanding_someone_elses_group_shows_nothing(browser_for):
    world = build_world()
    stranger = PersonFactory()
    entry = TimeEntryFactory(person=stranger, task=TaskFactory(project=world.other_project),
                             work_date=WEEK, submitted=True)
    url = reverse("approval-group", args=[stranger.pk, WEEK.isoformat()])

    body = browser_for(world.manager).get(url).content.decode()

    assert f"t:{entry.pk}" not in body


def test_bulk_approve_of_groups_and_items(browser_for):
    world = build_world()
    week_one = submitted_week(world, days=2)
    week_two = submitted_week(world, week=WEEK + timedelta(days=7), days=1)
    expense = submitted_expense(world)
    tokens = " ".join([*(f"t:{e.pk}" for e in week_one), f"e:{expense.pk}"])

    response = browser_for(world.manager).post(URL, {
        "action": "approve", "groups": [tokens], "items": [f"t:{week_two[0].pk}"]},
        follow=True)

    assert response.status_code == 200
    assert "Approved 3 time entries and 1 expense." in response.content.decode()
    assert set(models.TimeEntry.objects.values_list("status", flat=True)) == {"approved"}
    expense.refresh_from_db()
    assert expense.status == "approved"


def test_reject_without_reason_is_refused_beside_the_field(browser_for):
    world = build_world()
    entries = submitted_week(world, days=1)

    response = browser_for(world.manager).post(URL, {
        "action": "reject", "items": [f"t:{entries[0].pk}"], "reason": "  "})

    body = response.content.decode()
    assert response.status_code == 400
    assert 'id="reason-error"' in body and "Give the reason" in body
    assert 'aria-invalid="true"' in body
    entries[0].refresh_from_db()
    assert entries[0].status == "submitted"


def test_bulk_reject_with_reason(browser_for):
    world = build_world()
    entries = submitted_week(world, days=2)

    response = browser_for(world.manager).post(URL, {
        "action": "reject", "items": [f"t:{e.pk}" for e in entries],
        "reason": "Book this on Data mapping"})

    assert response.status_code == 302
    assert set(models.TimeEntry.objects.values_list("rejection_reason", flat=True)) == {
        "Book this on Data mapping"}


def test_missing_rate_is_shown_and_nothing_is_approved(browser_for):
    world = build_world()
    fine = submitted_week(world, days=1)
    partner = models.Role.objects.create(code="PTR", name="Partner", level=5)
    unpriced = PersonFactory(role=partner, first_name="Una", last_name="Priced")
    ProjectMemberFactory(project=world.project, person=unpriced)
    bad = submitted_week(world, person=unpriced, days=1)

    response = browser_for(world.manager).post(URL, {
        "action": "approve", "items": [f"t:{fine[0].pk}", f"t:{bad[0].pk}"]})

    body = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in body and "Una Priced" in body and "cannot be approved" in body
    assert set(models.TimeEntry.objects.values_list("status", flat=True)) == {"submitted"}
    # the selection survives the error, ready for a retry
    assert "checked" in body


def test_self_approval_is_refused_with_its_sentence(browser_for, administrator):
    world = build_world()
    own = TimeEntryFactory(person=administrator, task=world.task, work_date=WEEK,
                           submitted=True)

    response = browser_for(administrator).post(URL, {"action": "approve",
                                                     "items": [f"t:{own.pk}"]})

    assert response.status_code == 403
    assert "your own" in response.content.decode().lower()
    own.refresh_from_db()
    assert own.status == "submitted"


def test_items_outside_the_scope_are_refused(browser_for):
    world = build_world()
    foreign = TimeEntryFactory(person=PersonFactory(),
                               task=TaskFactory(project=world.other_project),
                               work_date=WEEK, submitted=True)

    response = browser_for(world.manager).post(URL, {"action": "approve",
                                                     "items": [f"t:{foreign.pk}"]})

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "submitted"


def test_waiting_line_leaves_out_what_is_not_there():
    from types import SimpleNamespace

    from psa.views.approvals import _waiting_line

    expense_only = SimpleNamespace(hours=0, expense_ids=[7])
    timed = SimpleNamespace(hours=Decimal("8.50"), expense_ids=[])
    assert _waiting_line([]) == "Nothing waits for your approval."
    assert _waiting_line([expense_only]) == "1 week waiting · 1 expense"
    assert _waiting_line([expense_only, timed]) == "2 weeks waiting · 8.50 h · 1 expense"
