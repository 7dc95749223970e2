"""Pages run a fixed number of queries whatever the number of rows."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from psa import roles
from psa.models import Milestone, Person, Project, ProjectMember, Task
from tests.psa.factories import PersonFactory, ProjectFactory


def _bulk_projects(template: Project, count: int, *, manager: Person,
                   prefix: str) -> list[Project]:
    return Project.objects.bulk_create([
        Project(code=f"{prefix}-{i:04d}", name=f"Bulk project {i}", contract=template.contract,
                client=template.client, legal_entity=template.legal_entity,
                currency=template.currency, manager=manager, start_date=date(2026, 1, 1),
                end_date=date(2026, 12, 31), budget_hours=Decimal("100.00"),
                budget_cost_amount=Decimal("8000.00"),
                budget_revenue_amount=Decimal("15000.00"),
                service_line=f"Line {i % 7}")
        for i in range(count)])


def _queries(browser, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = browser.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [roles.PROJECT_MANAGER, roles.CONSULTANT, roles.FINANCE])
def test_project_list_queries_do_not_grow_with_rows(role, world_for, browser_for,
                                                   django_assert_num_queries):
    world = world_for(role)
    manager = world.person
    small = _bulk_projects(world.own_project, 4, manager=manager, prefix="FEW")
    ProjectMember.objects.bulk_create(
        [ProjectMember(project=p, person=world.person) for p in small])
    browser = browser_for(world.person)
    url = reverse("project-list") + "?sort=client"
    few = _queries(browser, url)  # 5 own projects (and one not visible to OWN roles)

    many = _bulk_projects(world.own_project, 495, manager=manager, prefix="MANY")
    ProjectMember.objects.bulk_create(
        [ProjectMember(project=p, person=world.person) for p in many])
    others = [PersonFactory() for _ in range(3)]
    for person in others:
        ProjectMember.objects.bulk_create(
            [ProjectMember(project=p, person=person) for p in many[:50]])

    with django_assert_num_queries(few):
        response = browser.get(url)
    assert response.context["count"] >= 500


@pytest.mark.django_db
def test_project_page_queries_do_not_grow_with_tasks(world_for, browser_for,
                                                     django_assert_num_queries):
    world = world_for(roles.PROJECT_MANAGER)
    project = world.own_project
    parent = Task.objects.create(project=project, wbs_code="9", name="Phase")
    Task.objects.bulk_create([Task(project=project, parent=parent, wbs_code=f"9.{i}",
                                   name=f"Sub {i}", budget_hours=Decimal("8.00"))
                              for i in range(3)])
    browser = browser_for(world.person)
    url = reverse("project-detail", args=[project.pk])
    few = _queries(browser, url)  # 5 tasks

    Task.objects.bulk_create([Task(project=project, parent=parent, wbs_code=f"9.{i}",
                                   name=f"Sub {i}", budget_hours=Decimal("8.00"))
                              for i in range(3, 198)])
    Milestone.objects.bulk_create([Milestone(project=project, name=f"M{i}",
                                             due_date=date(2026, 3, 1), amount=Decimal("10.00"),
                                             currency=project.currency) for i in range(30)])
    ProjectMember.objects.bulk_create([ProjectMember(project=project, person=PersonFactory())
                                       for _ in range(20)])

    with django_assert_num_queries(few):
        response = browser.get(url)
    assert len(response.context["page"].tasks) == 200


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["client-list", "person-list", "audit-list", "home"])
def test_other_pages_queries_do_not_grow_with_rows(name, world_for, browser_for,
                                                   django_assert_num_queries):
    world = world_for(roles.ADMINISTRATOR)
    browser = browser_for(world.person)
    url = reverse(name)
    few = _queries(browser, url)

    for _ in range(10):
        project = ProjectFactory()
        ProjectMember.objects.create(project=project, person=PersonFactory())

    with django_assert_num_queries(few):
        browser.get(url)
