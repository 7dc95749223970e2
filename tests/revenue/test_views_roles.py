"""Every schedule, run and journal page for every role: allowed where psa.roles.MATRIX grants
the permission, 403 where it does not, 404 outside a project manager's own contracts, and a
redirect to sign-in for anonymous visitors. Expectations come from the matrix itself."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from psa import roles
from psa.models import Contract, Person
from revenue.models import ContractEstimate, RecognitionRun
from revenue.services.recognition import recognition_run_execute
from revenue.services.schedules import schedule_plan_refresh
from tests.psa.factories import ContractFactory, ProjectFactory, person_with_role

pytestmark = pytest.mark.django_db
JAN = date(2026, 1, 1)
ROLES = [roles.CONSULTANT, roles.PROJECT_MANAGER, roles.RESOURCE_MANAGER, roles.FINANCE,
         roles.EXECUTIVE, roles.ADMINISTRATOR]


@dataclass
class World:
    """One role's person; a percent-complete contract whose project that person manages,
    another one they do not; a finished recognition run."""

    person: Person
    own: Contract
    other: Contract
    run: RecognitionRun


def _contract(manager: Person | None = None) -> Contract:
    contract = ContractFactory(revenue_method=Contract.RevenueMethod.PERCENT_COMPLETE_COST,
                               start_date=JAN, end_date=date(2026, 6, 30))
    ProjectFactory(contract=contract, **({"manager": manager} if manager else {}))
    schedule_plan_refresh(contract=contract)
    return contract


@pytest.fixture
def world_for():
    def make(role: str) -> World:
        person = person_with_role(role)
        own, other = _contract(person), _contract()
        run = RecognitionRun.objects.create(legal_entity=own.legal_entity, period=JAN)
        return World(person=person, own=own, other=other,
                     run=recognition_run_execute(run_id=run.pk))

    return make


def allowed(role: str, perm: str) -> bool:
    return roles.scope_of(frozenset({role}), perm) is not None


def owns_all(role: str, perm: str) -> bool:
    return roles.scope_of(frozenset({role}), perm) == roles.ALL


# (name, url from a World, permission the page needs)
PAGES: list[tuple[str, Callable[[World], str], str]] = [
    ("schedule list", lambda w: reverse("revenue:schedule-list"),
     "revenue.view_revenueschedule"),
    ("schedule export", lambda w: reverse("revenue:schedule-export"),
     "revenue.view_revenueschedule"),
    ("own schedule", lambda w: reverse("revenue:schedule-detail", args=[w.own.pk]),
     "revenue.view_revenueschedule"),
    ("run page", lambda w: reverse("revenue:run-detail", args=[w.run.pk]),
     "revenue.view_recognitionrun"),
    ("run progress", lambda w: reverse("revenue:run-progress", args=[w.run.pk]),
     "revenue.view_recognitionrun"),
    ("journals", lambda w: reverse("revenue:journal-list"), "revenue.view_journalentry"),
    ("journal export", lambda w: reverse("revenue:journal-export"),
     "revenue.view_journalentry"),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "url", "perm"), PAGES, ids=[page[0] for page in PAGES])
def test_pages_follow_the_matrix(client, world_for, role, name, url, perm):
    world = world_for(role)
    client.force_login(world.person.user)
    response = client.get(url(world))
    assert response.status_code == (200 if allowed(role, perm) else 403), (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_another_contracts_schedule_is_404_outside_the_own_scope(client, world_for, role):
    world = world_for(role)
    client.force_login(world.person.user)
    response = client.get(reverse("revenue:schedule-detail", args=[world.other.pk]))
    perm = "revenue.view_revenueschedule"
    expected = 200 if owns_all(role, perm) else 404 if allowed(role, perm) else 403
    assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_the_schedule_list_shows_only_what_the_role_may_see(client, world_for, role):
    world = world_for(role)
    client.force_login(world.person.user)
    response = client.get(reverse("revenue:schedule-list"))
    if not allowed(role, "revenue.view_revenueschedule"):
        assert response.status_code == 403
        return
    page = response.content.decode()
    assert world.own.code in page
    assert (world.other.code in page) == owns_all(role, "revenue.view_revenueschedule")


@pytest.mark.parametrize("role", ROLES)
def test_adding_an_estimate_follows_the_matrix(client, world_for, role):
    world = world_for(role)
    client.force_login(world.person.user)
    perm = "revenue.add_contractestimate"
    data = {"effective_month": "2026-11", "total_cost_amount": "90000.00"}

    own = client.post(reverse("revenue:estimate-add", args=[world.own.pk]), data)
    other = client.post(reverse("revenue:estimate-add", args=[world.other.pk]), data)

    if not allowed(role, perm):
        assert (own.status_code, other.status_code) == (403, 403)
        assert not ContractEstimate.objects.exists()
    elif owns_all(role, perm):
        assert (own.status_code, other.status_code) == (302, 302)
        assert ContractEstimate.objects.count() == 2
    else:  # own scope: the other contract is not even visible
        assert (own.status_code, other.status_code) == (302, 404)
        assert list(ContractEstimate.objects.values_list("contract_id", flat=True)) == [
            world.own.pk]
        assert ContractEstimate.objects.get().total_cost_amount == Decimal("90000.00")


def test_the_estimate_form_shows_only_for_those_who_may_add(client, world_for):
    for role in (roles.PROJECT_MANAGER, roles.FINANCE, roles.EXECUTIVE):
        world = world_for(role)
        client.force_login(world.person.user)
        page = client.get(reverse("revenue:schedule-detail", args=[world.own.pk])).content
        has_form = b'name="total_cost_amount"' in page
        assert has_form == allowed(role, "revenue.add_contractestimate"), role


@pytest.mark.parametrize("url", [
    lambda w: reverse("revenue:schedule-list"),
    lambda w: reverse("revenue:schedule-detail", args=[w.own.pk]),
    lambda w: reverse("revenue:run-detail", args=[w.run.pk]),
    lambda w: reverse("revenue:journal-list"),
])
def test_anonymous_visitors_are_sent_to_sign_in(client, world_for, url):
    response = client.get(url(world_for(roles.FINANCE)))
    assert response.status_code == 302 and "login" in response["Location"]


def test_an_anonymous_estimate_writes_nothing(client, world_for):
    world = world_for(roles.FINANCE)
    response = client.post(reverse("revenue:estimate-add", args=[world.own.pk]),
                           {"effective_month": "2026-11", "total_cost_amount": "1"})
    assert response.status_code == 302 and not ContractEstimate.objects.exists()
