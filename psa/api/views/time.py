"""API views of time entries (with `bulk/`) and timesheets (a person's week, `submit/`)."""

from collections.abc import Iterable
from datetime import date

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from psa.api.base import ApiViewSet, PsaAutoSchema
from psa.api.filters_time import TimeEntryFilter
from psa.api.serializers.time import (
    TimeEntryBulkInputSerializer,
    TimeEntryBulkOutputSerializer,
    TimeEntryCreateInputSerializer,
    TimeEntryOutputSerializer,
    TimeEntryUpdateInputSerializer,
    TimesheetOutputSerializer,
    TimesheetSubmitInputSerializer,
    TimesheetSubmitOutputSerializer,
    bulk_items_parse,
)
from psa.api.views.common import crud_schema
from psa.common.idempotency import IdempotentPostMixin
from psa.errors import TimeEntryValidationError
from psa.models import Person, Task
from psa.roles import ALL, OWN
from psa.rules import scope
from psa.selectors import person_list
from psa.selectors.time import time_entry_list, timesheet_week
from psa.services.time_bulk import MAX_BULK_ENTRIES, BulkError, time_entries_bulk_create
from psa.services.time_entries import (
    time_entry_create,
    time_entry_delete,
    time_entry_update,
    timesheet_submit,
)
from psa.services.time_rules import task_project_error

UserLike = User | AnonymousUser


def own_person_id(user: UserLike) -> int | None:
    return Person.objects.filter(user_id=user.pk).values_list("pk", flat=True).first()


def ensure_may_act_for(user: UserLike, perm: str, person_ids: Iterable[int]) -> None:
    """Refuse (403) work for people outside the user's scope of `perm`.

    An unsaved entry cannot go through `has_perm(perm, obj)` (its OWN rule is a query on the
    row), so the scope is checked on the people directly: OWN means the user's own person.
    """
    granted = scope(user, perm)
    if granted == ALL:
        return
    if granted == OWN and set(person_ids) <= {own_person_id(user)}:
        return
    raise PermissionDenied("You may only record and submit your own time.")


def _person(person_id: int | None, *, attr: str = "person") -> Person:
    person = Person.objects.filter(pk=person_id).first() if person_id is not None else None
    if person is None:
        raise TimeEntryValidationError("Say whose time this is: no such person.", attr=attr)
    return person


def _task(task_id: int, project_id: int | None = None) -> Task:
    task = Task.objects.select_related("project").filter(pk=task_id).first()
    if task is None:
        raise TimeEntryValidationError(f"There is no task {task_id}.", attr="task")
    mismatch = task_project_error(task, project_id)
    if mismatch is not None:
        raise mismatch
    return task


@crud_schema(output=TimeEntryOutputSerializer, create=TimeEntryCreateInputSerializer,
             update=TimeEntryUpdateInputSerializer)
class TimeEntryViewSet(ApiViewSet):
    """Hours booked by people on tasks. Writes follow DOMAIN.md's rules; DELETE only drafts."""

    output_serializer = TimeEntryOutputSerializer
    filterset_class = TimeEntryFilter
    required_perms = {"list": "psa.view_timeentry", "retrieve": "psa.view_timeentry",
                      "create": "psa.add_timeentry", "bulk": "psa.add_timeentry",
                      "partial_update": "psa.change_timeentry",
                      "destroy": "psa.delete_timeentry"}

    def get_queryset(self) -> QuerySet:
        return time_entry_list(actor=self.request.user)

    def create(self, request: Request) -> Response:
        data = self.validated(TimeEntryCreateInputSerializer)
        person_id = data.get("person") or own_person_id(request.user)
        person = _person(person_id)
        ensure_may_act_for(request.user, "psa.add_timeentry", [person.pk])
        entry = time_entry_create(
            actor=request.user, person=person, task=_task(data["task"], data.get("project")),
            work_date=data["work_date"], hours=data["hours"], notes=data["notes"],
            is_billable=data["is_billable"])
        return self.detail_response(entry, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        entry = self.get_object()
        changes = self.validated(TimeEntryUpdateInputSerializer, partial=True)
        if "task" in changes:
            changes["task"] = _task(changes["task"])
        entry = time_entry_update(actor=request.user, entry=entry,
                                  expected_version=self.expected_version, **changes)
        return self.detail_response(entry)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        """Delete a draft or rejected entry (409 for any other status)."""
        time_entry_delete(actor=request.user, entry=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=TimeEntryBulkInputSerializer,
                   responses={201: TimeEntryBulkOutputSerializer})
    @action(detail=False, methods=["post"], filterset_class=None, pagination_class=None)
    def bulk(self, request: Request) -> Response:
        """Create up to 1,000 entries, all or nothing; errors name the item: `3.hours`."""
        raw = request.data.get("entries") if isinstance(request.data, dict) else None
        if isinstance(raw, list) and len(raw) > MAX_BULK_ENTRIES:
            raise TimeEntryValidationError(
                f"At most {MAX_BULK_ENTRIES} entries per request; this one has {len(raw)}.",
                attr="entries")
        items, errors = bulk_items_parse(raw, default_person_id=own_person_id(request.user))
        if errors:
            return Response({"type": "validation_error", "errors": errors},
                            status=status.HTTP_400_BAD_REQUEST)
        ensure_may_act_for(request.user, "psa.add_timeentry", {i.person_id for i in items})
        try:
            ids = time_entries_bulk_create(actor=request.user, items=items)
        except BulkError as exc:
            return Response({"type": "validation_error", "errors": [
                {"code": error.code, "detail": error.detail, "attr": f"{index}.{error.attr}"}
                for index, error in exc.errors]}, status=status.HTTP_400_BAD_REQUEST)
        body = {"count": len(ids), "ids": ids}
        return Response(TimeEntryBulkOutputSerializer(body).data, status=status.HTTP_201_CREATED)


PERSON_PARAMETER = OpenApiParameter("person", int, required=False,
                                    description="Whose week; defaults to the caller's own.")
WEEK_PARAMETER = OpenApiParameter("week_start", str, required=True,
                                  description="The Monday of the week (YYYY-MM-DD).")


class TimesheetViewSet(IdempotentPostMixin, viewsets.GenericViewSet):
    """A person's week (entries, totals per day and week against capacity) and its submission."""

    schema = PsaAutoSchema()
    serializer_class = TimesheetOutputSerializer
    pagination_class = None
    filter_backends: list = []
    required_perms = {"list": "psa.view_timeentry", "submit": "psa.submit_timeentry"}

    def get_queryset(self) -> QuerySet:
        return time_entry_list(actor=self.request.user)

    def _visible_person(self, person_id: int | None) -> Person:
        person_id = person_id or own_person_id(self.request.user)
        person = person_list(actor=self.request.user).filter(pk=person_id).first() \
            if person_id else None
        if person is None:
            raise TimeEntryValidationError("There is no such person you may see.",
                                           attr="person")
        return person

    @extend_schema(parameters=[PERSON_PARAMETER, WEEK_PARAMETER],
                   responses={200: TimesheetOutputSerializer})
    def list(self, request: Request) -> Response:
        """The week of `person` starting on Monday `week_start`, with the entries you may see."""
        try:
            person_id = int(request.query_params.get("person") or 0) or None
        except ValueError as exc:
            raise ValidationError({"person": ["Give a person id."]}) from exc
        try:
            week_start = date.fromisoformat(request.query_params.get("week_start", ""))
        except ValueError as exc:
            raise ValidationError({"week_start": ["Give a Monday as YYYY-MM-DD."]}) from exc
        if week_start.weekday() != 0:
            raise TimeEntryValidationError("A week starts on a Monday.", attr="week_start")
        week = timesheet_week(actor=request.user, person=self._visible_person(person_id),
                              week_start=week_start)
        return Response(TimesheetOutputSerializer(week, context={"request": request}).data)

    @extend_schema(request=TimesheetSubmitInputSerializer,
                   responses={200: TimesheetSubmitOutputSerializer})
    @action(detail=False, methods=["post"])
    def submit(self, request: Request) -> Response:
        """Submit the week's draft and rejected entries for approval."""
        serializer = TimesheetSubmitInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        person = _person(data.get("person") or own_person_id(request.user))
        ensure_may_act_for(request.user, "psa.submit_timeentry", [person.pk])
        entries = timesheet_submit(actor=request.user, person=person,
                                   week_start=data["week_start"])
        body = {"person_id": person.pk, "week_start": data["week_start"],
                "submitted": [entry.pk for entry in entries]}
        return Response(TimesheetSubmitOutputSerializer(body).data)
