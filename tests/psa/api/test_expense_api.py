"""`/api/v1/expenses/`: JSON and multipart, filters, scope, ETags, transitions, receipts."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from psa import roles
from psa.models import Expense, ExpenseCategory, OutboxEvent, Period
from psa.services.expenses import expense_create
from tests.psa.api.helpers import error_attrs, error_codes
from tests.psa.factories import (
    ExpenseFactory,
    ExpensePolicyFactory,
    PeriodFactory,
    ProjectFactory,
    ProjectMemberFactory,
    person_with_role,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/expenses/"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
GIF = b"GIF89a\x01\x00\x01\x00" + b"\x00" * 16
HTML = b"<html><body>not a receipt</body></html>"


def media_files(root) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def team():
    """A project managed by `manager`, with consultant `member` on its team, and a stranger."""
    manager = person_with_role(roles.PROJECT_MANAGER)
    member = person_with_role(roles.CONSULTANT)
    stranger = person_with_role(roles.CONSULTANT)
    project = ProjectFactory(manager=manager)
    ProjectMemberFactory(project=project, person=member)
    ExpensePolicyFactory(legal_entity=project.legal_entity, category=ExpenseCategory.MEALS,
                         receipt_required_above=Decimal("25.00"), limit_amount=Decimal("75.00"))
    ExpensePolicyFactory(legal_entity=project.legal_entity, category=ExpenseCategory.MILEAGE,
                         receipt_required_above=Decimal("500.00"), limit_amount=None,
                         unit_rate=Decimal("0.6550"))
    return type("Team", (), {"manager": manager, "member": member, "stranger": stranger,
                             "project": project})


def body(project, **extra):
    return {"project": project.pk, "expense_date": "2026-03-10", "category": "meals",
            "merchant": "Cafe", "amount": "18.40", **extra}


def receipt(content=PDF, name="receipt.pdf", content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


class TestCreate:
    def test_json_create_returns_201_with_etag_and_money_strings(self, team, token_client):
        response = token_client(team.member.user).post(URL, body(team.project), format="json")

        assert response.status_code == 201, response.json()
        assert response["ETag"]
        row = response.json()
        assert row["person"] == team.member.pk
        assert (row["amount"], row["project_amount"], row["exchange_rate"]) == (
            "18.40", "18.40", "1.0000")
        assert row["status"] == "draft" and row["has_receipt"] is False
        assert row["receipt_url"] is None

    def test_multipart_create_stores_the_receipt(self, team, token_client, media_root):
        response = token_client(team.member.user).post(
            URL, {**body(team.project), "receipt": receipt(PNG, "x.pdf", "application/pdf")},
            format="multipart")

        assert response.status_code == 201, response.json()
        row = response.json()
        assert row["has_receipt"] is True and row["receipt_content_type"] == "image/png"
        assert row["receipt_url"] == f"/api/v1/expenses/{row['id']}/receipt/"
        assert row["is_billable"] is True  # an omitted boolean in multipart stays the default
        assert len(media_files(media_root)) == 1

    def test_mileage_and_fx_are_computed(self, team, token_client):
        client = token_client(team.member.user)
        mileage_body = body(team.project, category="mileage", quantity="123.45")
        del mileage_body["amount"]
        mileage = client.post(URL, mileage_body, format="json").json()
        fx = client.post(URL, body(team.project, amount="10.00", currency="EUR",
                                   exchange_rate="1.2345"), format="json").json()

        assert (mileage["amount"], mileage["unit_rate"]) == ("80.86", "0.6550")
        assert (fx["project_amount"], fx["project_currency"]) == ("12.35", "USD")

    @pytest.mark.parametrize(("extra", "attr"), [
        ({"amount": "0.00"}, "amount"),
        ({"amount": "-12.00"}, "amount"),
        ({"currency": "EUR"}, "exchange_rate"),
        ({"amount": "80.00"}, "justification"),
        ({"expense_date": "2019-06-01"}, "expense_date"),
        ({"category": "yacht"}, "category"),
        ({"project": 999999}, "project"),
    ])
    def test_validation_errors_use_the_error_shape_and_write_nothing(
            self, team, token_client, extra, attr):
        response = token_client(team.member.user).post(URL, {**body(team.project), **extra},
                                                       format="json")

        assert response.status_code == 400
        assert attr in error_attrs(response)
        assert not Expense.objects.exists()

    @pytest.mark.parametrize(("content", "name"), [
        (HTML, "receipt.pdf"), (GIF, "receipt.gif"),
        (b"%PDF-" + b"0" * (12 * 1024 * 1024), "huge.pdf")],
        ids=["html-renamed-pdf", "gif", "12-mb"])
    def test_bad_receipts_are_400_with_no_row_and_no_file(self, team, token_client, media_root,
                                                          content, name):
        response = token_client(team.member.user).post(
            URL, {**body(team.project), "receipt": receipt(content, name)}, format="multipart")

        assert response.status_code == 400
        assert error_attrs(response) == {"receipt"}
        assert error_codes(response) == {"invalid_receipt"}
        assert not Expense.objects.exists()
        assert media_files(media_root) == []

    def test_a_valid_receipt_with_an_invalid_row_leaves_no_file(self, team, token_client,
                                                                media_root):
        response = token_client(team.member.user).post(
            URL, {**body(team.project, amount="0"), "receipt": receipt()}, format="multipart")

        assert response.status_code == 400
        assert media_files(media_root) == []

    def test_booking_for_someone_else_or_off_team_is_refused(self, team, token_client,
                                                             media_root):
        client = token_client(team.stranger.user)
        other_person = client.post(URL, {**body(team.project), "person": team.member.pk},
                                   format="json")
        off_team = client.post(URL, body(team.project), format="json")

        assert other_person.status_code == 400 and "person" in error_attrs(other_person)
        assert off_team.status_code == 400 and "project" in error_attrs(off_team)
        assert not Expense.objects.exists()

    def test_a_refused_permission_after_create_rolls_back_row_and_file(
            self, team, token_client, media_root):
        # The administrator may name anyone; a project manager (add OWN) may not, even for a
        # report it sees: the permission check on the new row refuses and rolls back.
        team.member.manager = team.manager
        team.member.save()
        response = token_client(team.manager.user).post(
            URL, {**body(team.project), "person": team.member.pk, "receipt": receipt()},
            format="multipart")

        assert response.status_code == 403
        assert not Expense.objects.exists()
        assert media_files(media_root) == []

    def test_idempotent_multipart_post_creates_once(self, team, token_client):
        client = token_client(team.member.user)
        payload = {**body(team.project), "receipt": receipt()}
        first = client.post(URL, payload, format="multipart", HTTP_IDEMPOTENCY_KEY="k-1")
        payload["receipt"] = receipt()
        again = client.post(URL, payload, format="multipart", HTTP_IDEMPOTENCY_KEY="k-1")

        assert first.status_code == again.status_code == 201
        assert Expense.objects.count() == 1


class TestChangeDeleteSubmit:
    def test_patch_with_stale_if_match_is_412(self, team, token_client):
        client = token_client(team.member.user)
        created = client.post(URL, body(team.project), format="json")
        url = f"{URL}{created.json()['id']}/"

        fresh = client.patch(url, {"merchant": "Pret"}, format="json",
                             HTTP_IF_MATCH=created["ETag"])
        stale = client.patch(url, {"merchant": "Leon"}, format="json",
                             HTTP_IF_MATCH=created["ETag"])

        assert fresh.status_code == 200 and fresh.json()["merchant"] == "Pret"
        assert stale.status_code == 412
        assert error_codes(stale) == {"stale_version"}

    def test_patch_and_delete_of_a_submitted_expense_are_409(self, team, token_client):
        expense = ExpenseFactory(person=team.member, project=team.project, submitted=True)
        client = token_client(team.member.user)

        patched = client.patch(f"{URL}{expense.pk}/", {"merchant": "X"}, format="json")
        deleted = client.delete(f"{URL}{expense.pk}/")

        assert patched.status_code == 409 and error_codes(patched) == {"expense_state"}
        assert deleted.status_code == 409
        assert Expense.objects.filter(pk=expense.pk, merchant="City Cabs").exists()

    def test_delete_a_draft_is_204(self, team, token_client):
        expense = ExpenseFactory(person=team.member, project=team.project)
        assert token_client(team.member.user).delete(f"{URL}{expense.pk}/").status_code == 204
        assert not Expense.objects.exists()

    def test_patch_multipart_replaces_the_receipt(self, team, token_client):
        client = token_client(team.member.user)
        created = client.post(URL, body(team.project), format="json").json()

        response = client.patch(f"{URL}{created['id']}/", {"receipt": receipt(PNG, "p.png")},
                                format="multipart")

        assert response.status_code == 200, response.json()
        assert response.json()["receipt_content_type"] == "image/png"

    def test_closed_period_is_409(self, team, token_client):
        expense = ExpenseFactory(person=team.member, project=team.project)
        PeriodFactory(legal_entity=team.project.legal_entity, month=date(2026, 3, 1),
                      status=Period.Status.CLOSED)
        client = token_client(team.member.user)

        assert client.post(URL, body(team.project), format="json").status_code == 409
        assert client.delete(f"{URL}{expense.pk}/").status_code == 409
        response = client.patch(f"{URL}{expense.pk}/", {"merchant": "X"}, format="json")
        assert response.status_code == 409 and error_codes(response) == {"period_closed"}

    def test_submit_needs_the_receipt_then_publishes(self, team, token_client):
        client = token_client(team.member.user)
        created = client.post(URL, body(team.project, amount="40.00"), format="json").json()
        url = f"{URL}{created['id']}/"

        refused = client.post(f"{url}submit/")
        assert refused.status_code == 400 and error_attrs(refused) == {"receipt"}

        client.patch(url, {"receipt": receipt()}, format="multipart")
        submitted = client.post(f"{url}submit/")
        assert submitted.status_code == 200
        assert submitted.json()["status"] == "submitted"
        assert OutboxEvent.objects.filter(type="expense.submitted").count() == 1

    def test_another_consultant_cannot_touch_the_expense(self, team, token_client):
        expense = ExpenseFactory(person=team.member, project=team.project)
        client = token_client(team.stranger.user)

        assert client.get(f"{URL}{expense.pk}/").status_code == 404
        assert client.patch(f"{URL}{expense.pk}/", {"merchant": "X"},
                            format="json").status_code == 404
        assert client.post(f"{URL}{expense.pk}/submit/").status_code == 404

    def test_the_manager_sees_but_cannot_change_a_team_members_expense(self, team,
                                                                       token_client):
        expense = ExpenseFactory(person=team.member, project=team.project)
        client = token_client(team.manager.user)

        assert client.get(f"{URL}{expense.pk}/").status_code == 200
        assert client.patch(f"{URL}{expense.pk}/", {"merchant": "X"},
                            format="json").status_code == 403


class TestList:
    def test_filters_and_scope(self, team, token_client):
        march = ExpenseFactory(person=team.member, project=team.project,
                               category=ExpenseCategory.MEALS)
        april = ExpenseFactory(person=team.member, project=team.project,
                               expense_date=date(2026, 4, 2), submitted=True)
        ExpenseFactory()  # someone else's, elsewhere
        client = token_client(team.member.user)

        def ids(**params):
            response = client.get(URL, params)
            assert response.status_code == 200
            return {row["id"] for row in response.json()["results"]}

        assert ids() == {march.pk, april.pk}
        assert ids(status="submitted") == {april.pk}
        assert ids(category="meals") == {march.pk}
        assert ids(date_after="2026-04-01") == {april.pk}
        assert ids(date_before="2026-03-31") == {march.pk}
        assert ids(project=team.project.pk, person=team.member.pk) == {march.pk, april.pk}
        assert ids(updated_since="2999-01-01T00:00:00Z") == set()
        assert token_client(team.manager.user).get(URL).json()["results"]
        assert token_client(team.stranger.user).get(URL).json()["results"] == []

    def test_schema_documents_the_multipart_upload(self, api_client):
        schema = api_client.get("/api/schema/",
                                HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
        create = schema["paths"]["/api/v1/expenses/"]["post"]
        assert "multipart/form-data" in create["requestBody"]["content"]
        assert "/api/v1/expenses/{id}/receipt/" in schema["paths"]
        assert "/api/v1/expenses/{id}/submit/" in schema["paths"]


class TestReceiptDownload:
    @pytest.fixture
    def expense(self, team):
        return expense_create(actor=team.member.user, person=team.member, project=team.project,
                              data={"expense_date": date(2026, 3, 10), "category": "meals",
                                    "amount": Decimal("12.00")},
                              receipt=receipt(PDF, "evil.html", "text/html"))

    @pytest.mark.parametrize(("who", "expected"), [
        ("member", 200), ("manager", 200), ("stranger", 404), ("finance", 200)])
    def test_permission_matrix(self, team, expense, token_client, who, expected):
        person = person_with_role(roles.FINANCE) if who == "finance" else getattr(team, who)

        response = token_client(person.user).get(f"{URL}{expense.pk}/receipt/")

        assert response.status_code == expected
        if expected == 200:
            assert response["Content-Type"] == "application/pdf"
            assert response["X-Content-Type-Options"] == "nosniff"
            assert response["Content-Disposition"].startswith("attachment")
            assert b"".join(response.streaming_content) == PDF

    def test_no_receipt_is_404_in_the_error_shape(self, team, token_client):
        expense = ExpenseFactory(person=team.member, project=team.project)
        response = token_client(team.member.user).get(f"{URL}{expense.pk}/receipt/")
        assert response.status_code == 404
        error_codes(response)
