"""`manage.py restore FOLDER --yes`: replace the database and uploaded files with a backup's."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from psa.ops.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = "Replace the database and the uploaded files with those of a backup folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument("--yes", action="store_true",
                            help="Confirm: everything stored now is replaced.")

    def handle(self, *args: object, folder: Path, yes: bool, **options: object) -> None:
        if not yes:
            raise CommandError("Restoring replaces the database and the uploaded files; "
                               "add --yes to go on.")
        try:
            manifest = backup_restore(folder=folder)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        counts = ", ".join(f"{label} {n}" for label, n in manifest["counts"].items())
        self.stdout.write(f"Restored the backup of {manifest['created_at']}: {counts}")
