"""Operators' endpoints: /health/ (database, broker, a live worker per queue), /metrics
(Prometheus) and the JSON log lines production writes."""

import json
import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from psa.common.json_logs import JsonFormatter
from psa.events import correlation
from psa.models import WorkerHeartbeat
from psa.selectors.ops import Check, _timed
from psa.services.ops import heartbeat_record
from psa.tasks import heartbeat_task

pytestmark = pytest.mark.django_db
QUEUES = ("default", "sync", "billing", "reports")


def test_health_is_degraded_until_every_queue_has_a_live_worker(client):
    response = client.get(reverse("health"))
    body = response.json()
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]
    assert not body["checks"]["workers"]["ok"]
    assert "default" in body["checks"]["workers"]["detail"]

    for queue in QUEUES:
        heartbeat_task.apply(args=(queue,))
    body = client.get(reverse("health")).json()
    assert body["status"] == "ok", body
    assert set(body["workers"]) == set(QUEUES)


def test_a_stale_heartbeat_counts_as_no_worker(client, settings):
    for queue in QUEUES:
        heartbeat_record(queue=queue, hostname="w1")
    WorkerHeartbeat.objects.filter(queue="sync").update(
        seen_at=timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS + 5))
    body = client.get(reverse("health")).json()
    assert body["status"] == "degraded"
    assert body["checks"]["workers"]["detail"] == "no live worker on sync"


def test_the_liveness_probe_touches_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("health"), {"probe": "live"})
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_a_failing_probe_is_reported_not_raised():
    def broken() -> str:
        raise ConnectionRefusedError("connection refused")

    check = _timed(broken)
    assert isinstance(check, Check) and not check.ok
    assert check.detail == "ConnectionRefusedError: connection refused"


def test_metrics_in_prometheus_text_for_this_machine_only(client):
    heartbeat_record(queue="default", hostname="w1")
    client.get(reverse("health"), {"probe": "live"})
    response = client.get(reverse("metrics"))
    text = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert 'psa_outbox_deliveries{state="pending"}' in text
    assert 'psa_worker_heartbeat_age_seconds{queue="sync"} -1.0' in text
    assert "psa_http_requests_total{" in text
    assert client.get(reverse("metrics"), REMOTE_ADDR="203.0.113.9").status_code == 403


def test_metrics_in_production_need_a_token_even_from_this_machine(client, settings):
    settings.PRODUCTION, settings.METRICS_TOKEN = True, ""  # the proxy's requests are loopback
    assert client.get(reverse("metrics")).status_code == 403


def test_metrics_with_a_token_need_it(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get(reverse("metrics")).status_code == 401
    wrong = client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401
    right = client.get(reverse("metrics"), REMOTE_ADDR="203.0.113.9",
                       HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert right.status_code == 200


def test_json_log_lines_carry_the_correlation_id():
    record = logging.LogRecord("psa.billing", logging.WARNING, __file__, 1,
                               "invoice %s late", ("INV-7",), None)
    with correlation("deal-42"):
        line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "invoice INV-7 late" and line["level"] == "WARNING"
    assert line["correlation_id"] == "deal-42" and line["logger"] == "psa.billing"
    assert line["time"].endswith("+00:00")


def test_a_broker_that_is_down_does_not_fail_the_committed_request(
        caplog, django_capture_on_commit_callbacks):
    """enqueue_on_commit's callback is logged by name when the send fails; nothing escapes.

    The task belongs to an app of its own pointed at a port nothing listens on, so the suite's
    app and its connection pool are left as they were for the tests that follow.
    """
    from celery import Celery

    from psa.common.jobs import enqueue_on_commit

    unreachable = Celery("unreachable-broker", set_as_current=False)
    # The write URL: a CELERY_BROKER_URL in the environment outranks any broker_url given here.
    unreachable.conf.update(broker_write_url="redis://127.0.0.1:6399/0",
                            broker_connection_retry=False,
                            broker_connection_max_retries=0, task_publish_retry=False)

    @unreachable.task(name="psa.ping")
    def ping() -> None:  # never runs: sending it fails
        raise AssertionError("sent through a broker that is down")

    try:
        with django_capture_on_commit_callbacks(execute=True):
            enqueue_on_commit(ping)
    finally:
        unreachable.close()
    assert "psa.ping.apply_async" in caplog.text
