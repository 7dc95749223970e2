"""Resource requests: project or deal, dates, hours, probability, skills with minimum levels."""

from datetime import date
from decimal import Decimal

import pytest

from psa.common.errors import DomainError, StateConflictError
from psa.models import OutboxEvent
from resourcing.models import ResourceRequest
from resourcing.services import request_cancel, request_create, request_update
from tests.psa.factories import ProjectFactory, RoleFactory, UserFactory
from tests.resourcing.factories import SkillFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor():
    return UserFactory(role="resource_manager")


def _data(**overrides):
    data = {"project": ProjectFactory(), "role": RoleFactory(),
            "hours_per_week": Decimal("32.00"), "start_date": date(2026, 3, 2),
            "end_date": date(2026, 4, 24), "bill_rate": Decimal("150.0000")}
    data.update(overrides)
    return data


def test_create_with_skills_and_currency_from_project(actor):
    cloud, data_skill = SkillFactory(), SkillFactory()
    request = request_create(actor=actor, data=_data(), skills=[
        {"skill": cloud, "min_level": 4, "requires_certification": True},
        {"skill": data_skill, "min_level": 2}])
    assert request.currency == request.project.currency
    assert request.status == ResourceRequest.Status.OPEN
    assert sorted(request.required_skills.values_list("skill_id", "min_level",
                                                      "requires_certification")) == sorted(
        [(cloud.pk, 4, True), (data_skill.pk, 2, False)])
    assert OutboxEvent.objects.filter(type="resource_request.created").count() == 1


def test_a_deal_request_is_tentative_with_probability(actor):
    request = request_create(actor=actor, data=_data(
        project=None, deal_name="Acme data platform", deal_ref="hs-42",
        probability=Decimal("60.00"), currency="USD"))
    assert request.is_tentative is True and request.probability == Decimal("60.00")


@pytest.mark.parametrize(("overrides", "attr"), [
    ({"project": None}, "project"),
    ({"end_date": date(2026, 3, 1)}, "end_date"),
    ({"hours_per_week": Decimal("0.00")}, "hours_per_week"),
    ({"hours_per_week": Decimal("169.00")}, "hours_per_week"),
    ({"probability": Decimal("120.00"), "is_tentative": True}, "probability"),
    ({"probability": Decimal("50.00")}, "probability"),
    ({"start_date": date(2027, 2, 1), "end_date": date(2027, 3, 1)}, "start_date"),
])
def test_invalid_requests_are_refused_naming_the_field(actor, overrides, attr):
    with pytest.raises(DomainError) as caught:
        request_create(actor=actor, data=_data(**overrides))
    assert caught.value.attr == attr
    assert not ResourceRequest.objects.exists()


def test_skill_rules(actor):
    skill = SkillFactory()
    with pytest.raises(DomainError):
        request_create(actor=actor, data=_data(), skills=[{"skill": skill, "min_level": 6}])
    with pytest.raises(DomainError):
        request_create(actor=actor, data=_data(), skills=[{"skill": skill}, {"skill": skill}])
    assert not ResourceRequest.objects.exists()


def test_update_replaces_skills_and_cancel_is_final(actor):
    request = request_create(actor=actor, data=_data(),
                             skills=[{"skill": SkillFactory(), "min_level": 3}])
    other = SkillFactory()
    request = request_update(actor=actor, request=request,
                             data={"hours_per_week": Decimal("16.00")},
                             skills=[{"skill": other, "min_level": 5}])
    assert request.hours_per_week == Decimal("16.00")
    assert list(request.required_skills.values_list("skill_id", "min_level")) == [(other.pk, 5)]
    request = request_cancel(actor=actor, request=request)
    assert request.status == ResourceRequest.Status.CANCELLED
    with pytest.raises(StateConflictError):
        request_cancel(actor=actor, request=request)
    with pytest.raises(StateConflictError):
        request_update(actor=actor, request=request, data={"notes": "x"})
