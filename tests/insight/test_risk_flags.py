"""Each risk flag fires on a project built to raise it, with the numbers in its explanation,
and stays quiet on a near miss; the score; and the fixed number of queries."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice, InvoiceLine
from insight.selectors.risk_flags import RiskFlag, project_risk, project_risks_many
from psa.models import ChangeOrder, Milestone, Project, TimeEntry
from resourcing.models import Assignment
from tests.billing.factories import (
    BilledItemFactory,
    CreditNoteFactory,
    InvoiceFactory,
    InvoiceLineFactory,
)
from tests.psa.factories import (
    ChangeOrderFactory,
    MilestoneFactory,
    PersonFactory,
    ProjectFactory,
    ProjectMemberFactory,
    TaskFactory,
    TimeEntryFactory,
)
from tests.resourcing.factories import AssignmentFactory

TODAY = date(2026, 6, 17)  # a Wednesday
MS = Milestone.Status


def flags(project: Project, today: date = TODAY) -> dict[str, RiskFlag]:
    return {flag.code: flag for flag in project_risk(project=project, today=today).flags}


def log_hours(project: Project, total: int, *, billable: bool = True,
              first: date = date(2026, 3, 2), person=None,
              status: str = TimeEntry.Status.APPROVED) -> list[TimeEntry]:
    """`total` hours as approved 8-hour days (the last one shorter) from `first` onwards."""
    task = TaskFactory(project=project, is_billable=billable, budget_hours=Decimal("0.00"))
    person = person or PersonFactory()
    entries, day, left = [], first, Decimal(total)
    while left > 0:
        hours = min(left, Decimal(8))
        entries.append(TimeEntryFactory(task=task, person=person, work_date=day, hours=hours,
                                        approved=True, status=status))
        left -= hours
        day += timedelta(days=1)
    return entries


def aware(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@pytest.mark.django_db
class TestBurnAhead:
    def _project(self, hours: int) -> Project:
        project = ProjectFactory(budget_hours=Decimal("100.00"))
        MilestoneFactory(project=project, amount=Decimal("40000.00"), status=MS.ACCEPTED)
        MilestoneFactory(project=project, amount=Decimal("60000.00"),
                         due_date=date(2026, 9, 30))
        log_hours(project, hours)
        return project

    def test_fires_when_burn_runs_15_points_ahead(self):
        flag = flags(self._project(72))["burn_ahead"]

        assert flag.severity == "high"
        assert ("Burn 72.0 % of budget hours against 40.0 % complete "
                "(32.0 points ahead; threshold 15)") in flag.explanation
        assert "milestone" in flag.explanation

    def test_fires_at_exactly_15_points(self):
        assert "burn_ahead" in flags(self._project(55))

    def test_quiet_at_14_points_ahead(self):
        assert "burn_ahead" not in flags(self._project(54))

    def test_uses_cost_without_an_hour_budget(self):
        project = ProjectFactory(budget_hours=Decimal("0.00"),
                                 budget_cost_amount=Decimal("4000.00"))
        MilestoneFactory(project=project, amount=Decimal("1000.00"), status=MS.COMPLETED)
        MilestoneFactory(project=project, amount=Decimal("3000.00"), due_date=date(2026, 9, 1))
        log_hours(project, 30)  # 30 h x 80.00 = 2,400.00: 60 % of the cost budget

        flag = flags(project)["burn_ahead"]

        assert ("Burn 60.0 % of budget cost against 25.0 % complete (35.0 points ahead"
                in flag.explanation)

    def test_quiet_without_percent_complete(self):
        project = ProjectFactory(budget_hours=Decimal("100.00"))
        log_hours(project, 90)

        assert "burn_ahead" not in flags(project)


@pytest.mark.django_db
class TestLowRealization:
    def _project(self, adjustment: str, *, issued: bool = True) -> Project:
        project = ProjectFactory()
        entries = log_hours(project, 16, status=TimeEntry.Status.INVOICED)  # 2,400.00 agreed
        invoice = (InvoiceFactory(contract=project.contract, issued=True) if issued
                   else InvoiceFactory(contract=project.contract))
        line = InvoiceLineFactory(invoice=invoice, project=project, quantity=Decimal("16.00"),
                                  adjustment=Decimal(adjustment),
                                  adjustment_reason=InvoiceLine.AdjustmentReason.GOODWILL
                                  if Decimal(adjustment) else "")
        for entry in entries:
            BilledItemFactory(line=line, time_entry=entry)
        return project

    def test_fires_below_85_percent(self):
        flag = flags(self._project("-480.00"))["low_realization"]

        assert flag.severity == "high"
        assert flag.explanation == (
            "Realization 80.0 %: billed 1,920.00 USD for time agreed at 2,400.00 USD "
            "(threshold 85 %).")

    def test_credit_notes_count_against_billed(self):
        project = self._project("0.00")
        line = InvoiceLine.objects.get(project=project)
        note = CreditNoteFactory(credited_invoice=line.invoice,
                                 status=Invoice.Status.ISSUED, number="CN-1",
                                 issue_date=date(2026, 4, 30))
        InvoiceLineFactory(invoice=note, kind=InvoiceLine.Kind.CREDIT, project=project,
                           credited_line=line, quantity=None, unit_price=None,
                           base_amount=Decimal("600.00"))

        flag = flags(project)["low_realization"]

        assert "Realization 75.0 %: billed 1,800.00 USD, after 600.00 USD of credit notes" in (
            flag.explanation)

    def test_quiet_at_87_5_percent(self):
        assert "low_realization" not in flags(self._project("-300.00"))

    def test_quiet_without_billed_time(self):
        project = self._project("-1200.00", issued=False)  # a draft invoice bills nothing yet
        log_hours(project, 40, first=date(2026, 4, 1))

        assert "low_realization" not in flags(project)


@pytest.mark.django_db
class TestNonBillableHigh:
    def _project(self, billable: int, non_billable: int, **kwargs: object) -> Project:
        project = ProjectFactory(**kwargs)
        log_hours(project, billable)
        log_hours(project, non_billable, billable=False)
        return project

    def test_fires_above_20_percent(self):
        flag = flags(self._project(38, 12))["non_billable_high"]

        assert flag.severity == "medium"
        assert flag.explanation.startswith(
            "12.00 of 50.00 actual hours are non-billable (24.0 %; threshold 20 %")

    def test_quiet_at_20_percent(self):
        assert "non_billable_high" not in flags(self._project(40, 10))

    def test_quiet_under_40_hours(self):
        assert "non_billable_high" not in flags(self._project(15, 24))

    def test_quiet_on_internal_projects(self):
        project = self._project(0, 60, contract=None, client=None, is_internal=True,
                                legal_entity=PersonFactory().legal_entity, currency="USD")

        assert "non_billable_high" not in flags(project)


@pytest.mark.django_db
class TestMilestones:
    def test_overdue_fires_for_a_planned_milestone_past_due(self):
        project = ProjectFactory()
        MilestoneFactory(project=project, due_date=date(2026, 6, 1))
        MilestoneFactory(project=project, due_date=date(2026, 6, 10))

        flag = flags(project)["milestone_overdue"]

        assert flag.severity == "high"
        assert flag.explanation == ("2 milestones past due and not completed; the oldest was "
                                    "due 2026-06-01 (16 days ago).")

    def test_overdue_quiet_when_completed_or_due_today(self):
        project = ProjectFactory()
        MilestoneFactory(project=project, due_date=date(2026, 6, 1), status=MS.COMPLETED,
                         requires_acceptance=False, completed_at=aware(date(2026, 6, 1)))
        MilestoneFactory(project=project, due_date=TODAY)

        assert "milestone_overdue" not in flags(project)

    def test_acceptance_delayed_fires_after_14_days(self):
        project = ProjectFactory()
        MilestoneFactory(project=project, due_date=date(2026, 7, 1), status=MS.COMPLETED,
                         completed_at=aware(date(2026, 6, 2)))

        flag = flags(project)["acceptance_delayed"]

        assert flag.severity == "medium"
        assert flag.explanation == (
            "1 completed milestone not accepted; the oldest was completed 2026-06-02, 15 days "
            "ago (threshold 14 days).")

    def test_acceptance_delayed_quiet_at_14_days_or_without_acceptance(self):
        project = ProjectFactory()
        MilestoneFactory(project=project, due_date=date(2026, 7, 1), status=MS.COMPLETED,
                         completed_at=aware(date(2026, 6, 3)))
        MilestoneFactory(project=project, due_date=date(2026, 7, 1), status=MS.COMPLETED,
                         requires_acceptance=False, completed_at=aware(date(2026, 5, 1)))
        MilestoneFactory(project=project, due_date=date(2026, 7, 1), status=MS.ACCEPTED,
                         completed_at=aware(date(2026, 5, 1)))

        assert "acceptance_delayed" not in flags(project)


@pytest.mark.django_db
class TestRepeatedChangeOrders:
    def test_fires_at_three_in_180_days(self):
        project = ProjectFactory()
        for effective, status in [(date(2026, 1, 5), ChangeOrder.Status.APPROVED),
                                  (date(2026, 4, 1), ChangeOrder.Status.APPROVED),
                                  (date(2026, 7, 1), ChangeOrder.Status.PENDING)]:
            ChangeOrderFactory(contract=project.contract, effective_date=effective, status=status)

        flag = flags(project)["repeated_change_orders"]

        assert flag.severity == "medium"
        assert flag.explanation == (
            f"3 change orders on contract {project.contract.code} in the last 180 days "
            "(2 approved, 1 pending; threshold 3).")

    def test_quiet_with_rejected_or_older_ones(self):
        project = ProjectFactory()
        for effective, status in [(date(2025, 12, 18), ChangeOrder.Status.APPROVED),
                                  (date(2026, 4, 1), ChangeOrder.Status.REJECTED),
                                  (date(2026, 4, 2), ChangeOrder.Status.APPROVED),
                                  (date(2026, 5, 1), ChangeOrder.Status.PENDING)]:
            ChangeOrderFactory(contract=project.contract, effective_date=effective, status=status)

        assert "repeated_change_orders" not in flags(project)


@pytest.mark.django_db
class TestOverbookedTeam:
    """The weeks of 22 June (no US holiday: 40.00 h capacity) and 29 June (3 July observed)."""

    def _project(self, *bookings: tuple[str, str]) -> Project:
        project = ProjectFactory()
        person = PersonFactory(first_name="Ada", last_name="Lovelace")
        ProjectMemberFactory(project=project, person=person)
        for hours, booking in bookings:
            AssignmentFactory(person=person, start_date=date(2026, 6, 22),
                              end_date=date(2026, 6, 26), hours_per_week=Decimal(hours),
                              booking=booking)
        return project

    def test_fires_for_hard_bookings_above_capacity(self):
        project = self._project(("30", Assignment.Booking.HARD), ("20", Assignment.Booking.HARD))
        AssignmentFactory(person=project.memberships.get().person, project=project,
                          start_date=date(2026, 6, 29), end_date=date(2026, 7, 3),
                          hours_per_week=Decimal("36.00"))

        flag = flags(project)["overbooked_team"]

        assert flag.severity == "medium"
        assert flag.explanation == (
            "1 team member overbooked in the next 4 weeks: Ada Lovelace: 50.00 h hard-booked "
            "against 40.00 h capacity in the week of 2026-06-22 (overbooked in 2 weeks).")

    def test_quiet_at_capacity_with_soft_bookings_on_top(self):
        project = self._project(("40", Assignment.Booking.HARD), ("20", Assignment.Booking.SOFT))

        assert "overbooked_team" not in flags(project)

    def test_quiet_when_the_overbooking_is_beyond_four_weeks(self):
        project = self._project()
        AssignmentFactory(person=project.memberships.get().person, start_date=date(2026, 7, 13),
                          end_date=date(2026, 7, 17), hours_per_week=Decimal("60.00"))

        assert "overbooked_team" not in flags(project)


@pytest.mark.django_db
class TestTimeAnomalies:
    def test_fires_and_says_which_and_how_many(self):
        project = ProjectFactory(start_date=date(2026, 5, 1))
        person = PersonFactory()
        first, second = TaskFactory(project=project), TaskFactory(project=project)
        for task, hours in ((first, "7.00"), (second, "6.50")):  # 13.50 h on Tuesday 9 June
            TimeEntryFactory(task=task, person=person, work_date=date(2026, 6, 9),
                             hours=Decimal(hours), approved=True)
        TimeEntryFactory(task=first, person=person, work_date=date(2026, 4, 28),
                         hours=Decimal("4.00"))  # before the project's start, a draft
        TimeEntryFactory(task=first, person=person, work_date=date(2026, 6, 13),
                         hours=Decimal("5.00"))  # a Saturday
        TimeEntryFactory(task=first, person=person, work_date=date(2026, 3, 3),
                         hours=Decimal("14.00"))  # long, but outside the 8 weeks

        flag = flags(project)["time_anomalies"]

        assert flag.severity == "medium"
        assert flag.explanation == (
            "In the last 8 weeks: 1 person-day over 12 hours (longest 13.50 h); 1 entry "
            "(4.00 h) dated outside the project's dates 2026-05-01 to 2026-12-31; 5.00 of "
            "22.50 hours on weekends (22.2 %; threshold 20 %).")

    def test_quiet_at_12_hours_and_20_percent_weekend(self):
        project = ProjectFactory()
        person = PersonFactory()
        first, second = TaskFactory(project=project), TaskFactory(project=project)
        TimeEntryFactory(task=first, person=person, work_date=date(2026, 6, 9), hours=Decimal(8))
        TimeEntryFactory(task=second, person=person, work_date=date(2026, 6, 9),
                         hours=Decimal(4))
        TimeEntryFactory(task=first, person=PersonFactory(), work_date=date(2026, 6, 9),
                         hours=Decimal(12))  # someone else's day: 12 h each, not above
        TimeEntryFactory(task=first, person=person, work_date=date(2026, 6, 14),
                         hours=Decimal(6))  # Sunday: 6 of 30 hours = 20 %
        TimeEntryFactory(task=first, person=person, work_date=date(2026, 6, 14) + timedelta(1),
                         hours=Decimal(13), status=TimeEntry.Status.REJECTED)

        assert "time_anomalies" not in flags(project)


@pytest.mark.django_db
def test_score_is_high_times_three_plus_medium_and_flags_sorted_high_first():
    project = ProjectFactory()
    MilestoneFactory(project=project, due_date=date(2026, 6, 1))
    for effective in (date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)):
        ChangeOrderFactory(contract=project.contract, effective_date=effective)

    risk = project_risk(project=project, today=TODAY)

    assert [flag.code for flag in risk.flags] == ["milestone_overdue", "repeated_change_orders"]
    assert (risk.score, risk.high_count, risk.medium_count) == (4, 1, 1)


def _risky_project() -> Project:
    project = ProjectFactory(budget_hours=Decimal("20.00"))
    person = PersonFactory()
    ProjectMemberFactory(project=project, person=person)
    entries = log_hours(project, 16, person=person, first=date(2026, 6, 8),
                        status=TimeEntry.Status.INVOICED)
    line = InvoiceLineFactory(invoice=InvoiceFactory(contract=project.contract, issued=True),
                              project=project, quantity=Decimal("16.00"),
                              adjustment=Decimal("-100.00"),
                              adjustment_reason=InvoiceLine.AdjustmentReason.OTHER)
    for entry in entries:
        BilledItemFactory(line=line, time_entry=entry)
    MilestoneFactory(project=project, due_date=date(2026, 6, 1))
    ChangeOrderFactory(contract=project.contract, effective_date=date(2026, 5, 1))
    AssignmentFactory(person=person, project=project, start_date=date(2026, 6, 22),
                      end_date=date(2026, 6, 26), hours_per_week=Decimal("45.00"))
    return project


def _queries(ids: list[int]) -> int:
    with CaptureQueriesContext(connection) as captured:
        risks = project_risks_many(projects=Project.objects.filter(pk__in=ids), today=TODAY)
    assert len(risks) == len(ids)
    assert all("overbooked_team" in {f.code for f in r.flags} for r in risks.values())
    return len(captured.captured_queries)


@pytest.mark.django_db
def test_project_risks_many_costs_the_same_queries_for_3_and_15_projects():
    ids = [_risky_project().pk for _ in range(15)]

    assert _queries(ids[:3]) == _queries(ids)
