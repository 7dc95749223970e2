"""Change orders: approval applies value, cap and budget hours; rejection needs a reason."""

from decimal import Decimal

import pytest
from auditlog.models import LogEntry

from psa.common.errors import DomainError, StateConflictError
from psa.common.logging import acting_as
from psa.errors import SelfApprovalError
from psa.models import ChangeOrder, Contract, OutboxEvent
from psa.services.change_orders import change_order_approve, change_order_reject
from tests.psa.factories import (
    ChangeOrderFactory,
    ContractFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def author():
    return UserFactory(role="project_manager")


@pytest.fixture
def approver():
    return UserFactory(role="finance")


def capped_contract(**kwargs):
    return ContractFactory(billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP,
                           value_amount=Decimal("50000.00"), cap_amount=Decimal("50000.00"),
                           **kwargs)


class TestChangeOrderApprove:
    def test_approval_updates_value_cap_and_budget_and_publishes(self, author, approver):
        contract = capped_contract()
        project = ProjectFactory(contract=contract, budget_hours=Decimal("300.00"))
        change_order = ChangeOrderFactory(
            contract=contract, created_by=author, value_change_amount=Decimal("12500.00"),
            cap_change_amount=Decimal("10000.00"), budget_hours_change=Decimal("80.00"))

        decided = change_order_approve(change_order=change_order, actor=approver,
                                       reason="Phase 2 signed")

        contract.refresh_from_db()
        project.refresh_from_db()
        assert contract.value_amount == Decimal("62500.00")
        assert contract.cap_amount == Decimal("60000.00")
        assert project.budget_hours == Decimal("380.00")
        assert decided.status == ChangeOrder.Status.APPROVED
        assert decided.decided_by == approver
        assert decided.decided_at is not None
        assert decided.decision_reason == "Phase 2 signed"
        event = OutboxEvent.objects.get(type="change_order.approved",
                                        aggregate_id=str(change_order.pk))
        assert event.payload["contract_id"] == contract.pk
        assert event.payload["value_change_amount"] == "12500.00"
        assert event.payload["new_value_amount"] == "62500.00"
        assert event.payload["new_cap_amount"] == "60000.00"
        assert event.payload["project_id"] == project.pk

    def test_negative_change_lowers_value(self, author, approver):
        contract = ContractFactory(value_amount=Decimal("100000.00"))
        change_order = ChangeOrderFactory(contract=contract, created_by=author,
                                          value_change_amount=Decimal("-20000.00"))
        change_order_approve(change_order=change_order, actor=approver)
        contract.refresh_from_db()
        assert contract.value_amount == Decimal("80000.00")
        assert contract.cap_amount is None

    def test_hours_go_to_the_first_project_by_code(self, author, approver):
        contract = ContractFactory()
        later = ProjectFactory(contract=contract, code="ZZ-1", budget_hours=Decimal("10.00"))
        first = ProjectFactory(contract=contract, code="AA-1", budget_hours=Decimal("10.00"))
        change_order = ChangeOrderFactory(contract=contract, created_by=author,
                                          budget_hours_change=Decimal("5.00"))
        change_order_approve(change_order=change_order, actor=approver)
        first.refresh_from_db()
        later.refresh_from_db()
        assert (first.budget_hours, later.budget_hours) == (Decimal("15.00"), Decimal("10.00"))

    def test_contract_change_is_audited_with_the_approver(self, author, approver):
        contract = ContractFactory(value_amount=Decimal("100000.00"))
        change_order = ChangeOrderFactory(contract=contract, created_by=author)
        with acting_as(approver):
            change_order_approve(change_order=change_order, actor=approver)
        entry = LogEntry.objects.get_for_object(contract).filter(
            action=LogEntry.Action.UPDATE).latest("timestamp")
        assert entry.actor == approver
        assert entry.changes_dict["value_amount"] == ["100000.00", "110000.00"]

    def test_creator_cannot_approve_their_own(self, author):
        contract = ContractFactory(value_amount=Decimal("100000.00"))
        change_order = ChangeOrderFactory(contract=contract, created_by=author)
        with pytest.raises(SelfApprovalError, match="someone else"):
            change_order_approve(change_order=change_order, actor=author)
        contract.refresh_from_db()
        change_order.refresh_from_db()
        assert contract.value_amount == Decimal("100000.00")
        assert change_order.status == ChangeOrder.Status.PENDING
        assert not OutboxEvent.objects.filter(type="change_order.approved").exists()

    @pytest.mark.parametrize("status", [ChangeOrder.Status.APPROVED,
                                        ChangeOrder.Status.REJECTED])
    def test_only_pending_can_be_approved(self, author, approver, status):
        contract = ContractFactory(value_amount=Decimal("100000.00"))
        change_order = ChangeOrderFactory(contract=contract, created_by=author, status=status)
        with pytest.raises(StateConflictError):
            change_order_approve(change_order=change_order, actor=approver)
        contract.refresh_from_db()
        assert contract.value_amount == Decimal("100000.00")

    def test_cap_change_on_uncapped_contract_is_refused(self, author, approver):
        contract = ContractFactory()
        change_order = ChangeOrderFactory(contract=contract, created_by=author,
                                          cap_change_amount=Decimal("5000.00"))
        with pytest.raises(DomainError, match="no cap"):
            change_order_approve(change_order=change_order, actor=approver)
        change_order.refresh_from_db()
        assert change_order.status == ChangeOrder.Status.PENDING

    def test_value_cannot_go_negative(self, author, approver):
        contract = ContractFactory(value_amount=Decimal("1000.00"))
        change_order = ChangeOrderFactory(contract=contract, created_by=author,
                                          value_change_amount=Decimal("-1000.01"))
        with pytest.raises(DomainError, match="contract value"):
            change_order_approve(change_order=change_order, actor=approver)
        contract.refresh_from_db()
        assert contract.value_amount == Decimal("1000.00")

    def test_hours_without_a_project_are_refused_and_nothing_changes(self, author, approver):
        contract = ContractFactory(value_amount=Decimal("1000.00"))
        change_order = ChangeOrderFactory(contract=contract, created_by=author,
                                          budget_hours_change=Decimal("8.00"))
        with pytest.raises(DomainError, match="no project"):
            change_order_approve(change_order=change_order, actor=approver)
        contract.refresh_from_db()
        assert contract.value_amount == Decimal("1000.00")


class TestChangeOrderReject:
    def test_rejection_keeps_contract_and_publishes(self, author, approver):
        contract = capped_contract()
        change_order = ChangeOrderFactory(contract=contract, created_by=author,
                                          cap_change_amount=Decimal("5000.00"))
        decided = change_order_reject(change_order=change_order, actor=approver,
                                      reason="  Not in budget ")
        contract.refresh_from_db()
        assert (contract.value_amount, contract.cap_amount) == (Decimal("50000.00"),
                                                                 Decimal("50000.00"))
        assert decided.status == ChangeOrder.Status.REJECTED
        assert decided.decision_reason == "Not in budget"
        assert decided.decided_by == approver
        event = OutboxEvent.objects.get(type="change_order.rejected")
        assert event.payload["reason"] == "Not in budget"
        assert event.payload["new_value_amount"] == "50000.00"

    def test_reason_is_required(self, author, approver):
        change_order = ChangeOrderFactory(created_by=author)
        with pytest.raises(DomainError, match="why"):
            change_order_reject(change_order=change_order, actor=approver, reason="  ")
        change_order.refresh_from_db()
        assert change_order.status == ChangeOrder.Status.PENDING

    def test_creator_cannot_reject_their_own(self, author):
        change_order = ChangeOrderFactory(created_by=author)
        with pytest.raises(SelfApprovalError):
            change_order_reject(change_order=change_order, actor=author, reason="oops")

    def test_rejected_cannot_be_rejected_again(self, author, approver):
        change_order = ChangeOrderFactory(created_by=author, status=ChangeOrder.Status.REJECTED)
        with pytest.raises(StateConflictError):
            change_order_reject(change_order=change_order, actor=approver, reason="again")
