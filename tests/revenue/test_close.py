"""The month-end close: the checklist (each item blocks on constructed data and clears), the
variances against the plan, `month_close` refused then allowed, `month_reopen`, and the
`/revenue/close/` page with its actions and role checks."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test import Client as BrowserClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from psa import roles
from psa.common.errors import DomainError, StateConflictError
from psa.models import Contract, Expense, LegalEntity, OutboxEvent, Period, Project, TimeEntry
from revenue.errors import MonthCloseBlockedError
from revenue.models import JournalEntry, JournalLine, RecognitionRun, RevenueSchedule, ScheduleLine
from revenue.selectors.close import (
    BLOCKING,
    OK,
    close_checklist,
    default_close_month,
    default_legal_entity,
    variances,
)
from revenue.services.close import month_close, month_reopen
from revenue.services.recognition import recognition_run_execute
from tests.billing.factories import InvoiceFactory
from tests.psa.factories import (
    ContractFactory,
    ExpenseFactory,
    LegalEntityFactory,
    PeriodFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
    UserFactory,
    person_with_role,
)

pytestmark = pytest.mark.django_db
D = Decimal
MARCH = date(2026, 3, 1)
APRIL = date(2026, 4, 1)
PAGE = "/revenue/close/"


@dataclass
class Books:
    """A legal entity with one active T&M contract, its project and a task (March 2026)."""

    entity: LegalEntity
    contract: Contract
    project: Project
    task: object
    finance: object
    admin: object


@pytest.fixture
def books() -> Books:
    entity = LegalEntityFactory()
    contract = ContractFactory(code="ACME-042", client__legal_entity=entity)
    project = ProjectFactory(contract=contract)
    return Books(entity=entity, contract=contract, project=project,
                 task=TaskFactory(project=project),
                 finance=UserFactory(role=roles.FINANCE),
                 admin=UserFactory(role=roles.ADMINISTRATOR))


def recognise(entity: LegalEntity, month: date = MARCH) -> RecognitionRun:
    run = RecognitionRun.objects.create(legal_entity=entity, period=month)
    return recognition_run_execute(run_id=run.pk)


def item(checklist, key: str):
    return next(i for i in checklist.items if i.key == key)


def check(entity: LegalEntity, key: str, month: date = MARCH):
    return item(close_checklist(legal_entity=entity, month=month), key)


# --- The checklist ---------------------------------------------------------------------------


class TestChecklist:
    def test_unapproved_time_blocks_and_clears_once_approved(self, books):
        entry = TimeEntryFactory(task=books.task, work_date=date(2026, 3, 12), submitted=True)
        TimeEntryFactory(task=books.task, work_date=date(2026, 3, 13))  # draft
        TimeEntryFactory(task=books.task, work_date=APRIL)  # another month
        TimeEntryFactory(work_date=date(2026, 3, 12), submitted=True,  # another entity
                         task__project__contract__client__legal_entity=LegalEntityFactory(
                             code="UK", base_currency="GBP"))

        blocked = check(books.entity, "unapproved_time")

        assert (blocked.status, blocked.count) == (BLOCKING, 2)
        assert blocked.sentence.endswith("are not approved: 1 not submitted, 1 awaiting "
                                         "approval.")
        assert blocked.link == reverse("approval-list")
        TimeEntry.objects.filter(project=books.project, work_date__lt=APRIL).update(
            status=TimeEntry.Status.APPROVED, bill_rate=D("150"), cost_rate=D("80"))
        assert check(books.entity, "unapproved_time").status == OK
        assert entry.pk  # the submitted one is now approved and no longer counts

    def test_rejected_time_blocks(self, books):
        TimeEntryFactory(task=books.task, work_date=date(2026, 3, 31),
                         status=TimeEntry.Status.REJECTED)

        blocked = check(books.entity, "unapproved_time")

        assert blocked.count == 1
        assert blocked.sentence.endswith("not approved: 1 rejected and not resubmitted.")

    def test_unapproved_expenses_block_and_clear(self, books):
        expense = ExpenseFactory(project=books.project, expense_date=date(2026, 3, 3),
                                 submitted=True)
        ExpenseFactory(project=books.project, expense_date=date(2026, 2, 28))

        blocked = check(books.entity, "unapproved_expenses")

        assert (blocked.status, blocked.count) == (BLOCKING, 1)
        assert "1 expense dated in March 2026 is not approved" in blocked.sentence
        Expense.objects.filter(pk=expense.pk).update(status=Expense.Status.APPROVED)
        assert check(books.entity, "unapproved_expenses").status == OK

    def test_unissued_invoices_up_to_the_month_end_block(self, books):
        draft = InvoiceFactory(contract=books.contract, cut_off=date(2026, 3, 31))
        InvoiceFactory(contract=books.contract, cut_off=date(2026, 2, 15), approved=True)
        InvoiceFactory(contract=books.contract, cut_off=date(2026, 4, 30))  # later month
        InvoiceFactory(contract=books.contract, cut_off=date(2026, 3, 31), issued=True)

        blocked = check(books.entity, "unissued_drafts")

        assert (blocked.status, blocked.count) == (BLOCKING, 2)
        assert "1 draft, 1 approved" in blocked.sentence
        assert blocked.link == "/billing/invoices/?status=draft"
        type(draft).objects.filter(contract=books.contract, cut_off__lt=APRIL).update(
            status="void")
        assert check(books.entity, "unissued_drafts").status == OK

    def test_no_completed_run_blocks_and_a_run_clears(self, books):
        TimeEntryFactory(task=books.task, work_date=date(2026, 3, 10), approved=True)

        assert check(books.entity, "stale_recognition").status == BLOCKING
        recognise(books.entity)

        assert check(books.entity, "stale_recognition").status == OK

    def test_a_run_in_progress_blocks(self, books):
        recognise(books.entity)
        RecognitionRun.objects.create(legal_entity=books.entity, period=MARCH,
                                      status=RecognitionRun.Status.RUNNING)

        blocked = check(books.entity, "stale_recognition")

        assert blocked.status == BLOCKING and "in progress" in blocked.sentence

    def test_inputs_changed_since_the_run_make_it_stale(self, books):
        TimeEntryFactory(task=books.task, work_date=date(2026, 3, 10), approved=True)
        recognise(books.entity)
        TimeEntryFactory(task=books.task, work_date=date(2026, 3, 11), hours=D("2.00"),
                         approved=True)  # a late approved entry: 2 h x 150.00

        blocked = check(books.entity, "stale_recognition")

        assert (blocked.status, blocked.count) == (BLOCKING, 1)
        assert "+300.00 USD" in blocked.sentence
        recognise(books.entity)
        assert check(books.entity, "stale_recognition").status == OK

    def test_unbalanced_journal_blocks_and_clears(self, books):
        recognise(books.entity)
        entry = JournalEntry.objects.create(
            legal_entity=books.entity, entry_date=date(2026, 3, 31), period=MARCH,
            source=JournalEntry.Source.INVOICE, source_id=99, currency="USD",
            description="Hand-made", total_debit=D("100.10"), total_credit=D("100.10"))
        JournalLine.objects.create(entry=entry, account_key="receivable", account_code="1200",
                                   debit=D("100.10"), credit=D("0"))
        credit = JournalLine.objects.create(entry=entry, account_key="revenue",
                                            account_code="4000", debit=D("0"),
                                            credit=D("90.00"))

        checklist = close_checklist(legal_entity=books.entity, month=MARCH)

        blocked = item(checklist, "unbalanced_journals")
        assert (blocked.status, blocked.count) == (BLOCKING, 1)
        assert [e.pk for e in checklist.unbalanced] == [entry.pk]
        JournalLine.objects.filter(pk=credit.pk).update(credit=D("50.05"))
        JournalLine.objects.create(entry=entry, account_key="tax_payable",
                                   account_code="2200", debit=D("0"), credit=D("50.05"))
        assert check(books.entity, "unbalanced_journals").status == OK

    def test_a_clean_month_is_clear(self, books):
        TimeEntryFactory(task=books.task, work_date=date(2026, 3, 10), approved=True)
        recognise(books.entity)

        checklist = close_checklist(legal_entity=books.entity, month=date(2026, 3, 20))

        assert checklist.month == MARCH
        assert checklist.is_clear and not checklist.is_closed
        assert [i.key for i in checklist.items] == [
            "unapproved_time", "unapproved_expenses", "unissued_drafts",
            "stale_recognition", "unbalanced_journals"]

    def test_query_count_does_not_grow_with_contracts(self, books):
        def queries(contracts: int) -> int:
            entity = LegalEntityFactory(code=f"E{contracts}")
            for _ in range(contracts):
                contract = ContractFactory(client__legal_entity=entity)
                TimeEntryFactory(task=TaskFactory(project=ProjectFactory(contract=contract)),
                                 work_date=date(2026, 3, 10), approved=True)
            recognise(entity)
            with CaptureQueriesContext(connection) as captured:
                close_checklist(legal_entity=entity, month=MARCH)
            return len(captured)

        assert queries(3) == queries(30)


# --- Variances and defaults ----------------------------------------------------------------


def _schedule_line(contract: Contract, planned: str, recognised: str) -> ScheduleLine:
    schedule = RevenueSchedule.objects.create(contract=contract, method=contract.revenue_method,
                                              currency=contract.currency,
                                              value_amount=contract.value_amount)
    return ScheduleLine.objects.create(schedule=schedule, month=MARCH,
                                       planned_amount=D(planned),
                                       recognised_amount=D(recognised),
                                       explanation=f"why {contract.code}")


def test_variances_largest_difference_first_with_totals(books):
    _schedule_line(books.contract, "1000.00", "1200.00")
    big = ContractFactory(code="BIG-1", client__legal_entity=books.entity)
    _schedule_line(big, "5000.00", "3000.00")
    other = ContractFactory(code="OTHER", client__legal_entity=LegalEntityFactory(code="UK"))
    _schedule_line(other, "9.00", "99999.00")  # another entity

    result = variances(legal_entity=books.entity, month=MARCH)

    assert [(r.contract_code, r.difference) for r in result.rows] == [
        ("BIG-1", D("-2000.00")), ("ACME-042", D("200.00"))]
    assert result.rows[0].explanation == "why BIG-1"
    [total] = result.totals
    assert (total.currency, total.planned, total.recognised, total.difference) == (
        "USD", D("6000.00"), D("4200.00"), D("-1800.00"))
    by_contract = variances(legal_entity=books.entity, month=MARCH, order="contract")
    assert [r.contract_code for r in by_contract.rows] == ["ACME-042", "BIG-1"]


def test_default_month_follows_the_latest_closed_one(books):
    today = date(2026, 11, 22)
    assert default_close_month(legal_entity=books.entity, today=today) == date(2026, 10, 1)
    PeriodFactory(legal_entity=books.entity, month=MARCH, status=Period.Status.CLOSED)
    assert default_close_month(legal_entity=books.entity, today=today) == APRIL
    PeriodFactory(legal_entity=books.entity, month=date(2026, 11, 1),
                  status=Period.Status.CLOSED)
    assert default_close_month(legal_entity=books.entity, today=today) == date(2026, 11, 1)


def test_default_entity_is_the_persons_own(books):
    uk = LegalEntityFactory(code="AA-UK", name="Northwind UK")
    finance = person_with_role(roles.FINANCE, legal_entity=books.entity)

    assert default_legal_entity(actor=finance.user) == books.entity
    assert default_legal_entity(actor=UserFactory(role=roles.FINANCE)) == uk


# --- Closing and reopening -------------------------------------------------------------------


class TestMonthClose:
    def test_refused_while_blocked_then_closed_with_the_event(self, books):
        entry = TimeEntryFactory(task=books.task, work_date=date(2026, 3, 10), submitted=True)

        with pytest.raises(MonthCloseBlockedError) as refused:
            month_close(legal_entity=books.entity, month=MARCH, actor=books.finance)

        assert {i.key for i in refused.value.blocking} == {"unapproved_time",
                                                           "stale_recognition"}
        assert "1 time entry dated in March 2026 is not approved" in refused.value.detail
        assert refused.value.http_status == 409
        assert not Period.objects.filter(status=Period.Status.CLOSED).exists()
        assert not OutboxEvent.objects.filter(type="period.closed").exists()

        TimeEntry.objects.filter(pk=entry.pk).update(
            status=TimeEntry.Status.APPROVED, bill_rate=D("150"), cost_rate=D("80"))
        recognise(books.entity)
        period = month_close(legal_entity=books.entity, month=MARCH, actor=books.finance)

        assert period.status == Period.Status.CLOSED and period.closed_by == books.finance
        event = OutboxEvent.objects.get(type="period.closed")
        assert event.aggregate_id == str(period.pk)
        assert event.payload["legal_entity_id"] == books.entity.pk
        assert close_checklist(legal_entity=books.entity, month=MARCH).is_closed

    def test_closing_twice_is_a_state_conflict(self, books):
        recognise(books.entity)
        month_close(legal_entity=books.entity, month=MARCH, actor=books.finance)

        with pytest.raises(StateConflictError):
            month_close(legal_entity=books.entity, month=MARCH, actor=books.finance)

    def test_a_month_that_has_not_started_cannot_close(self, books):
        with pytest.raises(DomainError) as refused:
            month_close(legal_entity=books.entity, month=date(2099, 1, 1),
                        actor=books.finance)
        assert refused.value.code == "future_period"

    def test_reopen_needs_a_reason_and_is_audited(self, books):
        recognise(books.entity)
        period = month_close(legal_entity=books.entity, month=MARCH, actor=books.finance)

        with pytest.raises(DomainError):
            month_reopen(period=period, actor=books.admin, reason=" ")
        month_reopen(period=period, actor=books.admin, reason="Late supplier invoice")

        period.refresh_from_db()
        assert period.status == Period.Status.OPEN
        log = LogEntry.objects.get_for_object(period).filter(
            additional_data__reason="Late supplier invoice").get()
        assert log.actor == books.admin
        assert OutboxEvent.objects.filter(type="period.reopened",
                                          aggregate_id=str(period.pk)).exists()


# --- The page ---------------------------------------------------------------------------------


def browser(user) -> BrowserClient:
    client = BrowserClient()
    client.force_login(user)
    return client


def scope(books: Books, **extra: str) -> dict[str, str]:
    return {"legal_entity": str(books.entity.pk), "month": "2026-03", **extra}


class TestClosePage:
    def test_shows_the_checklist_with_links_and_the_variances(self, books):
        TimeEntryFactory(task=books.task, work_date=date(2026, 3, 10), submitted=True)
        InvoiceFactory(contract=books.contract, cut_off=date(2026, 3, 31))
        _schedule_line(books.contract, "1000.00", "0.00")

        response = browser(books.finance).get(PAGE, scope(books))

        assert response.status_code == 200
        html = response.content.decode()
        assert 'data-checklist-state="blocked"' in html
        assert 'data-item="unapproved_time" data-status="blocking"' in html
        assert 'data-item="unbalanced_journals" data-status="ok"' in html
        assert 'href="/approvals/"' in html and 'href="/billing/invoices/?status=draft"' in html
        assert "ACME-042" in html and "-1,000.00 USD" in html
        assert "Close the month</button>" in html and " disabled " in html
        assert "Reopen the month" not in html  # open month; and finance may not reopen

    def test_defaults_to_the_persons_entity_and_the_next_month(self, books):
        finance = person_with_role(roles.FINANCE, legal_entity=books.entity)

        response = browser(finance.user).get(PAGE)

        assert response.status_code == 200
        assert response.context["entity"] == books.entity
        assert response.context["month"] == default_close_month(legal_entity=books.entity)

    def test_a_bad_month_is_shown_beside_the_field(self, books):
        response = browser(books.finance).get(PAGE, scope(books, month="March"))

        assert response.status_code == 400
        assert "Enter a valid date" in response.content.decode()

    @pytest.mark.parametrize("role", [roles.CONSULTANT, roles.PROJECT_MANAGER,
                                      roles.RESOURCE_MANAGER])
    def test_roles_without_periods_are_refused(self, books, role):
        assert browser(UserFactory(role=role)).get(PAGE).status_code == 403

    def test_an_executive_sees_it_read_only(self, books):
        html = browser(UserFactory(role=roles.EXECUTIVE)).get(PAGE, scope(books)).content
        html = html.decode()
        assert "Checklist" in html
        assert "Run recognition</button>" not in html and "Close the month</button>" not in html
        response = browser(UserFactory(role=roles.EXECUTIVE)).post(
            reverse("revenue:close-month"), scope(books))
        assert response.status_code == 403

    def test_run_recognition_queues_a_run_whose_progress_polls(self, books):
        client = browser(books.finance)

        response = client.post(reverse("revenue:close-run"), scope(books))

        assert response.status_code == 302
        run = RecognitionRun.objects.get()
        assert (run.legal_entity, run.period, run.started_by) == (books.entity, MARCH,
                                                                   books.finance)
        html = client.get(response["Location"]).content.decode()
        assert "Waiting for a worker" in html and "?polling=1" in html
        recognition_run_execute(run_id=run.pk)
        progress = client.get(reverse("revenue:close-run-progress", args=[run.pk]),
                              {"polling": "1"}, HTTP_HX_REQUEST="true")
        assert progress.status_code == 200 and progress["HX-Refresh"] == "true"
        assert "Completed" in progress.content.decode()

    def test_close_when_blocked_shows_what_blocks_and_closes_nothing(self, books):
        TimeEntryFactory(task=books.task, work_date=date(2026, 3, 10), submitted=True)

        response = browser(books.finance).post(reverse("revenue:close-month"), scope(books))

        assert response.status_code == 409
        assert "cannot be closed for US yet" in response.content.decode()
        assert not Period.objects.filter(status=Period.Status.CLOSED).exists()

    def test_close_then_reopen_as_administrator_with_a_reason(self, books):
        recognise(books.entity)
        response = browser(books.finance).post(reverse("revenue:close-month"), scope(books))
        assert response.status_code == 302
        period = Period.objects.get(legal_entity=books.entity, month=MARCH)
        assert period.status == Period.Status.CLOSED

        page = browser(books.finance).get(PAGE, scope(books)).content.decode()
        assert "data-closed-by" in page and "Reopen the month" not in page
        refused = browser(books.finance).post(reverse("revenue:close-reopen"),
                                              scope(books, reason="Because"))
        assert refused.status_code == 403

        admin = browser(books.admin)
        assert "Reopen the month" in admin.get(PAGE, scope(books)).content.decode()
        no_reason = admin.post(reverse("revenue:close-reopen"), scope(books, reason=""))
        assert no_reason.status_code == 400
        assert "Say why the month is reopened." in no_reason.content.decode()
        period.refresh_from_db()
        assert period.status == Period.Status.CLOSED

        reopened = admin.post(reverse("revenue:close-reopen"),
                              scope(books, reason="Late supplier invoice"))
        assert reopened.status_code == 302
        period.refresh_from_db()
        assert period.status == Period.Status.OPEN
        assert LogEntry.objects.get_for_object(period).filter(
            actor=books.admin, additional_data__reason="Late supplier invoice").exists()

    def test_run_for_a_closed_month_shows_the_error(self, books):
        PeriodFactory(legal_entity=books.entity, month=MARCH, status=Period.Status.CLOSED)

        response = browser(books.finance).post(reverse("revenue:close-run"), scope(books))

        assert response.status_code == 409
        assert "March 2026 is closed" in response.content.decode()
        assert not RecognitionRun.objects.exists()

    def test_a_post_without_entity_or_month_is_a_bad_request(self, books):
        client = browser(books.admin)

        for url in ("revenue:close-run", "revenue:close-month", "revenue:close-reopen"):
            assert client.post(reverse(url), {"month": "soon"}).status_code == 400
        assert not RecognitionRun.objects.exists()
        assert not Period.objects.exists()

    def test_page_query_count_does_not_grow_with_contracts(self, books):
        client = browser(books.finance)

        def queries(contracts: int) -> int:
            entity = LegalEntityFactory(code=f"P{contracts}")
            for _ in range(contracts):
                contract = ContractFactory(client__legal_entity=entity)
                TimeEntryFactory(task=TaskFactory(project=ProjectFactory(contract=contract)),
                                 work_date=date(2026, 3, 10), approved=True)
            recognise(entity)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(PAGE, {"legal_entity": entity.pk, "month": "2026-03"})
            assert response.status_code == 200
            assert f"{contracts} contracts" in response.content.decode()
            return len(captured)

        assert queries(3) == queries(30)
