"""The Celery application; beat's schedule lives here."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings")

app = Celery("psa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Worker liveness per queue (/health/, /metrics): a worker consuming the queue stamps it.
    **{f"heartbeat-{queue}": {"task": "psa.heartbeat", "schedule": 30.0, "args": (queue,),
                              "options": {"queue": queue, "expires": 60}}
       for queue in ("default", "sync", "billing", "reports")},
    "outbox-sweep": {
        "task": "psa.outbox_sweep",
        "schedule": 60.0,
        "options": {"queue": "default"},
    },
    "timesheet-reminders": {
        "task": "psa.reminders_send",
        "schedule": 3600.0,
        "options": {"queue": "default"},
    },
    "invoice-runs-sweep": {
        "task": "billing.invoice_runs_sweep",
        "schedule": 300.0,
        "options": {"queue": "billing"},
    },
    "idempotency-keys-purge": {
        "task": "psa.idempotency_purge",
        "schedule": 3600.0,
        "options": {"queue": "default"},
    },
    # The integration hub: poll systems without (or with missed) webhooks, raise alerts.
    "connections-poll": {
        "task": "crm_sync.poll_all",
        "schedule": 300.0,
        "options": {"queue": "sync"},
    },
    "sync-alerts-check": {
        "task": "crm_sync.alerts_check",
        "schedule": 300.0,
        "options": {"queue": "sync"},
    },
}
