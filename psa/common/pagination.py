"""Cursor pagination with a stable order and a caller-chosen page size (API.md)."""

from django.conf import settings
from rest_framework.pagination import CursorPagination


class StableCursorPagination(CursorPagination):
    """`{"next", "previous", "results"}`; ordered by id so pages never skip or repeat rows."""

    ordering = "id"
    page_size_query_param = "page_size"

    @property
    def page_size(self) -> int:
        return settings.API_PAGE_SIZE

    @property
    def max_page_size(self) -> int:
        return settings.API_MAX_PAGE_SIZE
