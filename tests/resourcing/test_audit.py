"""Staffing changes are kept in the audit trail with who made them (docs/security.md)."""

from decimal import Decimal

import pytest
from auditlog.models import LogEntry

from tests.psa.factories import PersonFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def test_an_assignment_booked_changed_and_removed_leaves_three_entries_by_its_author(
        token_client, resource_manager):
    client = token_client(resource_manager.user)
    body = {"person": PersonFactory().pk, "project": ProjectFactory().pk,
            "start_date": "2026-03-16", "end_date": "2026-03-27", "hours_per_week": "20.00",
            "booking": "soft"}

    created = client.post("/api/v1/assignments/", body, format="json").json()
    client.patch(f"/api/v1/assignments/{created['id']}/", {"hours_per_week": "8.00"},
                 format="json")
    client.delete(f"/api/v1/assignments/{created['id']}/?end_date=2026-03-01")

    entries = list(LogEntry.objects.filter(content_type__model="assignment",
                                           object_pk=str(created["id"])).order_by("pk"))
    assert [entry.action for entry in entries] == [
        LogEntry.Action.CREATE, LogEntry.Action.UPDATE, LogEntry.Action.DELETE]
    assert {entry.actor for entry in entries} == {resource_manager.user}
    assert entries[1].changes_dict["hours_per_week"] == [
        str(Decimal("20.00")), str(Decimal("8.00"))]
