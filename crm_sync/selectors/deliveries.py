"""The outbox as the API and the health page read it: events with their deliveries, and
deliveries by state and subscriber. There is no row-level scope: whoever holds
`psa.view_outboxevent` sees all of it."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Prefetch, QuerySet

from psa.models import Delivery, OutboxEvent
from psa.rules import visible

VIEW_PERM = "psa.view_outboxevent"
FAILED_STATES = (Delivery.State.FAILED, Delivery.State.DEAD)


def event_list(*, actor: User | AnonymousUser) -> QuerySet[OutboxEvent]:
    """Events with their deliveries (one more query per page), in id order."""
    deliveries = Delivery.objects.order_by("subscriber", "pk")
    return (visible(OutboxEvent.objects.all(), actor, VIEW_PERM)
            .prefetch_related(Prefetch("deliveries", queryset=deliveries)).order_by("pk"))


def delivery_list(*, actor: User | AnonymousUser) -> QuerySet[Delivery]:
    """Deliveries with their event, in id order."""
    return visible(Delivery.objects.select_related("event"), actor, VIEW_PERM).order_by("pk")


def delivery_failures(*, state: str | None = None, subscriber: str | None = None
                      ) -> QuerySet[Delivery]:
    """Failed (will retry) and dead deliveries, the most recently touched first."""
    deliveries = Delivery.objects.filter(state__in=FAILED_STATES)
    if state in FAILED_STATES:
        deliveries = deliveries.filter(state=state)
    if subscriber:
        deliveries = deliveries.filter(subscriber=subscriber)
    return deliveries.select_related("event").order_by("-updated_at", "-pk")


def failure_subscribers() -> list[str]:
    """The subscribers that have failed or dead deliveries (for the filter's choices)."""
    return list(Delivery.objects.filter(state__in=FAILED_STATES).order_by("subscriber")
                .values_list("subscriber", flat=True).distinct())
