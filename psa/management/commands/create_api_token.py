"""`manage.py create_api_token USERNAME [--name N] [--scope PERM ...] [--days D]`: print a new
token once."""

from argparse import ArgumentParser

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from psa.common.logging import acting_as
from psa.common.tokens import api_token_create
from psa.roles import MATRIX


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown only this once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="A label to recognise the token by.")
        parser.add_argument("--scope", action="append", default=[], dest="scopes",
                            metavar="PERM",
                            help="Limit the token to this permission (repeatable), e.g. "
                                 "psa.view_project. Without it the token has all the user's.")
        parser.add_argument("--days", type=int, default=None,
                            help="Days until it expires (default API_TOKEN_DAYS, 365); 0 for "
                                 "a token that never expires.")

    def handle(self, *args: object, username: str, name: str, scopes: list[str],
               days: int | None, **options: object) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        unknown = sorted(set(scopes) - set(MATRIX))
        if unknown:
            raise CommandError(f"Unknown permission(s): {', '.join(unknown)}.")
        if days is not None and days < 0:
            raise CommandError("--days must be 0 (never expires) or more.")
        with acting_as(None):
            token, raw = api_token_create(user=user, name=name, scopes=scopes, days=days)
        expiry = (f"expires {token.expires_at:%Y-%m-%d}" if token.expires_at
                  else "never expires")
        self.stderr.write(f"Token {token.prefix}… created for {username} ({expiry}); store it "
                          "now, it is not shown again.")
        self.stdout.write(raw)
