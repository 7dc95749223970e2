"""Cursor pagination with a stable order and a caller-chosen page size (API.md)."""

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination


class StableCursorPagination(CursorPagination):
    """`{"next", "previous", "results"}`; ordered by id so pages never skip or repeat rows."""

    ordering = "id"
    page_size_query_param = "page_size"

    def __init__(self) -> None:
        # Read per paginator (not at import) so settings overrides apply; DRF assigns
        # `self.page_size` per request, so these are plain attributes, not properties.
        self.page_size = settings.API_PAGE_SIZE
        self.max_page_size = settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        """`page_size` from 1 up (above the maximum it is the maximum); anything else is a
        400 rather than DRF's silent fall-back to the default, which hides a caller's typo."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationError({self.page_size_query_param: [
                f"A whole number from 1 to {self.max_page_size}."]})
        return min(int(raw), self.max_page_size)
