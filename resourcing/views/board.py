"""The staffing board (UI.md "Staffing"): people by 12 weeks, open requests, ranked candidates.

Thin views: reads come from resourcing.selectors.board and resourcing.selectors.candidates,
bookings go through resourcing.services.assignments.assignment_create.
"""

from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views import View

from psa.common.permissions import RequiredPermsMixin
from psa.errors import DomainError
from psa.forms import ANY, FilterForm
from psa.models import Person, Role
from psa.rules import visible
from psa.views.lists import query_without
from resourcing.errors import OverbookingError
from resourcing.models import Assignment, ResourceRequest, Skill
from resourcing.selectors.board import (
    WEEKS,
    monday_of,
    person_week_assignments,
    staffing_board,
    team_managers,
)
from resourcing.selectors.candidates import candidates_for_request
from resourcing.services.assignments import assignment_create, assignment_end, assignment_update

OPEN_STATUSES = (ResourceRequest.Status.OPEN, ResourceRequest.Status.PARTIALLY_FILLED)
LEVELS = [(str(n), f"{n}+") for n in range(1, 6)]


class BoardFilterForm(FilterForm):
    """The board's filters, all in the URL."""

    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            label="From week of")
    role = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    skill = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    min_level = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                       label="Min level", choices=[ANY, *LEVELS])
    country = forms.ChoiceField(required=False, label="Location")
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                  help_text="People whose line manager is this person.")
    available = forms.BooleanField(required=False, label="With free hours")

    def __init__(self, *args: object, roles: list, skills: list, countries: list,
                 managers: list = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [ANY, *roles]
        self.fields["team"].choices = [ANY, *[(pk, f"{first} {last}")
                                              for pk, first, last in managers]]
        self.fields["skill"].choices = [ANY, *skills]
        self.fields["country"].choices = [ANY, *[(c, c) for c in countries]]


def _parse_week(value: str) -> date:
    try:
        return monday_of(date.fromisoformat(value))
    except ValueError:
        raise Http404("Not a date.") from None


def _open_requests(user: object) -> list[ResourceRequest]:
    queryset = (ResourceRequest.objects.filter(status__in=OPEN_STATUSES)
                .select_related("project", "role")
                .order_by("start_date", "pk"))
    return list(visible(queryset, user, "resourcing.view_resourcerequest")[:50])


CELL_HTML = ('<td class="cell state-{state}" data-week="{iso}"><a class="cell-link" href="{url}" '
             'hx-get="{url}" hx-target="#cell-detail" title="{title}"><span class="bar" '
             'aria-hidden="true"><span class="bar-hard" style="width: {hard}%"></span>'
             '<span class="bar-soft" style="width: {soft}%"></span></span>'
             '<span class="cell-label">{label}</span><span class="visually-hidden">, '
             '{state_label}, week of {short}</span></a></td>')


def _display_rows(board: object) -> list[dict[str, object]]:
    """The board's rows with every cell's HTML built here: 1,200 cells through the template
    engine cost most of the page's time. Only numbers, dates and the escaped name go in."""
    base = reverse("staffing-cell", args=[0, "2000-01-03"]).replace("/0/2000-01-03/", "/")
    week_text = {week: (week.isoformat(), f"{week:%-d %b}", f"{week:%-d %b %Y}")
                 for week in board.weeks}
    rows = []
    for row in board.rows:
        person = row.person
        name = escape(person.full_name)
        cells = []
        for cell in row.cells:
            iso, short, long = week_text[cell.week]
            state, label, state_label = cell.state, cell.label, cell.state_label
            cells.append(CELL_HTML.format(
                state=state, iso=iso, url=f"{base}{person.pk}/{iso}/",
                title=f"{name}, week of {long}: {label} ({state_label})",
                hard=cell.hard_pct, soft=cell.soft_pct,
                label=f"▲ {label}" if state == "over" else label,
                state_label=state_label, short=short))
        rows.append({"person": person, "cells_html": mark_safe("".join(cells))})  # noqa: S308
    return rows


def _partial(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request")


class StaffingBoardView(RequiredPermsMixin, View):
    """GET: the board page for the filters and start week in the URL."""

    required_perms = {"get": "resourcing.view_staffing_board"}

    def get(self, request: HttpRequest) -> HttpResponse:
        form = BoardFilterForm(
            request.GET or None,
            roles=list(Role.objects.order_by("level", "name").values_list("pk", "name")),
            skills=list(Skill.objects.filter(is_active=True).order_by("name")
                        .values_list("pk", "name")),
            countries=list(Person.objects.active().order_by("country")
                           .values_list("country", flat=True).distinct()),
            managers=list(team_managers(user=request.user)
                          .values_list("pk", "first_name", "last_name")))
        filters = form.filters()
        start = monday_of(filters.get("start") or timezone.localdate())
        board = staffing_board(
            start=start, role_id=filters.get("role"), skill_id=filters.get("skill"),
            min_level=filters.get("min_level"), country=filters.get("country", ""),
            available=bool(filters.get("available")), manager_id=filters.get("team"),
            page_number=request.GET.get("page"))
        weeks = board.weeks
        selected = None
        requests = _open_requests(request.user)
        if request.GET.get("request", "").isdigit():
            selected = next((r for r in requests if r.pk == int(request.GET["request"])), None)
        context = {
            "title": "Staffing",
            "context_line": (f"{board.page.paginator.count} people · weeks of "
                             f"{weeks[0]:%-d %b %Y} to {weeks[-1]:%-d %b %Y}"),
            "form": form,
            "board": board,
            "rows": _display_rows(board),
            "weeks": weeks,
            "this_week": monday_of(timezone.localdate()),
            "prev_url": query_without(request.GET, "page",
                                      start=(start - timedelta(weeks=WEEKS)).isoformat()),
            "next_url": query_without(request.GET, "page",
                                      start=(start + timedelta(weeks=WEEKS)).isoformat()),
            "prev_week_url": query_without(request.GET, "page",
                                           start=(start - timedelta(weeks=1)).isoformat()),
            "next_week_url": query_without(request.GET, "page",
                                           start=(start + timedelta(weeks=1)).isoformat()),
            "today_url": query_without(request.GET, "page", "start"),
            "page_urls": {
                "prev": query_without(request.GET, page=str(board.page.number - 1)),
                "next": query_without(request.GET, page=str(board.page.number + 1)),
            },
            "requests": requests,
            "selected_request": selected,
            "can_book": request.user.has_perm("resourcing.add_assignment"),
        }
        response = render(request, "resourcing/board.html", context)
        patch_vary_headers(response, ["HX-Request"])
        return response


class BoardCellView(RequiredPermsMixin, View):
    """GET (HTMX): one person's assignments in one week, with links to their projects."""

    required_perms = {"get": "resourcing.view_staffing_board"}

    def get(self, request: HttpRequest, person_id: int, week: str) -> HttpResponse:
        monday = _parse_week(week)
        person = get_object_or_404(Person.objects.select_related("role"), pk=person_id)
        assignments = visible(person_week_assignments(person=person, week=monday),
                              request.user, "resourcing.view_assignment")
        context = {"title": f"{person.full_name} · week of {monday:%-d %b %Y}",
                   "person": person, "week": monday, "week_end": monday + timedelta(days=6),
                   "assignments": list(assignments),
                   "can_change": request.user.has_perm("resourcing.change_assignment"),
                   "can_end": request.user.has_perm("resourcing.delete_assignment")}
        template = ("resourcing/partials/_cell_detail.html" if _partial(request)
                    else "resourcing/cell_page.html")
        return render(request, template, context)


FACTOR_LABELS = {"skills": "Skills", "availability": "Availability", "role_fit": "Role fit",
                 "cost": "Margin", "utilization_gap": "Utilization gap", "location": "Location"}


def _factor_detail(candidate: object, name: str) -> str:
    """The facts behind a factor's value, in words."""
    if name == "skills":
        return ", ".join(f"{m.skill_name} {m.level}/{m.min_level}"
                         for m in candidate.skill_matches) or "none required"
    if name == "availability":
        return f"{candidate.free_hours} of {candidate.requested_hours} h free"
    if name == "role_fit":
        return candidate.role_name
    if name == "cost":
        return "no rate" if candidate.margin is None else f"{candidate.margin * 100:.0f} % margin"
    if name == "utilization_gap":
        return (f"{candidate.utilization_actual:.0f} % of {candidate.utilization_target:.0f} % "
                "target")
    if name == "location":
        return candidate.country
    return ""


def _candidate_rows(candidates: list) -> list[dict[str, object]]:
    """Each candidate's factors as label, value (0 to 1), facts and bar percent."""
    rows = []
    for candidate in candidates:
        factors = [{"name": name, "label": FACTOR_LABELS.get(name, name), "value": value,
                    "detail": _factor_detail(candidate, name),
                    "pct": max(0, min(100, int(value * 100)))}
                   for name, value in candidate.factors.items()]
        rows.append({"candidate": candidate, "score": candidate.score, "factors": factors,
                     "score_pct": max(0, min(100, int(candidate.score * 100)))})
    return rows


CANDIDATES_SHOWN = 20


class CandidateFilterForm(FilterForm):
    """The candidates panel's filters: people left out by hand and a minimum availability."""

    min_availability = forms.IntegerField(
        required=False, min_value=0, max_value=100, label="Minimum availability (%)",
        widget=forms.NumberInput(attrs={"step": "10", "inputmode": "numeric"}))


def _exclude_ids(params: QueryDict) -> list[int]:
    """The repeated `exclude` parameters that are ids, in order, without repeats."""
    return list(dict.fromkeys(int(value) for value in params.getlist("exclude")
                              if value.isdigit()))


def _candidates_query(*, start: str, exclude: list[int], min_availability: int | None) -> str:
    """The candidates endpoint's query string for these filters, starting with "?"."""
    query = QueryDict(mutable=True)
    if start:
        query["start"] = start
    query.setlist("exclude", [str(pk) for pk in exclude])
    if min_availability is not None:
        query["min_availability"] = str(min_availability)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


class RequestCandidatesView(RequiredPermsMixin, View):
    """GET (HTMX): the request's ranked candidates with each factor as a labelled bar.

    Repeated `exclude` parameters leave people out of the ranking (listed apart, each with a
    link to include them again); `min_availability` (0 to 100 %) keeps only candidates with at
    least that share of the requested hours free.
    """

    required_perms = {"get": "resourcing.view_candidates"}

    def get(self, request: HttpRequest, request_id: int) -> HttpResponse:
        demand = get_object_or_404(ResourceRequest.objects.select_related("project", "role"),
                                   pk=request_id)
        if not request.user.has_perm("resourcing.view_candidates", demand):
            raise Http404("No such request.")
        form = CandidateFilterForm(request.GET)
        min_availability = form.filters().get("min_availability")
        exclude = _exclude_ids(request.GET)
        start = request.GET.get("start", "")
        candidates = candidates_for_request(
            request=demand, exclude_ids=exclude, limit=CANDIDATES_SHOWN,
            min_availability=None if min_availability is None
            else Decimal(min_availability) / 100)
        base = reverse("staffing-candidates", args=[demand.pk])

        def url(ids: list[int]) -> str:
            return base + _candidates_query(start=start, exclude=ids,
                                            min_availability=min_availability)

        rows = _candidate_rows(candidates)
        for row in rows:
            row["exclude_url"] = url([*exclude, row["candidate"].person_id])
        names = {pk: f"{first} {last}" for pk, first, last in visible(
            Person.objects.filter(pk__in=exclude), request.user, "psa.view_person")
            .values_list("pk", "first_name", "last_name")} if exclude else {}
        excluded = [{"person_id": pk, "name": names.get(pk, f"Person #{pk}"),
                     "include_url": url([other for other in exclude if other != pk])}
                    for pk in exclude]
        context = {"demand": demand, "rows": rows,
                   "can_book": request.user.has_perm("resourcing.add_assignment"),
                   "start": start, "form": form, "excluded": excluded, "exclude": exclude,
                   "candidates_url": base,
                   "clear_url": base + _candidates_query(start=start, exclude=[],
                                                         min_availability=None)}
        return render(request, "resourcing/partials/_candidates.html", context)


class BookCandidateView(RequiredPermsMixin, View):
    """POST: book a candidate soft or hard on the request; overbooking asks to confirm."""

    required_perms = {"post": "resourcing.add_assignment"}

    def post(self, request: HttpRequest, request_id: int) -> HttpResponse:
        demand = get_object_or_404(ResourceRequest.objects.select_related("project", "role"),
                                   pk=request_id)
        person = get_object_or_404(Person, pk=request.POST.get("person") or 0)
        booking = request.POST.get("booking")
        start = request.POST.get("start", "")
        back = reverse("staffing-board") + "?" + "&".join(
            part for part in (f"request={demand.pk}", f"start={start}" if start else "") if part)
        context = {"demand": demand, "person": person, "booking": booking, "start": start,
                   "back": back}
        try:
            if booking not in ("soft", "hard"):
                raise DomainError("Choose a soft or a hard booking.", attr="booking")
            if demand.project is None:
                raise DomainError("This request is for a deal without a project yet; create "
                                  "the project before booking.", attr="project")
            assignment = assignment_create(
                actor=request.user, person=person, project=demand.project, role=demand.role,
                start_date=demand.start_date, end_date=demand.end_date,
                hours_per_week=demand.hours_per_week, booking=booking, request=demand,
                confirm_overbooking=request.POST.get("confirm") == "1")
        except OverbookingError as exc:
            context.update(error=exc, weeks=getattr(exc, "weeks", []))
            return render(request, "resourcing/partials/_overbooking.html", context, status=409)
        except DomainError as exc:
            context.update(error=exc)
            return render(request, "resourcing/partials/_book_error.html", context,
                          status=exc.http_status)
        messages.success(request, f"Booked {person.full_name} {assignment.booking} on "
                                  f"{demand.project.code}, {assignment.hours_per_week} h a week "
                                  f"from {assignment.start_date:%-d %b %Y} to "
                                  f"{assignment.end_date:%-d %b %Y}.")
        if _partial(request):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = back
            return response
        return redirect(back)


class AssignmentEditView(RequiredPermsMixin, View):
    """POST: change an assignment's hours, booking or end date, or end it, from a board cell
    (resourcing.services.assignments); overbooking asks to confirm, like a booking."""

    required_perms = {"post": "resourcing.change_assignment"}

    def post(self, request: HttpRequest, assignment_id: int) -> HttpResponse:
        assignment = get_object_or_404(Assignment.objects.select_related("person", "project"),
                                       pk=assignment_id)
        week = request.POST.get("week", "")
        back = reverse("staffing-board") + (f"?start={week}" if week else "")
        context = {"assignment": assignment, "week": week, "back": back, "data": request.POST}
        try:
            if request.POST.get("action") == "end":
                if not request.user.has_perm("resourcing.delete_assignment", assignment):
                    raise DomainError("You may not end assignments.", attr="action")
                end = date.fromisoformat(request.POST.get("end_date") or "")
                assignment_end(actor=request.user, assignment=assignment, end_date=end)
                message = f"Ended {assignment.person.full_name} on {assignment.project.code} " \
                          f"on {end:%-d %b %Y}."
            else:
                data = {"hours_per_week": Decimal(request.POST.get("hours_per_week", "")),
                        "booking": request.POST.get("booking", ""),
                        "end_date": date.fromisoformat(request.POST.get("end_date", ""))}
                assignment_update(actor=request.user, assignment=assignment, data=data,
                                  confirm_overbooking=request.POST.get("confirm") == "1")
                message = f"Saved {assignment.person.full_name} on {assignment.project.code}."
        except (ValueError, ArithmeticError):
            context["error"] = DomainError("Enter hours as a number and dates as YYYY-MM-DD.")
            return render(request, "resourcing/partials/_assignment_error.html", context,
                          status=400)
        except OverbookingError as exc:
            context.update(error=exc, weeks=exc.weeks, overbooked=True)
            return render(request, "resourcing/partials/_assignment_error.html", context,
                          status=409)
        except DomainError as exc:
            context["error"] = exc
            return render(request, "resourcing/partials/_assignment_error.html", context,
                          status=exc.http_status)
        messages.success(request, message)
        if _partial(request):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = back
            return response
        return redirect(back)
