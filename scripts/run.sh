#!/usr/bin/env bash
# Start the embedded stack: Celery worker and beat in the background, Django's server in front.
# Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
mkdir -p var/log

.venv/bin/celery -A psa worker -Q default,sync,billing,reports --concurrency=2 \
    --loglevel=INFO --logfile=var/log/worker.log &
WORKER=$!
.venv/bin/celery -A psa beat --loglevel=INFO --logfile=var/log/beat.log \
    --schedule=var/celerybeat-schedule &
BEAT=$!
trap 'kill $WORKER $BEAT 2>/dev/null; wait 2>/dev/null' EXIT INT TERM

cat <<MSG

  PSA is starting at http://$HOST:$PORT/
  API docs:        http://$HOST:$PORT/api/docs/
  Demo logins (password "demo"): consultant, manager, resources, finance, executive, admin
  Worker and beat log to var/log/. Press Ctrl-C to stop everything.

MSG
$PY manage.py runserver "$HOST:$PORT"
