"""The demo data generator behind `manage.py seed_demo`: a believable consulting firm.

Planning (`people`, `sales`, `work`) is pure and seeded; writing (`build_*`) inserts in batches
by natural key, so the same seed always gives the same firm and a repeat creates nothing.
"""

from psa.demo.people import DEMO_LOGINS, SERVICE_USERNAME
from psa.demo.runner import demo_present, model_counts, seed_demo
from psa.demo.scope import DemoScope

__all__ = ["DEMO_LOGINS", "SERVICE_USERNAME", "DemoScope", "demo_present", "model_counts",
           "seed_demo"]
