"""The staffing board page: cells, filters, paging, fixed queries, cell details, candidates and
booking (through the core helper's assignment_create)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from psa import roles
from psa.models import Person, TimeOff
from resourcing.models import Assignment
from tests.psa.factories import PersonFactory, ProjectFactory, RoleFactory, person_with_role
from tests.resourcing.factories import (
    AssignmentFactory,
    PersonSkillFactory,
    RequestSkillFactory,
    ResourceRequestFactory,
    SkillFactory,
)

pytestmark = pytest.mark.django_db

START = "2026-03-02"  # a Monday with no public holidays in the weeks used here
W2 = date(2026, 3, 9)


def _board(client, user, **params):
    client.force_login(user)
    return client.get(reverse("staffing-board"), {"start": START, **params})


def test_consultant_may_not_open_the_board(client, consultant):
    client.force_login(consultant.user)
    assert client.get(reverse("staffing-board")).status_code == 403


def test_cells_show_hard_and_soft_hours_against_capacity(client, resource_manager):
    person = PersonFactory(first_name="Ada", last_name="Lovelace", country="GB", city="London",
                           utilization_target=Decimal("75.00"))
    AssignmentFactory(person=person, start_date=W2, end_date=date(2026, 3, 13),
                      hours_per_week=Decimal("32.00"))
    AssignmentFactory(person=person, start_date=W2, end_date=date(2026, 3, 13),
                      hours_per_week=Decimal("8.00"), booking=Assignment.Booking.SOFT)
    # over-booked the week after; Wednesday start books 3/5 of the hours in its first week
    AssignmentFactory(person=person, start_date=date(2026, 3, 16), end_date=date(2026, 3, 20),
                      hours_per_week=Decimal("50.00"))
    AssignmentFactory(person=person, start_date=date(2026, 3, 25), end_date=date(2026, 4, 30),
                      hours_per_week=Decimal("20.00"))
    response = _board(client, resource_manager.user)
    assert response.status_code == 200
    html = response.content.decode()
    row = html[html.index(f'data-person="{person.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "Ada" in row and "London, GB" in row and "target 75 %" in row
    assert row.count('class="cell ') == 12
    assert 'data-week="2026-03-02"' in row and 'data-week="2026-05-18"' in row
    assert "0 h / 40" in row  # the first week: free, under-booked
    assert 'state-full" data-week="2026-03-09"' in row
    assert "32 h + 8 soft / 40" in row
    assert 'state-over" data-week="2026-03-16"' in row
    assert "▲ 50 h / 40" in row and "over-booked" in row
    assert "12 h / 40" in row  # 20 h/w x 3 weekdays / 5 in the week of 23 Mar
    assert 'state-under" data-week="2026-03-23"' in row


def test_time_off_reduces_capacity_in_the_cell(client, resource_manager):
    person = PersonFactory(country="GB")
    TimeOff.objects.create(person=person, start_date=W2, end_date=date(2026, 3, 10),
                           status=TimeOff.Status.APPROVED)
    html = _board(client, resource_manager.user).content.decode()
    row = html[html.index(f'data-person="{person.pk}"'):]
    assert "0 h / 24" in row[:row.index("</tr>")]


def test_filters_by_role_country_skill_and_availability(client, resource_manager):
    architect = RoleFactory(code="ARCH", name="Architect")
    analyst = RoleFactory(code="ANA", name="Analyst")
    alice = PersonFactory(first_name="Alice", last_name="Arch", role=architect, country="DE")
    bob = PersonFactory(first_name="Bob", last_name="Busy", role=architect, country="GB")
    cleo = PersonFactory(first_name="Cleo", last_name="Data", role=analyst, country="DE")
    aws = SkillFactory(name="AWS")
    PersonSkillFactory(person=alice, skill=aws, level=4)
    PersonSkillFactory(person=bob, skill=aws, level=2)
    AssignmentFactory(person=bob, start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
                      hours_per_week=Decimal("40.00"))

    def shown(**params):
        html = _board(client, resource_manager.user, **params).content.decode()
        return {p.first_name for p in (alice, bob, cleo) if f'data-person="{p.pk}"' in html}

    assert shown() >= {"Alice", "Bob", "Cleo"}
    assert shown(role=architect.pk) == {"Alice", "Bob"}
    assert shown(country="DE") == {"Alice", "Cleo"}
    assert shown(skill=aws.pk) == {"Alice", "Bob"}
    assert shown(skill=aws.pk, min_level=3) == {"Alice"}
    assert shown(role=architect.pk, available="on") == {"Alice"}  # Bob is full all 12 weeks


def test_start_moves_by_weeks_and_links_scroll(client, resource_manager):
    response = _board(client, resource_manager.user, start="2026-03-04")  # a Wednesday
    html = response.content.decode()
    assert response.context["weeks"][0] == date(2026, 3, 2)
    assert "start=2026-05-25" in html and "start=2025-12-08" in html  # ±12 weeks
    assert "start=2026-03-09" in html and "start=2026-02-23" in html  # ±1 week


def test_pages_of_one_hundred_people(client, resource_manager):
    role = RoleFactory()
    Person.objects.exclude(pk=resource_manager.pk).delete()
    for _ in range(104):
        PersonFactory(role=role, user=None)
    first = _board(client, resource_manager.user)
    assert len(first.context["board"].rows) == 100
    assert "Page 1 of 2" in first.content.decode()
    second = _board(client, resource_manager.user, page=2)
    assert len(second.context["board"].rows) == 5


def _people_with_bookings(count: int, manager: Person | None = None) -> None:
    role = RoleFactory()
    for i in range(count):
        person = PersonFactory(role=role, user=None, manager=manager)
        AssignmentFactory(person=person, start_date=W2, end_date=date(2026, 4, 30))
        if i % 3 == 0:
            TimeOff.objects.create(person=person, start_date=W2, end_date=W2,
                                   status=TimeOff.Status.APPROVED)
    ResourceRequestFactory()


@pytest.mark.parametrize("params", [{}, {"available": "on"}, {"team": True},
                                    {"team": True, "available": "on"}])
def test_board_runs_a_fixed_number_of_queries(client, resource_manager,
                                              django_assert_num_queries, params):
    lead = PersonFactory(user=None) if params.get("team") else None
    params = {**params, "team": lead.pk} if lead else params
    _people_with_bookings(10, manager=lead)
    client.force_login(resource_manager.user)
    url = reverse("staffing-board")
    with CaptureQueriesContext(connection) as ten:
        assert client.get(url, {"start": START, **params}).status_code == 200
    _people_with_bookings(50, manager=lead)
    with django_assert_num_queries(len(ten)):
        response = client.get(url, {"start": START, **params})
    assert len(response.context["board"].rows) >= 60
    if lead:
        assert len(response.context["board"].rows) == 60
        assert {row.person.manager_id for row in response.context["board"].rows} == {lead.pk}


def test_team_filter_shows_only_the_managers_reports(client, resource_manager):
    lead = PersonFactory(first_name="Lena", last_name="Lead", user=None)
    other_lead = PersonFactory(first_name="Otto", last_name="Other", user=None)
    mine = [PersonFactory(first_name=f"Mine{i}", manager=lead, user=None) for i in range(2)]
    theirs = PersonFactory(first_name="Theirs", manager=other_lead, user=None)
    loner = PersonFactory(first_name="Loner", user=None)
    response = _board(client, resource_manager.user, team=lead.pk)
    html = response.content.decode()
    shown = {p.pk for p in (*mine, theirs, loner, lead) if f'data-person="{p.pk}"' in html}
    assert shown == {p.pk for p in mine}
    choices = dict(response.context["form"].fields["team"].choices)
    assert choices[lead.pk] == "Lena Lead" and choices[other_lead.pk] == "Otto Other"
    assert loner.pk not in choices and mine[0].pk not in choices  # no reports, no team
    assert f'<option value="{lead.pk}" selected>Lena Lead</option>' in html  # kept in the URL
    assert f"team={lead.pk}" in response.context["next_url"]
    everyone = _board(client, resource_manager.user).content.decode()
    assert all(f'data-person="{p.pk}"' in everyone for p in (*mine, theirs, loner))


def test_cell_lists_the_weeks_assignments_with_links(client, resource_manager):
    person = PersonFactory()
    project = ProjectFactory(code="ACME-7", name="Data lake")
    AssignmentFactory(person=person, project=project, start_date=W2, end_date=date(2026, 3, 20))
    AssignmentFactory(person=person, start_date=date(2026, 5, 4), end_date=date(2026, 5, 8))
    client.force_login(resource_manager.user)
    url = reverse("staffing-cell", args=[person.pk, "2026-03-11"])
    partial = client.get(url, HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert "<html" not in html
    assert "ACME-7" in html and reverse("project-detail", args=[project.pk]) in html
    assert html.count('class="assignment"') == 1  # only the one assignment of that week
    full = client.get(url)
    assert b"<html" in full.content and b"ACME-7" in full.content
    empty = client.get(reverse("staffing-cell", args=[person.pk, "2026-06-01"]),
                       HTTP_HX_REQUEST="true")
    assert b"No assignments this week" in empty.content
    assert client.get(reverse("staffing-cell", args=[person.pk, "nope"])).status_code == 404


def _request_with_candidate():
    role = RoleFactory(code="CLA", name="Cloud architect", level=3)
    skill = SkillFactory(name="Kubernetes")
    demand = ResourceRequestFactory(role=role, hours_per_week=Decimal("20.00"),
                                    start_date=W2, end_date=date(2026, 3, 20), country="")
    RequestSkillFactory(request=demand, skill=skill, min_level=3)
    person = PersonFactory(first_name="Grace", last_name="Hopper", role=role, user=None)
    PersonSkillFactory(person=person, skill=skill, level=4)
    return demand, person


def test_open_requests_panel_and_ranked_candidates(client, resource_manager):
    demand, _person = _request_with_candidate()
    ResourceRequestFactory(status="filled", deal_name="Old")
    html = _board(client, resource_manager.user).content.decode()
    assert "Open requests <span class=\"muted\">(1)</span>" in html
    assert reverse("staffing-candidates", args=[demand.pk]) in html
    client.force_login(resource_manager.user)
    response = client.get(reverse("staffing-candidates", args=[demand.pk]),
                          HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Grace Hopper" in html
    for label in ("Skills", "Availability", "Role fit", "Margin", "Utilization gap",
                  "Location"):
        assert f"<dt>{label}</dt>" in html
    assert "Kubernetes 4/3" in html
    assert "40.00 of 40.00 h free" in html  # 20 h/w over the two requested weeks
    assert "Book soft" in html and "Book hard" in html


def test_project_manager_sees_only_their_projects_requests(client):
    manager = person_with_role(roles.PROJECT_MANAGER)
    mine = ResourceRequestFactory(project=ProjectFactory(manager=manager, code="MINE-1"))
    ResourceRequestFactory(project=ProjectFactory(code="THEIRS-1"))
    client.force_login(manager.user)
    html = client.get(reverse("staffing-board"), {"start": START}).content.decode()
    assert "MINE-1" in html and "THEIRS-1" not in html
    assert "Book hard" not in client.get(
        reverse("staffing-candidates", args=[mine.pk])).content.decode()


def test_book_hard_creates_the_assignment_and_the_cell_changes(client, resource_manager):
    demand, person = _request_with_candidate()
    client.force_login(resource_manager.user)
    response = client.post(reverse("staffing-book", args=[demand.pk]),
                           {"person": person.pk, "booking": "hard", "start": START},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"{reverse('staffing-board')}?request={demand.pk}" \
                                      f"&start={START}"
    booked = Assignment.objects.get(person=person, request=demand)
    assert booked.booking == "hard" and booked.hours_per_week == Decimal("20.00")
    html = client.get(response["HX-Redirect"]).content.decode()
    assert "Booked Grace Hopper hard" in html
    row = html[html.index(f'data-person="{person.pk}"'):]
    assert "20 h / 40" in row[:row.index("</tr>")]


def test_overbooking_asks_for_confirmation_then_books_anyway(client, resource_manager):
    demand, person = _request_with_candidate()
    AssignmentFactory(person=person, start_date=W2, end_date=date(2026, 3, 13),
                      hours_per_week=Decimal("30.00"))
    client.force_login(resource_manager.user)
    url = reverse("staffing-book", args=[demand.pk])
    refused = client.post(url, {"person": person.pk, "booking": "hard"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 409
    html = refused.content.decode()
    assert "Book anyway" in html and "9 Mar 2026" in html
    assert not Assignment.objects.filter(request=demand).exists()
    confirmed = client.post(url, {"person": person.pk, "booking": "hard", "confirm": "1"})
    assert confirmed.status_code == 302
    assert Assignment.objects.get(request=demand).overbooking_confirmed


def test_booking_needs_the_add_assignment_permission(client, project_manager):
    demand, person = _request_with_candidate()
    client.force_login(project_manager.user)
    response = client.post(reverse("staffing-book", args=[demand.pk]),
                           {"person": person.pk, "booking": "soft"})
    assert response.status_code == 403
    assert not Assignment.objects.exists()


def test_cell_edits_an_assignment_through_the_services(client, resource_manager):
    person = PersonFactory(country="GB")
    assignment = AssignmentFactory(person=person, start_date=W2, end_date=date(2026, 3, 27),
                                   hours_per_week=Decimal("20.00"),
                                   booking=Assignment.Booking.SOFT)
    client.force_login(resource_manager.user)
    detail = client.get(reverse("staffing-cell", args=[person.pk, "2026-03-09"]),
                        HTTP_HX_REQUEST="true").content.decode()
    assert 'name="hours_per_week"' in detail and "End on last day" in detail
    url = reverse("staffing-assignment", args=[assignment.pk])
    saved = client.post(url, {"action": "update", "hours_per_week": "30.00", "booking": "hard",
                              "end_date": "2026-03-20", "week": "2026-03-09"},
                        HTTP_HX_REQUEST="true")
    assert saved.status_code == 204
    assert saved["HX-Redirect"] == f"{reverse('staffing-board')}?start=2026-03-09"
    assignment.refresh_from_db()
    assert (assignment.hours_per_week, assignment.booking, assignment.end_date) == (
        Decimal("30.00"), "hard", date(2026, 3, 20))
    over = client.post(url, {"action": "update", "hours_per_week": "60.00", "booking": "hard",
                             "end_date": "2026-03-20"}, HTTP_HX_REQUEST="true")
    assert over.status_code == 409 and b"Save anyway" in over.content
    assignment.refresh_from_db()
    assert assignment.hours_per_week == Decimal("30.00")
    bad = client.post(url, {"action": "update", "hours_per_week": "x", "booking": "hard",
                            "end_date": "2026-03-20"})
    assert bad.status_code == 400
    ended = client.post(url, {"action": "end", "end_date": "2026-03-13"})
    assert ended.status_code == 302
    assignment.refresh_from_db()
    assert assignment.end_date == date(2026, 3, 13)


def test_project_manager_may_not_edit_assignments(client, project_manager):
    assignment = AssignmentFactory()
    client.force_login(project_manager.user)
    response = client.post(reverse("staffing-assignment", args=[assignment.pk]),
                           {"action": "end", "end_date": "2026-03-13"})
    assert response.status_code == 403


def _candidates(client, user, demand, **params):
    client.force_login(user)
    return client.get(reverse("staffing-candidates", args=[demand.pk]), params,
                      HTTP_HX_REQUEST="true")


def _ranked(response) -> list[int]:
    return [row["candidate"].person_id for row in response.context["rows"]]


def test_excluding_a_candidate_removes_them_and_lists_them_apart(client, resource_manager):
    demand, grace = _request_with_candidate()
    ada = PersonFactory(first_name="Ada", last_name="Byron", role=demand.role, user=None)
    PersonSkillFactory(person=ada, skill=demand.required_skills.first().skill, level=5)
    url = reverse("staffing-candidates", args=[demand.pk])
    first = _candidates(client, resource_manager.user, demand, start=START)
    assert set(_ranked(first)) == {grace.pk, ada.pk}
    html = first.content.decode()
    exclude_grace = f"{url}?start={START}&amp;exclude={grace.pk}"
    assert f'hx-get="{exclude_grace}"' in html and ">Exclude</a>" in html
    assert "Include again" not in html

    second = _candidates(client, resource_manager.user, demand, start=START, exclude=grace.pk)
    assert _ranked(second) == [ada.pk]
    html = second.content.decode()
    excluded = html[html.index('class="excluded-candidates"'):]
    excluded = excluded[:excluded.index("</section>")]
    assert "Grace Hopper" in excluded and "Include again" in excluded
    assert f'href="{url}?start={START}"' in excluded  # include again: no exclude left
    assert f'<input type="hidden" name="exclude" value="{grace.pk}">' in html  # kept by the form
    assert f"exclude={grace.pk}&amp;exclude={ada.pk}" in html  # excluding the next keeps both

    both = _candidates(client, resource_manager.user, demand,
                       exclude=[grace.pk, ada.pk, "junk"])
    assert _ranked(both) == []
    html = both.content.decode()
    assert "No candidates left with these filters" in html
    assert "Grace Hopper" in html and "Ada Byron" in html


def test_minimum_availability_filters_the_ranked_list(client, resource_manager):
    demand, grace = _request_with_candidate()  # 20 h/w over the weeks of 9 and 16 Mar
    busy = PersonFactory(first_name="Bea", last_name="Busy", role=demand.role, user=None)
    PersonSkillFactory(person=busy, skill=demand.required_skills.first().skill, level=4)
    # 30 h hard in the first week leaves 10 of 20 free there: 30 of 40 h, 75 % available
    AssignmentFactory(person=busy, start_date=W2, end_date=date(2026, 3, 13),
                      hours_per_week=Decimal("30.00"))
    assert set(_ranked(_candidates(client, resource_manager.user, demand))) == {
        grace.pk, busy.pk}
    assert set(_ranked(_candidates(client, resource_manager.user, demand,
                                   min_availability=75))) == {grace.pk, busy.pk}
    response = _candidates(client, resource_manager.user, demand, min_availability=80)
    assert _ranked(response) == [grace.pk]
    html = response.content.decode()
    assert 'name="min_availability" value="80"' in html
    assert f"exclude={grace.pk}&amp;min_availability=80" in html  # exclude keeps the filter
    assert _ranked(_candidates(client, resource_manager.user, demand,
                               min_availability=100, exclude=grace.pk)) == []
    # out of range or not a number: ignored, not an error
    bad = _candidates(client, resource_manager.user, demand, min_availability=150)
    assert bad.status_code == 200 and len(_ranked(bad)) == 2
