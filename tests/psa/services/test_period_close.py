"""Closing and reopening a period (psa.services.periods): locked transitions, the audit trail
with who and why, and the `period.closed` / `period.reopened` events."""

from datetime import date

import pytest
from auditlog.models import LogEntry

from psa import roles
from psa.common.errors import DomainError, PeriodClosedError, StateConflictError
from psa.models import OutboxEvent, Period
from psa.services.periods import period_close, period_ensure_open, period_reopen
from tests.psa.factories import LegalEntityFactory, PeriodFactory, UserFactory

pytestmark = pytest.mark.django_db
MARCH = date(2026, 3, 1)


def _log_entries(period: Period):
    return LogEntry.objects.get_for_object(period).filter(action=LogEntry.Action.UPDATE)


class TestPeriodClose:
    def test_close_creates_the_missing_row_closed_audited_and_published(self):
        entity = LegalEntityFactory()
        actor = UserFactory(role=roles.FINANCE)

        period = period_close(legal_entity=entity, month=date(2026, 3, 17), actor=actor)

        period.refresh_from_db()
        assert (period.month, period.status, period.closed_by) == (
            MARCH, Period.Status.CLOSED, actor)
        assert period.closed_at is not None
        event = OutboxEvent.objects.get(type="period.closed")
        assert event.aggregate_id == str(period.pk)
        assert event.payload["month"] == "2026-03-01"
        assert event.payload["legal_entity_id"] == entity.pk
        entry = _log_entries(period).get()
        assert entry.actor == actor
        assert entry.changes["status"] == ["open", "closed"]
        with pytest.raises(PeriodClosedError):
            period_ensure_open(legal_entity_id=entity.pk, on=date(2026, 3, 31))

    def test_close_of_an_existing_open_row_keeps_the_row(self):
        existing = PeriodFactory(month=MARCH)

        period = period_close(legal_entity=existing.legal_entity, month=MARCH,
                              actor=UserFactory())

        assert period.pk == existing.pk
        assert Period.objects.count() == 1

    def test_closing_a_closed_month_is_a_state_conflict_and_writes_nothing(self):
        closed = PeriodFactory(month=MARCH, status=Period.Status.CLOSED)

        with pytest.raises(StateConflictError):
            period_close(legal_entity=closed.legal_entity, month=MARCH, actor=UserFactory())

        assert not OutboxEvent.objects.filter(type="period.closed").exists()
        assert not _log_entries(closed).exists()


class TestPeriodReopen:
    def test_reopen_needs_a_reason(self):
        closed = PeriodFactory(month=MARCH, status=Period.Status.CLOSED)

        for reason in ("", "   "):
            with pytest.raises(DomainError) as error:
                period_reopen(period=closed, actor=UserFactory(), reason=reason)
            assert error.value.attr == "reason"

        closed.refresh_from_db()
        assert closed.status == Period.Status.CLOSED

    def test_reopen_is_audited_with_actor_and_reason_and_published(self):
        entity = LegalEntityFactory()
        finance = UserFactory(role=roles.FINANCE)
        admin = UserFactory(role=roles.ADMINISTRATOR)
        period = period_close(legal_entity=entity, month=MARCH, actor=finance)

        period = period_reopen(period=period, actor=admin, reason="Late supplier invoice")

        period.refresh_from_db()
        assert period.status == Period.Status.OPEN
        assert period.closed_at is None and period.closed_by is None
        entry = _log_entries(period).order_by("-pk").first()
        assert entry.actor == admin
        assert entry.additional_data == {"reason": "Late supplier invoice"}
        assert entry.changes["status"] == ["closed", "open"]
        event = OutboxEvent.objects.get(type="period.reopened")
        assert event.payload["reason"] == "Late supplier invoice"
        assert event.payload["reopened_by"] == admin.pk
        period_ensure_open(legal_entity_id=entity.pk, on=date(2026, 3, 31))

    def test_reopening_an_open_month_is_a_state_conflict(self):
        open_period = PeriodFactory(month=MARCH)

        with pytest.raises(StateConflictError):
            period_reopen(period=open_period, actor=UserFactory(), reason="Why not")

        assert not OutboxEvent.objects.filter(type="period.reopened").exists()

    def test_close_again_after_reopen(self):
        entity = LegalEntityFactory()
        actor = UserFactory()
        period = period_close(legal_entity=entity, month=MARCH, actor=actor)
        period_reopen(period=period, actor=actor, reason="Correction")

        again = period_close(legal_entity=entity, month=MARCH, actor=actor)

        assert again.status == Period.Status.CLOSED
        assert OutboxEvent.objects.filter(type="period.closed").count() == 2
        assert _log_entries(period).count() == 3
