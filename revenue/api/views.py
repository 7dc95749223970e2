"""API views of revenue (API.md): revenue schedules (read), recognition runs (start one and
follow it) and journal entries (read, for the ERP). Lists call a selector scoped to the
user; the one write calls `recognition_run_start`."""

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from psa.api.base import ApiViewSet
from psa.api.views.common import crud_schema
from revenue.api import serializers as s
from revenue.api.filters import JournalEntryFilter, RecognitionRunFilter, RevenueScheduleFilter
from revenue.models import RecognitionRun
from revenue.selectors.journals import journal_entry_list
from revenue.selectors.runs import recognition_run_list, run_amounts_by_currency
from revenue.selectors.schedules import schedule_api_list
from revenue.services.recognition import recognition_run_start


class RevenueScheduleViewSet(ApiViewSet):
    """Revenue schedules per contract with their months (planned, recognised, explanation).
    A project manager sees the contracts of the projects they manage."""

    output_serializer = s.RevenueScheduleOutputSerializer
    filterset_class = RevenueScheduleFilter
    required_perms = {"list": "revenue.view_revenueschedule",
                      "retrieve": "revenue.view_revenueschedule"}

    def get_queryset(self) -> QuerySet:
        return schedule_api_list(actor=self.request.user)


def _amounts_attach(runs: Sequence[RecognitionRun]) -> None:
    """Attach each run's amounts per currency (one query) for the output serializer."""
    amounts = run_amounts_by_currency(run_ids=[run.pk for run in runs])
    for run in runs:
        setattr(run, s.AMOUNTS_POSTED_ATTRIBUTE, amounts[run.pk])


@crud_schema(output=s.RecognitionRunOutputSerializer,
             create=s.RecognitionRunCreateInputSerializer)
class RecognitionRunViewSet(ApiViewSet):
    """Recognition runs: start one for a legal entity and month (a background job) and
    follow its progress and what it posted."""

    output_serializer = s.RecognitionRunOutputSerializer
    filterset_class = RecognitionRunFilter
    required_perms = {"list": "revenue.view_recognitionrun",
                      "retrieve": "revenue.view_recognitionrun",
                      "create": "revenue.add_recognitionrun"}

    def get_queryset(self) -> QuerySet:
        return recognition_run_list(actor=self.request.user)

    def paginate_queryset(self, queryset: Any) -> list | None:
        page = super().paginate_queryset(queryset)
        if page is not None:
            _amounts_attach(page)
        return page

    def detail_response(self, obj: Any, status_code: int = 200) -> Response:
        _amounts_attach([obj])
        return super().detail_response(obj, status_code)

    def create(self, request: Request) -> Response:
        """Queue a run for a legal entity and month; 201 with the queued job, whose progress
        `GET …/{id}/` then follows. A closed or future month is 409."""
        data = self.validated(s.RecognitionRunCreateInputSerializer)
        run = recognition_run_start(actor=request.user, legal_entity=data["legal_entity"],
                                    period=data["period"])
        return self.detail_response(run, status.HTTP_201_CREATED)


class JournalEntryViewSet(ApiViewSet):
    """Journal entries of invoices, credit notes and recognition, each with its balanced
    lines (finance, executives and service accounts)."""

    output_serializer = s.JournalEntryOutputSerializer
    filterset_class = JournalEntryFilter
    required_perms = {"list": "revenue.view_journalentry",
                      "retrieve": "revenue.view_journalentry"}

    def get_queryset(self) -> QuerySet:
        return journal_entry_list(actor=self.request.user)
