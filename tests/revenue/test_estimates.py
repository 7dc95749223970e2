"""Estimates at completion: only for percent-complete contracts, the month normalised, positive
figures, never in a closed period, always a new row (history), with its event; recognition
uses the one in force."""

from datetime import date
from decimal import Decimal

import pytest

from psa.common.errors import DomainError, PeriodClosedError
from psa.models import Contract, OutboxEvent, Period
from revenue.models import ContractEstimate, RecognitionEntry, RecognitionRun
from revenue.services.estimates import contract_estimate_add
from revenue.services.recognition import recognition_run_execute
from tests.psa.factories import (
    ContractFactory,
    PersonFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal
Method = Contract.RevenueMethod


@pytest.fixture
def actor():
    return UserFactory()


class TestContractEstimateAdd:
    def test_adds_an_estimate_from_the_first_day_of_the_month_and_publishes(self, actor):
        contract = ContractFactory(revenue_method=Method.PERCENT_COMPLETE_COST)

        estimate = contract_estimate_add(contract=contract, actor=actor,
                                         effective_month=date(2026, 2, 17),
                                         total_cost_amount=D("100000.004"), note=" Scope grew ")

        estimate.refresh_from_db()
        assert estimate.effective_month == date(2026, 2, 1)
        assert estimate.total_cost_amount == D("100000.00") and estimate.total_hours is None
        assert estimate.created_by == actor and estimate.note == "Scope grew"
        event = OutboxEvent.objects.get(type="contract.estimate_changed")
        assert event.aggregate_id == str(contract.pk)
        assert event.payload["estimate_id"] == estimate.pk
        assert event.payload["effective_month"] == "2026-02-01"
        assert event.payload["total_cost_amount"] == "100000.00"

    def test_a_revision_is_a_new_row_and_the_history_stays(self, actor):
        contract = ContractFactory(revenue_method=Method.PERCENT_COMPLETE_HOURS)
        first = contract_estimate_add(contract=contract, actor=actor,
                                      effective_month=date(2026, 1, 1), total_hours=D("800"))
        second = contract_estimate_add(contract=contract, actor=actor,
                                       effective_month=date(2026, 1, 1), total_hours=D("950.5"))

        assert first.pk != second.pk
        assert list(ContractEstimate.objects.filter(contract=contract).order_by("pk")
                    .values_list("total_hours", flat=True)) == [D("800.00"), D("950.50")]

    def test_refuses_a_contract_not_recognised_by_percent_complete(self, actor):
        contract = ContractFactory(revenue_method=Method.RATABLE)
        with pytest.raises(DomainError) as error:
            contract_estimate_add(contract=contract, actor=actor,
                                  effective_month=date(2026, 1, 1),
                                  total_cost_amount=D("1000.00"))
        assert error.value.code == "not_percent_complete"
        assert not ContractEstimate.objects.exists()
        assert not OutboxEvent.objects.filter(type="contract.estimate_changed").exists()

    @pytest.mark.parametrize(("method", "figures", "attr"), [
        (Method.PERCENT_COMPLETE_COST, {"total_cost_amount": D("0")}, "total_cost_amount"),
        (Method.PERCENT_COMPLETE_COST, {"total_cost_amount": D("-5.00")}, "total_cost_amount"),
        (Method.PERCENT_COMPLETE_COST, {"total_hours": D("100")}, "total_cost_amount"),
        (Method.PERCENT_COMPLETE_HOURS, {"total_hours": D("0.00")}, "total_hours"),
        (Method.PERCENT_COMPLETE_HOURS, {}, "total_hours"),
        (Method.PERCENT_COMPLETE_HOURS, {"total_hours": D("10"), "total_cost_amount": D("-1")},
         "total_cost_amount"),
    ])
    def test_refuses_missing_or_non_positive_figures(self, actor, method, figures, attr):
        contract = ContractFactory(revenue_method=method)
        with pytest.raises(DomainError) as error:
            contract_estimate_add(contract=contract, actor=actor,
                                  effective_month=date(2026, 1, 1), **figures)
        assert error.value.attr == attr
        assert not ContractEstimate.objects.exists()

    def test_refuses_a_closed_effective_month(self, actor):
        contract = ContractFactory(revenue_method=Method.PERCENT_COMPLETE_COST)
        Period.objects.create(legal_entity=contract.legal_entity, month=date(2026, 1, 1),
                              status=Period.Status.CLOSED)
        with pytest.raises(PeriodClosedError) as error:
            contract_estimate_add(contract=contract, actor=actor,
                                  effective_month=date(2026, 1, 20),
                                  total_cost_amount=D("1000.00"))
        assert error.value.attr == "effective_month"
        assert not ContractEstimate.objects.exists()
        # The next month is open.
        contract_estimate_add(contract=contract, actor=actor, effective_month=date(2026, 2, 1),
                              total_cost_amount=D("1000.00"))

    def test_recognition_catches_up_with_the_revised_estimate(self, actor):
        contract = ContractFactory(revenue_method=Method.PERCENT_COMPLETE_HOURS,
                                   value_amount=D("100000.00"))
        task = TaskFactory(project=ProjectFactory(contract=contract))
        TimeEntryFactory(task=task, person=PersonFactory(), work_date=date(2026, 1, 12),
                         hours=D("8.00"), approved=True)
        contract_estimate_add(contract=contract, actor=actor, effective_month=date(2026, 1, 1),
                              total_hours=D("80"))
        run = RecognitionRun.objects.create(legal_entity=contract.legal_entity,
                                            period=date(2026, 1, 1))
        recognition_run_execute(run_id=run.pk)
        contract_estimate_add(contract=contract, actor=actor, effective_month=date(2026, 2, 1),
                              total_hours=D("160"))
        run = RecognitionRun.objects.create(legal_entity=contract.legal_entity,
                                            period=date(2026, 2, 1))
        recognition_run_execute(run_id=run.pk)

        amounts = list(RecognitionEntry.objects.filter(contract=contract).order_by("month")
                       .values_list("amount", flat=True))
        assert amounts == [D("10000.00"), D("-5000.00")]  # 8/80 then 8/160 of the value
