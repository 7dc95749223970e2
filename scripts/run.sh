#!/usr/bin/env bash
# Start the embedded stack: Celery worker and beat in the background, Django's server in front.
# Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
mkdir -p var/log

# The vendor emulators (HubSpot, BambooHR, QuickBooks) the demo's connections talk to; their
# webhooks come back to this server.
$PY -m crm_sync.sandbox --webhook-base "http://$HOST:$PORT/api/v1/integrations" \
    > var/log/sandbox.log 2>&1 &
SANDBOX=$!
.venv/bin/celery -A psa worker -Q default,sync,billing,reports --concurrency=2 \
    --loglevel=INFO --logfile=var/log/worker.log &
WORKER=$!
.venv/bin/celery -A psa beat --loglevel=INFO --logfile=var/log/beat.log \
    --schedule=var/celerybeat-schedule &
BEAT=$!
trap 'kill $WORKER $BEAT $SANDBOX 2>/dev/null; wait 2>/dev/null' EXIT INT TERM

cat <<MSG

  PSA is starting at http://$HOST:$PORT/
  API docs:        http://$HOST:$PORT/api/docs/
  Demo logins (password "demo"): consultant, manager, resources, finance, executive, admin
  Integrations:    http://$HOST:$PORT/integrations/ (sign in as admin)
  Vendor emulators: HubSpot http://127.0.0.1:8101/ · BambooHR :8102 · QuickBooks :8103
  Close a demo deal: $PY -m crm_sync.sandbox.close_deal   (the project appears in seconds)
  Worker, beat and emulators log to var/log/. Press Ctrl-C to stop everything.

MSG
$PY manage.py runserver "$HOST:$PORT"
