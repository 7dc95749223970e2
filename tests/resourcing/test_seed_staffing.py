"""`manage.py seed_demo_staffing`: every table filled, idempotent, deterministic, a live board."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from psa.models import ProjectMember
from resourcing.demo import staffing_counts
from resourcing.models import (
    Assignment,
    Certification,
    PersonSkill,
    ResourceRequest,
    SkillCategory,
)
from resourcing.selectors.board import staffing_board
from resourcing.selectors.capacity import capacity_report

AS_OF = date(2026, 3, 16)  # a Monday

pytestmark = pytest.mark.django_db


def staffing(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo_staffing", "--as-of", AS_OF.isoformat(), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def firm():
    call_command("seed_demo", "--as-of", AS_OF.isoformat(), "--months", "1", stdout=StringIO())
    staffing()


def test_every_table_has_rows_of_every_kind(firm):
    counts = staffing_counts()
    assert all(counts.values()), counts
    assert SkillCategory.objects.count() == 5
    assert {c.name: c.skills.count() for c in SkillCategory.objects.all()} == {
        "Cloud": 6, "Data": 6, "Security": 6, "Strategy": 6, "Delivery": 6}
    per_person = PersonSkill.objects.values_list("person_id", flat=True)
    assert all(2 <= list(per_person).count(pk) <= 5 for pk in set(per_person))
    assert set(PersonSkill.objects.values_list("status", flat=True)) == {"confirmed",
                                                                          "proposed"}
    assert Certification.objects.filter(expires_date__lt=AS_OF).exists()
    assert Certification.objects.filter(expires_date__gte=AS_OF).exists()
    requests = ResourceRequest.objects.all()
    assert requests.filter(status="open", is_tentative=False, project__isnull=False).exists()
    assert requests.filter(status="partially_filled", assignments__isnull=False).exists()
    assert not requests.filter(is_tentative=False, bill_rate__isnull=True).exists()
    assert all(r.required_skills.exists() for r in requests)
    pipeline = requests.filter(is_tentative=True)
    assert pipeline.count() >= 12 and all(
        Decimal("20") <= r.probability <= Decimal("80") and r.deal_name for r in pipeline)
    bookings = Assignment.objects.all()
    assert bookings.filter(booking="hard").count() > bookings.filter(booking="soft").count() > 0
    # Every booked person is on the project's team.
    team = set(ProjectMember.objects.values_list("person_id", "project_id"))
    assert set(bookings.values_list("person_id", "project_id")) <= team


def test_some_weeks_are_overbooked_and_confirmed(firm):
    confirmed = Assignment.objects.filter(overbooking_confirmed=True)
    assert confirmed.count() == 2
    people = [a.person for a in confirmed]
    report = capacity_report(people=people, start=AS_OF, end=AS_OF.replace(month=6))
    assert {row.person_id for row in report if row.overbooked} == {p.pk for p in people}


def test_a_second_run_adds_nothing_and_the_same_seed_gives_the_same_data(firm):
    before = staffing_counts()
    fingerprint = sorted(Assignment.objects.values_list(
        "person__employee_number", "project__code", "start_date", "hours_per_week", "booking"))

    out = staffing()

    assert staffing_counts() == before
    assert "already present" in out
    assert sorted(Assignment.objects.values_list(
        "person__employee_number", "project__code", "start_date", "hours_per_week",
        "booking")) == fingerprint


def test_the_resources_login_sees_bookings_on_the_board(firm, client):
    board = staffing_board(start=AS_OF)
    assert any(cell.hard > 0 for row in board.rows for cell in row.cells)
    assert any(cell.state == "over" for row in staffing_board(start=AS_OF, page_size=500).rows
               for cell in row.cells)

    client.force_login(User.objects.get(username="resources"))
    response = client.get(reverse("staffing-board"), {"start": AS_OF.isoformat()})

    assert response.status_code == 200
    booked_cell = next(cell for row in board.rows for cell in row.cells if cell.hard > 0)
    assert booked_cell.label in response.content.decode()  # e.g. "24 h + 8 soft / 40"
    booked = Assignment.objects.filter(start_date__lte=AS_OF).select_related("person").first()
    assert booked.person.last_name in response.content.decode()
