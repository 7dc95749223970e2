"""The lifecycle measures with their twelve-month trends (issue #8): how fast work moves from
a won deal to a project, a booking, approved time, an invoice; how clean the invoices are; how
well people submit time and how well the connections sync.

Each measure runs a fixed number of grouped SQL queries whatever the data size (twelve in
all, plus the scope's one for exchange rates; tests/insight/test_lifecycle.py counts them),
and each figure is reproduced there by plain SQL over the same rows. The modules:

- `lifecycle_flow`: deal to project and to first hard booking, invoice cycle time, billing
  trigger latency, invoice exception rate;
- `lifecycle_aging`: approved-time aging and its buckets;
- `lifecycle_compliance`: time compliance by month;
- `lifecycle_sync`: sync success per connection.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from insight.selectors.lifecycle_aging import (
    AgingBucket,
    ApprovedTimeAging,
    approved_time_aging,
)
from insight.selectors.lifecycle_compliance import compliance_counts, time_compliance_measure
from insight.selectors.lifecycle_flow import (
    billing_trigger_latency,
    deal_latency,
    invoice_cycle_time,
    invoice_exception_rate,
)
from insight.selectors.lifecycle_sync import sync_success
from insight.selectors.scope import Scope
from insight.selectors.types import Measure

__all__ = [
    "AgingBucket",
    "ApprovedTimeAging",
    "Lifecycle",
    "approved_time_aging",
    "billing_trigger_latency",
    "compliance_counts",
    "deal_latency",
    "invoice_cycle_time",
    "invoice_exception_rate",
    "lifecycle",
    "sync_success",
    "time_compliance_measure",
]


@dataclass(frozen=True)
class Lifecycle:
    """The lifecycle measures of a scope (in the page's order) and the current aging buckets."""

    scope: Scope
    measures: tuple[Measure, ...]
    aging: ApprovedTimeAging

    @property
    def by_key(self) -> dict[str, Measure]:
        return {measure.key: measure for measure in self.measures}

    @property
    def has_data(self) -> bool:
        """Whether any measure has a value in any month (else the page shows its empty state)."""
        return any(value is not None for measure in self.measures for value in measure.values)

    @property
    def missing_rates(self) -> list[str]:
        return self.scope.rates.missing_pairs


def lifecycle(*, scope: Scope, now: datetime | None = None) -> Lifecycle:
    """Every lifecycle measure for the scope's twelve months (`now` pins the running month)."""
    now = now or timezone.now()
    aging = approved_time_aging(scope=scope, now=now)
    measures = [
        *deal_latency(scope=scope),
        aging.measure,
        invoice_cycle_time(scope=scope),
        time_compliance_measure(scope=scope, now=now),
        billing_trigger_latency(scope=scope),
        invoice_exception_rate(scope=scope),
        *sync_success(scope=scope),
    ]
    return Lifecycle(scope=scope, measures=tuple(measures), aging=aging)
