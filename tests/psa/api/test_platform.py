"""The API platform: auth, pagination, filters, errors, idempotency, ETags, throttling, docs."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from psa.common.idempotency import idempotency_records_purge, request_hash
from psa.common.throttling import TokenRateThrottle
from psa.models import Client, IdempotencyRecord, OutboxEvent, Project
from tests.psa.api.helpers import error_attrs, error_codes
from tests.psa.factories import ClientFactory, LegalEntityFactory, ProjectFactory

pytestmark = pytest.mark.django_db

CLIENTS = "/api/v1/clients/"
PROJECTS = "/api/v1/projects/"


def client_body(legal_entity, **extra):
    return {"code": "ACME", "name": "Acme Corp", "legal_entity": legal_entity.pk, **extra}


class TestAuthentication:
    def test_no_token_is_401_in_error_shape(self, api_client):
        response = api_client.get(CLIENTS)

        assert response.status_code == 401
        assert error_codes(response) == {"not_authenticated"}
        assert response["WWW-Authenticate"] == "Bearer"

    def test_bad_token_is_401(self):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Bearer psa_not-a-real-token")

        response = client.get(CLIENTS)

        assert response.status_code == 401
        assert error_codes(response) == {"authentication_failed"}

    def test_role_without_permission_is_403_and_writes_nothing(self, consultant, token_client):
        before = Client.objects.count()

        response = token_client(consultant.user).post(
            CLIENTS, client_body(LegalEntityFactory()), format="json")

        assert response.status_code == 403
        assert error_codes(response) == {"permission_denied"}
        assert Client.objects.count() == before

    def test_token_scope_limits_the_user(self, finance, token_client):
        client = token_client(finance.user, scopes=["psa.view_client"])

        assert client.get(CLIENTS).status_code == 200
        response = client.post(CLIENTS, client_body(LegalEntityFactory()), format="json")
        assert response.status_code == 403

    def test_outside_scope_is_404_and_visible_but_refused_is_403(
            self, project_manager, token_client):
        others = ProjectFactory()
        on_team = ProjectFactory()
        on_team.memberships.create(person=project_manager)
        client = token_client(project_manager.user)

        assert client.get(f"{PROJECTS}{others.pk}/").status_code == 404
        assert client.patch(f"{PROJECTS}{others.pk}/", {"name": "x"},
                            format="json").status_code == 404
        assert client.get(f"{PROJECTS}{on_team.pk}/").status_code == 200
        response = client.patch(f"{PROJECTS}{on_team.pk}/", {"name": "x"}, format="json")
        assert response.status_code == 403
        on_team.refresh_from_db()
        assert on_team.name != "x"


class TestPagination:
    def test_page_size_next_cursor_and_stable_order(self, finance, token_client):
        ids = sorted(ClientFactory.create_batch(5), key=lambda c: c.pk)
        client = token_client(finance.user)

        first = client.get(CLIENTS, {"page_size": 2}).json()
        second = client.get(first["next"]).json()
        third = client.get(second["next"]).json()

        seen = [row["id"] for page in (first, second, third) for row in page["results"]]
        assert seen == [c.pk for c in ids]
        assert len(first["results"]) == 2
        assert first["previous"] is None
        assert third["next"] is None

    def test_page_size_above_500_is_capped(self, finance, token_client):
        entity = LegalEntityFactory()
        Client.objects.bulk_create(
            Client(code=f"B{n:04d}", name=f"Bulk {n}", legal_entity=entity, currency="USD")
            for n in range(502))

        response = token_client(finance.user).get(CLIENTS, {"page_size": 1000})

        assert response.status_code == 200
        assert len(response.json()["results"]) == 500
        assert response.json()["next"]


class TestFilters:
    def test_updated_since_returns_rows_changed_at_or_after(self, finance, token_client):
        old, recent = ClientFactory(), ClientFactory()
        Client.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=3))
        since = (timezone.now() - timedelta(days=1)).isoformat()

        response = token_client(finance.user).get(CLIENTS, {"updated_since": since})

        assert [row["id"] for row in response.json()["results"]] == [recent.pk]

    def test_invalid_updated_since_is_400(self, finance, token_client):
        response = token_client(finance.user).get(CLIENTS, {"updated_since": "yesterday"})

        assert response.status_code == 400
        assert error_attrs(response) == {"updated_since"}

    def test_external_ref_finds_the_row(self, finance, token_client):
        client = token_client(finance.user)
        entity = LegalEntityFactory()
        created = client.post(CLIENTS, client_body(
            entity, external_refs=[{"system": "hubspot", "id": "123"}]), format="json").json()
        ClientFactory()

        response = client.get(CLIENTS, {"external_ref": "hubspot:123"})

        assert [row["id"] for row in response.json()["results"]] == [created["id"]]
        assert client.get(CLIENTS, {"external_ref": "hubspot:999"}).json()["results"] == []

    def test_malformed_external_ref_is_400(self, finance, token_client):
        response = token_client(finance.user).get(CLIENTS, {"external_ref": "hubspot"})

        assert response.status_code == 400
        assert error_attrs(response) == {"external_ref"}

    def test_duplicate_external_ref_is_400_and_writes_nothing(self, finance, token_client):
        client = token_client(finance.user)
        entity = LegalEntityFactory()
        client.post(CLIENTS, client_body(entity, external_refs=[{"system": "hubspot",
                                                                  "id": "7"}]), format="json")
        before = Client.objects.count()

        response = client.post(CLIENTS, client_body(
            entity, code="OTHER", external_refs=[{"system": "hubspot", "id": "7"}]),
            format="json")

        assert response.status_code == 400
        assert error_codes(response) == {"duplicate_external_ref"}
        assert "already belongs" in response.json()["errors"][0]["detail"]
        assert Client.objects.count() == before


class TestErrorShape:
    @pytest.fixture
    def project_body(self):
        project = ProjectFactory()
        return {"code": "NEW-1", "name": "New", "contract": project.contract_id,
                "manager": project.manager_id, "start_date": "2026-01-01",
                "end_date": "2026-06-30", "budget_hours": "100.00"}

    @pytest.mark.parametrize(("change", "attr"), [
        ({"budget_hours": "lots"}, "budget_hours"),
        ({"manager": 999999}, "manager"),
        ({"manager": "abc"}, "manager"),
        ({"contract": 999999}, "contract"),
        ({"start_date": "2026-13-01"}, "start_date"),
        ({"end_date": "31/12/2026"}, "end_date"),
        ({"budget_cost_amount": "-1.00"}, "budget_cost_amount"),
        ({"end_date": "2025-01-01"}, "end_date"),
    ])
    def test_bad_input_is_400_with_attr_and_writes_nothing(
            self, finance, token_client, project_body, change, attr):
        projects, events = Project.objects.count(), OutboxEvent.objects.count()

        response = token_client(finance.user).post(PROJECTS, {**project_body, **change},
                                                   format="json")

        assert response.status_code == 400
        assert response.json()["type"] == "validation_error"
        assert attr in error_attrs(response)
        assert Project.objects.count() == projects
        assert OutboxEvent.objects.count() == events

    def test_model_rule_is_400_with_attr(self, finance, token_client):
        client = ClientFactory()
        before = client.contracts.count()

        response = token_client(finance.user).post("/api/v1/contracts/", {
            "code": "C-1", "name": "Capped", "client": client.pk, "billing_model": "tm_cap",
            "revenue_method": "as_delivered", "value_amount": "1000.00",
            "start_date": "2026-01-01", "end_date": "2026-12-31"}, format="json")

        assert response.status_code == 400
        assert error_attrs(response) == {"cap_amount"}
        assert client.contracts.count() == before


class TestIdempotency:
    def post(self, client, body, key="key-1"):
        return client.post(CLIENTS, body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    def test_same_key_same_body_replays_without_redoing(self, finance, token_client):
        client = token_client(finance.user)
        body = client_body(LegalEntityFactory())

        first = self.post(client, body)
        again = self.post(client, body)

        assert first.status_code == again.status_code == 201
        assert again.content == first.content
        assert again["Idempotent-Replayed"] == "true"
        assert Client.objects.filter(code="ACME").count() == 1
        assert OutboxEvent.objects.filter(type="client.created").count() == 1

    def test_same_key_other_body_is_422(self, finance, token_client):
        client = token_client(finance.user)
        entity = LegalEntityFactory()
        self.post(client, client_body(entity))

        response = self.post(client, client_body(entity, name="Other name"))

        assert response.status_code == 422
        assert error_codes(response) == {"idempotency_key_reused"}
        assert Client.objects.count() == 1

    def test_keys_are_per_user(self, finance, administrator, token_client):
        body = client_body(LegalEntityFactory())
        self.post(token_client(finance.user), body)

        response = self.post(token_client(administrator.user), {**body, "code": "ACME2"})

        assert response.status_code == 201

    def test_error_responses_are_replayed_too(self, finance, token_client):
        client = token_client(finance.user)
        bad = {"code": "X", "name": "X", "legal_entity": 999999}

        first = self.post(client, bad)
        again = self.post(client, bad)

        assert first.status_code == again.status_code == 400
        assert again.content == first.content

    def test_in_flight_duplicate_is_409_with_retry_after(self, finance, token_client):
        client = token_client(finance.user)
        body = client_body(LegalEntityFactory())
        IdempotencyRecord.objects.create(
            user=finance.user, key="key-1",
            request_hash=request_hash(method="POST", path=CLIENTS,
                                      body=__import__("json").dumps(body).encode()))

        response = self.post(client, body)

        assert response.status_code == 409
        assert response["Retry-After"] == "1"
        assert error_codes(response) == {"idempotency_key_in_flight"}
        assert not Client.objects.exists()

    def test_conflicts_are_not_stored(self, administrator, token_client):
        from tests.psa.factories import MilestoneFactory

        milestone = MilestoneFactory(completed=True)
        client = token_client(administrator.user)

        response = client.post(f"/api/v1/milestones/{milestone.pk}/complete/",
                               HTTP_IDEMPOTENCY_KEY="k")

        assert response.status_code == 409
        assert not IdempotencyRecord.objects.exists()

    def test_purge_deletes_records_older_than_the_ttl(self, finance, settings):
        settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
        old = IdempotencyRecord.objects.create(user=finance.user, key="old", request_hash="x")
        IdempotencyRecord.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - timedelta(hours=25))
        IdempotencyRecord.objects.create(user=finance.user, key="new", request_hash="y")

        assert idempotency_records_purge() == 1
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


class TestConcurrency:
    def test_stale_if_match_is_412_and_current_etag_succeeds(self, finance, token_client):
        existing = ClientFactory(name="Before")
        client = token_client(finance.user)
        url = f"{CLIENTS}{existing.pk}/"
        etag = client.get(url)["ETag"]
        client.patch(url, {"billing_address": "Moved"}, format="json")  # someone else

        stale = client.patch(url, {"name": "Mine"}, format="json", HTTP_IF_MATCH=etag)
        current = client.get(url)["ETag"]
        fresh = client.patch(url, {"name": "Mine"}, format="json", HTTP_IF_MATCH=current)

        assert stale.status_code == 412
        assert error_codes(stale) == {"stale_version"}
        assert fresh.status_code == 200
        assert fresh.json()["name"] == "Mine"
        assert fresh["ETag"] != current

    def test_patch_without_if_match_applies(self, finance, token_client):
        existing = ClientFactory()

        response = token_client(finance.user).patch(f"{CLIENTS}{existing.pk}/",
                                                    {"tax_rate": "7.5"}, format="json")

        assert response.status_code == 200
        assert response.json()["tax_rate"] == "7.5000"


class TestThrottling:
    def test_over_the_limit_is_429_with_retry_after(self, finance, token_client, monkeypatch):
        monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
        client = token_client(finance.user)

        statuses = [client.get(CLIENTS).status_code for _ in range(4)]

        assert statuses == [200, 200, 200, 429]
        response = client.get(CLIENTS)
        assert int(response["Retry-After"]) > 0
        assert error_codes(response) == {"throttled"}

    def test_limits_are_per_token(self, finance, token_client, monkeypatch):
        monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "1/min"})
        first, second = token_client(finance.user), token_client(finance.user)

        assert first.get(CLIENTS).status_code == 200
        assert second.get(CLIENTS).status_code == 200
        assert first.get(CLIENTS).status_code == 429


class TestDocs:
    def test_schema_is_openapi(self, api_client):
        response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

        assert response.status_code == 200
        schema = response.json()
        assert schema["openapi"].startswith("3.")
        assert "/api/v1/projects/{id}/financials/" in schema["paths"]
        assert "/api/v1/milestones/{id}/accept/" in schema["paths"]

    @pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
    def test_docs_render_without_external_assets(self, api_client, path):
        response = api_client.get(path)

        assert response.status_code == 200
        html = response.content.decode()
        assert not re.search(r"""(src|href)\s*=\s*["']https?://""", html)
        assert "sidecar" in html


class TestCreateApiTokenCommand:
    def test_prints_a_working_token(self, finance, capsys):
        call_command("create_api_token", finance.user.username, "--name", "erp")
        raw = capsys.readouterr().out.strip()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

        assert client.get(CLIENTS).status_code == 200
        assert finance.user.api_tokens.get().name == "erp"

    def test_scope_limits_the_token(self, finance, capsys):
        call_command("create_api_token", finance.user.username, "--scope", "psa.view_project")
        raw = capsys.readouterr().out.strip()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

        assert client.get(PROJECTS).status_code == 200
        assert client.get(CLIENTS).status_code == 403

    def test_unknown_user_is_a_command_error(self):
        with pytest.raises(CommandError, match="No user"):
            call_command("create_api_token", "nobody")


def test_money_and_rates_go_out_as_strings(finance, token_client):
    ClientFactory(tax_rate=Decimal("8.25"))

    row = token_client(finance.user).get(CLIENTS).json()["results"][0]

    assert row["tax_rate"] == "8.2500"


def test_a_change_made_with_a_token_is_audited_under_the_tokens_user(finance, token_client):
    """The audit middleware runs before DRF reads the bearer token; the author is still kept."""
    from auditlog.models import LogEntry

    client = ClientFactory(name="Before")

    response = token_client(finance.user).patch(f"{CLIENTS}{client.pk}/", {"name": "After"},
                                                format="json")

    assert response.status_code == 200
    entry = LogEntry.objects.get_for_object(client).latest("pk")
    assert entry.actor == finance.user and entry.changes_dict["name"] == ["Before", "After"]
