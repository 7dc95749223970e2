"""What every benchmark here shares: Django set up, a throwaway database, timing, reporting.

Import it first (`import harness`): it puts the project on the path and sets Django up.
"""

import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)

Case = tuple[str, Callable[[], object], Callable[[], object]]  # label, action, floor


@contextmanager
def throwaway_database() -> Iterator[None]:
    """A fresh test database (Django's test-runner utilities): real data is never touched."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    setup_test_environment()
    if connection.vendor != "sqlite":
        # Its own name, so a benchmark never clobbers the test suite's database.
        connection.settings_dict.setdefault("TEST", {})["NAME"] = f"test_bench_{os.getpid()}"
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def timed(action: Callable[[], object], repetitions: int) -> list[float]:
    """Milliseconds of each run of `action`, after three warm-up runs."""
    for _ in range(3):  # warm caches, templates and the connection
        action()
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def queries(action: Callable[[], object]) -> int:
    """How many SQL queries one run of `action` makes."""
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def report(cases: list[Case], repetitions: int, heading: str = "action") -> None:
    """Print each case's median (p90), its floor's median, the ratio and the query count."""
    print(f"{connection.vendor}, {repetitions} repetitions, median (p90) in ms")
    print(f"{heading:<40}{'server ms':>16}{'floor ms':>12}{'ratio':>8}{'queries':>9}")
    for label, action, floor in cases:
        action_ms = timed(action, repetitions)
        floor_ms = timed(floor, repetitions)
        median, p90 = statistics.median(action_ms), statistics.quantiles(action_ms, n=10)[-1]
        floor_median = statistics.median(floor_ms)
        print(f"{label:<40}{median:>8.2f} ({p90:>5.1f}){floor_median:>12.3f}"
              f"{median / floor_median:>8.1f}{queries(action):>9}")
