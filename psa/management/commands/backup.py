"""`manage.py backup DIR`: the database and uploaded files into a new folder under DIR."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from psa.ops.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database and the uploaded files into a new folder under DIR."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args: object, directory: Path, **options: object) -> None:
        try:
            result = backup_create(into=directory)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        counts = ", ".join(f"{label} {n}" for label, n in result.manifest["counts"].items())
        self.stdout.write(f"{result.folder}\n{counts}")
