"""Utilization figures against plain SQL, bench, demand vs capacity, pages, API and exports."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from psa import roles
from psa.models import TimeEntry
from resourcing.models import Assignment, ResourceRequest
from resourcing.selectors.utilization import (
    bench_list,
    demand_vs_capacity,
    utilization_report,
)
from tests.psa.factories import (
    PersonFactory,
    ProjectFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
    TimeOffFactory,
    person_with_role,
)
from tests.resourcing.factories import AssignmentFactory, ResourceRequestFactory

pytestmark = pytest.mark.django_db

WEEK1, WEEK2 = date(2026, 3, 2), date(2026, 3, 9)
END = date(2026, 3, 15)
PERM = "resourcing.view_utilization"
H = Decimal("0.01")


@pytest.fixture
def firm():
    """Two roles, a manager with two reports, a part-timer; a client and an internal project."""
    junior = RoleFactory(code="JNR", name="Junior consultant", level=2)
    senior = RoleFactory(code="SNR", name="Senior", level=3)
    lead = RoleFactory(code="MGR", name="Manager", level=5)
    manager = PersonFactory(role=lead, first_name="Mia", last_name="Boss")
    p1 = PersonFactory(role=junior, manager=manager, first_name="Ann", last_name="Able",
                       utilization_target=Decimal("80.00"))
    p2 = PersonFactory(role=senior, manager=manager, first_name="Bob", last_name="Baker",
                       utilization_target=Decimal("60.00"))
    p3 = PersonFactory(role=junior, first_name="Cy", last_name="Cole",
                       weekly_standard_hours=Decimal("20.00"))
    client_project = ProjectFactory(manager=manager)
    internal = ProjectFactory(manager=manager, contract=None, client=None, is_internal=True,
                              legal_entity=client_project.legal_entity, currency="USD")
    billable = TaskFactory(project=client_project, is_billable=True)
    unbilled = TaskFactory(project=client_project, is_billable=False)
    training = TaskFactory(project=internal, is_billable=False)
    S = TimeEntry.Status
    approved = {"bill_rate": Decimal("150.0000"), "bill_currency": "USD",
                "cost_rate": Decimal("80.0000"), "cost_currency": "USD"}

    def entry(person, task, day, hours, status=S.APPROVED):
        TimeEntryFactory(person=person, task=task, work_date=day, hours=Decimal(hours),
                         status=status, is_billable=task.is_billable,
                         **(approved if status != S.DRAFT and status != S.SUBMITTED else {}))

    entry(p1, billable, date(2026, 3, 2), "6.00")
    entry(p1, billable, date(2026, 3, 3), "8.00", S.INVOICED)
    entry(p1, unbilled, date(2026, 3, 4), "4.00")
    entry(p1, training, date(2026, 3, 5), "3.00", S.WRITTEN_OFF)
    entry(p1, billable, date(2026, 3, 6), "5.00", S.DRAFT)  # not actual time
    entry(p1, billable, date(2026, 3, 9), "2.50", S.SUBMITTED)  # not actual either
    entry(p2, billable, date(2026, 3, 10), "7.50")
    entry(p2, billable, date(2026, 3, 11), "2.50")
    entry(p2, training, date(2026, 3, 12), "2.00")
    entry(p2, billable, date(2026, 3, 20), "8.00")  # outside the range
    return {"junior": junior, "senior": senior, "lead": lead, "manager": manager, "p1": p1,
            "p2": p2, "p3": p3, "project": client_project, "internal": internal}


def _by_key(rows):
    return {row.key: row.as_dict() for row in rows}


def _plain_sql(start: date, end: date) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    """The measures straight from the tables, without the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.person_id, SUM(t.hours),
                   SUM(CASE WHEN t.is_billable THEN t.hours ELSE 0 END),
                   SUM(CASE WHEN p.is_internal THEN 0 ELSE t.hours END)
            FROM psa_timeentry t JOIN psa_project p ON p.id = t.project_id
            WHERE t.status IN ('approved', 'invoiced', 'written_off')
              AND t.work_date >= %s AND t.work_date <= %s
            GROUP BY t.person_id
            """, [start, end])
        return {person_id: tuple(Decimal(str(v)).quantize(H) for v in sums)
                for person_id, *sums in cursor.fetchall()}


def test_figures_equal_a_plain_sql_query_over_the_same_rows(firm):
    rows = _by_key(utilization_report(start=WEEK1, end=END, group_by="person"))
    expected = _plain_sql(WEEK1, END)
    assert set(expected) == {firm["p1"].pk, firm["p2"].pk}
    for person_id, (actual, billable, client) in expected.items():
        row = rows[str(person_id)]
        assert (row["actual_hours"], row["billable_hours"], row["client_hours"]) == (
            actual, billable, client)
    assert rows[str(firm["p3"].pk)]["actual_hours"] == Decimal("0.00")


def test_billable_and_total_utilization_exclude_internal_and_unapproved_time(firm):
    rows = _by_key(utilization_report(start=WEEK1, end=END, group_by="person"))
    ann = rows[str(firm["p1"].pk)]
    # 6 + 8 billable, 4 unbilled on the client project, 3 internal; drafts/submitted ignored
    assert ann["actual_hours"] == Decimal("21.00")
    assert ann["billable_hours"] == Decimal("14.00")
    assert ann["client_hours"] == Decimal("18.00")
    assert ann["capacity_hours"] == Decimal("80.00")
    assert ann["billable_utilization"] == Decimal("17.50")  # 14 / 80
    assert ann["total_utilization"] == Decimal("22.50")  # 18 / 80 (internal 3 h excluded)
    assert ann["target_percent"] == Decimal("80.00")
    cy = rows[str(firm["p3"].pk)]
    assert cy["capacity_hours"] == Decimal("40.00")  # part time: 20 h a week
    assert cy["billable_utilization"] == Decimal("0.00")


def test_group_by_role_team_and_week_add_hours_before_dividing(firm):
    by_role = _by_key(utilization_report(start=WEEK1, end=END, group_by="role"))
    junior = by_role[str(firm["junior"].pk)]
    assert junior["people"] == 2
    assert junior["capacity_hours"] == Decimal("120.00")  # 80 + 40
    assert junior["billable_utilization"] == Decimal("11.67")  # 14 / 120
    by_team = _by_key(utilization_report(start=WEEK1, end=END, group_by="team"))
    team = by_team[str(firm["manager"].pk)]
    assert team["people"] == 2 and team["billable_hours"] == Decimal("24.00")
    # the capacity-weighted target: (80 % x 80 + 60 % x 80) / 160
    assert team["target_percent"] == Decimal("70.00")
    assert by_team[""]["people"] == 2  # Cy and the manager have no manager
    by_week = _by_key(utilization_report(start=WEEK1, end=END, group_by="week"))
    assert list(by_week) == ["2026-03-02", "2026-03-09"]
    assert by_week["2026-03-02"]["actual_hours"] == Decimal("21.00")
    assert by_week["2026-03-09"]["actual_hours"] == Decimal("12.00")


def test_capacity_counts_public_holidays_and_leave(firm):
    memorial_week = date(2026, 5, 25)  # Memorial Day, Monday 25 May 2026 (US)
    TimeOffFactory(person=firm["p1"], start_date=date(2026, 5, 27), end_date=date(2026, 5, 27))
    rows = _by_key(utilization_report(start=memorial_week, end=date(2026, 5, 29),
                                      group_by="person"))
    assert rows[str(firm["p2"].pk)]["capacity_hours"] == Decimal("32.00")
    assert rows[str(firm["p1"].pk)]["capacity_hours"] == Decimal("24.00")


def test_scheduled_hours_from_assignments_hard_and_soft_apart(firm):
    hard = Assignment.Booking.HARD
    AssignmentFactory(person=firm["p1"], project=firm["project"], booking=hard,
                      start_date=date(2026, 3, 4), end_date=date(2026, 3, 10),
                      hours_per_week=Decimal("20.00"))
    AssignmentFactory(person=firm["p1"], project=firm["project"],
                      booking=Assignment.Booking.SOFT, start_date=date(2026, 1, 1),
                      end_date=date(2026, 6, 30), hours_per_week=Decimal("10.00"))
    by_week = _by_key(utilization_report(start=WEEK1, end=END, group_by="week"))
    # Wed-Fri of week 1 (3 of 5 days) and Mon-Tue of week 2 (2 of 5 days)
    assert by_week["2026-03-02"]["scheduled_hard_hours"] == Decimal("12.00")
    assert by_week["2026-03-09"]["scheduled_hard_hours"] == Decimal("8.00")
    assert by_week["2026-03-02"]["scheduled_soft_hours"] == Decimal("10.00")
    ann = _by_key(utilization_report(start=WEEK1, end=END))[str(firm["p1"].pk)]
    assert ann["scheduled_utilization"] == Decimal("50.00")  # (20 + 20) / 80


def test_query_count_does_not_grow_with_people(firm):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            utilization_report(start=WEEK1, end=END, group_by="role")
        return len(captured)

    before = count()
    for _ in range(10):
        PersonFactory(role=firm["junior"])
    assert count() == before


def test_bench_lists_people_scheduled_below_the_threshold(firm):
    AssignmentFactory(person=firm["p1"], project=firm["project"], booking="hard",
                      start_date=WEEK1, end_date=END, hours_per_week=Decimal("20.00"))
    names = [e.person.pk for e in bench_list(start=WEEK1, weeks=2, threshold=Decimal("50"))]
    assert firm["p1"].pk not in names  # 50 % is not below 50 %
    assert {firm["p2"].pk, firm["p3"].pk, firm["manager"].pk} <= set(names)
    entries = bench_list(start=WEEK1, weeks=2, threshold=Decimal("60"))
    ann = next(e for e in entries if e.person.pk == firm["p1"].pk)
    assert ann.scheduled_utilization == Decimal("50.00") and ann.free_hours == Decimal("40.00")
    assert entries[-1].person.pk == firm["p1"].pk  # least scheduled first


def test_demand_vs_capacity_weights_pipeline_by_probability(firm):
    junior = firm["junior"]
    real = ResourceRequestFactory(project=firm["project"], role=junior, start_date=WEEK1,
                                  end_date=END, hours_per_week=Decimal("20.00"),
                                  status=ResourceRequest.Status.PARTIALLY_FILLED)
    AssignmentFactory(person=firm["p3"], project=firm["project"], role=junior, request=real,
                      start_date=WEEK1, end_date=END, hours_per_week=Decimal("8.00"))
    ResourceRequestFactory(project=None, deal_name="Big deal", is_tentative=True, currency="USD",
                           probability=Decimal("25.00"), role=junior, start_date=WEEK2,
                           end_date=date(2026, 3, 20), hours_per_week=Decimal("40.00"))
    ResourceRequestFactory(project=firm["project"], role=junior, start_date=WEEK1,
                           end_date=END, status=ResourceRequest.Status.CANCELLED)
    mondays, rows = demand_vs_capacity(start=date(2026, 3, 4), weeks=2)
    assert mondays == [WEEK1, WEEK2]
    row = next(r for r in rows if r.role == junior)
    first, second = row.cells[WEEK1], row.cells[WEEK2]
    assert first.capacity == Decimal("60.00")  # Ann 40 + Cy 20
    assert first.booked == Decimal("8.00")
    assert first.demand == Decimal("12.00")  # 20 requested less 8 booked on it
    assert first.pipeline == Decimal("0.00")
    assert second.pipeline == Decimal("10.00")  # 40 x 25 %
    assert second.gap == Decimal("30.00")  # 60 - 8 - 12 - 10


# --- pages and API: the role matrix ---------------------------------------------------------

ALLOWED = set(roles.MATRIX[PERM])


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize("url", ["/utilization/", "/utilization/bench/",
                                 "/utilization/demand/"])
def test_pages_follow_the_role_matrix(client, firm, role, url):
    client.force_login(person_with_role(role).user)
    response = client.get(url)
    assert response.status_code == (200 if role in ALLOWED else 403)


@pytest.mark.parametrize("role", roles.ROLES)
def test_api_follows_the_role_matrix(token_client, firm, role):
    api = token_client(person_with_role(role).user)
    response = api.get("/api/v1/reports/utilization/",
                       {"start": "2026-03-02", "end": "2026-03-15", "group_by": "person"})
    assert response.status_code == (200 if role in ALLOWED else 403)


def test_api_returns_the_figures(token_client, firm, finance):
    api = token_client(finance.user)
    response = api.get("/api/v1/reports/utilization/",
                       {"start": "2026-03-02", "end": "2026-03-15", "group_by": "role"})
    body = response.json()
    junior = next(r for r in body["results"] if r["key"] == str(firm["junior"].pk))
    assert junior["billable_hours"] == "14.00" and junior["billable_utilization"] == "11.67"
    assert body["total"]["actual_hours"] == "33.00"


@pytest.mark.parametrize(("params", "attr"), [
    ({"start": "2026-13-01", "end": "2026-03-15"}, "start"),
    ({"start": "2026-03-02", "end": "2026-03-15", "group_by": "planet"}, "group_by"),
    ({"start": "2026-03-15", "end": "2026-03-02"}, "end"),
    ({"end": "2026-03-02"}, "start"),
])
def test_api_rejects_bad_dates_and_grouping(token_client, finance, params, attr):
    response = token_client(finance.user).get("/api/v1/reports/utilization/", params)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert attr in {e["attr"] for e in body["errors"]}


def test_page_renders_table_and_svg_chart(client, firm, resource_manager):
    client.force_login(resource_manager.user)
    response = client.get("/utilization/", {"start": "2026-03-02", "end": "2026-03-15",
                                            "group_by": "person"})
    html = response.content.decode()
    assert "<svg" in html and 'class="bar-billable"' in html
    assert "Ann Able" in html and "17.50" in html
    assert "http://" not in html.split("<svg", 1)[1].split("</svg>", 1)[0].replace(
        "http://www.w3.org", "")


def test_page_rejects_a_reversed_range(client, resource_manager):
    client.force_login(resource_manager.user)
    response = client.get("/utilization/", {"start": "2026-03-15", "end": "2026-03-02"})
    assert response.status_code == 400


def test_csv_export_has_the_figures(client, firm, resource_manager):
    client.force_login(resource_manager.user)
    response = client.get("/utilization/", {"start": "2026-03-02", "end": "2026-03-15",
                                            "group_by": "person", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(text))}
    ann = rows[str(firm["p1"].pk)]
    assert ann["label"] == "Ann Able"
    assert (ann["actual_hours"], ann["billable_hours"], ann["client_hours"]) == (
        "21.00", "14.00", "18.00")
    assert ann["billable_utilization"] == "17.50" and ann["total_utilization"] == "22.50"


def test_xlsx_export_has_the_figures(client, firm, resource_manager):
    client.force_login(resource_manager.user)
    response = client.get("/utilization/", {"start": "2026-03-02", "end": "2026-03-15",
                                            "group_by": "role", "format": "xlsx"})
    assert "spreadsheetml" in response["Content-Type"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    header = list(values[0])
    junior = next(dict(zip(header, v, strict=True)) for v in values[1:]
                  if v[0] == str(firm["junior"].pk))
    assert junior["label"] == "Junior consultant"
    assert Decimal(str(junior["billable_hours"])) == Decimal("14.00")
    assert Decimal(str(junior["capacity_hours"])) == Decimal("120.00")
