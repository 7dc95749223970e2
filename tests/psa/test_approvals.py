"""What waits for an approver (grouping, flags, scope) and the bulk approve/reject service."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from psa import models, roles
from psa.errors import (
    ApprovalItemNotFoundError,
    RateNotFoundError,
    SelfApprovalError,
    TimeEntryStateError,
)
from psa.selectors.approvals import approval_groups
from psa.services.approvals import (
    NothingSelectedError,
    ReasonRequiredError,
    approvals_approve,
    approvals_reject,
)
from tests.psa.approval_world import WEEK, build_world, submitted_expense, submitted_week
from tests.psa.factories import (
    PersonFactory,
    ProjectMemberFactory,
    TaskFactory,
    TimeEntryFactory,
    TimeOffFactory,
    person_with_role,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def codes(flags) -> set[str]:
    return {flag.code for flag in flags}


class TestApprovalGroups:
    def test_groups_by_person_and_week_with_totals(self):
        world = build_world()
        submitted_week(world)  # 5 days of 8 h, billable
        non_billable = TaskFactory(project=world.project, is_billable=False)
        submitted_week(world, task=non_billable, hours="2.00", days=2)
        submitted_week(world, week=WEEK + timedelta(days=7), days=1)
        submitted_expense(world, amount=Decimal("35.50"))
        submitted_expense(world, amount=Decimal("14.50"), expense_date=WEEK + timedelta(days=2))
        TimeEntryFactory(person=world.consultant, task=world.task,
                         work_date=WEEK + timedelta(days=5))  # draft: not waiting

        groups = approval_groups(actor=world.manager.user)

        assert [(g.person_id, g.week_start) for g in groups] == [
            (world.consultant.pk, WEEK), (world.consultant.pk, WEEK + timedelta(days=7))]
        first = groups[0]
        assert first.hours == Decimal("44.00")
        assert first.billable_hours == Decimal("40.00")
        assert first.billable_share == Decimal("90.91")
        assert [(t.currency, t.amount) for t in first.expense_totals] == [("USD",
                                                                          Decimal("50.00"))]
        assert len(first.time_entry_ids) == 7 and len(first.expense_ids) == 2
        assert first.flags == []
        assert groups[1].hours == Decimal("8.00") and groups[1].expense_ids == []

    def test_manager_never_sees_other_projects_or_own_items(self):
        world = build_world()
        submitted_week(world, days=1)
        stranger = PersonFactory()
        TimeEntryFactory(person=stranger, task=TaskFactory(project=world.other_project),
                         work_date=WEEK, submitted=True)
        submitted_expense(world, project=world.other_project)
        ProjectMemberFactory(project=world.project, person=world.manager)
        TimeEntryFactory(person=world.manager, task=world.task, work_date=WEEK,
                         submitted=True)

        groups = approval_groups(actor=world.manager.user)

        assert [g.person_id for g in groups] == [world.consultant.pk]
        assert groups[0].expense_ids == []

    def test_administrator_sees_everything_but_their_own(self, administrator):
        world = build_world()
        submitted_week(world, days=1)
        TimeEntryFactory(person=PersonFactory(), task=TaskFactory(project=world.other_project),
                         work_date=WEEK, submitted=True)
        TimeEntryFactory(person=administrator, task=world.task, work_date=WEEK, submitted=True)

        groups = approval_groups(actor=administrator.user)

        assert len(groups) == 2
        assert administrator.pk not in {g.person_id for g in groups}

    @pytest.mark.parametrize("role", [roles.CONSULTANT, roles.FINANCE, roles.EXECUTIVE])
    def test_roles_without_approval_see_nothing(self, role):
        world = build_world()
        submitted_week(world)

        assert approval_groups(actor=person_with_role(role).user) == []

    def test_public_holiday_is_flagged(self):
        world = build_world()
        mlk_day = date(2026, 1, 19)  # Martin Luther King Jr. Day, a US public holiday
        TimeEntryFactory(person=world.consultant, task=world.task, work_date=mlk_day,
                         submitted=True)

        (group,) = approval_groups(actor=world.manager.user)

        assert codes(group.flags) == {"holiday"}
        assert "Martin Luther King" in group.flags[0].detail
        assert codes(group.time_items[0].flags) == {"holiday"}

    def test_approved_leave_is_flagged(self):
        world = build_world()
        TimeOffFactory(person=world.consultant, start_date=WEEK + timedelta(days=2),
                       end_date=WEEK + timedelta(days=3))
        submitted_week(world)

        (group,) = approval_groups(actor=world.manager.user)

        assert codes(group.flags) == {"leave"}
        flagged = [item.work_date for item in group.time_items if item.flags]
        assert flagged == [WEEK + timedelta(days=2), WEEK + timedelta(days=3)]

    def test_cancelled_leave_is_not_flagged(self):
        world = build_world()
        TimeOffFactory(person=world.consultant, status=models.TimeOff.Status.CANCELLED)
        submitted_week(world)

        (group,) = approval_groups(actor=world.manager.user)

        assert group.flags == []

    def test_long_day_counts_every_entry_of_the_day(self):
        world = build_world()
        # 8 h waiting here plus 5 h already approved on another project: 13 h > 10 and > 12
        submitted_week(world, days=1)
        TimeEntryFactory(person=world.consultant, task=TaskFactory(project=world.other_project),
                         work_date=WEEK, hours=Decimal("5.00"), approved=True)
        TimeEntryFactory(person=world.consultant, task=TaskFactory(project=world.project),
                         work_date=WEEK + timedelta(days=1), hours=Decimal("10.00"),
                         submitted=True)  # 10 h is not above 10 h

        (group,) = approval_groups(actor=world.manager.user)

        assert codes(group.flags) == {"long_day"}
        assert "13.00 h" in group.flags[0].detail
        assert [codes(i.flags) for i in group.time_items] == [{"long_day"}, set()]

    def test_long_day_needs_both_thresholds(self):
        world = build_world()
        world.consultant.weekly_standard_hours = Decimal("24.00")  # 4.8 h a day; 1.5 times = 7.2
        world.consultant.save()
        TimeEntryFactory(person=world.consultant, task=world.task, work_date=WEEK,
                         hours=Decimal("9.00"), submitted=True)  # > 7.2 but not > 10
        TimeEntryFactory(person=world.consultant, task=world.task,
                         work_date=WEEK + timedelta(days=1), hours=Decimal("10.50"),
                         submitted=True)

        (group,) = approval_groups(actor=world.manager.user)

        assert [codes(i.flags) for i in group.time_items] == [set(), {"long_day"}]

    def test_entries_and_expenses_after_termination_are_flagged(self):
        world = build_world()
        world.consultant.termination_date = WEEK + timedelta(days=1)
        world.consultant.save()
        submitted_week(world, days=3)
        submitted_expense(world, expense_date=WEEK + timedelta(days=2))

        (group,) = approval_groups(actor=world.manager.user)

        assert codes(group.flags) == {"after_termination"}
        assert [bool(i.flags) for i in group.time_items] == [False, False, True]
        assert codes(group.expense_items[0].flags) == {"after_termination"}

    def test_expense_over_policy_is_flagged_with_its_justification(self):
        world = build_world()
        submitted_expense(world, category=models.ExpenseCategory.LODGING,
                          amount=Decimal("420.00"), is_over_policy=True,
                          justification="Conference hotel, only one left")

        (group,) = approval_groups(actor=world.manager.user)

        assert codes(group.flags) == {"over_policy"}
        assert "Conference hotel" in group.flags[0].detail

    def test_query_count_does_not_grow_with_people_and_weeks(
            self, django_assert_max_num_queries):
        world = build_world()
        for _ in range(3):
            person = PersonFactory()
            ProjectMemberFactory(project=world.project, person=person)
            for week in range(3):
                submitted_week(world, person=person, week=WEEK + timedelta(days=7 * week),
                               days=2)
                submitted_expense(world, person=person,
                                  expense_date=WEEK + timedelta(days=7 * week))
        user = models.Person.objects.select_related("user").get(pk=world.manager.pk).user
        user.has_perm("psa.approve_timeentry")  # warm the role cache

        with django_assert_max_num_queries(6):
            groups = approval_groups(actor=user)

        assert len(groups) == 9


class TestApproveReject:
    def test_mixed_approval_approves_time_and_expenses_together(self):
        world = build_world()
        entries = submitted_week(world, days=2)
        expense = submitted_expense(world)

        outcome = approvals_approve(actor=world.manager.user,
                                    time_entry_ids=[e.pk for e in entries],
                                    expense_ids=[expense.pk])

        assert outcome.count == 3
        for entry in entries:
            entry.refresh_from_db()
            assert entry.status == models.TimeEntry.Status.APPROVED
            assert entry.bill_rate == Decimal("150.0000")
            assert entry.cost_rate == Decimal("80.0000")
        expense.refresh_from_db()
        assert expense.status == models.Expense.Status.APPROVED
        assert models.OutboxEvent.objects.filter(type="time_entry.approved").count() == 2
        assert models.OutboxEvent.objects.filter(type="expense.approved").count() == 1
        assert approval_groups(actor=world.manager.user) == []

    def test_missing_rate_approves_nothing_and_names_the_entry(self):
        world = build_world()
        priced_entries = submitted_week(world, days=1)
        # a role with no line on any card, and no cost rate
        partner = models.Role.objects.create(code="PTR", name="Partner", level=5)
        unpriced = PersonFactory(role=partner)
        ProjectMemberFactory(project=world.project, person=unpriced)
        bad = submitted_week(world, person=unpriced, days=1)
        expense = submitted_expense(world)

        with pytest.raises(RateNotFoundError, match=unpriced.full_name):
            approvals_approve(actor=world.manager.user,
                              time_entry_ids=[priced_entries[0].pk, bad[0].pk],
                              expense_ids=[expense.pk])

        statuses = set(models.TimeEntry.objects.values_list("status", flat=True))
        assert statuses == {"submitted"}
        expense.refresh_from_db()
        assert expense.status == "submitted"
        assert not models.OutboxEvent.objects.filter(type__endswith=".approved").exists()

    def test_ids_outside_the_scope_are_not_found_and_nothing_changes(self):
        world = build_world()
        mine = submitted_week(world, days=1)
        foreign = TimeEntryFactory(person=PersonFactory(),
                                   task=TaskFactory(project=world.other_project),
                                   work_date=WEEK, submitted=True)

        with pytest.raises(ApprovalItemNotFoundError, match=f"#{foreign.pk}") as caught:
            approvals_approve(actor=world.manager.user,
                              time_entry_ids=[mine[0].pk, foreign.pk], expense_ids=[])

        assert caught.value.http_status == 404
        assert set(models.TimeEntry.objects.values_list("status", flat=True)) == {"submitted"}

    def test_unknown_expense_id_is_not_found(self):
        world = build_world()

        with pytest.raises(ApprovalItemNotFoundError, match="#999999"):
            approvals_approve(actor=world.manager.user, time_entry_ids=[],
                              expense_ids=[999999])

    def test_nobody_approves_their_own_time(self):
        world = build_world()
        ProjectMemberFactory(project=world.project, person=world.manager)
        own = submitted_week(world, person=world.manager, days=1)
        other = submitted_week(world, days=1)

        with pytest.raises(SelfApprovalError):
            approvals_approve(actor=world.manager.user,
                              time_entry_ids=[other[0].pk, own[0].pk], expense_ids=[])

        assert set(models.TimeEntry.objects.values_list("status", flat=True)) == {"submitted"}

    def test_administrator_cannot_approve_their_own_expense(self, administrator):
        world = build_world()
        own = submitted_expense(world, person=administrator)

        with pytest.raises(SelfApprovalError):
            approvals_approve(actor=administrator.user, time_entry_ids=[],
                              expense_ids=[own.pk])

    def test_a_draft_entry_cannot_be_approved(self):
        world = build_world()
        draft = TimeEntryFactory(person=world.consultant, task=world.task, work_date=WEEK)

        with pytest.raises(TimeEntryStateError):
            approvals_approve(actor=world.manager.user, time_entry_ids=[draft.pk],
                              expense_ids=[])

    def test_nothing_selected_is_refused(self):
        world = build_world()

        with pytest.raises(NothingSelectedError):
            approvals_approve(actor=world.manager.user, time_entry_ids=[], expense_ids=[])

    def test_reject_needs_a_reason(self):
        world = build_world()
        entries = submitted_week(world, days=1)

        with pytest.raises(ReasonRequiredError) as caught:
            approvals_reject(actor=world.manager.user, time_entry_ids=[entries[0].pk],
                             expense_ids=[], reason="   ")

        assert caught.value.attr == "reason"
        entries[0].refresh_from_db()
        assert entries[0].status == "submitted"

    def test_mixed_rejection_carries_the_reason_to_every_item(self):
        world = build_world()
        entries = submitted_week(world, days=2)
        expense = submitted_expense(world)

        approvals_reject(actor=world.manager.user, time_entry_ids=[e.pk for e in entries],
                         expense_ids=[expense.pk], reason="Wrong task: use Data mapping")

        for row in [*entries, expense]:
            row.refresh_from_db()
            assert row.status == "rejected"
            assert row.rejection_reason == "Wrong task: use Data mapping"
            assert row.rejected_by_id == world.manager.user_id
        assert models.OutboxEvent.objects.filter(type="time_entry.rejected").count() == 2
        assert models.OutboxEvent.objects.filter(type="expense.rejected").count() == 1
