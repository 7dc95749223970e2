"""`manage.py seed_demo_billing`: a month-end invoice run, issued invoices and payments on top
of `seed_demo`'s firm."""

import time
from argparse import ArgumentParser
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.demo import billing_counts, seed_billing


class Command(BaseCommand):
    help = (
        "Create billing demo data for the firm of `seed_demo`: an invoice run over every legal "
        "entity up to the end of the previous month, about half of its invoices approved and "
        "issued (PDFs are rendered by the worker), two payments, and the rest left as drafts "
        "for finance to review. Deterministic for a given --as-of, and idempotent: a repeat "
        "creates nothing. Refused in production mode."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                            help="The demo's 'today' (YYYY-MM-DD), as given to seed_demo; "
                                 "default: today.")

    def handle(self, *args: object, **options: object) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo_billing refuses to run in production mode.")
        as_of = options["as_of"] or timezone.localdate()
        started = time.monotonic()
        self.stdout.write(f"Seeding billing demo data (as of {as_of}) ...")
        try:
            demo = seed_billing(as_of=as_of, log=self.stdout.write)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        if demo.changed:
            self.stdout.write(self.style.SUCCESS(
                f"Billing demo data ready in {time.monotonic() - started:.1f} s."))
        else:
            self.stdout.write("Billing demo data already present; nothing to do.")
        exceptions = demo.run.outcomes.exclude(reason__in=("created", "nothing_new")).count()
        if exceptions:
            self.stdout.write(f"{exceptions} contracts are in the run's exception queue "
                              f"(see {demo.run.get_absolute_url()}).")
        self.stdout.write("\nRows per model:")
        for name, count in billing_counts().items():
            self.stdout.write(f"  {name:<18} {count:>8}")
