"""Re-rating approved, unbilled time: preview, apply as one audited action, billed untouched."""

from datetime import date
from decimal import Decimal

import pytest
from auditlog.models import LogEntry

from billing.models import BilledItem, Invoice
from billing.services.rerate import rerate_apply, rerate_preview
from psa.common.errors import PeriodClosedError, RateNotFoundError
from psa.models import OutboxEvent, Period, RateCard, TimeEntry
from psa.services.time_rerate import time_entries_rerate
from tests.psa.factories import (
    ContractFactory,
    PeriodFactory,
    PersonFactory,
    ProjectFactory,
    ProjectMemberFactory,
    RateCardFactory,
    RateCardLineFactory,
    RoleFactory,
    TaskFactory,
    TimeEntryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal


def link(entry, live=True):
    contract = entry.project.contract
    invoice = Invoice.objects.create(
        legal_entity=contract.legal_entity, client=contract.client, contract=contract,
        currency=contract.currency,
        status=Invoice.Status.DRAFT if live else Invoice.Status.VOID)
    return BilledItem.objects.create(invoice=invoice, time_entry=entry, is_live=live,
                                     raw_hours=entry.hours, billed_hours=entry.hours,
                                     rate=entry.bill_rate)


@pytest.fixture
def world():
    """A contract whose card said 150.00 for consultants; a correction makes it 175.00 from
    1 March. Seniors are 200.00 on the standard card."""
    consultant, senior = RoleFactory(code="CONS", name="Consultant"), RoleFactory(
        code="SNR", name="Senior Consultant", level=3)
    standard = RateCardFactory(standard=True, code="STD-USD")
    RateCardLineFactory(rate_card=standard, role=consultant, hourly_rate=D("150.0000"))
    RateCardLineFactory(rate_card=standard, role=senior, hourly_rate=D("200.0000"))
    card = RateCardFactory(kind=RateCard.Kind.CONTRACT)
    RateCardLineFactory(rate_card=card, role=consultant, hourly_rate=D("150.0000"),
                        effective_from=date(2026, 1, 1))
    RateCardLineFactory(rate_card=card, role=consultant, hourly_rate=D("175.0000"),
                        effective_from=date(2026, 3, 1))
    contract = ContractFactory(rate_card=card)
    project = ProjectFactory(contract=contract)
    task = TaskFactory(project=project)
    person = PersonFactory(role=consultant)
    return {"contract": contract, "project": project, "task": task, "person": person,
            "senior": senior}


def entry(world, day, hours="8.00", rate="150.0000", person=None, **kwargs):
    return TimeEntryFactory(task=world["task"], person=person or world["person"],
                            work_date=day, hours=D(hours), approved=True, bill_rate=D(rate),
                            rate_source="contract_card", **kwargs)


class TestReratePreview:
    def test_lists_unbilled_entries_with_old_and_new_amounts(self, world):
        february = entry(world, date(2026, 2, 27))
        march = entry(world, date(2026, 3, 2), hours="7.50")
        voided = entry(world, date(2026, 3, 3), hours="1.25")
        link(voided, live=False)
        billed = entry(world, date(2026, 3, 4))
        link(billed)
        TimeEntryFactory(task=world["task"], person=world["person"],
                         work_date=date(2026, 3, 5), status=TimeEntry.Status.SUBMITTED)
        TimeEntryFactory(task=TaskFactory(project=world["project"], is_billable=False),
                         person=world["person"], work_date=date(2026, 3, 6), approved=True)
        TimeEntryFactory(work_date=date(2026, 3, 2), approved=True)  # another contract

        preview = rerate_preview(contract=world["contract"])

        assert [line.time_entry_id for line in preview.lines] == [february.pk, march.pk,
                                                                  voided.pk]
        first, second, third = preview.lines
        assert (first.old_rate, first.new_rate, first.changes) == (
            D("150.0000"), D("150.0000"), False)
        assert (second.old_amount, second.new_amount) == (D("1125.00"), D("1312.50"))
        assert second.new_rate_source == "contract_card"
        assert (third.old_amount, third.new_amount) == (D("187.50"), D("218.75"))
        assert (preview.old_total, preview.new_total) == (D("1312.50"), D("1531.25"))
        assert preview.difference == D("218.75")
        assert billed.pk not in {line.time_entry_id for line in preview.lines}

    def test_role_on_the_project_team_wins_over_the_persons_role(self, world):
        ProjectMemberFactory(project=world["project"], person=world["person"],
                             role=world["senior"])
        entry(world, date(2026, 3, 2))
        (line,) = rerate_preview(contract=world["contract"]).lines
        assert (line.new_rate, line.new_rate_source) == (D("200.0000"), "standard_card")

    def test_no_rate_is_an_error_not_a_zero(self, world):
        entry(world, date(2026, 3, 2), person=PersonFactory(
            role=RoleFactory(code="PTR", name="Partner", level=5)))
        with pytest.raises(RateNotFoundError):
            rerate_preview(contract=world["contract"])

    def test_resolves_each_person_and_day_once(self, world, django_assert_max_num_queries):
        second_task = TaskFactory(project=world["project"])
        for day in range(2, 7):
            entry(world, date(2026, 3, day))
            TimeEntryFactory(task=second_task, person=world["person"],
                             work_date=date(2026, 3, day), approved=True,
                             bill_rate=D("150.0000"))
        for person in PersonFactory.create_batch(3, role=world["person"].role):
            entry(world, date(2026, 3, 2), person=person)
        # 13 entries but 8 distinct (person, day): ~6 fixed queries + 3 per resolution.
        with django_assert_max_num_queries(6 + 3 * 8):
            preview = rerate_preview(contract=world["contract"])
        assert len(preview.changing) == 13


class TestRerateApply:
    def test_applies_changes_audits_and_publishes(self, world):
        finance = UserFactory(role="finance")
        march = entry(world, date(2026, 3, 2), hours="7.50")
        february = entry(world, date(2026, 2, 27))
        billed = entry(world, date(2026, 3, 4))
        link(billed)

        assert rerate_apply(contract=world["contract"], actor=finance) == 1

        march.refresh_from_db()
        february.refresh_from_db()
        billed.refresh_from_db()
        assert (march.bill_rate, march.rate_source) == (D("175.0000"), "rerate")
        assert (february.bill_rate, february.rate_source) == (D("150.0000"), "contract_card")
        assert billed.bill_rate == D("150.0000")
        log = LogEntry.objects.get_for_object(march).get(action=LogEntry.Action.UPDATE)
        assert log.actor == finance
        assert log.changes_dict["bill_rate"] == ["150.0000", "175.0000"]
        assert not LogEntry.objects.get_for_object(billed).filter(
            action=LogEntry.Action.UPDATE).exists()
        event = OutboxEvent.objects.get(type="contract.rerated")
        assert event.payload["entries"] == 1
        assert (event.payload["old_amount"], event.payload["new_amount"]) == ("1125.00",
                                                                              "1312.50")
        # Applying again finds nothing left to change.
        assert rerate_apply(contract=world["contract"], actor=finance) == 0
        assert rerate_preview(contract=world["contract"]).changing == ()

    def test_closed_month_entries_are_listed_but_never_changed(self, world):
        finance = UserFactory(role="finance")
        PeriodFactory(legal_entity=world["contract"].legal_entity, month=date(2026, 3, 1),
                      status=Period.Status.CLOSED)
        closed = entry(world, date(2026, 3, 2))
        (line,) = rerate_preview(contract=world["contract"]).lines
        assert line.period_closed and not line.changes
        assert rerate_apply(contract=world["contract"], actor=finance) == 0
        closed.refresh_from_db()
        assert closed.bill_rate == D("150.0000")


class TestTimeEntriesRerate:
    def test_only_approved_billable_entries_in_the_map_change(self, world):
        finance = UserFactory(role="finance")
        approved = entry(world, date(2026, 3, 2))
        invoiced = entry(world, date(2026, 3, 3), status=TimeEntry.Status.INVOICED)
        other = entry(world, date(2026, 3, 4))
        changed = time_entries_rerate(
            entries=TimeEntry.objects.all(), actor=finance,
            rates={approved.pk: D("180"), invoiced.pk: D("180")})
        assert changed == 1
        for row in (approved, invoiced, other):
            row.refresh_from_db()
        assert approved.bill_rate == D("180.0000")
        assert invoiced.bill_rate == D("150.0000")
        assert other.bill_rate == D("150.0000")

    def test_closed_period_refuses_and_writes_nothing(self, world):
        finance = UserFactory(role="finance")
        PeriodFactory(legal_entity=world["project"].legal_entity, month=date(2026, 3, 1),
                      status=Period.Status.CLOSED)
        open_entry = entry(world, date(2026, 4, 1))
        closed_entry = entry(world, date(2026, 3, 2))
        with pytest.raises(PeriodClosedError):
            time_entries_rerate(entries=TimeEntry.objects.all(), actor=finance,
                                rates={open_entry.pk: D("1"), closed_entry.pk: D("1")})
        open_entry.refresh_from_db()
        assert open_entry.bill_rate == D("150.0000")
