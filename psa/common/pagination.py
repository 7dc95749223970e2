"""Cursor pagination with a stable order and a caller-chosen page size (API.md)."""

from django.conf import settings
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
