"""`manage.py seed_demo_revenue`: estimates, recognition runs for the past months, invoice
journals, schedule plans and one old month closed, on top of `seed_demo`'s firm (run after
seed_demo_billing)."""

import time
from argparse import ArgumentParser
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from revenue.demo import revenue_counts, revenue_totals, seed_revenue, unbalanced_journals


class Command(BaseCommand):
    help = (
        "Create revenue demo data for the firm of `seed_demo` (run it after seed_demo_billing):"
        " estimates at completion for percent-complete contracts (with a revision), a "
        "recognition run for every past month of the demo per legal entity, the journal "
        "entries of the invoices it issued, schedule plans, and the oldest month closed; the "
        "previous and current months stay open for the month-end close. Deterministic for a "
        "given --as-of, and idempotent: a repeat creates nothing. Refused in production mode."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                            help="The demo's 'today' (YYYY-MM-DD), as given to seed_demo; "
                                 "default: today.")

    def handle(self, *args: object, **options: object) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo_revenue refuses to run in production mode.")
        as_of = options["as_of"] or timezone.localdate()
        started = time.monotonic()
        self.stdout.write(f"Seeding revenue demo data (as of {as_of}) ...")
        try:
            demo = seed_revenue(as_of=as_of, log=self.stdout.write)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        if demo.changed:
            self.stdout.write(self.style.SUCCESS(
                f"Revenue demo data ready in {time.monotonic() - started:.1f} s."))
        else:
            self.stdout.write("Revenue demo data already present; nothing to do.")
        self.stdout.write("\nRecognised to date and balances (entity, currency):")
        for code, currency, recognised, unbilled, deferred in revenue_totals():
            self.stdout.write(f"  {code:<4} {currency}  recognised {recognised:>15,.2f}  "
                              f"unbilled {unbilled:>14,.2f}  deferred {deferred:>14,.2f}")
        unbalanced = unbalanced_journals()
        if unbalanced:
            self.stdout.write(self.style.ERROR(f"{unbalanced} journal entries do not balance."))
        self.stdout.write("\nRows per model:")
        for name, count in revenue_counts().items():
            self.stdout.write(f"  {name:<18} {count:>8}")
