"""Walk the whole role matrix: every permission, every role, own rows and other rows.

The API and page tests walk the same matrix over HTTP; this one checks the object rules
that both of them use.
"""

import pytest

from psa import roles
from psa.rules import own_scope_missing, visible
from tests.psa.factories import (
    ChangeOrderFactory,
    CostRateFactory,
    ExpenseFactory,
    ExpensePolicyFactory,
    LegalEntityFactory,
    MilestoneFactory,
    PeriodFactory,
    ProjectFactory,
    ProjectMemberFactory,
    RateCardFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
    TimeOffFactory,
    person_with_role,
)


def _world(person):
    """Rows that belong to `person` (managed and staffed by them) and rows that don't."""
    mine = ProjectFactory(manager=person)
    ProjectMemberFactory(project=mine, person=person)
    teammate = ProjectMemberFactory(project=mine).person
    theirs = ProjectFactory()
    return {
        "project": (mine, theirs),
        "project_financials": (mine, theirs),
        "task": (TaskFactory(project=mine), TaskFactory(project=theirs)),
        "milestone": (MilestoneFactory(project=mine), MilestoneFactory(project=theirs)),
        "contract": (mine.contract, theirs.contract),
        "client": (mine.client, theirs.client),
        "changeorder": (ChangeOrderFactory(contract=mine.contract),
                        ChangeOrderFactory(contract=theirs.contract)),
        "person": (person, theirs.manager),
        "costrate": (CostRateFactory(person=person), CostRateFactory(person=theirs.manager)),
        "legalentity": (LegalEntityFactory(code="US"), LegalEntityFactory(code="UK",
                                                                         base_currency="GBP")),
        "role": (RoleFactory(code="A1", name="Analyst", level=1),
                 RoleFactory(code="P5", name="Partner", level=5)),
        "ratecard": (RateCardFactory(), RateCardFactory()),
        "period": (PeriodFactory(), PeriodFactory(legal_entity__code="UK")),
        "timeentry": (TimeEntryFactory(person=person, task=TaskFactory(project=mine)),
                      TimeEntryFactory(task=TaskFactory(project=theirs))),
        "expense": (ExpenseFactory(person=person, project=mine), ExpenseFactory(project=theirs)),
        "timeoff": (TimeOffFactory(person=person), TimeOffFactory(person=theirs.manager)),
        "expensepolicy": (ExpensePolicyFactory(), ExpensePolicyFactory(category="meals")),
        "time_compliance": (person, theirs.manager),
        # Approval is of someone else's work on the user's projects: never of their own.
        "approve:timeentry": (TimeEntryFactory(person=teammate, task=TaskFactory(project=mine)),
                              TimeEntryFactory(task=TaskFactory(project=theirs))),
        "approve:expense": (ExpenseFactory(person=teammate, project=mine),
                            ExpenseFactory(project=theirs)),
    }


def _subject(perm: str) -> str:
    verb, subject = perm.split(".", 1)[1].split("_", 1)
    return f"approve:{subject}" if verb == "approve" else subject


def test_every_own_scope_has_a_rule():
    assert own_scope_missing() == []


def test_matrix_names_only_known_roles():
    for perm, grants in roles.MATRIX.items():
        assert set(grants) <= set(roles.ROLES), perm
        assert set(grants.values()) <= {roles.ALL, roles.OWN}, perm


@pytest.mark.django_db
@pytest.mark.parametrize("role", roles.ROLES)
def test_role_matrix_object_rules(role):
    person = person_with_role(role)
    user = person.user
    world = _world(person)
    checked = 0
    for perm, grants in roles.MATRIX.items():
        scope = grants.get(role)
        assert user.has_perm(perm) is (scope is not None), (perm, role)
        objects = world.get(_subject(perm))
        if objects is None:
            continue  # permissions with no row to act on (audit, tokens, outbox)
        own, other = objects
        assert user.has_perm(perm, own) is (scope is not None), (perm, role, "own")
        assert user.has_perm(perm, other) is (scope == roles.ALL), (perm, role, "other")
        checked += 1
    assert checked > 20


@pytest.mark.django_db
@pytest.mark.parametrize("role", roles.ROLES)
def test_list_scope_agrees_with_object_rules(role):
    """`visible()` (lists) and `has_perm(perm, obj)` (objects) give the same answer per row."""
    person = person_with_role(role)
    world = _world(person)
    for perm in roles.MATRIX:
        objects = world.get(_subject(perm))
        if objects is None or not perm.split(".")[1].startswith("view_"):
            continue
        model = type(objects[0])
        rows = set(visible(model.objects.all(), person.user, perm).values_list("pk", flat=True))
        for obj in objects:
            assert (obj.pk in rows) is person.user.has_perm(perm, obj), (perm, role, obj)


@pytest.mark.django_db
def test_inactive_user_has_no_permission():
    person = person_with_role(roles.ADMINISTRATOR)
    person.user.is_active = False
    person.user.save()
    assert not person.user.has_perm("psa.view_project")


@pytest.mark.django_db
def test_superuser_is_an_administrator():
    from psa.models import Project
    from psa.rules import user_roles
    from tests.psa.factories import UserFactory

    user = UserFactory(is_superuser=True)
    ProjectFactory.create_batch(2)
    assert user_roles(user) == frozenset({roles.ADMINISTRATOR})
    assert visible(Project.objects.all(), user, "psa.view_project").count() == 2
