"""`manage.py seed_demo_integrations`: the demo's project template and vendor connections."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crm_sync.demo import seed_integrations


class Command(BaseCommand):
    help = ("Create the demo's project template and one connection per vendor (HubSpot, "
            "BambooHR, QuickBooks) pointing at the emulators `make run` starts. Idempotent; "
            "refused in production mode.")

    def handle(self, *args: object, **options: object) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo_integrations refuses to run in production mode.")
        try:
            seed_integrations(log=self.stdout.write)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
