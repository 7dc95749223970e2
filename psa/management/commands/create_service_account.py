"""`manage.py create_service_account NAME --scope psa.view_project ...` prints its token once."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from psa.common.errors import DomainError
from psa.common.logging import acting_as


class Command(BaseCommand):
    help = "Create a service account for an external system and print its API token once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--scope", action="append", default=[], dest="scopes",
                            help="A permission the token may use (repeat); e.g. psa.view_project")

    def handle(self, *args: object, username: str, scopes: list[str], **options: object) -> None:
        from psa.services.accounts import service_account_create

        if not scopes:
            raise CommandError("Give at least one --scope: service accounts get only what "
                               "they are granted.")
        with acting_as(None):
            try:
                _, _, raw = service_account_create(username=username, scopes=scopes,
                                                   token_label="default")
            except DomainError as error:
                raise CommandError(error.detail) from error
        self.stdout.write(raw)
