"""Project health figures to the cent, each percent-complete source, the burn chart, and the
fixed number of queries of `project_health_many`."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import BilledItem
from insight.selectors.health import ProjectHealth, project_health, project_health_many
from psa.models import Contract, Expense, Milestone, Project, TimeEntry
from revenue.models import ContractEstimate
from tests.billing.factories import BilledItemFactory, InvoiceFactory, InvoiceLineFactory
from tests.psa.factories import (
    ContractFactory,
    ExpenseFactory,
    MilestoneFactory,
    PersonFactory,
    ProjectFactory,
    ProjectMemberFactory,
    TaskFactory,
    TimeEntryFactory,
)

TODAY = date(2026, 6, 17)  # a Wednesday: the last complete week is 8 to 14 June
MS = Milestone.Status


def approved(task, person, day, hours, **kwargs) -> TimeEntry:
    return TimeEntryFactory(task=task, person=person, work_date=day, hours=Decimal(hours),
                            approved=True, **kwargs)


def health_of(project: Project, today: date = TODAY) -> ProjectHealth:
    return project_health(project=project, today=today)


def aware(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@pytest.fixture
def project(db) -> Project:
    """Budget 250 h, 16,000.00 cost, 30,000.00 revenue; 15.25 approved hours (1,220.00 at
    80.00) and 35.50 of approved expenses: 1,255.50 actual cost."""
    project = ProjectFactory(budget_hours=Decimal("250.00"),
                             budget_cost_amount=Decimal("16000.00"),
                             budget_revenue_amount=Decimal("30000.00"))
    task = TaskFactory(project=project, budget_hours=Decimal("0.00"))
    person = PersonFactory()
    approved(task, person, date(2026, 3, 2), "8.00")
    approved(task, person, date(2026, 3, 3), "7.25", status=TimeEntry.Status.INVOICED)
    TimeEntryFactory(task=task, person=person, work_date=date(2026, 3, 4), hours=Decimal("4"))
    TimeEntryFactory(task=task, person=person, work_date=date(2026, 3, 5), hours=Decimal("3"),
                     submitted=True)
    ExpenseFactory(project=project, person=person, status=Expense.Status.APPROVED)
    ExpenseFactory(project=project, person=person)  # a draft: not an actual
    return project


@pytest.mark.django_db
class TestBudgetAndEac:
    def test_burn_in_hours_and_cost(self, project):
        health = health_of(project)

        assert health.actual_hours == Decimal("15.25")
        assert health.actual_cost_amount == Decimal("1255.50")
        assert health.burn_hours_percent == Decimal("6.10")
        assert health.burn_cost_percent == Decimal("7.85")  # 1,255.50 ÷ 16,000.00
        assert health.burn_basis == "hours"
        assert health.burn_percent == Decimal("6.10")

    def test_cost_in_another_currency_is_kept_apart(self, project):
        approved(TaskFactory(project=project), PersonFactory(), date(2026, 3, 9), "2.00",
                 cost_currency="GBP", cost_rate=Decimal("60.0000"))

        health = health_of(project)

        assert health.actual_cost_amount == Decimal("1255.50")
        assert health.actual_hours == Decimal("17.25")
        assert health.other_currency_costs == {"GBP": Decimal("120.00")}
        # The burn chart burns every hour; its cost line stays in the project's currency.
        assert health.burn_chart[-1].actual_hours == Decimal("17.25")
        assert health.burn_chart[-1].actual_cost_amount == Decimal("1255.50")

    def test_eac_without_estimate_is_actual_plus_remaining_budget(self, project):
        health = health_of(project)

        assert health.estimated_total_cost_amount is None
        assert health.estimate_to_complete_amount == Decimal("14744.50")
        assert health.eac_cost_amount == Decimal("16000.00")
        assert health.sold_margin_percent == Decimal("46.67")  # 14,000 ÷ 30,000
        assert health.eac_margin_percent == Decimal("46.67")

    def test_eac_over_budget_never_adds_a_negative_remainder(self, project):
        project.budget_cost_amount = Decimal("1000.00")
        project.budget_revenue_amount = Decimal("2500.00")
        project.save()

        health = health_of(project)

        assert health.estimate_to_complete_amount == Decimal("0.00")
        assert health.eac_cost_amount == Decimal("1255.50")
        assert health.sold_margin_percent == Decimal("60.00")  # 1,500 ÷ 2,500
        assert health.eac_margin_percent == Decimal("49.78")  # 1,244.50 ÷ 2,500

    def test_eac_with_an_estimate_is_actual_plus_estimate_to_complete(self, project):
        ContractEstimate.objects.create(contract=project.contract,
                                        effective_month=date(2026, 2, 1),
                                        total_cost_amount=Decimal("5000.00"))

        health = health_of(project)

        assert health.estimated_total_cost_amount == Decimal("5000.00")
        assert health.estimate_to_complete_amount == Decimal("3744.50")
        assert health.eac_cost_amount == Decimal("5000.00")
        assert health.eac_margin_percent == Decimal("83.33")  # 25,000 ÷ 30,000

    def test_no_revenue_budget_gives_no_margins(self, project):
        project.budget_revenue_amount = Decimal("0.00")
        project.save()

        health = health_of(project)

        assert health.sold_margin_percent is None
        assert health.eac_margin_percent is None


@pytest.mark.django_db
class TestPercentComplete:
    def test_from_the_estimate_in_force(self, project):
        ContractEstimate.objects.create(contract=project.contract,
                                        effective_month=date(2026, 1, 1),
                                        total_cost_amount=Decimal("8000.00"))
        ContractEstimate.objects.create(contract=project.contract,
                                        effective_month=date(2026, 5, 1),
                                        total_cost_amount=Decimal("5000.00"))
        ContractEstimate.objects.create(contract=project.contract,  # not in force yet
                                        effective_month=date(2026, 7, 1),
                                        total_cost_amount=Decimal("2000.00"))
        MilestoneFactory(project=project, status=MS.COMPLETED)  # an estimate comes first

        health = health_of(project)

        assert health.percent_complete_source == "estimate"
        assert health.percent_complete == Decimal("25.11")  # 1,255.50 ÷ 5,000.00

    def test_estimate_shared_among_the_contracts_projects_by_budget_cost(self, project):
        ProjectFactory(contract=project.contract, budget_cost_amount=Decimal("4000.00"))
        ContractEstimate.objects.create(contract=project.contract,
                                        effective_month=date(2026, 1, 1),
                                        total_cost_amount=Decimal("10000.00"))

        health = health_of(project)

        # 16,000 of the contract's 20,000 budget cost: 8,000.00 of the estimate
        assert health.estimated_total_cost_amount == Decimal("8000.00")
        assert health.percent_complete == Decimal("15.69")  # 1,255.50 ÷ 8,000.00
        assert health.eac_cost_amount == Decimal("8000.00")

    def test_estimate_over_actual_caps_at_one_hundred(self, project):
        ContractEstimate.objects.create(contract=project.contract,
                                        effective_month=date(2026, 1, 1),
                                        total_cost_amount=Decimal("1000.00"))

        health = health_of(project)

        assert health.percent_complete == Decimal("100")
        assert health.estimate_to_complete_amount == Decimal("0.00")
        assert health.eac_cost_amount == Decimal("1255.50")

    def test_latest_estimate_without_cost_falls_back_to_milestones(self, project):
        ContractEstimate.objects.create(contract=project.contract,
                                        effective_month=date(2026, 1, 1),
                                        total_cost_amount=Decimal("5000.00"))
        ContractEstimate.objects.create(contract=project.contract,
                                        effective_month=date(2026, 4, 1),
                                        total_hours=Decimal("300.00"))
        MilestoneFactory(project=project, amount=Decimal("10000.00"), status=MS.COMPLETED)
        MilestoneFactory(project=project, amount=Decimal("5000.00"), status=MS.ACCEPTED)
        MilestoneFactory(project=project, amount=Decimal("5000.00"), status=MS.INVOICED)
        MilestoneFactory(project=project, amount=Decimal("20000.00"))

        health = health_of(project)

        assert health.percent_complete_source == "milestones"
        assert health.percent_complete == Decimal("50.00")  # 20,000 of 40,000
        assert health.estimated_total_cost_amount is None

    def test_from_closed_leaf_tasks_budget_hours(self, project):
        parent = TaskFactory(project=project, budget_hours=Decimal("500.00"), is_open=False)
        TaskFactory(project=project, parent=parent, budget_hours=Decimal("30.00"),
                    is_open=False)
        TaskFactory(project=project, parent=parent, budget_hours=Decimal("90.00"))

        health = health_of(project)

        assert health.percent_complete_source == "tasks"
        assert health.percent_complete == Decimal("25.00")  # 30 of 30 + 90 (+ 0 logged on)

    def test_none_without_any_source(self, project):
        health = health_of(project)

        assert health.percent_complete_source == "none"
        assert health.percent_complete is None


@pytest.mark.django_db
class TestMilestonesAndWork:
    def test_milestones_due_soon_and_overdue(self, project):
        for due, status in [(date(2026, 6, 20), MS.PLANNED), (date(2026, 7, 17), MS.COMPLETED),
                            (date(2026, 7, 18), MS.PLANNED), (date(2026, 6, 1), MS.PLANNED),
                            (date(2026, 6, 16), MS.COMPLETED), (date(2026, 5, 1), MS.ACCEPTED),
                            (date(2026, 5, 2), MS.INVOICED)]:
            MilestoneFactory(project=project, due_date=due, status=status,
                             amount=Decimal("1000.00") if due.month == 6 else Decimal("500.25"))

        health = health_of(project)

        assert health.milestones_due_soon == 2  # 20 June and 17 July (the 30th day)
        assert health.milestones_due_soon_amount == Decimal("1500.25")
        # Only the 1 June planned one: 16 June is completed (awaiting acceptance, which the
        # "acceptance delayed" flag watches), as the overdue flag counts.
        assert health.milestones_overdue == 1
        assert health.milestones_overdue_amount == Decimal("1000.00")

    def test_unbilled_time_and_milestones(self, db):
        project = ProjectFactory()
        task = TaskFactory(project=project)
        person = PersonFactory()
        approved(task, person, date(2026, 3, 2), "8.00")
        approved(task, person, date(2026, 3, 3), "2.50", bill_rate=Decimal("175.0000"))
        released = approved(task, person, date(2026, 3, 4), "4.00")
        linked = approved(task, person, date(2026, 3, 5), "6.00")
        approved(TaskFactory(project=project, is_billable=False), person, date(2026, 3, 6), "3")
        approved(task, person, date(2026, 3, 9), "5.00", status=TimeEntry.Status.INVOICED)
        TimeEntryFactory(task=task, person=person, work_date=date(2026, 3, 10), submitted=True)
        line = InvoiceLineFactory(invoice=InvoiceFactory(contract=project.contract),
                                  project=project)
        BilledItemFactory(line=line, time_entry=linked)
        BilledItemFactory(line=line, time_entry=released, is_live=False)
        MilestoneFactory(project=project, amount=Decimal("5000.00"), status=MS.ACCEPTED)
        MilestoneFactory(project=project, amount=Decimal("1000.00"), status=MS.COMPLETED,
                         requires_acceptance=False)
        MilestoneFactory(project=project, amount=Decimal("700.00"), status=MS.COMPLETED)
        MilestoneFactory(project=project, amount=Decimal("900.00"), status=MS.INVOICED)

        health = health_of(project)

        assert BilledItem.objects.filter(is_live=True).count() == 1
        assert health.unbilled_time_hours == Decimal("14.50")
        assert health.unbilled_time_amount == Decimal("2237.50")  # 1,200 + 437.50 + 600
        assert health.unbilled_milestone_amount == Decimal("6000.00")
        assert health.unbilled_amount == Decimal("8237.50")

    def test_fixed_fee_time_is_never_unbilled(self, db):
        contract = ContractFactory(billing_model=Contract.BillingModel.FIXED_MILESTONES,
                                   revenue_method=Contract.RevenueMethod.MILESTONE)
        project = ProjectFactory(contract=contract)
        approved(TaskFactory(project=project), PersonFactory(), date(2026, 3, 2), "8.00")

        health = health_of(project)

        assert health.actual_hours == Decimal("8.00")
        assert health.unbilled_time_amount == Decimal("0.00")

    def test_unsubmitted_work(self, project):
        task = TaskFactory(project=project)
        entered, silent, left, late = (PersonFactory(first_name=name) for name in
                                       ("Ada", "Bo", "Cy", "Di"))
        left.termination_date = date(2026, 6, 5)
        left.save()
        for person in (entered, silent, left, late):
            ProjectMemberFactory(project=project, person=person)
        # time on another project in the week counts: the timesheet is not missing
        TimeEntryFactory(person=entered, work_date=date(2026, 6, 14), hours=Decimal("2.00"))
        TimeEntryFactory(person=late, task=task, work_date=date(2026, 6, 15))  # this week
        TimeEntryFactory(person=late, task=task, work_date=date(2026, 6, 16),
                         hours=Decimal("3.50"))

        health = health_of(project)

        assert health.draft_hours == Decimal("15.50")  # 4 + 8 + 3.50; submitted not counted
        assert health.last_week_start == date(2026, 6, 8)
        assert [p.first_name for p in health.people_without_time] == ["Bo", "Di"]
        assert {p.first_name for p in health.team} == {"Ada", "Bo", "Cy", "Di"}


@pytest.mark.django_db
class TestBurnChart:
    def test_cumulative_actuals_against_the_linear_budget_line(self, db):
        project = ProjectFactory(start_date=date(2026, 6, 1), end_date=date(2026, 6, 28),
                                 budget_hours=Decimal("100.00"),
                                 budget_cost_amount=Decimal("8000.00"))
        task = TaskFactory(project=project)
        person = PersonFactory()
        approved(task, person, date(2026, 5, 29), "6.00")  # before the start: first week
        approved(task, person, date(2026, 6, 2), "8.00")
        approved(task, person, date(2026, 6, 9), "8.00")
        approved(task, person, date(2026, 6, 10), "4.00")
        TimeEntryFactory(task=task, person=person, work_date=date(2026, 6, 16))  # draft
        ExpenseFactory(project=project, person=person, expense_date=date(2026, 6, 3),
                       status=Expense.Status.APPROVED, amount=Decimal("35.50"))

        chart = health_of(project).burn_chart

        assert [p.week_start for p in chart] == [date(2026, 6, 1), date(2026, 6, 8),
                                                 date(2026, 6, 15)]
        assert [p.actual_hours for p in chart] == [Decimal("14.00"), Decimal("26.00"),
                                                   Decimal("26.00")]
        assert [p.actual_cost_amount for p in chart] == [Decimal("1155.50"),
                                                         Decimal("2115.50"),
                                                         Decimal("2115.50")]
        assert [p.planned_hours for p in chart] == [Decimal("25.00"), Decimal("50.00"),
                                                    Decimal("75.00")]
        assert [p.planned_cost_amount for p in chart] == [Decimal("2000.00"),
                                                          Decimal("4000.00"),
                                                          Decimal("6000.00")]

    def test_no_chart_before_the_project_starts(self, db):
        project = ProjectFactory(start_date=date(2026, 7, 1), end_date=date(2026, 9, 30))

        assert health_of(project).burn_chart == ()


def _busy_project(index: int) -> Project:
    project = ProjectFactory()
    task = TaskFactory(project=project)
    person = PersonFactory()
    ProjectMemberFactory(project=project, person=person)
    approved(task, person, date(2026, 3, 2), "8.00")
    approved(task, person, date(2026, 6, 9), "8.00")
    TimeEntryFactory(task=task, person=person, work_date=date(2026, 6, 10))
    ExpenseFactory(project=project, person=person, status=Expense.Status.APPROVED)
    MilestoneFactory(project=project, status=MS.ACCEPTED, accepted_at=aware(date(2026, 6, 1)))
    MilestoneFactory(project=project, due_date=date(2026, 6, 1))
    ContractEstimate.objects.create(contract=project.contract, effective_month=date(2026, 1, 1),
                                    total_cost_amount=Decimal("9000.00") + index)
    return project


def _queries(ids: list[int], with_burn_chart: bool) -> int:
    with CaptureQueriesContext(connection) as captured:
        result = project_health_many(projects=Project.objects.filter(pk__in=ids), today=TODAY,
                                     with_burn_chart=with_burn_chart)
    assert len(result) == len(ids)
    return len(captured.captured_queries)


@pytest.mark.django_db
def test_project_health_many_costs_the_same_queries_for_3_and_15_projects():
    projects = [_busy_project(index) for index in range(15)]
    ids = [project.pk for project in projects]

    three, fifteen = _queries(ids[:3], True), _queries(ids, True)

    assert three == fifteen == 10
    assert _queries(ids[:3], False) == _queries(ids, False) == 8


@pytest.mark.django_db
def test_many_agrees_with_one():
    projects = [_busy_project(index) for index in range(3)]

    many = project_health_many(projects=Project.objects.all(), today=TODAY)

    for project in projects:
        assert many[project.pk] == health_of(project)
