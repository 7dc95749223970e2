"""Sync success per connection and month, with the sync health page's mapping of work to
connections (`crm_sync.selectors.health`): a connection's flows are its vendor's push
subscribers (`<vendor>.<event>` deliveries), the inbound deliveries of events whose payload
names it, and its poll runs.

Success rate = succeeded ÷ finished, where a delivery is finished when it succeeded or went
dead (a failed one still retries) and a run when it is no longer running. Deliveries count in
the month of their last change, runs in the month they started. Four queries in all.
Connections are firm-wide: the legal entity filter does not narrow them.
"""

from collections import defaultdict
from datetime import date

from django.db.models import Count, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncMonth

from crm_sync.models import Connection, SyncRun
from crm_sync.selectors.health import POLL_FLOW
from crm_sync.services.inbound import INBOUND_SUBSCRIBER
from insight.selectors.lifecycle_common import month_key, scope_bounds
from insight.selectors.scope import Scope
from insight.selectors.types import Measure, ratio_percent
from psa.models import Delivery

FINISHED_DELIVERY = (Delivery.State.SUCCEEDED, Delivery.State.DEAD)
Tally = dict[date, list[int]]  # month -> [succeeded, finished]


def _add(tally: Tally, month: date | None, succeeded: int, finished: int) -> None:
    if month is not None:
        tally[month][0] += succeeded
        tally[month][1] += finished


def _delivery_counts() -> dict[str, Count]:
    return {"succeeded": Count("pk", filter=Q(state=Delivery.State.SUCCEEDED)),
            "finished": Count("pk")}


def sync_success(*, scope: Scope) -> list[Measure]:
    """One measure per connection (in the health page's order): its success rate by month."""
    start, end = scope_bounds(scope)
    connections = list(Connection.objects.order_by("kind", "name"))
    if not connections:
        return []
    finished = (Delivery.objects.filter(state__in=FINISHED_DELIVERY, updated_at__gte=start,
                                        updated_at__lt=end)
                .annotate(month=TruncMonth("updated_at")).order_by())
    by_vendor: dict[str, Tally] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    vendor_q = Q(pk__in=[])
    for vendor in {connection.vendor for connection in connections}:
        vendor_q |= Q(subscriber__startswith=f"{vendor}.")
    for row in finished.filter(vendor_q).values("subscriber", "month").annotate(
            **_delivery_counts()):
        vendor = row["subscriber"].split(".", 1)[0]
        _add(by_vendor[vendor], month_key(row["month"]), row["succeeded"], row["finished"])
    by_name: dict[str, Tally] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    inbound = (finished.filter(subscriber=INBOUND_SUBSCRIBER)
               .values("month", name=KeyTextTransform("connection", "event__payload"))
               .annotate(**_delivery_counts()))
    for row in inbound:
        _add(by_name[row["name"]], month_key(row["month"]), row["succeeded"], row["finished"])
    by_connection: dict[int, Tally] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    polls = (SyncRun.objects.filter(flow=POLL_FLOW, started_at__gte=start, started_at__lt=end)
             .exclude(status=SyncRun.Status.RUNNING)
             .annotate(month=TruncMonth("started_at")).order_by()
             .values("connection_id", "month")
             .annotate(succeeded=Count("pk", filter=Q(status=SyncRun.Status.SUCCEEDED)),
                       finished=Count("pk")))
    for row in polls:
        _add(by_connection[row["connection_id"]], month_key(row["month"]), row["succeeded"],
             row["finished"])
    measures = []
    for connection in connections:
        values = []
        for month in scope.months:
            succeeded = finished_count = 0
            for tally in (by_vendor.get(connection.vendor), by_name.get(connection.name),
                          by_connection.get(connection.pk)):
                if tally and month in tally:
                    succeeded += tally[month][0]
                    finished_count += tally[month][1]
            values.append(ratio_percent(succeeded, finished_count))
        measures.append(Measure(
            key=f"sync_success_{connection.name}", label=f"Sync success · {connection.name}",
            unit="percent", months=scope.months, values=tuple(values),
            definition=f"Succeeded ÷ finished deliveries and polls of {connection} "
                       "(its pushes, inbound changes and polls), by month.",
            note="Firm-wide: not narrowed by the filters." if scope.legal_entity_id else ""))
    return measures
