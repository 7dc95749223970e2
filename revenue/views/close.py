"""`/revenue/close/`: finance's month-end close (UI.md: Month-end close). For a legal entity and
month: the checklist of what blocks closing (each item with a link to where it is fixed), the
recognition run with its progress (HTMX polls it, as billing's run page does), the variances
against the plan, "Close the month" once nothing blocks, and "Reopen" for administrators, with
a reason. Forms validate input only; the services apply the rules and their errors are shown
beside the field they name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views import View

from psa.common.errors import DomainError
from psa.common.permissions import RequiredPermsMixin
from psa.models import LegalEntity, Period
from psa.selectors.org import legal_entity_list
from revenue.models import RecognitionRun
from revenue.selectors.close import (
    VARIANCE_ORDERS,
    close_checklist,
    default_close_month,
    default_legal_entity,
    variances,
)
from revenue.selectors.runs import recognition_run_get
from revenue.services.close import month_close, month_reopen
from revenue.services.recognition import recognition_run_start
from revenue.views.schedules import revenue_tabs

UserLike = User | AnonymousUser
Choice = tuple[str, str]
MONTH_FORMATS = ["%Y-%m", "%Y-%m-%d"]
# The page holds several forms naming the same entity and month: each gets its own ids.
CLOSE_ID, REOPEN_ID = "close_%s", "reopen_%s"


# --- Forms ------------------------------------------------------------------------------------


class CloseScopeForm(forms.Form):
    """The legal entity and month the page is about (the GET filter, and hidden on POSTs)."""

    legal_entity = forms.TypedChoiceField(coerce=int, label="Legal entity")
    month = forms.DateField(label="Month", input_formats=MONTH_FORMATS,
                            widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
                            help_text="The calendar month to close (YYYY-MM).")

    def __init__(self, *args: object, legal_entities: Sequence[Choice] = (),
                 hidden: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["legal_entity"].choices = list(legal_entities)
        if hidden:
            for name in ("legal_entity", "month"):
                self.fields[name].widget = forms.HiddenInput()


class ReopenForm(CloseScopeForm):
    """Reopen a closed month: the reason is required and kept in the audit trail."""

    reason = forms.CharField(label="Reason for reopening", max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": "Say why the month is reopened."})


def show_error(form: forms.Form, error: DomainError) -> None:
    """Put a service's sentence beside the field it names (or above the form)."""
    attr = error.attr if error.attr in form.fields else None
    form.add_error(attr, error.detail)


# --- Helpers ----------------------------------------------------------------------------------


def _entity_choices(user: UserLike) -> list[Choice]:
    return [(str(pk), f"{code} · {name}") for pk, code, name in
            legal_entity_list(actor=user).order_by("code").values_list("pk", "code", "name")]


def _entity(user: UserLike, pk: int) -> LegalEntity:
    entity = legal_entity_list(actor=user).filter(pk=pk).first()
    if entity is None:
        raise Http404("No such legal entity.")
    return entity


def close_url(entity: LegalEntity, month: date, **extra: str) -> str:
    query = {"legal_entity": entity.pk, "month": f"{month:%Y-%m}", **extra}
    return f"{reverse('revenue:close')}?{urlencode(query)}"


def _person_name(user: User | None) -> str:
    if user is None:
        return "someone"
    person = getattr(user, "person", None)
    return person.full_name if person else (user.get_full_name() or user.username)


def run_progress_context(run: RecognitionRun) -> dict[str, object]:
    finished = run.status in RecognitionRun.FINISHED
    top = max(run.total_units, 1)
    return {"run": run, "finished": finished, "progress_max": top,
            "progress_value": top if run.status == RecognitionRun.Status.COMPLETED
            else min(run.done_units, top),
            "progress_url": reverse("revenue:close-run-progress", args=[run.pk])}


def close_response(request: HttpRequest, *, entity: LegalEntity | None, month: date | None,
                   scope_form: CloseScopeForm, run_error: str = "",
                   close_form: CloseScopeForm | None = None,
                   reopen_form: ReopenForm | None = None, status: int = 200) -> HttpResponse:
    """The page for `entity` and `month` (or the empty state when the user sees no entity)."""
    user = request.user
    context: dict[str, object] = {"title": "Month-end close", "scope_form": scope_form,
                                  "tabs": revenue_tabs(request, "revenue:close")}
    if entity is None or month is None:
        context["context_line"] = "No legal entity to close."
        return render(request, "revenue/close.html", context, status=status)
    checklist = close_checklist(legal_entity=entity, month=month)
    order = request.GET.get("order", "difference")
    variance = variances(legal_entity=entity, month=month, order=order)
    period = checklist.period
    closed = checklist.is_closed
    state = ""
    if closed and period is not None and period.closed_at:
        state = f" · closed by {_person_name(period.closed_by)} on {period.closed_at:%d %b %Y}"
    hidden = {"legal_entity": entity.pk, "month": month}
    choices = _entity_choices(user)
    context.update({
        "context_line": f"{entity.code} · {entity.name} · {month:%B %Y}{state}",
        "entity": entity, "month": month, "checklist": checklist, "closed": closed,
        "period": period,
        "closed_by_name": _person_name(period.closed_by) if closed and period else "",
        "variances": variance,
        "sort_urls": {key: close_url(entity, month, order=key) for key in VARIANCE_ORDERS},
        "may_run": user.has_perm("revenue.add_recognitionrun") and not closed,
        "may_close": user.has_perm("psa.close_period") and not closed,
        "may_reopen": user.has_perm("psa.reopen_period") and closed,
        "run_form": CloseScopeForm(initial=hidden, legal_entities=choices, hidden=True,
                                   auto_id="run_%s"),
        "run_error": run_error,
        "close_form": close_form or CloseScopeForm(initial=hidden, legal_entities=choices,
                                                   hidden=True, auto_id=CLOSE_ID),
        "reopen_form": reopen_form or ReopenForm(initial=hidden, legal_entities=choices,
                                                 hidden=True, auto_id=REOPEN_ID),
        "recognition_blocking": any(item.key == "stale_recognition"
                                    for item in checklist.blocking),
    })
    if checklist.latest_run is not None:
        context.update(run_progress_context(checklist.latest_run))
    return render(request, "revenue/close.html", context, status=status)


def _posted_scope(request: HttpRequest, form: CloseScopeForm) -> tuple[LegalEntity, date]:
    """The entity and month a POST names (400 when they are missing or malformed)."""
    if not form.is_valid() and ({"legal_entity", "month"} & set(form.errors)):
        raise BadRequest("Choose a legal entity and a month.")
    return (_entity(request.user, form.cleaned_data["legal_entity"]),
            form.cleaned_data["month"].replace(day=1))


def _scope_form_for(request: HttpRequest, entity: LegalEntity, month: date) -> CloseScopeForm:
    return CloseScopeForm(initial={"legal_entity": entity.pk, "month": month},
                          legal_entities=_entity_choices(request.user))


# --- Views ------------------------------------------------------------------------------------


class CloseView(RequiredPermsMixin, View):
    """GET: the checklist, run, variances and close/reopen actions for `?legal_entity=&month=`
    (defaults: the entity of the user's person, or the first; the next month to close)."""

    required_perms = {"get": "psa.view_period"}

    def get(self, request: HttpRequest) -> HttpResponse:
        choices = _entity_choices(request.user)
        form = CloseScopeForm(request.GET or None, legal_entities=choices)
        entity = month = None
        if form.is_bound and form.is_valid():
            entity = _entity(request.user, form.cleaned_data["legal_entity"])
            month = form.cleaned_data["month"].replace(day=1)
        elif not form.is_bound:
            entity = default_legal_entity(actor=request.user)
            if entity is not None:
                month = default_close_month(legal_entity=entity)
                form = CloseScopeForm(initial={"legal_entity": entity.pk, "month": month},
                                      legal_entities=choices)
        status = 400 if form.is_bound and form.errors else 200
        return close_response(request, entity=entity, month=month, scope_form=form,
                              status=status)


class CloseRunView(RequiredPermsMixin, View):
    """POST: start a recognition run for the month; its progress shows on the page."""

    required_perms = {"post": "revenue.add_recognitionrun"}

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CloseScopeForm(request.POST, legal_entities=_entity_choices(request.user),
                              hidden=True)
        entity, month = _posted_scope(request, form)
        try:
            recognition_run_start(actor=request.user, legal_entity=entity, period=month)
        except DomainError as exc:
            return close_response(request, entity=entity, month=month,
                                  scope_form=_scope_form_for(request, entity, month),
                                  run_error=exc.detail, status=exc.http_status)
        messages.success(request, f"Started recognition for {entity.code} {month:%B %Y}.")
        return redirect(close_url(entity, month))


class CloseMonthView(RequiredPermsMixin, View):
    """POST: close the month (refused, with what blocks, while the checklist is not clear)."""

    required_perms = {"post": "psa.close_period"}

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CloseScopeForm(request.POST, legal_entities=_entity_choices(request.user),
                              hidden=True, auto_id=CLOSE_ID)
        entity, month = _posted_scope(request, form)
        try:
            month_close(legal_entity=entity, month=month, actor=request.user)
        except DomainError as exc:
            show_error(form, exc)
            return close_response(request, entity=entity, month=month,
                                  scope_form=_scope_form_for(request, entity, month),
                                  close_form=form, status=exc.http_status)
        messages.success(request, f"Closed {month:%B %Y} for {entity.code}: nothing dated in "
                                  "it can change until an administrator reopens it.")
        return redirect(close_url(entity, month))


class CloseReopenView(RequiredPermsMixin, View):
    """POST: reopen a closed month with a reason (administrators; audited)."""

    required_perms = {"post": "psa.reopen_period"}

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ReopenForm(request.POST, legal_entities=_entity_choices(request.user),
                          hidden=True, auto_id=REOPEN_ID)
        entity, month = _posted_scope(request, form)
        period = Period.objects.filter(legal_entity=entity, month=month).first()
        if form.is_valid() and period is not None:
            try:
                month_reopen(period=period, actor=request.user,
                             reason=form.cleaned_data["reason"])
            except DomainError as exc:
                show_error(form, exc)
            else:
                messages.success(request, f"Reopened {month:%B %Y} for {entity.code}.")
                return redirect(close_url(entity, month))
        elif period is None:
            form.add_error(None, f"{month:%B %Y} is not closed for {entity.code}.")
        return close_response(request, entity=entity, month=month,
                              scope_form=_scope_form_for(request, entity, month),
                              reopen_form=form, status=400)


class CloseRunProgressView(RequiredPermsMixin, View):
    """GET: the run's progress fragment HTMX polls; once the run has finished it asks the
    browser to reload the page (HX-Refresh), so the checklist and variances show its result."""

    required_perms = {"get": "revenue.view_recognitionrun"}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            run = recognition_run_get(actor=request.user, run_id=pk)
        except RecognitionRun.DoesNotExist as exc:
            raise Http404("No such run.") from exc
        context = run_progress_context(run)
        response = render(request, "revenue/partials/close_run_progress.html", context)
        htmx = (request.headers.get("HX-Request") == "true"
                and not request.headers.get("HX-History-Restore-Request"))
        if context["finished"] and htmx and request.GET.get("polling"):
            response["HX-Refresh"] = "true"
        patch_vary_headers(response, ["HX-Request"])
        return response
