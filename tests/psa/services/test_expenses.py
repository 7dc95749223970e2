"""Expense services: every validation and transition, receipts, policy, periods, events."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from psa import roles
from psa.common.errors import PeriodClosedError, StaleVersionError
from psa.errors import (
    ExpenseStateError,
    ExpenseValidationError,
    ReceiptError,
    SelfApprovalError,
)
from psa.models import Expense, ExpenseCategory, OutboxEvent, Period
from psa.services.expenses import (
    expense_create,
    expense_delete,
    expense_reopen,
    expense_update,
    expenses_approve,
    expenses_reject,
    expenses_submit,
    receipt_sniff,
)
from psa.services.receipts import RECEIPT_MAX_BYTES, receipts_discarded_on_error
from tests.psa.factories import (
    ContractFactory,
    ExpenseFactory,
    ExpensePolicyFactory,
    PeriodFactory,
    ProjectFactory,
    ProjectMemberFactory,
    person_with_role,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 32 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 16
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def upload(content: bytes, name: str = "receipt.pdf",
           content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def media_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def manager():
    return person_with_role(roles.PROJECT_MANAGER)


@pytest.fixture
def member(manager):
    """A consultant on the team of a USD client project managed by `manager`."""
    person = person_with_role(roles.CONSULTANT)
    project = ProjectFactory(manager=manager)
    ProjectMemberFactory(project=project, person=person)
    return person


@pytest.fixture
def project(member):
    return member.project_memberships.get().project


@pytest.fixture
def policies(project):
    entity = project.legal_entity
    return {
        "meals": ExpensePolicyFactory(legal_entity=entity, category=ExpenseCategory.MEALS,
                                      receipt_required_above=Decimal("25.00"),
                                      limit_amount=Decimal("75.00")),
        "lodging": ExpensePolicyFactory(legal_entity=entity, category=ExpenseCategory.LODGING,
                                        receipt_required_above=Decimal("0.00"),
                                        limit_amount=Decimal("300.00")),
        "mileage": ExpensePolicyFactory(legal_entity=entity, category=ExpenseCategory.MILEAGE,
                                        receipt_required_above=Decimal("1000.00"),
                                        limit_amount=None, unit_rate=Decimal("0.6550")),
        "per_diem": ExpensePolicyFactory(legal_entity=entity, category=ExpenseCategory.PER_DIEM,
                                         receipt_required_above=Decimal("1000.00"),
                                         limit_amount=None, unit_rate=Decimal("45.5000")),
    }


def data(**overrides):
    return {"expense_date": date(2026, 3, 10), "category": ExpenseCategory.MEALS,
            "merchant": "Cafe Nero", "amount": Decimal("18.40"), **overrides}


def create(member, project, receipt=None, **overrides):
    return expense_create(actor=member.user, person=member, project=project,
                          data=data(**overrides), receipt=receipt)


def events(event_type):
    return OutboxEvent.objects.filter(type=event_type)


class TestCreate:
    def test_a_plain_expense_in_the_project_currency(self, member, project, policies):
        expense = create(member, project)

        expense.refresh_from_db()
        assert expense.status == Expense.Status.DRAFT
        assert (expense.amount, expense.currency) == (Decimal("18.40"), "USD")
        assert expense.exchange_rate == Decimal("1.0000")
        assert (expense.project_amount, expense.project_currency) == (Decimal("18.40"), "USD")
        assert expense.is_billable is True
        assert expense.is_over_policy is False

    @pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-5.00")])
    def test_zero_or_negative_amount_is_refused_and_nothing_written(self, member, project,
                                                                    amount):
        with pytest.raises(ExpenseValidationError) as exc:
            create(member, project, amount=amount)

        assert exc.value.attr == "amount"
        assert not Expense.objects.exists()

    def test_more_decimals_than_the_currency_has_is_refused(self, member, project):
        with pytest.raises(ExpenseValidationError) as exc:
            create(member, project, amount=Decimal("10.005"))
        assert exc.value.attr == "amount"

    def test_foreign_currency_converts_half_up_with_the_rate_used(self, member, project):
        # 10.00 EUR * 1.2345 = 12.345 USD: half-up gives 12.35 (banker's rounding 12.34).
        expense = create(member, project, amount=Decimal("10.00"), currency="EUR",
                         exchange_rate=Decimal("1.2345"))

        expense.refresh_from_db()
        assert (expense.amount, expense.currency) == (Decimal("10.00"), "EUR")
        assert expense.exchange_rate == Decimal("1.2345")
        assert (expense.project_amount, expense.project_currency) == (Decimal("12.35"), "USD")

    @pytest.mark.parametrize("extra", [{}, {"exchange_rate": Decimal("0")}])
    def test_foreign_currency_needs_a_positive_rate(self, member, project, extra):
        with pytest.raises(ExpenseValidationError) as exc:
            create(member, project, currency="GBP", **extra)
        assert exc.value.attr == "exchange_rate"
        assert not Expense.objects.exists()

    def test_same_currency_always_uses_rate_one(self, member, project):
        expense = create(member, project, currency="USD", exchange_rate=Decimal("1.5000"))
        assert expense.exchange_rate == Decimal("1")
        assert expense.project_amount == Decimal("18.40")

    def test_mileage_is_distance_times_the_entity_rate_to_the_cent(self, member, project,
                                                                   policies):
        # 123.45 * 0.6550 = 80.85975 → 80.86; a typed amount is ignored.
        expense = create(member, project, category=ExpenseCategory.MILEAGE,
                         quantity=Decimal("123.45"), amount=Decimal("999.00"))

        expense.refresh_from_db()
        assert expense.quantity == Decimal("123.45")
        assert expense.unit_rate == Decimal("0.6550")
        assert (expense.amount, expense.currency) == (Decimal("80.86"), "USD")
        assert expense.project_amount == Decimal("80.86")

    def test_per_diem_is_days_times_the_daily_rate(self, member, project, policies):
        expense = create(member, project, category=ExpenseCategory.PER_DIEM,
                         quantity=Decimal("3.50"))
        assert expense.project_amount == Decimal("159.25")

    def test_mileage_needs_a_distance_and_a_rate_and_the_project_currency(self, member,
                                                                          project, policies):
        with pytest.raises(ExpenseValidationError) as exc:
            create(member, project, category=ExpenseCategory.MILEAGE)
        assert exc.value.attr == "quantity"
        with pytest.raises(ExpenseValidationError) as exc:
            create(member, project, category=ExpenseCategory.MILEAGE,
                   quantity=Decimal("10"), currency="EUR")
        assert exc.value.attr == "currency"
        policies["mileage"].unit_rate = None
        policies["mileage"].save()
        with pytest.raises(ExpenseValidationError) as exc:
            create(member, project, category=ExpenseCategory.MILEAGE, quantity=Decimal("10"))
        assert exc.value.attr == "category"
        assert not Expense.objects.exists()

    def test_billable_is_forced_off_on_internal_projects_and_unbillable_contracts(
            self, member, manager):
        internal = ProjectFactory(manager=member, is_internal=True, contract=None, client=None,
                                  legal_entity=member.legal_entity, currency="USD")
        no_rebill = ProjectFactory(manager=member,
                                   contract=ContractFactory(expenses_billable=False))

        assert create(member, internal, is_billable=True).is_billable is False
        assert create(member, no_rebill, is_billable=True).is_billable is False

    def test_over_policy_needs_a_justification(self, member, project, policies):
        with pytest.raises(ExpenseValidationError) as exc:
            create(member, project, amount=Decimal("80.00"))
        assert exc.value.attr == "justification"
        assert not Expense.objects.exists()

        expense = create(member, project, amount=Decimal("80.00"),
                         justification="Client dinner for six")
        assert expense.is_over_policy is True

    def test_person_must_be_on_the_team_or_manage_the_project(self, member, manager):
        stranger = ProjectFactory()
        with pytest.raises(ExpenseValidationError) as exc:
            create(member, stranger)
        assert exc.value.attr == "project"

        own = ProjectFactory(manager=member)
        assert create(member, own).project == own

    def test_date_must_be_within_employment(self, member, project):
        with pytest.raises(ExpenseValidationError) as exc:
            create(member, project, expense_date=date(2019, 12, 31))
        assert exc.value.attr == "expense_date"

    def test_closed_period_refuses_creation(self, member, project):
        PeriodFactory(legal_entity=project.legal_entity, month=date(2026, 3, 1),
                      status=Period.Status.CLOSED)
        with pytest.raises(PeriodClosedError) as exc:
            create(member, project)
        assert exc.value.attr == "expense_date"
        assert not Expense.objects.exists()


class TestReceipts:
    @pytest.mark.parametrize(("content", "expected"), [
        (PDF, "application/pdf"), (JPEG, "image/jpeg"), (PNG, "image/png")])
    def test_a_valid_receipt_is_stored_with_its_sniffed_type(self, member, project, media_root,
                                                             content, expected):
        # The declared type and name lie; the content decides.
        expense = create(member, project,
                         receipt=upload(content, "scan.bin", "application/octet-stream"))

        expense.refresh_from_db()
        assert expense.receipt_content_type == expected
        assert expense.receipt.name.startswith(f"receipts/{member.pk}/")
        assert "scan" not in expense.receipt.name
        stored = Path(media_root) / expense.receipt.name
        assert stored.read_bytes() == content

    @pytest.mark.parametrize(("content", "name", "message"), [
        (HTML, "receipt.pdf", "PDF, JPEG or PNG"),
        (GIF, "receipt.gif", "PDF, JPEG or PNG"),
        (b"%PDF-" + b"0" * (12 * 1024 * 1024), "big.pdf", "at most 10 MB"),
        (b"", "empty.pdf", "empty"),
    ], ids=["html-renamed-pdf", "gif", "12-mb", "empty"])
    def test_bad_receipts_are_refused_and_nothing_is_written(self, member, project, media_root,
                                                             content, name, message):
        with pytest.raises(ReceiptError) as exc:
            create(member, project, receipt=upload(content, name))

        assert exc.value.attr == "receipt"
        assert message in exc.value.detail
        assert not Expense.objects.exists()
        assert media_files(Path(media_root)) == []

    def test_the_limit_is_exactly_ten_megabytes(self):
        at_limit = b"%PDF-" + b"0" * (RECEIPT_MAX_BYTES - 5)
        assert receipt_sniff(upload(at_limit)) == "application/pdf"
        with pytest.raises(ReceiptError):
            receipt_sniff(upload(at_limit + b"0"))

    def test_a_rolled_back_transaction_leaves_no_file(self, member, project, media_root):
        with pytest.raises(RuntimeError), receipts_discarded_on_error(), transaction.atomic():
            create(member, project, receipt=upload(PDF))
            assert len(media_files(Path(media_root))) == 1
            raise RuntimeError("a later step failed")

        assert not Expense.objects.exists()
        assert media_files(Path(media_root)) == []

    def test_replacing_and_removing_a_receipt_deletes_the_old_file_on_commit(
            self, member, project, media_root, django_capture_on_commit_callbacks):
        expense = create(member, project, receipt=upload(PDF))
        first = Path(media_root) / expense.receipt.name

        with django_capture_on_commit_callbacks(execute=True):
            expense = expense_update(actor=member.user, expense=expense, data={},
                                     receipt=upload(PNG, "photo.png", "image/png"))
        assert not first.exists()
        assert expense.receipt_content_type == "image/png"
        second = Path(media_root) / expense.receipt.name
        assert second.exists()

        with django_capture_on_commit_callbacks(execute=True):
            expense = expense_update(actor=member.user, expense=expense,
                                     data={"receipt_remove": True})
        assert not expense.receipt
        assert not second.exists()

    def test_receipt_required_above_the_threshold_at_submit_only(self, member, project,
                                                                 policies):
        expense = create(member, project, amount=Decimal("35.50"))  # a draft may lack it

        with pytest.raises(ReceiptError) as exc:
            expenses_submit(actor=member.user, expenses=[expense])
        assert exc.value.attr == "receipt"
        assert "25.00 USD" in exc.value.detail
        expense.refresh_from_db()
        assert expense.status == Expense.Status.DRAFT

        expense = expense_update(actor=member.user, expense=expense, data={},
                                 receipt=upload(JPEG, "r.jpg", "image/jpeg"))
        [submitted] = expenses_submit(actor=member.user, expenses=[expense])
        assert submitted.status == Expense.Status.SUBMITTED

    def test_below_the_threshold_no_receipt_is_needed(self, member, project, policies):
        expense = create(member, project, amount=Decimal("25.00"))
        [submitted] = expenses_submit(actor=member.user, expenses=[expense])
        assert submitted.status == Expense.Status.SUBMITTED


class TestUpdateAndDelete:
    def test_update_recomputes_and_checks_like_create(self, member, project, policies):
        expense = create(member, project)
        expense = expense_update(actor=member.user, expense=expense,
                                 data={"category": ExpenseCategory.PER_DIEM,
                                       "quantity": Decimal("2")})
        assert expense.project_amount == Decimal("91.00")

        with pytest.raises(ExpenseValidationError) as exc:
            expense_update(actor=member.user, expense=expense,
                           data={"category": ExpenseCategory.MEALS, "amount": Decimal("-1")})
        assert exc.value.attr == "amount"
        expense.refresh_from_db()
        assert expense.category == ExpenseCategory.PER_DIEM

    def test_stale_version_is_refused(self, member, project):
        expense = create(member, project)
        with pytest.raises(StaleVersionError):
            expense_update(actor=member.user, expense=expense, data={"merchant": "X"},
                           expected_version="2000-01-01T00:00:00.000000+00:00")

    @pytest.mark.parametrize("status", [Expense.Status.SUBMITTED, Expense.Status.APPROVED])
    def test_submitted_and_approved_expenses_cannot_be_edited_or_deleted(self, member, project,
                                                                         status):
        expense = ExpenseFactory(person=member, project=project, status=status)
        with pytest.raises(ExpenseStateError):
            expense_update(actor=member.user, expense=expense, data={"merchant": "X"})
        with pytest.raises(ExpenseStateError):
            expense_delete(actor=member.user, expense=expense)
        assert Expense.objects.filter(pk=expense.pk, merchant="City Cabs").exists()

    def test_a_rejected_expense_can_be_edited(self, member, project):
        expense = ExpenseFactory(person=member, project=project,
                                 status=Expense.Status.REJECTED)
        expense = expense_update(actor=member.user, expense=expense, data={"merchant": "Uber"})
        assert expense.merchant == "Uber"

    def test_period_lock_covers_the_old_and_the_new_date_and_delete(self, member, project):
        expense = create(member, project)  # 10 March
        closed = PeriodFactory(legal_entity=project.legal_entity, month=date(2026, 2, 1),
                               status=Period.Status.CLOSED)
        with pytest.raises(PeriodClosedError):
            expense_update(actor=member.user, expense=expense,
                           data={"expense_date": date(2026, 2, 27)})

        closed.month = date(2026, 3, 1)
        closed.save()
        with pytest.raises(PeriodClosedError):
            expense_update(actor=member.user, expense=expense,
                           data={"expense_date": date(2026, 4, 2)})
        with pytest.raises(PeriodClosedError):
            expense_delete(actor=member.user, expense=expense)
        assert Expense.objects.filter(pk=expense.pk, expense_date=date(2026, 3, 10)).exists()

    def test_delete_a_draft_removes_its_receipt_on_commit(
            self, member, project, media_root, django_capture_on_commit_callbacks):
        expense = create(member, project, receipt=upload(PDF))
        path = Path(media_root) / expense.receipt.name

        with django_capture_on_commit_callbacks(execute=True):
            expense_delete(actor=member.user, expense=expense)

        assert not Expense.objects.exists()
        assert not path.exists()


class TestWorkflow:
    def test_submit_publishes_and_resubmits_after_rejection(self, member, project, manager):
        expense = create(member, project)
        [expense] = expenses_submit(actor=member.user, expenses=[expense])
        assert expense.submitted_at is not None
        assert events("expense.submitted").count() == 1

        with pytest.raises(ExpenseStateError):
            expenses_submit(actor=member.user, expenses=[expense])

        [expense] = expenses_reject(actor=manager.user, expenses=[expense],
                                    reason="Missing attendees")
        [expense] = expenses_submit(actor=member.user, expenses=[expense])
        assert expense.status == Expense.Status.SUBMITTED
        assert events("expense.submitted").count() == 2

    def test_submit_refuses_over_policy_without_justification(self, member, project, policies):
        expense = ExpenseFactory(person=member, project=project, category=ExpenseCategory.MEALS,
                                 amount=Decimal("90.00"), project_amount=Decimal("90.00"))
        with pytest.raises(ExpenseValidationError) as exc:
            expenses_submit(actor=member.user, expenses=[expense])
        assert exc.value.attr == "justification"

    def test_approve_records_who_and_when_and_publishes(self, member, project, manager):
        expense = ExpenseFactory(person=member, project=project, submitted=True)

        [approved] = expenses_approve(actor=manager.user, expenses=[expense])

        approved.refresh_from_db()
        assert approved.status == Expense.Status.APPROVED
        assert approved.approved_by == manager.user and approved.approved_at is not None
        event = events("expense.approved").get()
        assert event.payload["expense_id"] == expense.pk
        assert event.payload["project_amount"] == "35.50"

    def test_approval_is_all_or_nothing(self, member, project, manager):
        good = ExpenseFactory(person=member, project=project, submitted=True)
        draft = ExpenseFactory(person=member, project=project)

        with pytest.raises(ExpenseStateError):
            expenses_approve(actor=manager.user, expenses=[good, draft])

        good.refresh_from_db()
        assert good.status == Expense.Status.SUBMITTED
        assert not events("expense.approved").exists()

    def test_nobody_approves_their_own_not_even_an_administrator(self, project):
        admin = person_with_role(roles.ADMINISTRATOR)
        ProjectMemberFactory(project=project, person=admin)
        own = ExpenseFactory(person=admin, project=project, submitted=True)

        with pytest.raises(SelfApprovalError):
            expenses_approve(actor=admin.user, expenses=[own])
        with pytest.raises(SelfApprovalError):
            expenses_reject(actor=admin.user, expenses=[own], reason="no")
        own.refresh_from_db()
        assert own.status == Expense.Status.SUBMITTED

    def test_reject_needs_a_reason_and_publishes(self, member, project, manager):
        expense = ExpenseFactory(person=member, project=project, submitted=True)
        with pytest.raises(ExpenseValidationError) as exc:
            expenses_reject(actor=manager.user, expenses=[expense], reason="  ")
        assert exc.value.attr == "reason"

        [rejected] = expenses_reject(actor=manager.user, expenses=[expense],
                                     reason="Receipt unreadable")
        assert rejected.status == Expense.Status.REJECTED
        assert rejected.rejection_reason == "Receipt unreadable"
        assert rejected.rejected_by == manager.user
        assert events("expense.rejected").get().payload["reason"] == "Receipt unreadable"

    def test_only_submitted_expenses_can_be_approved_or_rejected(self, member, project,
                                                                 manager):
        draft = ExpenseFactory(person=member, project=project)
        with pytest.raises(ExpenseStateError):
            expenses_approve(actor=manager.user, expenses=[draft])
        with pytest.raises(ExpenseStateError):
            expenses_reject(actor=manager.user, expenses=[draft], reason="x")

    def test_finance_reopens_an_approved_expense_with_a_reason(self, member, project, manager):
        finance = person_with_role(roles.FINANCE)
        expense = ExpenseFactory(person=member, project=project, submitted=True)
        expenses_approve(actor=manager.user, expenses=[expense])

        with pytest.raises(ExpenseValidationError):
            expense_reopen(actor=finance.user, expense=expense, reason="")
        reopened = expense_reopen(actor=finance.user, expense=expense, reason="Wrong project")

        assert reopened.status == Expense.Status.DRAFT
        assert reopened.approved_by is None
        assert events("expense.reopened").get().payload["reason"] == "Wrong project"
        with pytest.raises(ExpenseStateError):
            expense_reopen(actor=finance.user, expense=reopened, reason="again")

    def test_approval_in_a_closed_period_is_refused(self, member, project, manager):
        expense = ExpenseFactory(person=member, project=project, submitted=True)
        Period.objects.create(legal_entity=project.legal_entity, month=date(2026, 3, 1),
                              status=Period.Status.CLOSED)
        with pytest.raises(PeriodClosedError):
            expenses_approve(actor=manager.user, expenses=[expense])
