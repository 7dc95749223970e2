"""The production files in deploy/: every queue has a worker, exactly one beat, the web is
health-checked, and the example environment names what production refuses to start without."""

import re
from pathlib import Path

import yaml
from django.conf import settings

DEPLOY = Path(settings.BASE_DIR) / "deploy"


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _queues(command: list[str]) -> set[str]:
    return set(command[command.index("-Q") + 1].split(",")) if "-Q" in command else set()


def test_compose_serves_every_queue_once_with_one_beat_and_a_checked_web():
    services = _compose()["services"]
    workers = [s["command"] for s in services.values()
               if s.get("command", [])[:4] == ["celery", "-A", "psa", "worker"]]
    served = [queue for command in workers for queue in _queues(command)]
    assert sorted(served) == sorted(settings.WORKER_QUEUES)
    beats = [name for name, s in services.items() if "beat" in s.get("command", [])]
    assert beats == ["beat"] and services["beat"]["deploy"]["replicas"] == 1
    assert "/health/" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["web"]["environment"]["DATABASE_URL"].startswith("postgres://psa:")
    assert "pgbouncer:6432" in services["web"]["environment"]["DATABASE_URL"]


def test_the_systemd_units_run_the_right_programs():
    web = (DEPLOY / "systemd/psa-web.service").read_text()
    worker = (DEPLOY / "systemd/psa-worker@.service").read_text()
    beat = (DEPLOY / "systemd/psa-beat.service").read_text()
    assert re.search(r"^ExecStart=.*gunicorn psa\.wsgi", web, re.M)
    assert re.search(r"^ExecStart=.*celery -A psa worker -Q %i", worker, re.M)
    assert re.search(r"^ExecStart=.*celery -A psa beat", beat, re.M)
    for unit in (web, worker, beat):
        assert "EnvironmentFile=/etc/psa/psa.env" in unit and "User=psa" in unit
    assert "manage.py backup" in (DEPLOY / "systemd/psa-backup.service").read_text()


def test_the_example_environment_names_what_production_requires():
    example = (DEPLOY / "psa.env.example").read_text()
    for name in ("PSA_ENV=production", "SECRET_KEY=", "ALLOWED_HOSTS=",
                 "CSRF_TRUSTED_ORIGINS=", "METRICS_TOKEN=", "EMAIL_HOST="):
        assert name in example
