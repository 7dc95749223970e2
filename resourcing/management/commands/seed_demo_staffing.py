"""`manage.py seed_demo_staffing`: skills, requests and bookings on top of `seed_demo`'s firm."""

import time
from argparse import ArgumentParser
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from resourcing.demo import seed_staffing, staffing_counts


class Command(BaseCommand):
    help = (
        "Create staffing demo data for the people and projects of `seed_demo`: a skills "
        "catalogue, people's skills and certifications, resource requests on active projects "
        "and tentative pipeline deals, and assignments over the next 12 weeks. Deterministic "
        "for a given --seed and --as-of, and idempotent: a repeat creates nothing. Refused in "
        "production mode."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                            help="The demo's 'today' (YYYY-MM-DD); default: today.")

    def handle(self, *args: object, **options: object) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo_staffing refuses to run in production mode.")
        started = time.monotonic()
        self.stdout.write(f"Seeding staffing demo data (seed {options['seed']}) ...")
        created = seed_staffing(seed=options["seed"],
                                as_of=options["as_of"] or timezone.localdate(),
                                log=self.stdout.write)
        total = sum(created.values())
        if total:
            self.stdout.write(self.style.SUCCESS(
                f"{total} staffing rows created in {time.monotonic() - started:.1f} s."))
        else:
            self.stdout.write("Staffing demo data already present; nothing to do.")
        self.stdout.write("\nRows per model:")
        for name, count in staffing_counts().items():
            self.stdout.write(f"  {name:<18} {count:>8}")
