"""The delivery core's resources: create, change, nested rows, transitions, financials."""

from datetime import date
from decimal import Decimal

import pytest

from psa.models import (
    Milestone,
    OutboxEvent,
    Project,
    RateCard,
    RateCardLine,
    Task,
    TimeEntry,
)
from tests.psa.api.helpers import error_attrs, error_codes
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    CostRateFactory,
    LegalEntityFactory,
    MilestoneFactory,
    PersonFactory,
    ProjectFactory,
    ProjectMemberFactory,
    RateCardFactory,
    RoleFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db


def events(event_type):
    return OutboxEvent.objects.filter(type=event_type)


class TestLegalEntitiesAndRoles:
    def test_finance_creates_and_changes_a_legal_entity(self, finance, token_client):
        client = token_client(finance.user)
        created = client.post("/api/v1/legal-entities/", {
            "code": "UK", "name": "Northwind Ltd", "country": "GB", "base_currency": "GBP",
            "invoice_prefix": "UK"}, format="json")
        assert created.status_code == 201
        assert created["ETag"]

        changed = client.patch(f"/api/v1/legal-entities/{created.json()['id']}/",
                               {"time_zone": "Europe/London"}, format="json")
        assert changed.json()["time_zone"] == "Europe/London"

    def test_administrator_creates_a_role_and_duplicate_code_is_400(
            self, administrator, token_client):
        client = token_client(administrator.user)
        body = {"code": "ARCH", "name": "Architect", "level": 5}

        assert client.post("/api/v1/roles/", body, format="json").status_code == 201
        response = client.post("/api/v1/roles/", {**body, "name": "Other"}, format="json")
        assert response.status_code == 400
        assert error_attrs(response) == {"code"}


class TestContracts:
    def body(self, client, **extra):
        return {"code": "SOW-1", "name": "Phase 1", "client": client.pk, "billing_model": "tm",
                "revenue_method": "as_delivered", "value_amount": "50000.00",
                "start_date": "2026-01-01", "end_date": "2026-12-31", **extra}

    def test_create_defaults_to_client_currency_and_publishes(self, finance, token_client):
        client = ClientFactory()

        response = token_client(finance.user).post(
            "/api/v1/contracts/", self.body(client, external_refs=[{"system": "hubspot",
                                                                    "id": "deal-9"}]),
            format="json")

        assert response.status_code == 201
        body = response.json()
        assert (body["currency"], body["value_amount"]) == ("USD", "50000.00")
        assert body["external_refs"] == [{"system": "hubspot", "id": "deal-9"}]
        assert events("contract.created").filter(aggregate_id=str(body["id"])).exists()

    def test_currency_other_than_clients_is_400(self, finance, token_client):
        response = token_client(finance.user).post(
            "/api/v1/contracts/", self.body(ClientFactory(), currency="EUR"), format="json")

        assert response.status_code == 400
        assert error_attrs(response) == {"currency"}

    def test_rate_card_in_another_currency_is_400(self, finance, token_client):
        card = RateCardFactory(currency="EUR")
        response = token_client(finance.user).post(
            "/api/v1/contracts/", self.body(ClientFactory(), rate_card=card.pk), format="json")

        assert response.status_code == 400
        assert error_attrs(response) == {"rate_card"}

    def test_patch_publishes_changed_fields(self, finance, token_client):
        contract = ContractFactory()

        response = token_client(finance.user).patch(
            f"/api/v1/contracts/{contract.pk}/",
            {"billing_model": "tm_cap", "cap_amount": "90000.00"}, format="json")

        assert response.status_code == 200
        event = events("contract.changed").get()
        assert event.payload["fields"] == ["billing_model", "cap_amount"]

    def test_change_order_create_is_pending_and_publishes(self, finance, token_client):
        contract = ContractFactory()

        response = token_client(finance.user).post("/api/v1/change-orders/", {
            "contract": contract.pk, "reference": "CO-1", "value_change_amount": "-500.00",
            "effective_date": "2026-04-01"}, format="json")

        assert response.status_code == 201
        assert response.json()["status"] == "pending"
        assert response.json()["created_by"] == finance.user.pk
        assert events("change_order.created").count() == 1


class TestProjects:
    def test_manager_creates_a_project_it_manages(self, project_manager, token_client):
        contract = ContractFactory()

        response = token_client(project_manager.user).post("/api/v1/projects/", {
            "code": "P-NEW", "name": "New build", "contract": contract.pk,
            "manager": project_manager.pk, "start_date": "2026-02-01",
            "end_date": "2026-05-31", "budget_hours": "120.00",
            "external_refs": [{"system": "hubspot", "id": "p-1"}]}, format="json")

        assert response.status_code == 201, response.json()
        project = Project.objects.get(code="P-NEW")
        assert (project.client_id, project.currency) == (contract.client_id, "USD")
        assert events("project.created").filter(aggregate_id=str(project.pk)).exists()

    def test_project_status_change_follows_transitions(self, finance, token_client):
        project = ProjectFactory(status=Project.Status.CLOSED)
        client = token_client(finance.user)

        assert client.patch(f"/api/v1/projects/{project.pk}/", {"status": "on_hold"},
                            format="json").status_code == 409
        response = client.patch(f"/api/v1/projects/{project.pk}/", {"status": "active"},
                                format="json")
        assert response.status_code == 200
        assert events("project.changed").get().payload["fields"] == ["status"]

    def test_budget_amounts_hidden_without_financials_permission(
            self, resource_manager, token_client):
        ProjectFactory()

        row = token_client(resource_manager.user).get("/api/v1/projects/").json()["results"][0]

        assert "budget_cost_amount" not in row
        assert row["budget_hours"] == "1000.00"

    def test_financials(self, finance, token_client):
        # Billed and revenue come from billing and revenue (through insight's provider):
        # an issued invoice's line for the project, and what the runs recognised.
        from revenue.models import RecognitionEntry, RecognitionRun
        from tests.billing.factories import InvoiceFactory, InvoiceLineFactory

        project = ProjectFactory()
        invoiced = MilestoneFactory(project=project, amount=Decimal("1000.00"),
                                    status=Milestone.Status.INVOICED)
        InvoiceLineFactory(invoice=InvoiceFactory(contract=project.contract, issued=True),
                           project=project, kind="milestone", description=invoiced.name,
                           quantity=None, unit_price=None, base_amount=Decimal("1000.00"))
        MilestoneFactory(project=project, amount=Decimal("250.50"),
                         status=Milestone.Status.ACCEPTED)
        MilestoneFactory(project=project, amount=Decimal("99.00"))
        run = RecognitionRun.objects.create(legal_entity=project.legal_entity,
                                            period=date(2026, 3, 1))
        RecognitionEntry.objects.create(run=run, contract=project.contract, month=run.period,
                                        amount=Decimal("1500.00"), currency="USD",
                                        cumulative_amount=Decimal("1500.00"))

        body = token_client(finance.user).get(f"/api/v1/projects/{project.pk}/financials/").json()

        assert body["currency"] == "USD"
        assert body["budget_cost_amount"] == "80000.00"
        assert body["actual_hours"] == "0.00"
        assert body["burn_hours_percent"] == "0.00"
        assert body["eac_cost_amount"] == "80000.00"
        assert body["billed_amount"] == "1000.00"
        assert body["unbilled_amount"] == "250.50"
        assert body["revenue_amount"] == "1500.00"
        assert body["margin_percent"] == "100.00"  # no cost yet

    def test_financials_count_approved_time_and_expenses(self, finance, token_client):
        from psa.models import Expense
        from tests.psa.factories import ExpenseFactory, TaskFactory, TimeEntryFactory

        project = ProjectFactory()
        task = TaskFactory(project=project)
        # 7.25 h x 80.1234 = 580.894650 and 1.50 h x 80.1234 = 120.185100 (exact at 6 places)
        TimeEntryFactory(task=task, approved=True, hours=Decimal("7.25"),
                         cost_rate=Decimal("80.1234"), work_date=date(2026, 3, 9))
        TimeEntryFactory(task=task, approved=True, hours=Decimal("1.50"),
                         cost_rate=Decimal("80.1234"), work_date=date(2026, 3, 10),
                         status=TimeEntry.Status.INVOICED)
        TimeEntryFactory(task=task, approved=True, hours=Decimal("2.00"), cost_currency="GBP",
                         cost_rate=Decimal("60.0000"), work_date=date(2026, 3, 11))
        TimeEntryFactory(task=task, submitted=True, hours=Decimal("5.00"),
                         work_date=date(2026, 3, 12))  # not approved: not an actual
        ExpenseFactory(project=project, status=Expense.Status.APPROVED,
                       amount=Decimal("35.50"))
        ExpenseFactory(project=project, amount=Decimal("99.00"))  # draft

        body = token_client(finance.user).get(f"/api/v1/projects/{project.pk}/financials/").json()

        assert body["actual_hours"] == "10.75"
        # 580.894650 + 120.185100 = 701.079750 -> 701.08, plus the approved expense 35.50
        assert body["actual_cost_amount"] == "736.58"
        assert body["other_currency_costs"] == {"GBP": "120.00"}
        assert body["burn_hours_percent"] == "1.08"  # 10.75 of 1,000 budget hours

    def test_financials_need_their_permission(self, consultant, project_manager, token_client):
        project = ProjectFactory()
        ProjectMemberFactory(project=project, person=consultant)
        ProjectMemberFactory(project=project, person=project_manager)
        url = f"/api/v1/projects/{project.pk}/financials/"

        assert token_client(consultant.user).get(url).status_code == 403
        assert token_client(project_manager.user).get(url).status_code == 403  # not its manager
        project.manager = project_manager
        project.save()
        assert token_client(project_manager.user).get(url).status_code == 200


class TestTasks:
    def test_create_task_under_parent_and_filter_by_project(self, administrator, token_client):
        project = ProjectFactory()
        parent = TaskFactory(project=project, wbs_code="1")
        TaskFactory()  # another project's
        client = token_client(administrator.user)

        created = client.post("/api/v1/tasks/", {"project": project.pk, "parent": parent.pk,
                                                 "wbs_code": "1.1", "name": "Design"},
                              format="json")
        listed = client.get("/api/v1/tasks/", {"project": project.pk}).json()["results"]

        assert created.status_code == 201
        assert {row["wbs_code"] for row in listed} == {"1", "1.1"}

    def test_parent_in_another_project_is_400(self, administrator, token_client):
        project, elsewhere = ProjectFactory(), TaskFactory()
        before = Task.objects.count()

        response = token_client(administrator.user).post("/api/v1/tasks/", {
            "project": project.pk, "parent": elsewhere.pk, "wbs_code": "9", "name": "X"},
            format="json")

        assert response.status_code == 400
        assert error_attrs(response) == {"parent"}
        assert Task.objects.count() == before

    def test_manager_cannot_add_tasks_to_a_project_it_only_works_on(
            self, project_manager, token_client):
        project = ProjectFactory()
        ProjectMemberFactory(project=project, person=project_manager)

        response = token_client(project_manager.user).post("/api/v1/tasks/", {
            "project": project.pk, "wbs_code": "1", "name": "X"}, format="json")

        assert response.status_code == 403
        assert not Task.objects.exists()

    def test_task_cannot_move_under_its_own_subtask(self, administrator, token_client):
        root = TaskFactory(wbs_code="1")
        child = TaskFactory(project=root.project, parent=root, wbs_code="1.1")

        response = token_client(administrator.user).patch(
            f"/api/v1/tasks/{root.pk}/", {"parent": child.pk}, format="json")

        assert response.status_code == 400
        assert error_attrs(response) == {"parent"}


class TestMilestones:
    def url(self, milestone, verb=""):
        return f"/api/v1/milestones/{milestone.pk}/{verb + '/' if verb else ''}"

    def test_complete_then_accept(self, project_manager, token_client):
        milestone = MilestoneFactory(project=ProjectFactory(manager=project_manager))
        client = token_client(project_manager.user)

        completed = client.post(self.url(milestone, "complete"))
        accepted = client.post(self.url(milestone, "accept"))

        assert completed.status_code == 200
        assert completed.json()["status"] == "completed"
        assert completed.json()["completed_by"] == project_manager.user.pk
        assert accepted.json()["status"] == "accepted"
        assert accepted.json()["accepted_at"]
        assert events("milestone.completed").count() == events("milestone.accepted").count() == 1

    def test_wrong_state_is_409(self, administrator, token_client):
        planned = MilestoneFactory()
        done = MilestoneFactory(completed=True)
        no_acceptance = MilestoneFactory(completed=True, requires_acceptance=False)
        client = token_client(administrator.user)

        assert client.post(self.url(planned, "accept")).status_code == 409
        response = client.post(self.url(done, "complete"))
        assert response.status_code == 409
        assert error_codes(response) == {"invalid_state"}
        assert client.post(self.url(no_acceptance, "accept")).status_code == 409
        assert not OutboxEvent.objects.filter(type__startswith="milestone.").exists()

    def test_consultant_on_the_team_sees_but_may_not_complete(self, consultant, token_client):
        milestone = MilestoneFactory()
        ProjectMemberFactory(project=milestone.project, person=consultant)
        client = token_client(consultant.user)

        assert client.get(self.url(milestone)).status_code == 200
        assert client.post(self.url(milestone, "complete")).status_code == 403
        milestone.refresh_from_db()
        assert milestone.status == Milestone.Status.PLANNED

    def test_finance_accepts_but_may_not_complete(self, finance, token_client):
        milestone = MilestoneFactory(completed=True)
        client = token_client(finance.user)

        assert client.post(self.url(milestone, "accept")).status_code == 200
        assert client.post(self.url(MilestoneFactory(), "complete")).status_code == 403

    def test_milestone_currency_must_be_projects(self, administrator, token_client):
        project = ProjectFactory()

        response = token_client(administrator.user).post("/api/v1/milestones/", {
            "project": project.pk, "name": "Go live", "due_date": "2026-06-30",
            "amount": "100.00", "currency": "EUR"}, format="json")

        assert response.status_code == 400
        assert error_attrs(response) == {"currency"}
        assert not Milestone.objects.exists()


class TestPeople:
    def test_cost_rates_only_for_view_costrate(self, finance, project_manager, token_client):
        CostRateFactory(person=project_manager, hourly_cost=Decimal("95.5"))
        url = f"/api/v1/people/{project_manager.pk}/"

        as_finance = token_client(finance.user).get(url).json()
        as_manager = token_client(project_manager.user).get(url).json()

        assert as_finance["cost_rates"][0]["hourly_cost"] == "95.5000"
        assert "cost_rates" not in as_manager

    def test_administrator_creates_a_person_with_external_ref(self, administrator, token_client):
        response = token_client(administrator.user).post("/api/v1/people/", {
            "employee_number": "E-900", "first_name": "Ada", "last_name": "Lovelace",
            "email": "ada@example.com", "legal_entity": LegalEntityFactory().pk,
            "role": RoleFactory().pk, "country": "US", "hire_date": "2026-01-05",
            "external_refs": [{"system": "bamboohr", "id": "77"}]}, format="json")

        assert response.status_code == 201, response.json()
        assert response.json()["external_refs"] == [{"system": "bamboohr", "id": "77"}]
        assert events("person.created").count() == 1

    def test_consultant_sees_only_itself(self, consultant, token_client):
        PersonFactory()

        rows = token_client(consultant.user).get("/api/v1/people/").json()["results"]

        assert [row["id"] for row in rows] == [consultant.pk]


class TestRateCards:
    def test_create_with_nested_lines_and_overrides(self, finance, token_client):
        senior, junior = RoleFactory(code="SR", name="Senior", level=3), RoleFactory()
        person = PersonFactory()

        response = token_client(finance.user).post("/api/v1/rate-cards/", {
            "code": "ACME-2026", "name": "Acme 2026", "kind": "contract", "currency": "USD",
            "lines": [
                {"role": senior.pk, "hourly_rate": "210", "effective_from": "2026-01-01"},
                {"role": junior.pk, "hourly_rate": "120.125", "effective_from": "2026-01-01"}],
            "overrides": [{"person": person.pk, "hourly_rate": "199.9999",
                           "effective_from": "2026-01-01"}]}, format="json")

        assert response.status_code == 201, response.json()
        body = response.json()
        assert sorted(line["hourly_rate"] for line in body["lines"]) == ["120.1250",
                                                                           "210.0000"]
        assert body["overrides"][0]["hourly_rate"] == "199.9999"

    def test_duplicate_role_and_date_is_400_and_writes_nothing(self, finance, token_client):
        role = RoleFactory()
        line = {"role": role.pk, "hourly_rate": "100", "effective_from": "2026-01-01"}

        response = token_client(finance.user).post("/api/v1/rate-cards/", {
            "code": "DUP", "name": "Dup", "currency": "USD", "kind": "contract",
            "lines": [line, {**line, "hourly_rate": "110"}]}, format="json")

        assert response.status_code == 400
        assert error_attrs(response) == {"lines"}
        assert not RateCard.objects.filter(code="DUP").exists()

    def test_patch_upserts_lines_by_role_and_date(self, finance, token_client):
        card = RateCardFactory()
        role = RoleFactory()
        RateCardLine.objects.create(rate_card=card, role=role, hourly_rate=Decimal("100"),
                                    effective_from="2026-01-01")

        response = token_client(finance.user).patch(f"/api/v1/rate-cards/{card.pk}/", {
            "lines": [{"role": role.pk, "hourly_rate": "105", "effective_from": "2026-01-01"},
                      {"role": role.pk, "hourly_rate": "115", "effective_from": "2026-07-01"}]},
            format="json")

        assert response.status_code == 200
        assert sorted(card.lines.values_list("hourly_rate", flat=True)) == [
            Decimal("105.0000"), Decimal("115.0000")]
