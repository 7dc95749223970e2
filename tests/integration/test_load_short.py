"""`bench/load.py --short`, as CI runs it: gunicorn serving the busiest paths to signed-in
virtual users for a few seconds per phase, with not one failed request.

The script runs as a child process, as a developer would run it. With a PostgreSQL
DATABASE_URL (CI) it creates its own database `bench_load_<pid>` on that server, migrates and
seeds it, starts `gunicorn psa.wsgi --workers 4` with Redis as broker and cache, and loads each
path alone and then all at once with two users per path; the database is dropped afterwards.
On SQLite (the default local run) the same script runs PSA on a SQLite file with ONE gunicorn
worker and ONE user per path: SQLite takes one writer at a time, so several workers writing at
once would measure its lock ("database is locked") rather than the paths. The sign-ins, the
requests, the checks of every answer and of the database afterwards are the same.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATH_LABELS = ("GET /health/?probe=live", "POST /time/cell/", "POST /time/submit/",
               "POST /approvals/", "GET /api/v1/time-entries/")
TABLE_ROW = re.compile(r"^(?P<label>(?:GET|POST) \S+).*?\s+(?P<users>\d+)\s+(?P<requests>\d+)"
                       r"\s+(?P<rps>[\d.]+)(?:\s+[\d.]+){3}\s+(?P<errors>\d+)\s", re.MULTILINE)


def test_load_short_run_serves_every_path_without_an_error():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), "--short"],
                          cwd=ROOT, env=dict(os.environ), capture_output=True, text=True,
                          timeout=170, check=False)
    output = f"{done.stdout}\n{done.stderr}"

    assert done.returncode == 0, output[-6000:]
    totals = re.findall(r"^errors (\d+) of (\d+) requests \(([\d.]+) %\)$", done.stdout,
                        re.MULTILINE)
    assert len(totals) == 2, output  # each path alone, then all at once
    for errors, requests, rate in totals:
        assert (int(errors), float(rate)) == (0, 0.0), output
        assert int(requests) > 0, output
    rows = TABLE_ROW.findall(done.stdout)
    assert len(rows) == 2 * len(PATH_LABELS), output
    for label in PATH_LABELS:
        served = [row for row in rows if row[0].startswith(label)]
        assert len(served) == 2, (label, output)
        assert all(int(requests) > 0 and int(errors) == 0
                   for _, _, requests, _, errors in served), (label, output)
    assert "the database agrees with every answer" in done.stdout, output
