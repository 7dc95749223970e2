"""Candidate ranking: each factor's value, the order, exclusions and a fixed query count."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from psa.models import Person, TimeEntry
from resourcing.api.candidates import CandidateOutputSerializer
from resourcing.models import Assignment, PersonSkill
from resourcing.selectors.candidates import WEIGHTS, candidates_for_request
from tests.psa.factories import (
    CostRateFactory,
    PersonFactory,
    ProjectFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
    TimeOffFactory,
)
from tests.resourcing.factories import (
    AssignmentFactory,
    CertificationFactory,
    PersonSkillFactory,
    RequestSkillFactory,
    ResourceRequestFactory,
    SkillFactory,
)

pytestmark = pytest.mark.django_db

START, END = date(2026, 3, 2), date(2026, 3, 13)  # two full weeks, no US or GB holidays
TODAY = date(2026, 3, 2)  # utilization window: 2 Feb to 1 Mar (Presidents' Day on 16 Feb)


@pytest.fixture
def world():
    consultant = RoleFactory(code="CONS", name="Consultant", level=2)
    senior = RoleFactory(code="SNR", name="Senior consultant", level=3)
    principal = RoleFactory(code="PRN", name="Principal", level=4)
    python, aws = SkillFactory(name="Python"), SkillFactory(name="AWS")
    project = ProjectFactory()
    request = ResourceRequestFactory(project=project, role=consultant, start_date=START,
                                     end_date=END, hours_per_week=Decimal("40.00"), country="US",
                                     remote_ok=False, bill_rate=Decimal("150.0000"),
                                     currency="USD")
    RequestSkillFactory(request=request, skill=python, min_level=4)
    RequestSkillFactory(request=request, skill=aws, min_level=2, requires_certification=True)

    def person(first, last, role, python_level=4, aws_level=2, certified=True, **extra):
        someone = PersonFactory(first_name=first, last_name=last, role=role, **extra)
        if python_level:
            PersonSkillFactory(person=someone, skill=python, level=python_level)
        if aws_level:
            PersonSkillFactory(person=someone, skill=aws, level=aws_level)
        if certified:
            CertificationFactory(person=someone, skill=aws, name=f"AWS SA {last}")
        return someone

    alice = person("Alice", "Adams", consultant, python_level=5, aws_level=3)
    CostRateFactory(person=alice, hourly_cost=Decimal("90.0000"), currency="USD")
    task = TaskFactory(project=project, is_billable=True)
    other_task = TaskFactory(project=project, is_billable=True)
    feb_weekdays = [d for d in (date(2026, 2, 2) + timedelta(n) for n in range(28))
                    if d.weekday() < 5 and d != date(2026, 2, 16)]
    for day in feb_weekdays[:9]:
        TimeEntryFactory(person=alice, task=task, work_date=day, hours=Decimal("8.00"),
                         approved=True)
    TimeEntryFactory(person=alice, task=task, work_date=feb_weekdays[9], hours=Decimal("4.00"),
                     approved=True)  # 76 h approved billable: 50 % of 152 h capacity
    TimeEntryFactory(person=alice, task=other_task, work_date=feb_weekdays[0],
                     hours=Decimal("8.00"))  # draft: not actual
    TimeEntryFactory(person=alice, task=task, work_date=date(2026, 1, 30),
                     hours=Decimal("8.00"), approved=True)  # before the window
    TimeEntryFactory(person=alice, task=task, work_date=TODAY, hours=Decimal("8.00"),
                     approved=True)  # today: after the window

    bob = person("Bob", "Brown", senior, python_level=2, aws_level=2)
    CostRateFactory(person=bob, hourly_cost=Decimal("120.0000"), currency="USD")
    CostRateFactory(person=bob, hourly_cost=Decimal("200.0000"), currency="USD",
                    effective_from=END)  # not yet in force on the start date
    AssignmentFactory(person=bob, start_date=START, end_date=END,
                      hours_per_week=Decimal("20.00"), booking=Assignment.Booking.HARD)
    AssignmentFactory(person=bob, start_date=START, end_date=END,
                      hours_per_week=Decimal("20.00"), booking=Assignment.Booking.SOFT)

    carol = person("Carol", "Clark", consultant, country="GB")  # no cost rate
    AssignmentFactory(person=carol, start_date=date(2026, 2, 23), end_date=date(2026, 3, 31),
                      hours_per_week=Decimal("40.00"), booking=Assignment.Booking.HARD)

    young = person("Yara", "Young", principal)
    xu = person("Xena", "Xu", principal)

    expired = person("Dan", "Doe", consultant, certified=False)
    CertificationFactory(person=expired, skill=aws, expires_date=date(2026, 3, 1))
    proposed = person("Eve", "Evans", consultant)
    PersonSkill.objects.filter(person=proposed, skill=python).update(
        status=PersonSkill.Status.PROPOSED)
    gone = person("Fay", "Fox", consultant, termination_date=date(2026, 2, 27),
                  employment_status=Person.EmploymentStatus.TERMINATED)
    no_aws = person("Gil", "Gray", consultant, aws_level=None)
    return {"request": request, "alice": alice, "bob": bob, "carol": carol, "young": young,
            "xu": xu, "expired": expired, "proposed": proposed, "gone": gone, "no_aws": no_aws}


def test_weights_sum_to_one():
    assert sum(WEIGHTS.values()) == Decimal("1")


def test_ranking_order_and_every_factor(world):
    ranked = candidates_for_request(request=world["request"], today=TODAY)

    assert [c.name for c in ranked] == ["Alice Adams", "Xena Xu", "Yara Young", "Bob Brown",
                                        "Carol Clark"]
    alice, xu, young, bob, carol = ranked

    assert alice.skills == Decimal("1.0000")
    assert [(m.skill_name, m.level, m.min_level, m.certification)
            for m in alice.skill_matches] == [("AWS", 3, 2, "AWS SA Adams"), ("Python", 5, 4, "")]
    assert (alice.availability, alice.requested_hours, alice.free_hours) == (
        Decimal("1.0000"), Decimal("80.00"), Decimal("80.00"))
    assert alice.role_fit == Decimal("1")
    assert (alice.cost_rate, alice.margin, alice.cost) == (
        Decimal("90.0000"), Decimal("0.4000"), Decimal("0.4000"))
    assert (alice.utilization_target, alice.utilization_actual, alice.utilization_gap) == (
        Decimal("80.00"), Decimal("50.00"), Decimal("30.00"))
    assert alice.factors["utilization_gap"] == Decimal("0.3000")
    assert alice.location == Decimal("1")
    assert alice.score == Decimal("0.8700")

    assert bob.skills == Decimal("0.7500")  # Python 2 of 4, AWS 2 of 2
    assert not bob.skill_matches[1].meets_minimum
    # the soft booking does not count
    assert (bob.availability, bob.free_hours) == (Decimal("0.5000"), Decimal("40.00"))
    assert bob.role_fit == Decimal("0.5")
    assert (bob.cost_rate, bob.margin) == (Decimal("120.0000"), Decimal("0.2000"))
    assert (bob.utilization_actual, bob.factors["utilization_gap"]) == (
        Decimal("0.00"), Decimal("0.8000"))
    assert bob.score == Decimal("0.6000")

    assert carol.availability == Decimal("0.0000")  # fully hard-booked
    assert carol.free_hours == Decimal("0.00")
    assert (carol.cost_rate, carol.margin, carol.cost) == (None, None, Decimal("0"))
    assert carol.location == Decimal("0")  # GB, the request is in the US and not remote
    assert carol.score == Decimal("0.5300")

    assert xu.score == young.score == Decimal("0.7300")  # tie: by name, Xu before Young
    assert xu.role_fit == Decimal("0")  # two levels above


def test_missing_skill_expired_certificate_proposed_level_and_terminated_never_appear(world):
    ids = {c.person_id for c in candidates_for_request(request=world["request"], today=TODAY)}
    for key in ("expired", "proposed", "gone", "no_aws"):
        assert world[key].pk not in ids, key


def test_exclusion_filter_and_limit(world):
    request = world["request"]
    ranked = candidates_for_request(request=request, exclude_ids=[world["alice"].pk,
                                                                  world["xu"].pk], today=TODAY)
    assert [c.name for c in ranked] == ["Yara Young", "Bob Brown", "Carol Clark"]
    assert [c.name for c in candidates_for_request(request=request, limit=2, today=TODAY)] == [
        "Alice Adams", "Xena Xu"]


def test_remote_allowed_matches_any_country(world):
    request = world["request"]
    request.remote_ok = True
    carol = next(c for c in candidates_for_request(request=request, today=TODAY)
                 if c.name == "Carol Clark")
    assert carol.location == Decimal("1")


def test_serializer_shows_every_factor(world):
    top = candidates_for_request(request=world["request"], today=TODAY)[0]
    # Cost rates only for those who may see them (finance, administrators): the margin stays.
    from django.test import RequestFactory

    from tests.psa.factories import UserFactory

    asked = RequestFactory().get("/")
    asked.user = UserFactory(role="finance")
    data = CandidateOutputSerializer(top, context={"request": asked}).data
    assert data["person"] == {"id": world["alice"].pk, "name": "Alice Adams"}
    assert data["score"] == "0.8700"
    assert data["factors"]["cost"] == {"value": "0.4000", "margin": "0.4000",
                                       "cost_rate": "90.0000", "currency": "USD",
                                       "weight": "0.10"}
    asked.user = UserFactory(role="resource_manager")
    hidden = CandidateOutputSerializer(top, context={"request": asked}).data
    assert hidden["factors"]["cost"] == {"value": "0.4000", "margin": "0.4000",
                                         "weight": "0.10"}
    assert data["factors"]["availability"]["free_hours"] == "80.00"
    assert data["factors"]["skills"]["matches"][0]["certification"] == "AWS SA Adams"


def _population(size, skill, role):
    project = ProjectFactory()
    for n in range(size):
        someone = PersonFactory(role=role, last_name=f"Many{n:04d}")
        PersonSkillFactory(person=someone, skill=skill, level=1 + n % 5)
        CertificationFactory(person=someone, skill=skill)
        CostRateFactory(person=someone)
        if n % 3 == 0:
            AssignmentFactory(person=someone, project=project, start_date=START, end_date=END,
                              booking=Assignment.Booking.HARD)
        if n % 4 == 0:
            TimeOffFactory(person=someone, start_date=START, end_date=START)
        if n % 5 == 0:
            TimeEntryFactory(person=someone, task__project=project, work_date=date(2026, 2, 10),
                             status=TimeEntry.Status.APPROVED, bill_rate=Decimal("1"),
                             bill_currency="USD", cost_rate=Decimal("1"), cost_currency="USD")


def _queries(request):
    with CaptureQueriesContext(connection) as captured:
        ranked = candidates_for_request(request=request, today=TODAY)
    return len(captured), ranked


def test_query_count_does_not_depend_on_the_number_of_people():
    role = RoleFactory()
    skill = SkillFactory(name="Kubernetes")
    request = ResourceRequestFactory(role=role, start_date=START, end_date=END)
    RequestSkillFactory(request=request, skill=skill, min_level=2, requires_certification=True)
    _population(20, skill, role)
    small, ranked = _queries(request)
    assert len(ranked) == 20
    _population(180, skill, role)
    large, ranked = _queries(request)
    assert len(ranked) == 50
    assert Person.objects.filter(skills__skill=skill).count() == 200
    assert small == large
