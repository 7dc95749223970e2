"""Sync health per connection and flow, from grouped aggregates (never the rows themselves).

A connection's flows are:
- each push subscriber of its vendor (`<vendor>.<event type>` deliveries);
- its inbound messages (`crm_sync.inbound` deliveries of events whose payload names it);
- its polls (`SyncRun` rows of flow "poll").

Per flow: last success, lag (now - the oldest open delivery's creation, or since the last
success when nothing waits), success rate over 24 h (succeeded / finished, among deliveries
updated in the last 24 h), queue depth (open deliveries), failed and dead counts. Four queries
in all, whatever the number of connections, deliveries or runs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from crm_sync.models import Connection, InboundMessage, SyncRun
from crm_sync.services.inbound import INBOUND_SUBSCRIBER
from psa.models import Delivery

WINDOW = timedelta(hours=24)
POLL_FLOW = "poll"
HUNDRED = Decimal(100)
ONE_PLACE = Decimal("0.1")

HEALTHY, DEGRADED, FAILING, DISABLED = "healthy", "degraded", "failing", "disabled"
STATUS_LABELS = {HEALTHY: "Healthy", DEGRADED: "Degraded", FAILING: "Failing",
                 DISABLED: "Disabled"}


def alert_threshold() -> timedelta:
    return timedelta(minutes=settings.SYNC_ALERT_AFTER_MINUTES)


def success_rate(succeeded: int, finished: int) -> Decimal | None:
    """Percent with one decimal; None when nothing finished in the window."""
    if not finished:
        return None
    return (Decimal(succeeded) * HUNDRED / Decimal(finished)).quantize(ONE_PLACE, ROUND_HALF_UP)


@dataclass(frozen=True)
class FlowHealth:
    """One flow of one connection, as of `now`."""

    name: str
    kind: str  # "push", "inbound" or "poll"
    now: datetime
    last_success_at: datetime | None = None
    oldest_open_at: datetime | None = None
    queue_depth: int = 0
    failed: int = 0
    dead: int = 0
    succeeded_24h: int = 0
    finished_24h: int = 0
    last_failed: bool = False  # polls: the latest run failed

    @property
    def label(self) -> str:
        if self.kind == "inbound":
            return "Inbound changes"
        if self.kind == "poll":
            return "Polling"
        return f"Push {self.name.split('.', 1)[1]}"

    @property
    def lag_since(self) -> datetime | None:
        """Since when the flow lags: its oldest waiting delivery, else its last success."""
        return self.oldest_open_at or self.last_success_at

    @property
    def lag(self) -> timedelta | None:
        since = self.lag_since
        return self.now - since if since else None

    @property
    def lag_is_backlog(self) -> bool:
        """Whether the lag measures waiting work (else: time since the last success)."""
        return self.oldest_open_at is not None

    @property
    def success_rate(self) -> Decimal | None:
        return success_rate(self.succeeded_24h, self.finished_24h)

    @property
    def status(self) -> str:
        if self.dead or self.last_failed:
            return FAILING
        stuck = self.oldest_open_at and self.now - self.oldest_open_at > alert_threshold()
        return DEGRADED if self.failed or stuck else HEALTHY


@dataclass
class ConnectionHealth:
    """A connection with its flows and what they add up to."""

    connection: Connection
    now: datetime
    flows: list[FlowHealth] = field(default_factory=list)
    last_poll_status: str | None = None
    last_poll_at: datetime | None = None
    last_poll_error: str = ""

    @property
    def status(self) -> str:
        if not self.connection.enabled:
            return DISABLED
        statuses = {flow.status for flow in self.flows}
        if FAILING in statuses or self.connection.last_test_ok is False:
            return FAILING
        return DEGRADED if DEGRADED in statuses else HEALTHY

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def last_success_at(self) -> datetime | None:
        times = [flow.last_success_at for flow in self.flows if flow.last_success_at]
        return max(times) if times else None

    @property
    def lag_since(self) -> datetime | None:
        """The oldest waiting delivery of its flows; else its last success."""
        waiting = [flow.oldest_open_at for flow in self.flows if flow.oldest_open_at]
        return min(waiting) if waiting else self.last_success_at

    @property
    def lag_is_backlog(self) -> bool:
        return any(flow.oldest_open_at for flow in self.flows)

    @property
    def lag(self) -> timedelta | None:
        """The worst backlog of its flows; else the time since its last success."""
        since = self.lag_since
        return self.now - since if since else None

    @property
    def success_rate(self) -> Decimal | None:
        return success_rate(sum(f.succeeded_24h for f in self.flows),
                            sum(f.finished_24h for f in self.flows))

    @property
    def queue_depth(self) -> int:
        return sum(flow.queue_depth for flow in self.flows)


def _delivery_aggregates(since: datetime) -> dict[str, object]:
    open_q = Q(state__in=Delivery.OPEN_STATES)
    recent = Q(updated_at__gte=since)
    return {
        "last_success_at": Max("succeeded_at", filter=Q(state=Delivery.State.SUCCEEDED)),
        "oldest_open_at": Min("created_at", filter=open_q),
        "queue_depth": Count("pk", filter=open_q),
        "failed": Count("pk", filter=Q(state=Delivery.State.FAILED)),
        "dead": Count("pk", filter=Q(state=Delivery.State.DEAD)),
        "succeeded_24h": Count("pk", filter=recent & Q(state=Delivery.State.SUCCEEDED)),
        "finished_24h": Count("pk", filter=recent & Q(
            state__in=(Delivery.State.SUCCEEDED, Delivery.State.DEAD))),
    }


def _push_flows(vendors: set[str], since: datetime, now: datetime) -> dict[str, list[FlowHealth]]:
    """{vendor: its push flows}: one grouped query over the vendors' subscribers."""
    if not vendors:
        return {}
    by_vendor = Q(pk__in=[])
    for vendor in vendors:
        by_vendor |= Q(subscriber__startswith=f"{vendor}.")
    rows = (Delivery.objects.filter(by_vendor).order_by().values("subscriber")
            .annotate(**_delivery_aggregates(since)))
    flows: dict[str, list[FlowHealth]] = defaultdict(list)
    for row in rows:
        name = row.pop("subscriber")
        flows[name.split(".", 1)[0]].append(FlowHealth(name=name, kind="push", now=now, **row))
    return flows


def _inbound_flows(since: datetime, now: datetime) -> dict[str, FlowHealth]:
    """{connection name: its inbound flow}: one grouped query on the events' payload."""
    rows = (Delivery.objects.filter(subscriber=INBOUND_SUBSCRIBER).order_by()
            .values(connection_name=KeyTextTransform("connection", "event__payload"))
            .annotate(**_delivery_aggregates(since)))
    result = {}
    for row in rows:
        name = row.pop("connection_name")
        result[name] = FlowHealth(name=INBOUND_SUBSCRIBER, kind="inbound", now=now, **row)
    return result


def _poll_flows(since: datetime) -> dict[int, dict[str, object]]:
    rows = (SyncRun.objects.filter(flow=POLL_FLOW).order_by().values("connection_id")
            .annotate(last_success_at=Max("finished_at",
                                          filter=Q(status=SyncRun.Status.SUCCEEDED)),
                      succeeded_24h=Count("pk", filter=Q(started_at__gte=since,
                                                         status=SyncRun.Status.SUCCEEDED)),
                      finished_24h=Count("pk", filter=Q(started_at__gte=since) & ~Q(
                          status=SyncRun.Status.RUNNING))))
    return {row.pop("connection_id"): row for row in rows}


def connections_with_last_poll() -> QuerySet[Connection]:
    """Connections with their latest poll's status, time and error (one query)."""
    latest = SyncRun.objects.filter(connection=OuterRef("pk"), flow=POLL_FLOW).order_by(
        "-started_at", "-pk")
    return (Connection.objects.order_by("kind", "name")
            .annotate(last_poll_status=Subquery(latest.values("status")[:1]),
                      last_poll_at=Subquery(latest.values("started_at")[:1]),
                      last_poll_error=Subquery(latest.values("error")[:1])))


def connection_health(*, connections: list[Connection] | None = None) -> list[ConnectionHealth]:
    """Every connection (or those given, read by `connections_with_last_poll`) with its flows.

    Four queries: connections, push deliveries, inbound deliveries, polls.
    """
    now = timezone.now()
    since = now - WINDOW
    if connections is None:
        connections = list(connections_with_last_poll())
    push = _push_flows({c.vendor for c in connections}, since, now)
    inbound = _inbound_flows(since, now)
    polls = _poll_flows(since)
    result = []
    for connection in connections:
        health = ConnectionHealth(
            connection=connection, now=now,
            last_poll_status=getattr(connection, "last_poll_status", None),
            last_poll_at=getattr(connection, "last_poll_at", None),
            last_poll_error=getattr(connection, "last_poll_error", None) or "")
        health.flows.extend(sorted(push.get(connection.vendor, []), key=lambda f: f.name))
        if connection.name in inbound:
            health.flows.append(inbound[connection.name])
        poll = polls.get(connection.pk)
        if poll is not None or health.last_poll_status:
            health.flows.append(FlowHealth(
                name=POLL_FLOW, kind="poll", now=now,
                last_failed=health.last_poll_status == SyncRun.Status.FAILED, **(poll or {})))
        result.append(health)
    return result


def inbound_message_list(*, connection: str | None = None, state: str | None = None
                         ) -> QuerySet[InboundMessage]:
    """The inbound message log, latest first; `connection` is a connection's name."""
    messages = InboundMessage.objects.select_related("connection").order_by(
        "-received_at", "-pk")
    if connection:
        messages = messages.filter(connection__name=connection)
    if state:
        messages = messages.filter(state=state)
    return messages


def connection_runs(*, connection: Connection) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(connection=connection).order_by("-started_at", "-pk")
