"""The delivery core's write services: guards, version checks, events, external ids."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from psa.common.errors import DomainError, StaleVersionError, StateConflictError
from psa.models import Client, ExternalRef, Milestone, OutboxEvent
from psa.services import (
    DuplicateExternalRefError,
    client_create,
    client_update,
    contract_create,
    milestone_accept,
    milestone_complete,
    milestone_update,
    project_update,
    rate_card_create,
)
from tests.psa.factories import (
    ClientFactory,
    LegalEntityFactory,
    MilestoneFactory,
    ProjectFactory,
    RoleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor():
    return UserFactory()


class TestClientServices:
    def test_create_defaults_currency_and_publishes(self, actor):
        client = client_create(actor=actor, data={"code": "C1", "name": "One",
                                                  "legal_entity": LegalEntityFactory()},
                               external_refs=[{"system": "hubspot", "id": "1"}])

        assert client.currency == "USD"
        assert OutboxEvent.objects.get(type="client.created").aggregate_id == str(client.pk)
        assert ExternalRef.objects.get().external_id == "1"

    def test_external_ref_of_another_client_is_refused_and_rolled_back(self, actor):
        entity = LegalEntityFactory()
        client_create(actor=actor, data={"code": "C1", "name": "One", "legal_entity": entity},
                      external_refs=[{"system": "hubspot", "id": "1"}])

        with pytest.raises(DuplicateExternalRefError):
            client_create(actor=actor, data={"code": "C2", "name": "Two", "legal_entity": entity},
                          external_refs=[{"system": "hubspot", "id": "1"}])

        assert list(Client.objects.values_list("code", flat=True)) == ["C1"]

    def test_update_upserts_one_ref_per_system(self, actor):
        client = ClientFactory()
        client_update(client=client, actor=actor, data={},
                      external_refs=[{"system": "hubspot", "id": "1"}])
        client_update(client=client, actor=actor, data={},
                      external_refs=[{"system": "hubspot", "id": "2"}])

        assert list(ExternalRef.objects.values_list("external_id", flat=True)) == ["2"]

    def test_stale_version_is_refused(self, actor):
        client = ClientFactory()
        stale = client.version
        client_update(client=client, actor=actor, data={"name": "First"})

        with pytest.raises(StaleVersionError):
            client_update(client=client, actor=actor, data={"name": "Second"},
                          expected_version=stale)

        client.refresh_from_db()
        assert client.name == "First"


class TestContractAndProjectServices:
    def test_tm_cap_needs_a_cap(self, actor):
        with pytest.raises(ValidationError) as error:
            contract_create(actor=actor, data={
                "code": "K", "name": "K", "client": ClientFactory(), "billing_model": "tm_cap",
                "revenue_method": "as_delivered", "value_amount": Decimal("1.00"),
                "start_date": "2026-01-01", "end_date": "2026-02-01"})

        assert "cap_amount" in error.value.message_dict

    def test_a_contract_activated_without_a_signed_date_is_signed_that_day(self, actor):
        # Bookings and backlog go by the signed date: an active contract must have one.
        from django.utils import timezone

        from psa.services import contract_update

        terms = {"name": "K", "client": ClientFactory(), "billing_model": "tm",
                 "revenue_method": "as_delivered", "value_amount": Decimal("1.00"),
                 "start_date": "2026-01-01", "end_date": "2026-02-01"}
        active = contract_create(actor=actor, data={**terms, "code": "K1", "status": "active"})
        draft = contract_create(actor=actor, data={**terms, "code": "K2"})
        assert active.signed_date == timezone.localdate() and draft.signed_date is None
        activated = contract_update(contract=draft, actor=actor, data={"status": "active"})
        activated.refresh_from_db()
        assert activated.signed_date == timezone.localdate()
        kept = contract_create(actor=actor, data={**terms, "code": "K3", "status": "active",
                                                  "signed_date": "2025-12-01"})
        assert str(kept.signed_date) == "2025-12-01"

    def test_project_status_moves_by_the_map(self, actor):
        project = ProjectFactory(status="closed")

        with pytest.raises(StateConflictError):
            project_update(project=project, actor=actor, data={"status": "on_hold"})

        assert project_update(project=project, actor=actor,
                              data={"status": "active"}).status == "active"


class TestMilestoneServices:
    def test_complete_sets_who_and_when(self, actor):
        milestone = milestone_complete(milestone=MilestoneFactory(), actor=actor)

        assert milestone.status == Milestone.Status.COMPLETED
        assert milestone.completed_by == actor
        assert milestone.completed_at is not None
        event = OutboxEvent.objects.get(type="milestone.completed")
        assert event.payload["amount"] == "25000.00"

    def test_accept_requires_completed_and_acceptance(self, actor):
        with pytest.raises(StateConflictError):
            milestone_accept(milestone=MilestoneFactory(), actor=actor)
        with pytest.raises(StateConflictError):
            milestone_accept(milestone=MilestoneFactory(completed=True,
                                                        requires_acceptance=False), actor=actor)

        accepted = milestone_accept(milestone=MilestoneFactory(completed=True), actor=actor)
        assert (accepted.status, accepted.accepted_by) == (Milestone.Status.ACCEPTED, actor)

    def test_invoiced_milestone_cannot_change(self, actor):
        milestone = MilestoneFactory(status=Milestone.Status.INVOICED)

        with pytest.raises(StateConflictError):
            milestone_update(milestone=milestone, actor=actor, data={"name": "New"})


class TestRateCardServices:
    def test_duplicate_lines_are_refused(self, actor):
        role = RoleFactory()
        line = {"role": role, "hourly_rate": Decimal("1"), "effective_from": "2026-01-01"}

        with pytest.raises(DomainError):
            rate_card_create(actor=actor, data={"code": "R", "name": "R", "currency": "USD",
                                                "kind": "contract"}, lines=[line, line])
