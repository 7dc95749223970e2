"""The expense pages: role matrix, list with filters/totals/export, form, receipts."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from psa import roles
from psa.models import Expense, ExpenseCategory
from psa.services.expenses import expense_create
from tests.psa.factories import (
    ExpenseFactory,
    ExpensePolicyFactory,
    ProjectFactory,
    ProjectMemberFactory,
    person_with_role,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.5\n1 0 obj<<>>endobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xdb\x00\x43\x00" + b"\x01" * 40 + b"\xff\xd9"
HTML = b"<html><script>alert(1)</script></html>"


def media_files(root) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def form_body(project, **extra):
    return {"project": str(project.pk), "expense_date": "2026-03-10", "category": "meals",
            "amount": "18.40", "currency": project.currency, "merchant": "Cafe",
            "is_billable": "on", "action": "save", **extra}


# (url name, permission needed, kwargs builder) — expectations come from psa.roles.MATRIX.
PAGES = [
    ("expense-list", "psa.view_expense", None),
    ("expense-export", "psa.view_expense", None),
    ("expense-create", "psa.add_expense", None),
    ("expense-edit", "psa.view_expense", lambda e: {"pk": e.pk}),
]


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize(("name", "perm", "kwargs_of"), PAGES, ids=[p[0] for p in PAGES])
def test_pages_follow_the_role_matrix(role, name, perm, kwargs_of, world_for, browser_for):
    world = world_for(role)
    own = ExpenseFactory(person=world.person, project=world.own_project)
    url = reverse(name, kwargs=kwargs_of(own) if kwargs_of else None)
    expected = 200 if roles.scope_of(frozenset({role}), perm) else 403

    response = browser_for(world.person).get(url)

    assert response.status_code == expected, (role, name)


@pytest.mark.parametrize(("name", "kwargs"), [
    ("expense-list", None), ("expense-create", None), ("expense-edit", {"pk": 1}),
    ("expense-receipt", {"pk": 1})])
def test_anonymous_visitors_are_sent_to_sign_in(client, name, kwargs):
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.fixture
def team():
    manager = person_with_role(roles.PROJECT_MANAGER)
    member = person_with_role(roles.CONSULTANT)
    stranger = person_with_role(roles.CONSULTANT)
    project = ProjectFactory(manager=manager, code="ACME-042")
    ProjectMemberFactory(project=project, person=member)
    ExpensePolicyFactory(legal_entity=project.legal_entity, category=ExpenseCategory.MEALS,
                         receipt_required_above=Decimal("25.00"), limit_amount=Decimal("75.00"))
    return type("Team", (), {"manager": manager, "member": member, "stranger": stranger,
                             "project": project})


class TestList:
    def test_scope_totals_badges_and_filters(self, team, browser_for):
        mine = ExpenseFactory(person=team.member, project=team.project, merchant="Cab One",
                              amount=Decimal("10.00"), project_amount=Decimal("10.00"))
        ExpenseFactory(person=team.member, project=team.project, merchant="Cab Two",
                       amount=Decimal("5.25"), project_amount=Decimal("5.25"), submitted=True,
                       expense_date=date(2026, 4, 3))
        ExpenseFactory(merchant="Somebody Else")
        browser = browser_for(team.member)

        html = browser.get(reverse("expense-list")).content.decode()
        assert "Cab One" in html and "Cab Two" in html and "Somebody Else" not in html
        assert "15.25 USD" in html
        assert 'class="badge badge-submitted"' in html

        filtered = browser.get(reverse("expense-list"), {"status": "draft"}).content.decode()
        assert "Cab One" in filtered and "Cab Two" not in filtered
        by_month = browser.get(reverse("expense-list"), {"month": "2026-04"}).content.decode()
        assert "Cab Two" in by_month and "Cab One" not in by_month
        assert reverse("expense-edit", args=[mine.pk]) in html

    def test_the_manager_sees_the_team_and_can_narrow_to_their_own(self, team, browser_for):
        ExpenseFactory(person=team.member, project=team.project, merchant="Team cab")
        browser = browser_for(team.manager)

        assert "Team cab" in browser.get(reverse("expense-list")).content.decode()
        mine = browser.get(reverse("expense-list"), {"whose": "mine"}).content.decode()
        assert "Team cab" not in mine

    def test_empty_state_says_what_to_do(self, team, browser_for):
        html = browser_for(team.member).get(reverse("expense-list")).content.decode()
        assert "No expenses yet" in html and reverse("expense-create") in html

    def test_csv_export_has_the_visible_rows_only(self, team, browser_for):
        ExpenseFactory(person=team.member, project=team.project, merchant="Cab One")
        ExpenseFactory(merchant="Somebody Else")

        response = browser_for(team.member).get(reverse("expense-export"))

        body = b"".join(response.streaming_content).decode()
        assert response["Content-Type"].startswith("text/csv")
        assert body.splitlines()[0].startswith("id,date,person,project,category")
        assert "Cab One" in body and "Somebody Else" not in body


class TestForm:
    def test_the_form_has_no_inline_script_and_loads_its_js(self, team, browser_for):
        html = browser_for(team.member).get(reverse("expense-create")).content.decode()
        assert "js/expenses.js" in html
        assert 'id="expense-policy"' in html  # policy data as JSON, not executable
        assert " onclick=" not in html and " onchange=" not in html
        assert 'enctype="multipart/form-data"' in html
        assert 'data-show="mileage"' in html and 'data-show="per_diem"' in html

    def test_create_a_draft_with_a_receipt(self, team, browser_for, media_root):
        response = browser_for(team.member).post(reverse("expense-create"), {
            **form_body(team.project),
            "receipt": SimpleUploadedFile("r.jpg", JPEG, content_type="image/jpeg")})

        expense = Expense.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("expense-edit", args=[expense.pk])
        assert expense.status == Expense.Status.DRAFT
        assert expense.receipt_content_type == "image/jpeg"
        assert len(media_files(media_root)) == 1

    def test_errors_are_shown_beside_their_fields(self, team, browser_for):
        browser = browser_for(team.member)

        zero = browser.post(reverse("expense-create"), form_body(team.project, amount="0"))
        fx = browser.post(reverse("expense-create"), form_body(team.project, currency="EUR"))

        assert zero.status_code == 400
        assert "amount" in zero.context["form"].errors
        assert "above zero" in zero.content.decode()
        assert "exchange_rate" in fx.context["form"].errors
        assert not Expense.objects.exists()

    def test_html_renamed_pdf_is_refused_beside_the_receipt_field(self, team, browser_for,
                                                                  media_root):
        response = browser_for(team.member).post(reverse("expense-create"), {
            **form_body(team.project),
            "receipt": SimpleUploadedFile("r.pdf", HTML, content_type="application/pdf")})

        assert response.status_code == 400
        assert "receipt" in response.context["form"].errors
        assert not Expense.objects.exists()
        assert media_files(media_root) == []

    def test_over_policy_warns_and_needs_a_justification(self, team, browser_for):
        browser = browser_for(team.member)
        refused = browser.post(reverse("expense-create"), form_body(team.project, amount="90"))
        html = refused.content.decode()
        assert "justification" in refused.context["form"].errors
        assert 'id="policy-warning"' in html
        assert 'id="policy-warning" role="status" aria-live="polite" hidden' not in html

        accepted = browser.post(reverse("expense-create"),
                                form_body(team.project, amount="90",
                                          justification="Team dinner"))
        assert accepted.status_code == 302
        assert Expense.objects.get().is_over_policy is True

    def test_submit_without_a_required_receipt_fails_beside_the_receipt(self, team,
                                                                         browser_for):
        browser = browser_for(team.member)
        response = browser.post(reverse("expense-create"),
                                form_body(team.project, amount="40.00", action="submit"))

        assert response.status_code == 400
        assert "A receipt is required" in " ".join(response.context["form"].errors["receipt"])
        assert not Expense.objects.exists()  # save-and-submit is one transaction

        saved = browser.post(reverse("expense-create"),
                             form_body(team.project, amount="40.00"))
        assert saved.status_code == 302  # the draft itself may lack the receipt
        expense = Expense.objects.get()
        submitted = browser.post(reverse("expense-edit", args=[expense.pk]), {
            **form_body(team.project, amount="40.00", action="submit"),
            "receipt": SimpleUploadedFile("r.pdf", PDF, content_type="application/pdf")})
        assert submitted.status_code == 302
        expense.refresh_from_db()
        assert expense.status == Expense.Status.SUBMITTED

    def test_a_submitted_expense_is_read_only(self, team, browser_for):
        expense = ExpenseFactory(person=team.member, project=team.project, submitted=True)
        browser = browser_for(team.member)

        page = browser.get(reverse("expense-edit", args=[expense.pk])).content.decode()
        post = browser.post(reverse("expense-edit", args=[expense.pk]),
                            form_body(team.project, merchant="Changed"))

        assert 'id="expense-form"' not in page and "Submitted" in page
        assert post.status_code == 400
        assert "submitted" in " ".join(post.context["form"].non_field_errors())
        expense.refresh_from_db()
        assert expense.merchant == "City Cabs"

    def test_a_rejected_expense_shows_the_reason_and_can_be_fixed(self, team, browser_for):
        expense = ExpenseFactory(person=team.member, project=team.project,
                                 status=Expense.Status.REJECTED,
                                 rejection_reason="Wrong project code")
        browser = browser_for(team.member)

        page = browser.get(reverse("expense-edit", args=[expense.pk])).content.decode()
        assert "Wrong project code" in page and 'id="expense-form"' in page

        browser.post(reverse("expense-edit", args=[expense.pk]),
                     form_body(team.project, merchant="Fixed"))
        expense.refresh_from_db()
        assert expense.merchant == "Fixed"

    def test_delete_a_draft(self, team, browser_for):
        expense = ExpenseFactory(person=team.member, project=team.project)
        response = browser_for(team.member).post(reverse("expense-edit", args=[expense.pk]),
                                                 {"action": "delete"})
        assert response.status_code == 302
        assert not Expense.objects.exists()

    def test_others_cannot_see_or_change_an_expense(self, team, browser_for):
        expense = ExpenseFactory(person=team.member, project=team.project)

        stranger = browser_for(team.stranger)
        assert stranger.get(reverse("expense-edit", args=[expense.pk])).status_code == 404
        manager = browser_for(team.manager)
        page = manager.get(reverse("expense-edit", args=[expense.pk])).content.decode()
        assert 'id="expense-form"' not in page  # read-only for the manager
        response = manager.post(reverse("expense-edit", args=[expense.pk]), {"action": "delete"})
        assert response.status_code == 403
        assert Expense.objects.filter(pk=expense.pk).exists()


class TestReceiptDownload:
    @pytest.mark.parametrize(("who", "expected"), [
        ("member", 200), ("manager", 200), ("stranger", 404), ("finance", 200)])
    def test_only_those_who_may_see_the_expense_get_the_file(self, team, browser_for, who,
                                                             expected):
        expense = expense_create(
            actor=team.member.user, person=team.member, project=team.project,
            data={"expense_date": date(2026, 3, 10), "category": "meals",
                  "amount": Decimal("12.00")},
            receipt=SimpleUploadedFile("x.html", PDF, content_type="text/html"))
        person = person_with_role(roles.FINANCE) if who == "finance" else getattr(team, who)

        response = browser_for(person).get(reverse("expense-receipt", args=[expense.pk]))

        assert response.status_code == expected
        if expected == 200:
            assert response["Content-Type"] == "application/pdf"
            assert response["X-Content-Type-Options"] == "nosniff"
            assert response["Content-Disposition"].startswith("attachment")
            assert b"".join(response.streaming_content) == PDF

    def test_media_is_not_served_publicly(self, team, browser_for):
        expense = expense_create(
            actor=team.member.user, person=team.member, project=team.project,
            data={"expense_date": date(2026, 3, 10), "category": "meals",
                  "amount": Decimal("12.00")},
            receipt=SimpleUploadedFile("x.pdf", PDF, content_type="application/pdf"))

        response = browser_for(team.member).get(f"/media/{expense.receipt.name}")

        assert response.status_code == 404


def test_the_list_runs_the_same_queries_whatever_the_rows(team, browser_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    browser = browser_for(team.manager)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert browser.get(reverse("expense-list")).status_code == 200
        return len(queries)

    ExpenseFactory(person=team.member, project=team.project)
    few = count()
    for _ in range(15):
        ExpenseFactory(person=team.member, project=team.project)
    assert count() == few
