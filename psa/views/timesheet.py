"""My week (`/time/`): the consultant's weekly grid, its autosave and its week actions.

The page always shows the signed-in user's own Person. Reads come from
`psa.selectors.timesheet`, writes go through `psa.services.time_entries`; a DomainError is
shown beside the cell (or as a page message for the week actions) and writes nothing.
"""

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from psa.common.errors import DomainError
from psa.common.permissions import RequiredPermsMixin
from psa.models import Person, Task
from psa.selectors.timesheet import (
    Cell,
    HoursParseError,
    WeekTotals,
    cell_html,
    day_label,
    format_hours,
    parse_hours,
    parse_week,
    timesheet_cell,
    timesheet_row,
    timesheet_summary,
    timesheet_task_search,
    timesheet_totals,
    timesheet_week,
    week_start_of,
)
from psa.services.time_entries import (
    timer_start,
    timer_stop,
    timesheet_cell_save,
    timesheet_copy_previous_week,
    timesheet_submit,
)

NO_PERSON = ("Your sign-in is not linked to a person in the firm's records, so there is no "
             "timesheet to show. Ask an administrator to link your user to your person record.")
MAX_NOTE_LENGTH = 2000


class CellForm(forms.Form):
    """What one grid cell posts: the typed hours (parsed to Decimal) and its note."""

    hours = forms.CharField(required=False, max_length=20, strip=True)
    notes = forms.CharField(required=False, max_length=MAX_NOTE_LENGTH, strip=True)

    def clean_hours(self) -> object:
        try:
            return parse_hours(self.cleaned_data.get("hours"))
        except HoursParseError as exc:
            raise forms.ValidationError(str(exc)) from exc


def person_today(person: Person) -> date:
    """Today in the person's time zone (work dates are the person's, STYLE.md §9)."""
    try:
        zone = ZoneInfo(person.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return timezone.localdate(timezone.now(), zone)


def week_url(week_start: date) -> str:
    return f"{reverse('timesheet')}?week={week_start.isoformat()}"


def cell_response(cell: Cell, totals: WeekTotals | None = None,
                  status: int = 200) -> HttpResponse:
    """One cell for HTMX to swap in, drawn by the same `cell_html` as the page's cells (so it
    needs no template, context processors or navigation queries; a cell has no form needing
    the CSRF token, HTMX sends it in a header)."""
    return HttpResponse(cell_html(cell, totals), status=status)


class TimesheetMixin(RequiredPermsMixin):
    """The signed-in user's Person, or a clear message when the user has none."""

    request: HttpRequest
    required_perms = {"get": "psa.add_timeentry", "post": "psa.add_timeentry"}

    def person(self) -> Person | None:
        return getattr(self.request.user, "person", None)

    def no_person(self, status: int = 200) -> HttpResponse:
        return render(self.request, "psa/timesheet.html",
                      {"title": "My week", "no_person": NO_PERSON}, status=status)

    def week_from(self, data: dict, person: Person) -> date:
        return parse_week(data.get("week"), today=person_today(person))


class TimesheetView(TimesheetMixin, View):
    """The week grid: rows, cells, totals against capacity, and the week's actions."""

    def get(self, request: HttpRequest) -> HttpResponse:
        person = self.person()
        if person is None:
            return self.no_person()
        today = person_today(person)
        week_start = parse_week(request.GET.get("week"), today=today)
        grid = timesheet_week(person=person, week_start=week_start, today=today)
        context = {
            "title": "My week",
            "grid": grid,
            "context_line": (f"Week of {week_start.day} {week_start:%b %Y} · "
                             f"{grid.total:.2f} of {grid.capacity:.2f} h"),
            "this_week": week_start_of(today),
            "may_submit": request.user.has_perm("psa.submit_timeentry"),
        }
        return render(request, "psa/timesheet.html", context)


class TimesheetCellView(TimesheetMixin, View):
    """Autosave of one cell (HTMX): the cell again, plus the changed totals out of band."""

    required_perms = {"post": "psa.add_timeentry"}

    def post(self, request: HttpRequest, task_id: int, day: str) -> HttpResponse:
        person = self.person()
        if person is None:
            return HttpResponse(NO_PERSON, status=400, content_type="text/plain")
        try:
            work_date = date.fromisoformat(day)
        except ValueError as exc:
            raise Http404("No such day.") from exc
        task = Task.objects.select_related("project").filter(pk=task_id).first()
        if task is None:
            raise Http404("No such task.")
        form = CellForm(request.POST)
        typed = request.POST.get("hours", "")
        if not form.is_valid():
            error = next(iter(form.errors.values()))[0]
            return self.error(person, task, work_date, typed, error, 400)
        notes = form.cleaned_data["notes"] if "notes" in request.POST else None
        try:
            entry = timesheet_cell_save(actor=request.user, person=person, task=task,
                                        work_date=work_date, hours=form.cleaned_data["hours"],
                                        notes=notes)
        except DomainError as exc:
            return self.error(person, task, work_date, typed, exc.detail, exc.http_status)
        cell = timesheet_cell(person=person, task=task, day=work_date, entry=entry, saved=True)
        totals = timesheet_totals(person=person, task_id=task.pk, day=work_date)
        return cell_response(cell, totals)

    def error(self, person: Person, task: Task, work_date: date, typed: str, message: str,
              status: int) -> HttpResponse:
        """The cell with the error beside it and the typed value kept for a retry."""
        cell = timesheet_cell(person=person, task=task, day=work_date, fetch=True, typed=typed,
                              typed_notes=self.request.POST.get("notes"), error=message)
        return cell_response(cell, status=status)


class TimesheetTaskSearchView(TimesheetMixin, View):
    """The "+ Add row" picker (HTMX): open leaf tasks of the person's active projects."""

    def get(self, request: HttpRequest) -> HttpResponse:
        person = self.person()
        if person is None:
            return HttpResponse(NO_PERSON, status=400, content_type="text/plain")
        q = request.GET.get("q", "").strip()[:100]
        context = {"tasks": timesheet_task_search(person=person, q=q), "q": q,
                   "week": self.week_from(request.GET, person)}
        return render(request, "psa/partials/_timesheet_picker.html", context)


class TimesheetRowView(TimesheetMixin, View):
    """A new row for a picked task (HTMX), appended to its project's group."""

    def get(self, request: HttpRequest) -> HttpResponse:
        person = self.person()
        if person is None:
            return HttpResponse(NO_PERSON, status=400, content_type="text/plain")
        try:
            task_id = int(request.GET.get("task", ""))
        except ValueError as exc:
            raise Http404("No such task.") from exc
        today = person_today(person)
        week_start = parse_week(request.GET.get("week"), today=today)
        row = timesheet_row(person=person, task_id=task_id, week_start=week_start, today=today)
        if row is None:
            raise Http404("No such task on your projects.")
        return render(request, "psa/partials/_timesheet_row.html",
                      {"rows": [row], "week_start": week_start})


class TimesheetCopyView(TimesheetMixin, View):
    """Copy last week's entries into this week as drafts (skipping what would break a rule)."""

    def post(self, request: HttpRequest) -> HttpResponse:
        person = self.person()
        if person is None:
            return self.no_person(status=400)
        week_start = self.week_from(request.POST, person)
        try:
            copied = timesheet_copy_previous_week(actor=request.user, person=person,
                                                  week_start=week_start)
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            if copied:
                hours = sum(e.hours for e in copied)
                messages.success(request, f"Copied {len(copied)} entries ({hours:.2f} h) from "
                                          f"the week before as drafts.")
            else:
                messages.info(request, "Nothing was copied: the week before has no entries "
                                       "that fit into empty cells of this week.")
        return HttpResponseRedirect(week_url(week_start))


class TimesheetSubmitView(TimesheetMixin, View):
    """Submit week: a summary of hours per day and project, then the submission."""

    required_perms = {"get": "psa.submit_timeentry", "post": "psa.submit_timeentry"}

    def get(self, request: HttpRequest) -> HttpResponse:
        person = self.person()
        if person is None:
            return self.no_person()
        week_start = self.week_from(request.GET, person)
        summary = timesheet_summary(person=person, week_start=week_start)
        context = {
            "title": "Submit week",
            "summary": summary,
            "week_start": week_start,
            "context_line": f"Week of {week_start.day} {week_start:%b %Y} · "
                            f"{summary.total:.2f} h",
            "breadcrumbs": [("My week", week_url(week_start)), ("Submit week", None)],
        }
        return render(request, "psa/timesheet.html", context)

    def post(self, request: HttpRequest) -> HttpResponse:
        person = self.person()
        if person is None:
            return self.no_person(status=400)
        week_start = self.week_from(request.POST, person)
        try:
            entries = timesheet_submit(actor=request.user, person=person, week_start=week_start)
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            hours = sum(e.hours for e in entries)
            messages.success(request, f"Submitted {len(entries)} entries ({hours:.2f} h) for "
                                      f"approval.")
        return HttpResponseRedirect(week_url(week_start))


class TimerStartView(TimesheetMixin, View):
    """Start the person's timer on a row's task (a running one is stopped and booked)."""

    def post(self, request: HttpRequest) -> HttpResponse:
        person = self.person()
        if person is None:
            return self.no_person(status=400)
        week_start = self.week_from(request.POST, person)
        try:
            task_id = int(request.POST.get("task", ""))
        except ValueError as exc:
            raise Http404("No such task.") from exc
        task = Task.objects.select_related("project").filter(pk=task_id).first()
        if task is None:
            raise Http404("No such task.")
        try:
            timer_start(actor=request.user, person=person, task=task)
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"Timer started on {task.project.code} {task.name}.")
        return HttpResponseRedirect(week_url(week_start))


class TimerStopView(TimesheetMixin, View):
    """Stop the timer: its time, rounded up to the quarter hour, goes into today's cell."""

    def post(self, request: HttpRequest) -> HttpResponse:
        person = self.person()
        if person is None:
            return self.no_person(status=400)
        week_start = self.week_from(request.POST, person)
        try:
            entry = timer_stop(actor=request.user, person=person)
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            if entry is not None:
                messages.success(
                    request, f"Timer stopped: {day_label(entry.work_date)} now has "
                             f"{format_hours(entry.hours)} h on {entry.task.name}.")
        return HttpResponseRedirect(week_url(week_start))
