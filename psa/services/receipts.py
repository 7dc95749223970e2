"""Expense receipts: type from the content, size limit, storage and clean-up of orphan files.

A receipt is a PDF, JPEG or PNG of at most 10 MB. Its type is read from the first bytes of the
file (the "magic number"), never from its name or the content type the browser claims, so an
HTML page renamed `receipt.pdf` is refused. Files are written only after every other check
passed, and removed again when the transaction that wrote them fails.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import IO, Final

from django.core.files.base import File
from django.db import transaction

from psa.errors import ReceiptError
from psa.models import Expense

RECEIPT_MAX_BYTES: Final = 10 * 1024 * 1024
RECEIPT_MAX_LABEL: Final = "10 MB"

# (leading bytes, content type); the longest signature is 8 bytes (PNG).
SIGNATURES: Final = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
SNIFF_BYTES: Final = 8
ALLOWED_TYPES: Final = frozenset(content_type for _, content_type in SIGNATURES)

# The receipt files written inside each enclosing `receipts_discarded_on_error` block.
_written: ContextVar[tuple[list[str], ...]] = ContextVar("psa_receipts_written", default=())


def _size_of(upload: IO[bytes]) -> int:
    size = getattr(upload, "size", None)
    if size is not None:
        return int(size)
    position = upload.tell()
    upload.seek(0, 2)
    size = upload.tell()
    upload.seek(position)
    return size


def receipt_sniff(upload: IO[bytes]) -> str:
    """The receipt's content type read from its first bytes: PDF, JPEG or PNG.

    Raises ReceiptError (attr `receipt`) when the file is empty, larger than 10 MB or of any
    other type, whatever its name or declared content type say. Leaves the file at its start.
    """
    size = _size_of(upload)
    if size == 0:
        raise ReceiptError("The receipt file is empty.", attr="receipt")
    if size > RECEIPT_MAX_BYTES:
        megabytes = size / (1024 * 1024)
        raise ReceiptError(
            f"The receipt is {megabytes:.1f} MB; receipts may be at most {RECEIPT_MAX_LABEL}. "
            f"Scan it at a lower resolution or save it as a smaller PDF.", attr="receipt")
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    raise ReceiptError(
        "The receipt must be a PDF, JPEG or PNG file; this file's content is none of these "
        "(its name or extension does not matter).", attr="receipt")


@contextmanager
def receipts_discarded_on_error() -> Iterator[None]:
    """Delete every receipt file written inside the block when the block raises.

    Services wrap their body in it; a view that can still refuse after a service returned
    (a permission check on the new row) wraps its own transaction in it too, so a rolled-back
    row never leaves its file behind in MEDIA_ROOT.
    """
    written: list[str] = []
    token = _written.set((*_written.get(), written))
    try:
        yield
    except BaseException:
        for name in written:
            Expense._meta.get_field("receipt").storage.delete(name)
        raise
    finally:
        _written.reset(token)


def receipt_store(*, expense: Expense, upload: IO[bytes], content_type: str) -> None:
    """Write the (already sniffed) upload under MEDIA_ROOT and point the expense at it.

    The row is not saved here; the caller saves it in the same transaction. The stored name
    comes from the model's `upload_to` (a random name per person, never the uploader's).
    """
    if content_type not in ALLOWED_TYPES:
        raise ReceiptError("The receipt must be a PDF, JPEG or PNG file.", attr="receipt")
    expense.receipt_content_type = content_type
    upload.seek(0)
    content = upload if isinstance(upload, File) else File(upload)
    expense.receipt.save("receipt", content, save=False)
    for names in _written.get():
        names.append(expense.receipt.name)


def receipt_delete_on_commit(name: str) -> None:
    """Remove a replaced or deleted receipt's file once the change is committed."""
    if name:
        storage = Expense._meta.get_field("receipt").storage
        transaction.on_commit(partial(storage.delete, name), robust=True)
