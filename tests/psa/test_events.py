"""The transactional outbox: publish, deliver, retry, dead letter, replay, sweep (psa/events.py)."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.db import transaction
from django.urls import path
from django.utils import timezone

import psa.admin_outbox  # noqa: F401  (registers the outbox admin until psa/admin.py does)
from psa import events
from psa.common.errors import StateConflictError
from psa.models import Delivery, OutboxEvent
from psa.tasks import outbox_deliver_task
from tests.psa.factories import LegalEntityFactory, UserFactory

EVENT = "test_thing.happened"

# Only the admin: the admin test must not depend on the rest of the URL map.
urlpatterns = [path("admin/", admin.site.urls)]


@pytest.fixture
def registry(monkeypatch):
    """An empty subscriber registry for the test; the real one is restored afterwards."""
    monkeypatch.setattr(events, "_registry", {})
    monkeypatch.setattr(events, "_extra_loaded", True)
    return events


@pytest.fixture
def outbox_settings(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 5
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 10.0
    settings.OUTBOX_BACKOFF_MAX_SECONDS = 3600.0
    settings.OUTBOX_LEASE_SECONDS = 300
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 60
    return settings


class Recorder:
    """A subscriber handler that records what it was given and fails while told to."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.calls: list[dict] = []
        self.fail_with = fail_with

    def __call__(self, event: OutboxEvent) -> None:
        self.calls.append({"event_id": event.event_id, "payload": event.payload,
                           "correlation_id": events.current_correlation_id()})
        if self.fail_with is not None:
            raise self.fail_with


def _publish(event_type: str = EVENT, **kwargs) -> OutboxEvent:
    with transaction.atomic():
        return events.publish(event_type, aggregate=LegalEntityFactory(),
                              payload=kwargs.pop("payload", {"n": 1}), **kwargs)


def _enqueued(callbacks) -> list[tuple[str, tuple, dict]]:
    """(task name, args, options) of each `enqueue_on_commit` captured at commit."""
    found = []
    for callback in callbacks:
        found.append((callback.task.name, tuple(callback.args), dict(callback.options)))
    return found


def _due(delivery: Delivery) -> None:
    """Move a delivery's next attempt into the past, as if its backoff had elapsed."""
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
class TestPublish:
    def test_publish_rolled_back_leaves_no_event_no_delivery_no_task(
            self, registry, django_capture_on_commit_callbacks):
        registry.subscribe(EVENT, "recorder", Recorder())

        with (django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValueError),
              transaction.atomic()):
            events.publish(EVENT, aggregate=LegalEntityFactory(), payload={"n": 1})
            raise ValueError("the change failed")

        assert not OutboxEvent.objects.filter(type=EVENT).exists()
        assert not Delivery.objects.exists()
        assert callbacks == []

    def test_publish_creates_one_delivery_per_matching_subscriber_and_enqueues_each(
            self, registry, outbox_settings, django_capture_on_commit_callbacks):
        registry.subscribe(EVENT, "billing", Recorder())
        registry.subscribe("*", "webhooks", Recorder(), max_attempts=3)
        registry.subscribe("other.event", "revenue", Recorder())
        # One name listening to a type and to everything still gets a single delivery.
        registry.subscribe(EVENT, "audit", Recorder())
        registry.subscribe("*", "audit", Recorder())

        with django_capture_on_commit_callbacks() as callbacks:
            event = _publish()

        deliveries = {d.subscriber: d for d in event.deliveries.all()}
        assert set(deliveries) == {"audit", "billing", "webhooks"}
        assert all(d.state == Delivery.State.PENDING and d.attempts == 0
                   for d in deliveries.values())
        assert deliveries["billing"].max_attempts == 5
        assert deliveries["webhooks"].max_attempts == 3
        assert all(d.next_attempt_at <= timezone.now() for d in deliveries.values())
        assert sorted(_enqueued(callbacks)) == sorted(
            ("psa.outbox_deliver", (d.pk,), {}) for d in deliveries.values())

    def test_publish_without_subscribers_writes_only_the_event(
            self, registry, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks() as callbacks:
            event = _publish()

        assert OutboxEvent.objects.filter(pk=event.pk).exists()
        assert not event.deliveries.exists()
        assert callbacks == []

    def test_correlation_id_explicit_then_context_then_new(self, registry):
        assert _publish(correlation_id="deal-42").correlation_id == "deal-42"
        with events.correlation("deal-7"):
            assert _publish().correlation_id == "deal-7"
            assert _publish(correlation_id="explicit").correlation_id == "explicit"
        first, second = _publish().correlation_id, _publish().correlation_id
        assert len(first) == 32 and first != second
        assert events.current_correlation_id() is None


@pytest.mark.django_db
class TestDeliveryAttempt:
    def test_handler_runs_after_commit_with_the_event_payload(
            self, registry, django_capture_on_commit_callbacks):
        recorder = Recorder()
        registry.subscribe(EVENT, "recorder", recorder)

        with django_capture_on_commit_callbacks() as callbacks:
            event = _publish(payload={"invoice_id": 9, "total": "10.00"}, correlation_id="c-1")
            assert recorder.calls == []  # nothing runs before commit

        (_, args, _), = _enqueued(callbacks)
        outbox_deliver_task.apply(args=args)  # the task body, run here in place of a worker

        assert recorder.calls == [{"event_id": event.event_id,
                                   "payload": {"invoice_id": 9, "total": "10.00"},
                                   "correlation_id": "c-1"}]
        delivery = Delivery.objects.get(event=event)
        assert delivery.state == Delivery.State.SUCCEEDED
        assert delivery.attempts == 1
        assert delivery.succeeded_at is not None
        assert delivery.leased_until is None
        # Delivered once: a duplicate message is a no-op.
        assert events.delivery_attempt(delivery.pk) is None
        assert len(recorder.calls) == 1

    def test_failing_subscriber_backs_off_then_goes_dead_after_max_attempts(
            self, registry, outbox_settings, time_machine, django_capture_on_commit_callbacks):
        time_machine.move_to(timezone.now(), tick=False)
        recorder = Recorder(fail_with=RuntimeError("ERP said no"))
        registry.subscribe(EVENT, "erp", recorder, max_attempts=3)
        event = _publish(correlation_id="deal-1")
        delivery = event.deliveries.get()

        with django_capture_on_commit_callbacks() as callbacks:
            result = events.delivery_attempt(delivery.pk)
        now = timezone.now()

        assert result.state == Delivery.State.FAILED
        assert result.attempts == 1
        assert result.leased_until is None
        assert now <= result.next_attempt_at <= now + timedelta(seconds=10)
        assert result.last_error == "RuntimeError: ERP said no"
        assert result.last_error_context.items() >= {
            "attempt": 1, "subscriber": "erp", "event_type": EVENT, "correlation_id": "deal-1",
            "event_id": str(event.event_id), "error_class": "RuntimeError"}.items()
        (name, args, options), = _enqueued(callbacks)
        assert (name, args) == ("psa.outbox_deliver", (delivery.pk,))
        assert options["countdown"] == pytest.approx(
            (result.next_attempt_at - now).total_seconds(), abs=0.001)

        # Not due yet: a second message before the backoff elapsed does nothing.
        assert events.delivery_attempt(delivery.pk) is None
        assert len(recorder.calls) == 1

        time_machine.move_to(result.next_attempt_at + timedelta(milliseconds=1), tick=False)
        second = events.delivery_attempt(delivery.pk)
        assert second.state == Delivery.State.FAILED
        assert second.attempts == 2
        assert second.next_attempt_at <= timezone.now() + timedelta(seconds=20)

        time_machine.move_to(second.next_attempt_at + timedelta(milliseconds=1), tick=False)
        with django_capture_on_commit_callbacks() as callbacks:
            third = events.delivery_attempt(delivery.pk)
        assert third.state == Delivery.State.DEAD
        assert third.attempts == 3
        assert third.last_error_context["attempt"] == 3
        assert callbacks == []  # the dead letter is not re-enqueued
        assert len(recorder.calls) == 3

        time_machine.move_to(timezone.now() + timedelta(days=1), tick=False)
        assert events.delivery_attempt(delivery.pk) is None
        assert len(recorder.calls) == 3

    def test_retry_after_is_honoured_even_above_the_cap(
            self, registry, outbox_settings, time_machine, django_capture_on_commit_callbacks):
        outbox_settings.OUTBOX_BACKOFF_BASE_SECONDS = 1.0
        outbox_settings.OUTBOX_BACKOFF_MAX_SECONDS = 60.0
        time_machine.move_to(timezone.now(), tick=False)
        registry.subscribe(EVENT, "crm", Recorder(fail_with=events.RetryAfter(120, "429 slow")))
        delivery = _publish().deliveries.get()

        with django_capture_on_commit_callbacks() as callbacks:
            result = events.delivery_attempt(delivery.pk)

        assert result.state == Delivery.State.FAILED
        assert result.next_attempt_at == timezone.now() + timedelta(seconds=120)
        assert result.last_error == "RetryAfter: 429 slow"
        assert result.last_error_context["retry_after"] == 120
        assert _enqueued(callbacks)[0][2] == {"countdown": 120}
        time_machine.move_to(timezone.now() + timedelta(seconds=119), tick=False)
        assert events.delivery_attempt(delivery.pk) is None

    def test_second_claim_while_leased_is_a_no_op(self, registry):
        seen = []

        def handler(event: OutboxEvent) -> None:
            # Another worker picks up a duplicate message while this one is running.
            own = Delivery.objects.get(event=event, subscriber="slow")
            seen.append(events.delivery_attempt(own.pk))

        registry.subscribe(EVENT, "slow", handler)
        delivery = _publish().deliveries.get()

        result = events.delivery_attempt(delivery.pk)

        assert seen == [None]
        assert result.state == Delivery.State.SUCCEEDED
        assert result.attempts == 1

    def test_delivery_leased_by_another_worker_is_left_alone(self, registry, outbox_settings):
        recorder = Recorder()
        registry.subscribe(EVENT, "recorder", recorder)
        delivery = _publish().deliveries.get()
        Delivery.objects.filter(pk=delivery.pk).update(
            leased_until=timezone.now() + timedelta(seconds=300), attempts=1)

        assert events.delivery_attempt(delivery.pk) is None

        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts, recorder.calls) == ("pending", 1, [])

    def test_expired_lease_of_a_dead_worker_is_taken_over(self, registry):
        recorder = Recorder()
        registry.subscribe(EVENT, "recorder", recorder)
        delivery = _publish().deliveries.get()
        Delivery.objects.filter(pk=delivery.pk).update(
            leased_until=timezone.now() - timedelta(seconds=1), attempts=1)

        result = events.delivery_attempt(delivery.pk)

        assert result.state == Delivery.State.SUCCEEDED
        assert result.attempts == 2
        assert len(recorder.calls) == 1

    def test_unknown_subscriber_goes_dead_without_retry(
            self, registry, django_capture_on_commit_callbacks):
        registry.subscribe(EVENT, "gone", Recorder())
        delivery = _publish().deliveries.get()
        registry.unsubscribe("gone")

        with django_capture_on_commit_callbacks() as callbacks:
            result = events.delivery_attempt(delivery.pk)

        assert result.state == Delivery.State.DEAD
        assert result.attempts == 1
        assert result.last_error.startswith("UnknownSubscriber")
        assert callbacks == []

    def test_missing_delivery_is_a_no_op(self):
        assert events.delivery_attempt(999_999) is None


class TestBackoffSeconds:
    def test_full_jitter_bounds_double_per_attempt(self, settings):
        settings.OUTBOX_BACKOFF_BASE_SECONDS = 10.0
        settings.OUTBOX_BACKOFF_MAX_SECONDS = 3600.0

        assert [events.backoff_seconds(n, rng=lambda: 1.0) for n in (1, 2, 3, 4)] == [
            10.0, 20.0, 40.0, 80.0]
        assert events.backoff_seconds(5, rng=lambda: 0.0) == 0.0
        assert events.backoff_seconds(3, rng=lambda: 0.5) == 20.0

    def test_jitter_stays_within_the_cap(self, settings):
        settings.OUTBOX_BACKOFF_BASE_SECONDS = 10.0
        settings.OUTBOX_BACKOFF_MAX_SECONDS = 300.0

        samples = [events.backoff_seconds(n) for n in range(1, 30) for _ in range(50)]

        assert all(0.0 <= s <= 300.0 for s in samples)
        assert events.backoff_seconds(29, rng=lambda: 1.0) == 300.0
        assert len(set(samples)) > 100  # jittered, not a fixed schedule

    def test_retry_after_is_a_floor(self, settings):
        settings.OUTBOX_BACKOFF_BASE_SECONDS = 10.0
        settings.OUTBOX_BACKOFF_MAX_SECONDS = 300.0

        assert events.backoff_seconds(1, retry_after=45, rng=lambda: 1.0) == 45.0
        assert events.backoff_seconds(1, retry_after=5000, rng=lambda: 1.0) == 5000.0
        assert events.backoff_seconds(6, retry_after=5, rng=lambda: 1.0) == 300.0


@pytest.mark.django_db
class TestDeliveryReplay:
    def test_replay_of_a_dead_delivery_delivers(
            self, registry, django_capture_on_commit_callbacks):
        recorder = Recorder(fail_with=ValueError("bad mapping"))
        registry.subscribe(EVENT, "erp", recorder, max_attempts=1)
        delivery = events.delivery_attempt(_publish().deliveries.get().pk)
        assert delivery.state == Delivery.State.DEAD
        actor = UserFactory()

        with django_capture_on_commit_callbacks() as callbacks:
            replayed = events.delivery_replay(delivery=delivery, actor=actor)

        assert replayed.state == Delivery.State.PENDING
        assert replayed.attempts == 0
        assert replayed.next_attempt_at <= timezone.now()
        assert replayed.last_error == "ValueError: bad mapping"
        assert replayed.last_error_context["replayed_by"]["username"] == actor.username
        assert replayed.last_error_context["replayed_by"]["from_state"] == "dead"
        assert replayed.last_error_context["history"][-1]["error"] == "ValueError: bad mapping"
        (name, args, _), = _enqueued(callbacks)
        assert (name, args) == ("psa.outbox_deliver", (delivery.pk,))

        recorder.fail_with = None  # the mapping was fixed
        result = events.delivery_attempt(delivery.pk)
        assert result.state == Delivery.State.SUCCEEDED
        assert result.attempts == 1
        assert len(recorder.calls) == 2

    def test_replay_of_a_succeeded_or_pending_delivery_conflicts(self, registry):
        registry.subscribe(EVENT, "ok", Recorder())
        pending = _publish().deliveries.get()
        with pytest.raises(StateConflictError):
            events.delivery_replay(delivery=pending, actor=UserFactory())

        succeeded = events.delivery_attempt(pending.pk)
        with pytest.raises(StateConflictError):
            events.delivery_replay(delivery=succeeded, actor=UserFactory())
        succeeded.refresh_from_db()
        assert succeeded.state == Delivery.State.SUCCEEDED

    @pytest.mark.urls(__name__)
    def test_replay_from_admin_action(self, registry, client, django_capture_on_commit_callbacks):
        registry.subscribe(EVENT, "erp", Recorder(fail_with=ValueError("no")), max_attempts=1)
        dead = events.delivery_attempt(_publish().deliveries.get().pk)
        registry.subscribe(EVENT, "ok", Recorder())
        done = events.delivery_attempt(
            Delivery.objects.create(event=dead.event, subscriber="ok",
                                    next_attempt_at=timezone.now()).pk)
        admin = User.objects.create_superuser("root", "root@example.com", "pw-123456789")
        client.force_login(admin)

        with django_capture_on_commit_callbacks() as callbacks:
            response = client.post("/admin/psa/delivery/",
                                   {"action": "replay", "_selected_action": [dead.pk, done.pk]})

        assert response.status_code == 302
        dead.refresh_from_db()
        done.refresh_from_db()
        assert (dead.state, done.state) == ("pending", "succeeded")
        assert [args for _, args, _ in _enqueued(callbacks)] == [(dead.pk,)]
        notes = [str(m) for m in get_messages(response.wsgi_request)]
        assert notes[0] == "1 delivery(ies) replayed."
        assert notes[1].startswith(f"Not replayed: #{done.pk}: Only a dead or failed")


@pytest.mark.django_db
class TestOutboxSweep:
    def _delivery(self, event: OutboxEvent, name: str, **fields) -> Delivery:
        return Delivery.objects.create(event=event, subscriber=name, **fields)

    def test_sweeper_re_enqueues_lost_deliveries_only(
            self, registry, outbox_settings, django_capture_on_commit_callbacks):
        event = _publish()  # no subscribers: the deliveries below are written by hand
        now = timezone.now()
        old = now - timedelta(seconds=120)
        lost = self._delivery(event, "lost", next_attempt_at=old)
        lost_retry = self._delivery(event, "lost_retry", state="failed", attempts=2,
                                    next_attempt_at=old)
        expired_lease = self._delivery(event, "expired", next_attempt_at=old, attempts=1,
                                       leased_until=now - timedelta(seconds=5))
        self._delivery(event, "fresh", next_attempt_at=now - timedelta(seconds=10))
        self._delivery(event, "leased", next_attempt_at=old, attempts=1,
                       leased_until=now + timedelta(seconds=200))
        self._delivery(event, "later", state="failed", next_attempt_at=now + timedelta(hours=1))
        self._delivery(event, "done", state="succeeded", next_attempt_at=old, attempts=1)
        self._delivery(event, "dead", state="dead", next_attempt_at=old, attempts=8)

        with django_capture_on_commit_callbacks() as callbacks:
            count = events.outbox_sweep()

        assert count == 3
        assert sorted(_enqueued(callbacks)) == [
            ("psa.outbox_deliver", (d.pk,), {}) for d in (lost, lost_retry, expired_lease)]

    def test_swept_delivery_is_then_delivered(
            self, registry, outbox_settings, django_capture_on_commit_callbacks, time_machine):
        recorder = Recorder()
        registry.subscribe(EVENT, "recorder", recorder)
        # The publish's own message is lost: its on_commit callbacks are never run.
        delivery = _publish().deliveries.get()
        assert events.outbox_sweep() == 0  # still within the grace period
        time_machine.move_to(timezone.now() + timedelta(seconds=61), tick=False)

        with django_capture_on_commit_callbacks() as callbacks:
            assert events.outbox_sweep() == 1
        (_, args, _), = _enqueued(callbacks)
        outbox_deliver_task.apply(args=args)

        delivery.refresh_from_db()
        assert delivery.state == Delivery.State.SUCCEEDED
        assert len(recorder.calls) == 1

    def test_sweeper_walks_ids_in_batches(
            self, registry, outbox_settings, django_assert_num_queries,
            django_capture_on_commit_callbacks):
        event = _publish()
        old = timezone.now() - timedelta(minutes=5)
        for n in range(5):
            self._delivery(event, f"s{n}", next_attempt_at=old)

        with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(4):
            count = events.outbox_sweep(batch_size=2)  # 2 + 2 + 1, then an empty batch

        assert count == 5
        assert len({args for _, args, _ in _enqueued(callbacks)}) == 5
