"""Every list endpoint against every role, with expectations derived from psa.roles.MATRIX."""

import pytest

from psa import roles
from psa.api.urls import router
from psa.rules import visible
from tests.psa.factories import (
    ChangeOrderFactory,
    ExpenseFactory,
    MilestoneFactory,
    PersonFactory,
    ProjectFactory,
    ProjectMemberFactory,
    RateCardFactory,
    TaskFactory,
    TimeEntryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Lists of groups rather than rows, each walking the matrix in its own test module:
# approvals (person-week groups) in tests/psa/api/test_approvals_api.py;
# timesheets (one person's week) in tests/psa/api/test_time_api.py.
GROUPED_LISTS = {"approvals", "timesheets"}
LIST_ENDPOINTS = [(prefix, viewset) for prefix, viewset, _ in router.registry
                  if prefix not in GROUPED_LISTS]


@pytest.fixture
def world():
    """A user's own project (it manages it and is on its team) and another project."""

    def build(role):
        person = PersonFactory(user=UserFactory(role=role))
        own = ProjectFactory(manager=person)
        ProjectMemberFactory(project=own, person=person)
        other = ProjectFactory()
        for project in (own, other):
            task = TaskFactory(project=project)
            TimeEntryFactory(person=person if project is own else PersonFactory(), task=task)
            MilestoneFactory(project=project)
            ChangeOrderFactory(contract=project.contract)
        RateCardFactory()
        ExpenseFactory(person=person, project=own)
        ExpenseFactory(project=other)
        return person

    return build


def test_every_list_endpoint_is_registered():
    prefixes = {prefix for prefix, _ in LIST_ENDPOINTS}
    assert prefixes == {"legal-entities", "clients", "contracts", "change-orders", "projects",
                        "tasks", "milestones", "people", "roles", "rate-cards",
                        "expenses", "time-entries"}


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize(("prefix", "viewset"), LIST_ENDPOINTS, ids=[p for p, _ in LIST_ENDPOINTS])
def test_list_follows_the_matrix(role, prefix, viewset, world, token_client):
    person = world(role)
    perm = viewset.required_perms["list"]
    granted = roles.scope_of(frozenset({role}), perm)

    response = token_client(person.user).get(f"/api/v1/{prefix}/", {"page_size": 500})

    if granted is None:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    returned = {row["id"] for row in response.json()["results"]}
    model = viewset.output_serializer.Meta.model
    expected = set(visible(model.objects.all(), person.user, perm).values_list("pk", flat=True))
    assert returned == expected
    if granted == roles.OWN:
        assert returned, f"{role} should see its own {prefix}"
        assert model.objects.exclude(pk__in=returned).exists(), "others' rows are hidden"
    else:
        assert returned == set(model.objects.values_list("pk", flat=True))


def test_project_manager_sees_the_projects_it_manages_only(project_manager, token_client):
    mine = ProjectFactory(manager=project_manager)
    ProjectFactory()

    rows = token_client(project_manager.user).get("/api/v1/projects/").json()["results"]

    assert [row["id"] for row in rows] == [mine.pk]


def test_consultant_sees_clients_of_its_projects_only(consultant, token_client):
    mine = ProjectMemberFactory(person=consultant).project
    ProjectFactory()

    rows = token_client(consultant.user).get("/api/v1/clients/").json()["results"]

    assert [row["id"] for row in rows] == [mine.client_id]
