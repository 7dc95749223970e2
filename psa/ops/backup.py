"""Backups of the database and the uploaded files, and their restore.

A backup is a folder: `database.dump` (pg_dump's custom format) or `database.sqlite3` (SQLite's
online backup), `media.tar.gz` (MEDIA_ROOT: receipts, invoice PDFs) and `manifest.json` (when,
which database, the latest migration of each app, row counts of the main tables and a SHA-256
of every file). A restore checks the checksums first and refuses a backup taken at a newer
schema than the code knows; then it replaces the database and the files.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

COUNTED = ("psa.Client", "psa.Contract", "psa.Project", "psa.Person", "psa.TimeEntry",
           "psa.Expense", "billing.Invoice", "revenue.JournalEntry")
MANIFEST = "manifest.json"


class BackupError(Exception):
    """A backup or restore could not be done; nothing was changed by the restore."""


@dataclass(frozen=True)
class BackupResult:
    folder: Path
    manifest: dict


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_env() -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection arguments from Django's settings (password by env)."""
    db = connection.settings_dict
    args = ["--host", db.get("HOST") or "localhost", "--port", str(db.get("PORT") or 5432),
            "--username", db.get("USER") or "postgres", "--dbname", db["NAME"]]
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    # The arguments come from settings and the backup folder, never from a request.
    done = subprocess.run(command, env=env, capture_output=True, text=True,  # noqa: S603
                          check=False)
    if done.returncode:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:500]}")


def _counts() -> dict[str, int]:
    return {label: apps.get_model(label).objects.count() for label in COUNTED}


def _migrations() -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder.Migration.objects.order_by("app", "name").values_list(
            "app", "name"):
        latest[app] = name
    return latest


def backup_create(*, into: Path) -> BackupResult:
    """Write a backup folder under `into` (named by the time) and return it."""
    folder = into / datetime.now(UTC).strftime("psa-%Y%m%dT%H%M%S%fZ")
    folder.mkdir(parents=True)
    if connection.vendor == "postgresql":
        args, env = _pg_env()
        _run(["pg_dump", "--format=custom", "--no-owner", "--file",
              str(folder / "database.dump"), *args], env)
    elif connection.vendor == "sqlite":
        connection.ensure_connection()
        target = sqlite3.connect(folder / "database.sqlite3")
        with target:
            connection.connection.backup(target)
        target.close()
    else:
        raise BackupError(f"No backup for a {connection.vendor} database.")
    with tarfile.open(folder / "media.tar.gz", "w:gz") as archive:
        media = Path(settings.MEDIA_ROOT)
        if media.exists():
            archive.add(media, arcname="media")
    manifest = {
        "created_at": datetime.now(UTC).isoformat(), "vendor": connection.vendor,
        "migrations": _migrations(), "counts": _counts(),
        "files": {path.name: _sha256(path) for path in sorted(folder.iterdir())},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return BackupResult(folder=folder, manifest=manifest)


def _check(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder} holds no readable {MANIFEST}.") from exc
    for name, digest in manifest["files"].items():
        path = folder / name
        if not path.exists() or _sha256(path) != digest:
            raise BackupError(f"{name} is missing or damaged (checksum differs).")
    if manifest["vendor"] != connection.vendor:
        raise BackupError(f"The backup is of a {manifest['vendor']} database; this one is "
                          f"{connection.vendor}.")
    known = {(app, name) for app, name in
             MigrationRecorder.Migration.objects.values_list("app", "name")}
    from django.db.migrations.loader import MigrationLoader

    on_disk = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = [f"{app}.{name}" for app, name in manifest["migrations"].items()
               if (app, name) not in known | on_disk]
    if unknown:
        raise BackupError(f"The backup was taken at a newer schema ({', '.join(unknown)}); "
                          "restore it with the code it came from.")
    return manifest


def backup_restore(*, folder: Path) -> dict:
    """Replace the database and the uploaded files with the backup's; returns its manifest.

    Raises BackupError (before changing anything) when the backup is damaged or foreign.
    """
    manifest = _check(folder)
    if connection.vendor == "postgresql":
        args, env = _pg_env()
        connection.close()
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              *args, str(folder / "database.dump")], env)
    else:
        connection.ensure_connection()
        source = sqlite3.connect(folder / "database.sqlite3")
        with source:
            source.backup(connection.connection)
        source.close()
    media = Path(settings.MEDIA_ROOT)
    staging = media.with_name(media.name + ".restoring")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(folder / "media.tar.gz", "r:gz") as archive:
        archive.extractall(staging, filter="data")
    restored = staging / "media"
    if media.exists():
        shutil.rmtree(media)
    if restored.exists():
        restored.rename(media)
    else:
        media.mkdir(parents=True)
    shutil.rmtree(staging, ignore_errors=True)
    return manifest
