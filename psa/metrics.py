"""Prometheus metrics: the web process's requests (counted by a middleware) and, at each
scrape, figures read from the database so every web process reports the same ones: outbox
deliveries by state and the oldest pending one's age, and each queue's worker heartbeat age.

Under gunicorn each process counts its own requests; set PROMETHEUS_MULTIPROC_DIR to a shared
empty directory (prometheus_client's multiprocess mode) to sum them across processes.
"""

import os
import time
from collections.abc import Callable, Iterator

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUESTS = Counter("psa_http_requests_total", "HTTP requests answered.",
                   ["method", "status"])
LATENCY = Histogram("psa_http_request_seconds", "Time to answer an HTTP request.", ["method"],
                    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


class DatabaseCollector(Collector):
    """Figures read from the database at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from psa.selectors.ops import delivery_states, worker_heartbeats

        counts, oldest = delivery_states()
        deliveries = GaugeMetricFamily("psa_outbox_deliveries", "Outbox deliveries by state.",
                                       labels=["state"])
        for state in ("pending", "succeeded", "failed", "dead"):
            deliveries.add_metric([state], counts.get(state, 0))
        yield deliveries
        yield GaugeMetricFamily("psa_outbox_oldest_pending_seconds",
                                "Age of the oldest pending delivery (0 when none).",
                                value=oldest or 0)
        ages = GaugeMetricFamily("psa_worker_heartbeat_age_seconds",
                                 "Seconds since a worker last served the queue (-1: never).",
                                 labels=["queue"])
        now = timezone.now()
        for queue, seen in worker_heartbeats().items():
            ages.add_metric([queue], (now - seen).total_seconds() if seen else -1)
        yield ages


def scrape_registry() -> CollectorRegistry:
    """This process's metrics (or all processes' in multiprocess mode) and the database's."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in list(REGISTRY._collector_to_names):  # the process's own metrics
            registry.register(collector)
    registry.register(DatabaseCollector())
    return registry


class RequestMetricsMiddleware:
    """Counts every response by method and status, and times it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        LATENCY.labels(request.method).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, str(response.status_code)).inc()
        return response
