"""Schedule plans: every method's plan adds up to the value (or the cap), the ratable plan
is recognition's split to the cent, a refresh is idempotent, never touches what was
recognised, and costs the same number of queries for 5 months as for 30."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from psa.models import Contract
from revenue.models import RecognitionRun, RevenueSchedule, ScheduleLine
from revenue.services.recognition import recognition_run_execute
from revenue.services.schedules import plan_for, schedule_plan_refresh
from tests.psa.factories import ContractFactory, MilestoneFactory, ProjectFactory

D = Decimal
Method = Contract.RevenueMethod
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def planned(contract: Contract) -> dict[date, Decimal]:
    return dict(ScheduleLine.objects.filter(schedule__contract=contract).order_by("month")
                .values_list("month", "planned_amount"))


def recognise(contract: Contract, month: date) -> RecognitionRun:
    run = RecognitionRun.objects.create(legal_entity=contract.legal_entity, period=month)
    return recognition_run_execute(run_id=run.pk)


@pytest.mark.django_db
class TestSchedulePlanRefresh:
    def test_ratable_plan_is_the_worked_example_to_the_cent(self):
        contract = ContractFactory(revenue_method=Method.RATABLE, value_amount=D("10000.00"),
                                   start_date=JAN, end_date=date(2026, 3, 31))

        schedule = schedule_plan_refresh(contract=contract)

        assert planned(contract) == {JAN: D("3444.44"), FEB: D("3111.11"), MAR: D("3444.45")}
        assert (schedule.method, schedule.currency, schedule.value_amount) == (
            Method.RATABLE, contract.currency, D("10000.00"))
        march = ScheduleLine.objects.get(schedule=schedule, month=MAR)
        assert "31 of 90 days" in march.explanation and "residual" in march.explanation
        assert march.inputs["days"] == "31" and march.inputs["source"] == "plan"

    def test_ratable_plan_equals_what_recognition_posts(self):
        contract = ContractFactory(revenue_method=Method.RATABLE, value_amount=D("7777.77"),
                                   start_date=date(2026, 1, 17), end_date=date(2026, 3, 5))
        schedule_plan_refresh(contract=contract)
        for month in (JAN, FEB, MAR):
            recognise(contract, month)
        lines = ScheduleLine.objects.filter(schedule__contract=contract)
        assert all(line.planned_amount == line.recognised_amount for line in lines)
        assert sum(line.planned_amount for line in lines) == D("7777.77")

    def test_milestone_plan_puts_amounts_in_due_months_and_the_uncovered_rest_last(self):
        contract = ContractFactory(revenue_method=Method.MILESTONE,
                                   billing_model=Contract.BillingModel.FIXED_MILESTONES,
                                   value_amount=D("60000.00"), start_date=JAN,
                                   end_date=date(2026, 4, 30))
        project = ProjectFactory(contract=contract)
        MilestoneFactory(project=project, name="Design", amount=D("20000.00"),
                         due_date=date(2026, 2, 14))
        MilestoneFactory(project=project, name="Build", amount=D("25000.00"),
                         due_date=date(2026, 2, 27))
        MilestoneFactory(project=project, name="Early", amount=D("5000.00"),
                         due_date=date(2025, 11, 30))  # before the service: first month

        schedule_plan_refresh(contract=contract)

        assert planned(contract) == {JAN: D("5000.00"), FEB: D("45000.00"), MAR: D("0.00"),
                                     date(2026, 4, 1): D("10000.00")}
        april = ScheduleLine.objects.get(schedule__contract=contract, month=date(2026, 4, 1))
        assert "not yet covered by a milestone 10,000.00" in april.explanation
        february = ScheduleLine.objects.get(schedule__contract=contract, month=FEB)
        assert "Design" in february.explanation and "Build" in february.explanation

    def test_milestone_plan_never_exceeds_the_value(self):
        contract = ContractFactory(revenue_method=Method.MILESTONE, value_amount=D("30000.00"),
                                   start_date=JAN, end_date=date(2026, 2, 28))
        project = ProjectFactory(contract=contract)
        MilestoneFactory(project=project, amount=D("20000.00"), due_date=date(2026, 1, 20))
        MilestoneFactory(project=project, amount=D("20000.00"), due_date=date(2026, 2, 20))

        schedule_plan_refresh(contract=contract)

        assert planned(contract) == {JAN: D("20000.00"), FEB: D("10000.00")}

    @pytest.mark.parametrize("method", [Method.PERCENT_COMPLETE_COST,
                                        Method.PERCENT_COMPLETE_HOURS])
    def test_percent_complete_plan_spreads_the_value_by_days(self, method):
        contract = ContractFactory(revenue_method=method, value_amount=D("120000.00"),
                                   start_date=JAN, end_date=date(2026, 3, 31))

        schedule_plan_refresh(contract=contract)

        assert planned(contract) == {JAN: D("41333.33"), FEB: D("37333.33"),
                                     MAR: D("41333.34")}
        assert "planned evenly" in ScheduleLine.objects.filter(
            schedule__contract=contract).first().explanation

    def test_capped_time_and_materials_plan_adds_up_to_the_cap(self):
        contract = ContractFactory(revenue_method=Method.AS_DELIVERED,
                                   billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP,
                                   value_amount=D("50000.00"), cap_amount=D("40000.00"),
                                   start_date=JAN, end_date=date(2026, 3, 31))

        schedule_plan_refresh(contract=contract)

        assert sum(planned(contract).values()) == D("40000.00")
        assert "at the cap" in ScheduleLine.objects.filter(
            schedule__contract=contract).first().explanation

    def test_a_second_refresh_changes_nothing(self):
        contract = ContractFactory(revenue_method=Method.RATABLE, start_date=JAN,
                                   end_date=date(2026, 6, 30))
        schedule = schedule_plan_refresh(contract=contract)
        before = list(ScheduleLine.objects.filter(schedule=schedule).order_by("month")
                      .values_list("pk", "month", "planned_amount", "explanation",
                                   "updated_at"))
        version = RevenueSchedule.objects.get(pk=schedule.pk).updated_at

        again = schedule_plan_refresh(contract=contract)

        assert again.pk == schedule.pk and RevenueSchedule.objects.count() == 1
        assert list(ScheduleLine.objects.filter(schedule=schedule).order_by("month")
                    .values_list("pk", "month", "planned_amount", "explanation",
                                 "updated_at")) == before
        assert RevenueSchedule.objects.get(pk=schedule.pk).updated_at == version

    def test_a_value_change_replans_but_keeps_what_was_recognised(self):
        contract = ContractFactory(revenue_method=Method.RATABLE, value_amount=D("10000.00"),
                                   start_date=JAN, end_date=date(2026, 3, 31))
        schedule_plan_refresh(contract=contract)
        recognise(contract, JAN)
        january = ScheduleLine.objects.get(schedule__contract=contract, month=JAN)
        run_explanation = january.explanation

        Contract.objects.filter(pk=contract.pk).update(value_amount=D("13000.00"))
        contract.refresh_from_db()
        schedule = schedule_plan_refresh(contract=contract)

        january.refresh_from_db()
        assert january.recognised_amount == D("3444.44")
        assert january.explanation == run_explanation  # the run's, not the plan's
        assert january.planned_amount == D("4477.78")
        assert sum(planned(contract).values()) == D("13000.00")
        assert schedule.value_amount == D("13000.00")
        february = ScheduleLine.objects.get(schedule=schedule, month=FEB)
        assert "13,000.00" in february.explanation  # a month no run explained: the plan's

    def test_months_outside_a_shortened_contract_go_unless_recognised(self):
        contract = ContractFactory(revenue_method=Method.RATABLE, value_amount=D("12000.00"),
                                   start_date=JAN, end_date=date(2026, 6, 30))
        schedule_plan_refresh(contract=contract)
        recognise(contract, JAN)
        Contract.objects.filter(pk=contract.pk).update(start_date=FEB,
                                                       end_date=date(2026, 3, 31))
        contract.refresh_from_db()

        schedule_plan_refresh(contract=contract)

        months = planned(contract)
        assert list(months) == [JAN, FEB, MAR]  # April to June removed, January recognised
        assert months[JAN] == D("0.00")
        assert months[FEB] + months[MAR] == D("12000.00")
        assert ScheduleLine.objects.get(schedule__contract=contract,
                                        month=JAN).recognised_amount > 0

    def test_a_line_a_run_created_gets_its_planned_amount(self):
        contract = ContractFactory(revenue_method=Method.RATABLE, value_amount=D("3100.00"),
                                   start_date=JAN, end_date=date(2026, 1, 31))
        recognise(contract, JAN)  # no plan yet: the run creates the schedule and the line
        schedule_plan_refresh(contract=contract)
        line = ScheduleLine.objects.get(schedule__contract=contract)
        assert line.planned_amount == line.recognised_amount == D("3100.00")

    def test_the_query_count_does_not_depend_on_the_contract_length(self):
        def queries(end: date, method: str) -> int:
            contract = ContractFactory(revenue_method=method, start_date=JAN, end_date=end)
            MilestoneFactory(project=ProjectFactory(contract=contract))
            with CaptureQueriesContext(connection) as first:
                schedule_plan_refresh(contract=contract)
            Contract.objects.filter(pk=contract.pk).update(value_amount=D("90000.00"))
            contract.refresh_from_db()
            with CaptureQueriesContext(connection) as second:
                schedule_plan_refresh(contract=contract)
            return len(first) + len(second)

        for method in (Method.RATABLE, Method.MILESTONE):
            assert queries(date(2026, 5, 31), method) == queries(date(2028, 6, 30), method)


@settings(max_examples=60, deadline=None)
@given(value=st.decimals(min_value=0, max_value=10**9, places=2),
       start=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
       days=st.integers(min_value=0, max_value=1500),
       method=st.sampled_from([Method.RATABLE, Method.PERCENT_COMPLETE_COST,
                               Method.PERCENT_COMPLETE_HOURS, Method.AS_DELIVERED]))
def test_every_day_based_plan_adds_up_to_the_value(value, start, days, method):
    from datetime import timedelta

    contract = ContractFactory.build(revenue_method=method, value_amount=value,
                                     start_date=start, end_date=start + timedelta(days=days),
                                     currency="USD", cap_amount=None)
    plan = plan_for(contract)
    assert sum(p.amount for p in plan) == value
    assert [p.month for p in plan] == sorted({p.month for p in plan})
    if value >= 10000:  # below a few cents a month, the rounded parts may overshoot the value
        assert all(p.amount >= 0 for p in plan)


@settings(max_examples=60, deadline=None)
@given(value=st.decimals(min_value=0, max_value=10**7, places=2),
       amounts=st.lists(st.decimals(min_value=0, max_value=10**6, places=2), max_size=8))
def test_every_milestone_plan_adds_up_to_the_value(value, amounts):
    contract = ContractFactory.build(revenue_method=Method.MILESTONE, value_amount=value,
                                     start_date=JAN, end_date=date(2026, 12, 31),
                                     currency="USD")
    milestones = [MilestoneFactory.build(amount=amount, due_date=date(2026, 1 + i % 12, 15),
                                         name=f"M{i}") for i, amount in enumerate(amounts)]
    plan = plan_for(contract, milestones)
    assert sum(p.amount for p in plan) == value
    assert all(p.amount >= 0 for p in plan)


def test_milestone_accepted_time_is_not_the_plan():
    """The plan is by due date; when a milestone is accepted only moves what is recognised."""
    contract = ContractFactory.build(revenue_method=Method.MILESTONE, value_amount=D("100.00"),
                                     start_date=JAN, end_date=date(2026, 2, 28), currency="USD")
    milestone = MilestoneFactory.build(amount=D("100.00"), due_date=date(2026, 2, 1),
                                       accepted_at=datetime(2026, 1, 5, tzinfo=UTC))
    assert [p.amount for p in plan_for(contract, [milestone])] == [D("0.00"), D("100.00")]
