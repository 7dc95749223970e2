"""The transactional outbox (ARCHITECTURE.md: Events; STYLE.md §11-13).

A service publishes an event in its own transaction: `publish` writes one `OutboxEvent` and one
`Delivery` per matching subscriber, and asks Celery to deliver each once the transaction commits.
The rows are the truth and the Celery message only a nudge:

- `delivery_attempt` claims a due delivery with a lease (one conditional UPDATE, so two workers
  never run the same delivery at once), runs the handler outside any transaction, and records
  success, a retry with exponential backoff and full jitter (or the remote's `Retry-After`), or
  the dead letter after the last attempt;
- `delivery_replay` sends a dead (or failed) delivery round again;
- `outbox_sweep` re-enqueues due deliveries whose message was lost (worker killed, broker
  restarted).

Subscribers register in their app's `AppConfig.ready()` with `subscribe`; they must be
idempotent on `event.event_id` because delivery is at least once.
"""

from __future__ import annotations

import importlib
import logging
import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from psa.common.errors import StateConflictError
from psa.common.jobs import enqueue_on_commit
from psa.common.logging import acting_as
from psa.models import Delivery, OutboxEvent

if TYPE_CHECKING:
    from celery import Task
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

ALL_EVENTS = "*"
LAST_ERROR_MAX_CHARS = 2000
ERROR_HISTORY_KEEP = 10
SWEEP_BATCH_SIZE = 500

Handler = Callable[[OutboxEvent], None]


class RetryAfter(Exception):
    """A subscriber's remote asked to be called again no earlier than `seconds` from now.

    Connectors raise it on HTTP 429 and 503; the next attempt honours it.
    """

    def __init__(self, seconds: float, message: str = "") -> None:
        super().__init__(message or f"retry after {seconds} s")
        self.seconds = max(0.0, float(seconds))


# --- Correlation id -------------------------------------------------------------------------

_correlation_id: ContextVar[str | None] = ContextVar("psa_correlation_id", default=None)


def current_correlation_id() -> str | None:
    """The correlation id of the work in progress, if any."""
    return _correlation_id.get()


@contextmanager
def correlation(correlation_id: str | None) -> Iterator[str | None]:
    """Events published inside the block carry `correlation_id` (unless given their own)."""
    token = _correlation_id.set(correlation_id)
    try:
        yield correlation_id
    finally:
        _correlation_id.reset(token)


# --- Subscriber registry --------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """One subscriber's interest in one event type ("*" for every type)."""

    event_type: str
    name: str
    handler: Handler
    max_attempts: int | None = None
    queue: str | None = None  # None: the delivery task's own route (the default queue)


# {subscriber name: {event type: subscription}}; a name may listen to several types.
_registry: dict[str, dict[str, Subscription]] = {}
_extra_loaded = False


def subscribe(event_type: str, name: str, handler: Handler, *,
              max_attempts: int | None = None, queue: str | None = None) -> Subscription:
    """Deliver events of `event_type` ("*" for all) to `handler` under the subscriber `name`.

    Call it from `AppConfig.ready()`. The name is what `Delivery.subscriber` stores, so keep it
    stable across releases; registering the same (type, name) again replaces the handler.
    `queue` sends the subscriber's deliveries to another Celery queue than the default one, so
    slow work (rendering PDFs) does not hold up the others.
    """
    if max_attempts is not None and max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    subscription = Subscription(event_type, name, handler, max_attempts, queue)
    _registry.setdefault(name, {})[event_type] = subscription
    return subscription


def unsubscribe(name: str, event_type: str | None = None) -> None:
    """Forget subscriber `name` (for one event type, or all of them); mainly for tests."""
    if event_type is None:
        _registry.pop(name, None)
        return
    types = _registry.get(name, {})
    types.pop(event_type, None)
    if not types:
        _registry.pop(name, None)


def _load_extra_subscribers() -> None:
    """Import settings.OUTBOX_EXTRA_SUBSCRIBER_MODULES once; they call `subscribe`.

    Apps register their subscribers in AppConfig.ready(); this hook lets the integration tests
    load a probe subscriber into a real worker.
    """
    global _extra_loaded
    if _extra_loaded:
        return
    _extra_loaded = True
    for module in settings.OUTBOX_EXTRA_SUBSCRIBER_MODULES:
        importlib.import_module(module)
        logger.info("Loaded extra outbox subscribers from %s", module)


def subscription_for(event_type: str, name: str) -> Subscription | None:
    """The registered subscription of `name` that matches `event_type`, if any."""
    _load_extra_subscribers()
    types = _registry.get(name, {})
    return types.get(event_type) or types.get(ALL_EVENTS)


def subscriptions_for(event_type: str) -> list[Subscription]:
    """Every subscriber that wants `event_type`, one subscription per name, in name order."""
    _load_extra_subscribers()
    found = []
    for name in sorted(_registry):
        subscription = subscription_for(event_type, name)
        if subscription is not None:
            found.append(subscription)
    return found


# --- Publishing -----------------------------------------------------------------------------


def _deliver_task() -> Task:
    from psa.tasks import outbox_deliver_task

    return outbox_deliver_task


def _delivery_enqueue(delivery_id: int, subscriber: str, **options: object) -> None:
    """Send the delivery task after commit, on the subscriber's queue when it named one."""
    _load_extra_subscribers()
    queue = next((sub.queue for sub in _registry.get(subscriber, {}).values() if sub.queue),
                 None)
    if queue:
        options["queue"] = queue
    enqueue_on_commit(_deliver_task(), delivery_id, **options)


def publish(event_type: str, *, aggregate: models.Model, payload: dict[str, Any] | None = None,
            correlation_id: str | None = None) -> OutboxEvent:
    """Record `event_type` for `aggregate` in the current transaction (it rolls back with it).

    Writes one pending `Delivery` per subscriber and enqueues their delivery after commit only.
    The correlation id is the one given, else the current `correlation(...)` block's, else new.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events.publish must run inside the transaction of the change")
    event = OutboxEvent.objects.create(
        type=event_type,
        aggregate_type=aggregate._meta.label_lower,
        aggregate_id=str(aggregate.pk),
        payload=payload or {},
        correlation_id=correlation_id or current_correlation_id() or uuid.uuid4().hex,
    )
    now = timezone.now()
    for subscription in subscriptions_for(event_type):
        delivery = Delivery.objects.create(
            event=event,
            subscriber=subscription.name,
            state=Delivery.State.PENDING,
            next_attempt_at=now,
            max_attempts=subscription.max_attempts or settings.OUTBOX_MAX_ATTEMPTS,
        )
        _delivery_enqueue(delivery.pk, subscription.name)
    return event


# --- Delivering -----------------------------------------------------------------------------


def backoff_seconds(attempt: int, retry_after: float | None = None,
                    rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based).

    Exponential with full jitter: uniform in [0, min(max, base * 2**(attempt-1))]; a remote's
    `retry_after` is a floor, never shortened by the jitter or the cap.
    """
    base = float(settings.OUTBOX_BACKOFF_BASE_SECONDS)
    cap = float(settings.OUTBOX_BACKOFF_MAX_SECONDS)
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    delay = rng() * ceiling
    if retry_after is not None:
        delay = max(delay, float(retry_after))
    return delay


def _claim(delivery_id: int, now: Any) -> bool:
    """Take the lease on a due, unleased delivery; False when it is not ours to run."""
    lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    claimed = (
        Delivery.objects.filter(pk=delivery_id, state__in=Delivery.OPEN_STATES,
                                next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .update(leased_until=now + lease, attempts=F("attempts") + 1, updated_at=now)
    )
    return claimed == 1


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:LAST_ERROR_MAX_CHARS]


def _history(context: dict[str, Any]) -> list[dict[str, Any]]:
    return list(context.get("history", []))[-ERROR_HISTORY_KEEP:]


def delivery_attempt(delivery_id: int, *, reload: bool = True) -> Delivery | None:
    """Try one delivery once, if it is due and nobody else holds it; None when it was not ours.

    Returns the delivery as it ended (read again; `reload=False`, as the worker asks, skips
    that read and returns the row as it was claimed).

    Safe to run twice for the same id (the Celery task is `acks_late`): only one caller wins the
    lease. The handler runs outside any transaction of ours, as the system actor, inside the
    event's correlation id.
    """
    if not _claim(delivery_id, timezone.now()):
        logger.debug("Delivery %s not due or leased elsewhere; nothing to do", delivery_id)
        return None
    delivery = Delivery.objects.select_related("event").get(pk=delivery_id)
    event = delivery.event
    attempt = delivery.attempts
    # Record the outcome only if nobody re-claimed the row after our lease ran out.
    ours = Delivery.objects.filter(pk=delivery.pk, attempts=attempt, state__in=Delivery.OPEN_STATES)
    log_extra = {"delivery_id": delivery.pk, "subscriber": delivery.subscriber,
                 "event_type": event.type, "event_id": str(event.event_id),
                 "correlation_id": event.correlation_id, "attempt": attempt}
    context = {"attempt": attempt, "subscriber": delivery.subscriber, "event_type": event.type,
               "event_id": str(event.event_id), "correlation_id": event.correlation_id}

    subscription = subscription_for(event.type, delivery.subscriber)
    if subscription is None:
        now = timezone.now()
        ours.update(state=Delivery.State.DEAD, leased_until=None, updated_at=now,
                    last_error=f"UnknownSubscriber: no handler registered as "
                               f"{delivery.subscriber!r} for {event.type!r}",
                    last_error_context={**context, "at": now.isoformat(),
                                        "history": _history(delivery.last_error_context)})
        logger.error("Delivery %s has no registered subscriber %s; dead-lettered", delivery.pk,
                     delivery.subscriber, extra=log_extra)
        delivery.refresh_from_db()
        return delivery

    try:
        with correlation(event.correlation_id), acting_as(None):
            subscription.handler(event)
    except Exception as exc:  # a subscriber's failure is recorded, never raised to the worker
        _record_failure(delivery, ours, exc, context, log_extra)
    else:
        now = timezone.now()
        updated = ours.update(state=Delivery.State.SUCCEEDED, succeeded_at=now, leased_until=None,
                              updated_at=now)
        if updated:
            logger.info("Delivered event %s to %s (attempt %s)", event.event_id,
                        delivery.subscriber, attempt, extra=log_extra)
        else:
            logger.warning("Delivery %s finished after its lease was taken over", delivery.pk,
                           extra=log_extra)
    if reload:
        delivery.refresh_from_db()
    return delivery


def _record_failure(delivery: Delivery, ours: models.QuerySet, exc: Exception,
                    context: dict[str, Any], log_extra: dict[str, Any]) -> None:
    """Store the error with its context; schedule the retry, or dead-letter the last attempt."""
    now = timezone.now()
    attempt = context["attempt"]
    retry_after = exc.seconds if isinstance(exc, RetryAfter) else None
    context = {**context, "at": now.isoformat(), "error_class": type(exc).__name__,
               "history": _history(delivery.last_error_context)}
    if retry_after is not None:
        context["retry_after"] = retry_after
    if attempt >= delivery.max_attempts:
        updated = ours.update(state=Delivery.State.DEAD, leased_until=None, updated_at=now,
                              last_error=_error_text(exc), last_error_context=context)
        if updated:
            logger.error("Delivery %s dead after %s attempts: %s", delivery.pk, attempt,
                         _error_text(exc), extra=log_extra)
        return
    delay = backoff_seconds(attempt, retry_after)
    next_attempt_at = now + timedelta(seconds=delay)
    context["next_attempt_at"] = next_attempt_at.isoformat()
    updated = ours.update(state=Delivery.State.FAILED, leased_until=None, updated_at=now,
                          next_attempt_at=next_attempt_at, last_error=_error_text(exc),
                          last_error_context=context)
    if updated:
        logger.warning("Delivery %s failed (attempt %s of %s), retrying in %.1f s: %s",
                       delivery.pk, attempt, delivery.max_attempts, delay, _error_text(exc),
                       extra=log_extra)
        _delivery_enqueue(delivery.pk, delivery.subscriber, countdown=delay)


def delivery_replay(*, delivery: Delivery, actor: User) -> Delivery:
    """Send a dead (or failed) delivery round again from attempt one, keeping its error history.

    Raises StateConflictError for a delivery that succeeded, is pending, or is being delivered
    right now. The caller checks `psa.replay_delivery`.
    """
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        now = timezone.now()
        if delivery.state not in (Delivery.State.DEAD, Delivery.State.FAILED):
            raise StateConflictError(
                f"Only a dead or failed delivery can be replayed; this one is {delivery.state}.")
        if delivery.leased_until and delivery.leased_until > now:
            raise StateConflictError("This delivery is being attempted right now.")
        previous = dict(delivery.last_error_context or {})
        history = _history(previous)
        if delivery.last_error:
            history.append({"error": delivery.last_error,
                            **{k: v for k, v in previous.items() if k != "history"}})
        delivery.last_error_context = {
            "history": history[-ERROR_HISTORY_KEEP:],
            "replayed_by": {"id": actor.pk, "username": actor.get_username(),
                            "at": now.isoformat(), "from_state": delivery.state},
        }
        delivery.state = Delivery.State.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = now
        delivery.leased_until = None
        delivery.save(update_fields=["state", "attempts", "next_attempt_at", "leased_until",
                                     "last_error_context", "updated_at"])
        _delivery_enqueue(delivery.pk, delivery.subscriber)
    logger.info("Delivery %s replayed by user %s", delivery.pk, actor.pk,
                extra={"delivery_id": delivery.pk, "subscriber": delivery.subscriber,
                       "correlation_id": delivery.event.correlation_id})
    return delivery


def outbox_sweep(*, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """Re-enqueue due deliveries whose Celery message was lost; returns how many were nudged.

    Due means pending or failed, `next_attempt_at` older than OUTBOX_SWEEP_GRACE_SECONDS, and no
    live lease. Ids are walked in batches, never the whole table at once. A duplicate nudge is
    harmless: only one worker wins the lease.
    """
    now = timezone.now()
    due = (
        Delivery.objects.filter(
            state__in=Delivery.OPEN_STATES,
            next_attempt_at__lte=now - timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS))
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .order_by("pk")
    )
    count, last_id = 0, 0
    while True:
        rows = list(due.filter(pk__gt=last_id).values_list("pk", "subscriber")[:batch_size])
        if not rows:
            break
        for delivery_id, subscriber in rows:
            _delivery_enqueue(delivery_id, subscriber)
        count += len(rows)
        last_id = rows[-1][0]
    if count:
        logger.warning("Outbox sweeper re-enqueued %s lost deliveries", count)
    return count
