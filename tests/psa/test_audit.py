"""Every change of a master or financial record is kept: who, when, before and after."""

from decimal import Decimal

import pytest
from auditlog.models import LogEntry

from psa.common.logging import acting_as
from tests.psa.factories import ContractFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_contract_change_is_audited_with_actor_and_before_after():
    contract = ContractFactory(value_amount=Decimal("100000.00"))
    finance_user = UserFactory(role="finance")
    with acting_as(finance_user):
        contract.value_amount = Decimal("125000.00")
        contract.save()
    entry = LogEntry.objects.get_for_object(contract).filter(
        action=LogEntry.Action.UPDATE).latest("timestamp")
    assert entry.actor == finance_user
    assert entry.changes_dict["value_amount"] == ["100000.00", "125000.00"]


def test_jobs_act_as_the_system_user():
    with acting_as(None) as actor:
        contract = ContractFactory()
    entry = LogEntry.objects.get_for_object(contract).get(action=LogEntry.Action.CREATE)
    assert entry.actor == actor
    assert actor.username == "system"
    assert not actor.is_active  # the system account can never sign in
