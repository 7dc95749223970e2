"""Backup and restore of the database and the uploaded files, through the commands operators
run (on the suite's database: SQLite by default, PostgreSQL in CI)."""

import json
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from psa.models import Client
from tests.psa.factories import ClientFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def _backup(into: Path) -> Path:
    call_command("backup", str(into))
    (folder,) = into.iterdir()
    return folder


def test_a_restore_brings_back_rows_and_files_as_they_were(tmp_path, media_root):
    ClientFactory(name="Acme Manufacturing")
    default_storage.save("receipts/2026/taxi.pdf", ContentFile(b"%PDF-1.4 receipt"))
    folder = _backup(tmp_path / "backups")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["counts"]["psa.Client"] == 1
    assert set(manifest["files"]) >= {"media.tar.gz"}

    # What happens after the backup is lost by the restore.
    Client.objects.all().delete()
    ClientFactory(name="Created after the backup")
    (media_root / "receipts/2026/taxi.pdf").unlink()
    (media_root / "stray.txt").write_text("after")

    call_command("restore", str(folder), "--yes")

    assert list(Client.objects.values_list("name", flat=True)) == ["Acme Manufacturing"]
    assert (media_root / "receipts/2026/taxi.pdf").read_bytes() == b"%PDF-1.4 receipt"
    assert not (media_root / "stray.txt").exists()


def test_a_damaged_backup_is_refused_and_nothing_changes(tmp_path, media_root):
    ClientFactory(name="Before")
    folder = _backup(tmp_path / "backups")
    ClientFactory(name="After")
    with (folder / "media.tar.gz").open("ab") as archive:
        archive.write(b"tampered")
    with pytest.raises(CommandError, match=r"media\.tar\.gz is missing or damaged"):
        call_command("restore", str(folder), "--yes")
    assert Client.objects.count() == 2
    with pytest.raises(CommandError, match="add --yes"):
        call_command("restore", str(folder))
