"""`POST /api/v1/change-orders/{id}/approve/` and `…/reject/` (psa.approve_changeorder)."""

from decimal import Decimal

import pytest

from psa.models import ChangeOrder, OutboxEvent
from tests.psa.api.helpers import error_attrs, error_codes
from tests.psa.factories import ChangeOrderFactory, ContractFactory, ProjectFactory

pytestmark = pytest.mark.django_db
D = Decimal


def approve(api, change_order, **body):
    return api.post(f"/api/v1/change-orders/{change_order.pk}/approve/", body, format="json")


def reject(api, change_order, **body):
    return api.post(f"/api/v1/change-orders/{change_order.pk}/reject/", body, format="json")


@pytest.fixture
def change_order():
    contract = ContractFactory(value_amount=D("100000.00"))
    ProjectFactory(contract=contract, budget_hours=D("1000.00"))
    return ChangeOrderFactory(contract=contract, value_change_amount=D("10000.00"),
                              budget_hours_change=D("40.00"))


def test_finance_approves_and_the_contract_and_budget_change(finance, token_client,
                                                               change_order):
    response = approve(token_client(finance.user), change_order, reason="Signed by client")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["decided_by"], body["decision_reason"]) == (
        "approved", finance.user.pk, "Signed by client")
    assert response["ETag"]
    change_order.contract.refresh_from_db()
    assert change_order.contract.value_amount == D("110000.00")
    assert change_order.contract.projects.get().budget_hours == D("1040.00")
    assert OutboxEvent.objects.filter(type="change_order.approved").count() == 1


def test_executive_may_approve_without_a_reason(executive, token_client, change_order):
    response = approve(token_client(executive.user), change_order)

    assert response.json()["status"] == "approved"


def test_reject_needs_a_reason_and_leaves_the_contract(finance, token_client, change_order):
    api = token_client(finance.user)

    refused = reject(api, change_order)
    response = reject(api, change_order, reason="Out of scope")

    assert refused.status_code == 400
    assert error_attrs(refused) == {"reason"}
    assert (response.json()["status"], response.json()["decision_reason"]) == (
        "rejected", "Out of scope")
    change_order.contract.refresh_from_db()
    assert change_order.contract.value_amount == D("100000.00")


def test_a_decided_change_order_is_409(finance, token_client, change_order):
    api = token_client(finance.user)
    approve(api, change_order)

    again = approve(api, change_order)
    rejected = reject(api, change_order, reason="Too late")

    assert (again.status_code, rejected.status_code) == (409, 409)
    assert ChangeOrder.objects.get().status == ChangeOrder.Status.APPROVED


def test_nobody_decides_a_change_order_they_raised(finance, token_client, change_order):
    ChangeOrder.objects.filter(pk=change_order.pk).update(created_by=finance.user)

    response = approve(token_client(finance.user), change_order)

    assert response.status_code == 403
    assert error_codes(response) == {"self_approval"}
    assert ChangeOrder.objects.get().status == ChangeOrder.Status.PENDING


def test_a_project_manager_sees_but_may_not_decide(project_manager, token_client,
                                                    change_order):
    ProjectFactory(contract=change_order.contract, manager=project_manager)
    api = token_client(project_manager.user)

    assert api.get(f"/api/v1/change-orders/{change_order.pk}/").status_code == 200
    assert approve(api, change_order).status_code == 403
    assert reject(api, change_order, reason="No").status_code == 403
    assert ChangeOrder.objects.get().status == ChangeOrder.Status.PENDING


def test_a_consultant_is_refused(consultant, token_client, change_order):
    assert approve(token_client(consultant.user), change_order).status_code == 403


def test_a_stale_if_match_is_412(finance, token_client, change_order):
    api = token_client(finance.user)

    response = api.post(f"/api/v1/change-orders/{change_order.pk}/approve/", {},
                        format="json", HTTP_IF_MATCH='"20000101T000000.000000"')

    assert response.status_code == 412
    assert ChangeOrder.objects.get().status == ChangeOrder.Status.PENDING


def test_an_idempotency_key_replays_the_approval(finance, token_client, change_order):
    api = token_client(finance.user)

    first = api.post(f"/api/v1/change-orders/{change_order.pk}/approve/", {}, format="json",
                     HTTP_IDEMPOTENCY_KEY="co-1")
    again = api.post(f"/api/v1/change-orders/{change_order.pk}/approve/", {}, format="json",
                     HTTP_IDEMPOTENCY_KEY="co-1")

    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert OutboxEvent.objects.filter(type="change_order.approved").count() == 1
