"""`manage.py seed_demo`: fill the database with a believable, deterministic consulting firm."""

import time
from argparse import ArgumentParser, ArgumentTypeError
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from psa.demo import DEMO_LOGINS, SERVICE_USERNAME, DemoScope, model_counts, seed_demo
from psa.demo.people import MIN_PEOPLE


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ArgumentTypeError(f"not a date (YYYY-MM-DD): {value}") from exc


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ArgumentTypeError("must be at least 1")
    return number


class Command(BaseCommand):
    help = (
        "Create demo data: two legal entities (US, UK) with open monthly periods, roles, "
        "people with managers and cost rates, standard/client/contract rate cards, clients, "
        "contracts of every billing model and revenue method, change orders, projects with a "
        "WBS, teams and milestones, expense policies, time off, --months of time entries and "
        "expenses in every state, and demo logins (password: settings.DEMO_PASSWORD). "
        "Deterministic for a given --seed and --as-of, and idempotent: a repeat creates "
        "nothing. Refused in production mode."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--people", type=_positive, default=60,
                            help=f"Head count (default 60, at least {MIN_PEOPLE}).")
        parser.add_argument("--clients", type=_positive, default=15,
                            help="Clients (default 15); contracts scale at about 1.7 each.")
        parser.add_argument("--months", type=_positive, default=12,
                            help="How many months back the history reaches (default 12).")
        parser.add_argument("--as-of", type=_iso_date, default=None,
                            help="The demo's 'today' (YYYY-MM-DD); default: today.")
        parser.add_argument("--force", action="store_true",
                            help="Walk every phase even when the demo looks present.")

    def handle(self, *args: object, **options: object) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo refuses to run in production mode (PSA_ENV=production):"
                               " it creates demo logins with a known password.")
        if options["people"] < MIN_PEOPLE:
            raise CommandError(f"--people must be at least {MIN_PEOPLE}.")
        scope = DemoScope(seed=options["seed"], as_of=options["as_of"] or timezone.localdate(),
                          months=options["months"], people=options["people"],
                          clients=options["clients"])
        started = time.monotonic()
        self.stdout.write(f"Seeding demo data (seed {scope.seed}, as of {scope.as_of}, "
                          f"{scope.months} months back) ...")
        created = seed_demo(scope=scope, password=settings.DEMO_PASSWORD,
                            log=self.stdout.write, force=options["force"])
        if not created:
            self.stdout.write("Demo data already present; nothing to do "
                              "(use --force to check every row).")
        else:
            self.stdout.write(self.style.SUCCESS(
                f"Demo data ready in {time.monotonic() - started:.1f} s."))
        self._summary()

    def _summary(self) -> None:
        self.stdout.write("\nRows per model:")
        for name, count in model_counts().items():
            self.stdout.write(f"  {name:<18} {count:>8}")
        self.stdout.write(f"\nDemo logins (password {settings.DEMO_PASSWORD!r}):")
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.username:<12} {login.group:<18} "
                              f"{login.first_name} {login.last_name}")
        self.stdout.write(f"  {SERVICE_USERNAME:<12} {'service':<18} (API only, no password)")
