"""Revenue schedule pages: `/revenue/` lists the schedules the user may see (filters in the
URL, sorting, paging, CSV) and `/revenue/schedules/<contract_id>/` shows one contract's
months (planned, recognised, variance and the explanation of each month's figure) with the
estimate-at-completion history and the form to add an estimate.

Schedules are read through `revenue.selectors.schedules`, scoped by the role matrix
(`revenue.view_revenueschedule`); adding an estimate needs `revenue.add_contractestimate` on
the contract's schedule (a project manager: their own contracts; finance: all) and calls
`contract_estimate_add`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views import View

from psa.common.errors import DomainError
from psa.common.money import quantize
from psa.common.permissions import RequiredPermsMixin
from psa.forms import ANY, Choice, ListFilterForm
from psa.models import Contract
from psa.selectors.org import legal_entity_list
from psa.views.lists import Column, ListPage
from revenue.models import RevenueSchedule
from revenue.selectors.schedules import (
    ScheduleDetail,
    schedule_detail,
    schedule_for_contract,
    schedule_list,
)
from revenue.services.estimates import PERCENT_COMPLETE, contract_estimate_add
from revenue.services.schedules import PLAN_SOURCE

Method = Contract.RevenueMethod
VIEW_PERM = "revenue.view_revenueschedule"
ESTIMATE_PERM = "revenue.add_contractestimate"
MONEY_INPUT = forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"})
MONTH_INPUT = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
MONTH_FORMATS = ["%Y-%m", "%Y-%m-%d"]

# (label, url name, permission): the revenue section's tabs, as the role may use them; the
# pages of other areas appear once their URLs exist.
TABS = (
    ("Schedules", "revenue:schedule-list", VIEW_PERM),
    ("Month-end close", "revenue:close", "psa.view_period"),
    ("Journals", "revenue:journal-list", "revenue.view_journalentry"),
    ("Balances", "revenue:balances", "revenue.view_balances"),
    ("Forecast", "revenue:forecast", "revenue.view_forecast"),
)
SORTS = {"contract": "contract__code", "client": "contract__client__name",
         "method": "method", "value": "value_amount", "planned": "planned_to_date",
         "recognised": "recognised_to_date", "variance": "variance_to_date",
         "status": "contract__status"}
CSV_HEADER = ("Contract", "Contract name", "Client", "Legal entity", "Method", "Status",
              "Start", "End", "Currency", "Value", "Cap", "Planned total",
              "Planned to last month end", "Recognised to date", "Variance to date")
# What the plan is for each method (the services' docstring says why).
PLAN_BASIS = {
    Method.RATABLE: "The value spread over the service period by days, each month rounded, "
                    "the last month taking the residual: recognition follows the same split.",
    Method.MILESTONE: "Each milestone's amount in the month it is due; revenue is recognised "
                      "when the milestone is accepted (or completed where no acceptance is "
                      "needed).",
    Method.PERCENT_COMPLETE_COST: "The value spread by days (effort assumed even over the "
                                  "service period). Recognition follows cost to date against "
                                  "the estimated total cost.",
    Method.PERCENT_COMPLETE_HOURS: "The value spread by days (effort assumed even over the "
                                   "service period). Recognition follows hours to date against "
                                   "the estimated total hours.",
    Method.AS_DELIVERED: "An estimate: the value (at most the cap) spread by days. Recognition "
                         "follows approved billable time and expenses as delivered.",
}
INPUT_LABELS = {
    "value": "Value", "total": "Amount spread", "days": "Days in the month",
    "total_days": "Days in the service period", "milestones": "Milestones due",
    "uncovered": "Value not covered by a milestone", "time": "Approved billable time",
    "expenses": "Billable expenses with markup", "cost_to_date": "Cost to date",
    "estimated_cost": "Estimated total cost", "hours_to_date": "Hours to date",
    "estimated_hours": "Estimated total hours",
}
HIDDEN_INPUTS = {"source", "method", "basis"}


def revenue_tabs(request: HttpRequest, current: str) -> list[dict[str, object]]:
    """The revenue tabs the user may open (areas not installed yet are left out)."""
    tabs = []
    for label, name, perm in TABS:
        if not request.user.has_perm(perm):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        tabs.append({"label": label, "url": url, "current": name == current})
    return tabs


def legal_entity_choices(user: object) -> list[Choice]:
    return [(str(pk), f"{code} · {name}") for pk, code, name in
            legal_entity_list(actor=user).order_by("code").values_list("pk", "code", "name")]


# --- The list -------------------------------------------------------------------------------


class ScheduleFilterForm(ListFilterForm):
    """The schedule list's filters: legal entity, method, contract status and a search."""

    legal_entity = forms.TypedChoiceField(required=False, coerce=int, empty_value=None,
                                          label="Legal entity")
    method = forms.ChoiceField(required=False, choices=[ANY, *Method.choices])
    status = forms.ChoiceField(required=False, label="Contract status",
                               choices=[ANY, *Contract.Status.choices])

    def __init__(self, *args: object, legal_entities: Sequence[Choice] = (),
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].label = "Contract or client"
        self.fields["legal_entity"].choices = [ANY, *legal_entities]


def _ordering(sort: str) -> list[str]:
    field = SORTS.get(sort.lstrip("-"), "contract__code")
    prefix = "-" if sort.startswith("-") else ""
    return [f"{prefix}{field}", f"{prefix}pk"]


class ScheduleListView(ListPage):
    """Every schedule the user may see: method, value, planned and recognised to date."""

    required_perms = {"get": VIEW_PERM}
    template_name = "revenue/schedules.html"
    partial_template_name = "revenue/partials/schedule_results.html"
    form_class = ScheduleFilterForm
    default_sort = "contract"
    export_filename = "revenue-schedules.csv"
    title = "Revenue"
    context_line = ("Revenue schedules per contract: planned to the end of last month against "
                    "recognised to date.")
    columns = (
        Column("Contract", "contract"), Column("Client", "client"), Column("Method", "method"),
        Column("Value", "value", numeric=True), Column("Planned to date", "planned",
                                                         numeric=True),
        Column("Recognised to date", "recognised", numeric=True),
        Column("Variance", "variance", numeric=True), Column("Status", "status"),
    )

    def get(self, request: HttpRequest, *, export: bool = False) -> HttpResponse:
        request.revenue_tabs = revenue_tabs(request, "revenue:schedule-list")
        return super().get(request, export=export)

    def form_options(self) -> dict[str, object]:
        return {"legal_entities": legal_entity_choices(self.request.user)}

    def get_queryset(self, **filters: object) -> QuerySet[RevenueSchedule]:
        sort = str(filters.pop("sort", self.default_sort))
        return schedule_list(actor=self.request.user, filters=filters).order_by(
            *_ordering(sort))

    def csv_header(self) -> Sequence[str]:
        return CSV_HEADER

    def csv_rows(self, queryset: QuerySet[RevenueSchedule]) -> Iterable[Sequence[object]]:
        methods = dict(Method.choices)
        statuses = dict(Contract.Status.choices)
        for schedule in queryset.iterator(chunk_size=2000):
            contract = schedule.contract
            yield (contract.code, contract.name, contract.client.name,
                   contract.legal_entity.code, methods.get(schedule.method, schedule.method),
                   statuses.get(contract.status, contract.status), contract.start_date,
                   contract.end_date, schedule.currency, schedule.value_amount,
                   contract.cap_amount, *(quantize(amount, schedule.currency) for amount in (
                       schedule.planned_total, schedule.planned_to_date,
                       schedule.recognised_to_date, schedule.variance_to_date)))


# --- One contract's schedule ----------------------------------------------------------------


class EstimateForm(forms.Form):
    """A new estimate at completion: the month it applies from and the method's figure."""

    effective_month = forms.DateField(label="Effective from (month)", widget=MONTH_INPUT,
                                      input_formats=MONTH_FORMATS,
                                      help_text="Recognition uses it from this month on.")
    total_cost_amount = forms.DecimalField(label="Estimated total cost", required=False,
                                           max_digits=14, decimal_places=2,
                                           widget=MONEY_INPUT)
    total_hours = forms.DecimalField(label="Estimated total hours", required=False,
                                     max_digits=9, decimal_places=2,
                                     widget=forms.NumberInput(attrs={"step": "0.25",
                                                                     "inputmode": "decimal"}))
    note = forms.CharField(label="Why it changed", required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: object, method: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Only the figure the method uses is asked for, and it is required.
        drop, keep = (("total_hours", "total_cost_amount")
                      if method == Method.PERCENT_COMPLETE_COST
                      else ("total_cost_amount", "total_hours"))
        del self.fields[drop]
        self.fields[keep].required = True


def _schedule_or_404(request: HttpRequest, contract_id: int) -> RevenueSchedule:
    try:
        return schedule_for_contract(actor=request.user, contract_id=contract_id)
    except RevenueSchedule.DoesNotExist as exc:
        raise Http404("No revenue schedule you may see for this contract.") from exc


def _figure(value: object) -> str:
    """An input as the page shows figures: thousands separators, its stored places."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    places = max(0, -number.as_tuple().exponent) if number.is_finite() else 0
    return f"{number:,.{places}f}"


def _inputs(inputs: dict[str, str]) -> list[tuple[str, str]]:
    """A month's inputs as (label, value) pairs for the page, in a stable order."""
    return [(INPUT_LABELS.get(key, key.replace("_", " ").capitalize()), _figure(value))
            for key, value in sorted((inputs or {}).items()) if key not in HIDDEN_INPUTS]


def _month_rows(detail: ScheduleDetail) -> list[dict[str, object]]:
    """Each month with its explanations: the run's (once a run recognised the month) and the
    plan's, each with its inputs as labelled figures."""
    rows = []
    for row in detail.months:
        line = row.line
        from_run = (line.inputs or {}).get("source") != PLAN_SOURCE and bool(line.explanation)
        plan_text = row.plan_explanation or ("" if from_run else line.explanation)
        plan_inputs = row.plan_inputs or ({} if from_run else line.inputs)
        rows.append({"line": line, "variance": row.variance, "is_current": row.is_current,
                     "is_past": row.is_past, "from_run": from_run,
                     "run_explanation": line.explanation if from_run else "",
                     "run_inputs": _inputs(line.inputs) if from_run else [],
                     "plan_explanation": plan_text, "plan_inputs": _inputs(plan_inputs)})
    return rows


def schedule_page(request: HttpRequest, schedule: RevenueSchedule, *,
                  form: EstimateForm | None = None, status: int = 200) -> HttpResponse:
    """The schedule page; a failed estimate comes back in `form`, its error beside the field."""
    contract = schedule.contract
    detail = schedule_detail(schedule=schedule)
    has_estimates = schedule.method in PERCENT_COMPLETE
    may_estimate = has_estimates and request.user.has_perm(ESTIMATE_PERM, schedule)
    if may_estimate and form is None:
        form = EstimateForm(method=schedule.method,
                            initial={"effective_month": timezone.localdate().replace(day=1)})
    context = {
        "title": f"Revenue schedule · {contract.code}",
        "context_line": (f"{contract.client.name} · {contract.name} · "
                         f"{contract.get_revenue_method_display()} · "
                         f"{contract.start_date:%d %b %Y} to {contract.end_date:%d %b %Y}"),
        "breadcrumbs": [("Revenue", reverse("revenue:schedule-list")), (contract.code, None)],
        "tabs": revenue_tabs(request, "revenue:schedule-list"),
        "schedule": schedule,
        "contract": contract,
        "detail": detail,
        "months": _month_rows(detail),
        "plan_basis": PLAN_BASIS.get(schedule.method, ""),
        "has_estimates": has_estimates,
        "may_estimate": may_estimate,
        "estimate_form": form if may_estimate else None,
        "may_see_journals": request.user.has_perm("revenue.view_journalentry"),
    }
    return render(request, "revenue/schedule_detail.html", context, status=status)


class ScheduleDetailView(RequiredPermsMixin, View):
    """GET: one contract's schedule (404 outside the user's scope)."""

    required_perms = {"get": VIEW_PERM}

    def get(self, request: HttpRequest, contract_id: int) -> HttpResponse:
        return schedule_page(request, _schedule_or_404(request, contract_id))


class EstimateAddView(RequiredPermsMixin, View):
    """POST: add an estimate at completion to the contract (history kept: never an edit)."""

    required_perms = {"post": ESTIMATE_PERM}

    def post(self, request: HttpRequest, contract_id: int) -> HttpResponse:
        schedule = _schedule_or_404(request, contract_id)
        if not request.user.has_perm(ESTIMATE_PERM, schedule):
            raise PermissionDenied
        if schedule.method not in PERCENT_COMPLETE:
            messages.error(request, "Estimates at completion apply to percent-complete "
                                    "contracts only.")
            return redirect("revenue:schedule-detail", contract_id=contract_id)
        form = EstimateForm(request.POST, method=schedule.method)
        if form.is_valid():
            data = form.cleaned_data
            try:
                estimate = contract_estimate_add(
                    contract=schedule.contract, actor=request.user,
                    effective_month=data["effective_month"],
                    total_cost_amount=data.get("total_cost_amount"),
                    total_hours=data.get("total_hours"), note=data["note"])
            except DomainError as error:
                attr = error.attr if error.attr in form.fields else None
                form.add_error(attr, error.detail)
            else:
                figure = (f"{estimate.total_cost_amount:,.2f} {schedule.currency}"
                          if estimate.total_cost_amount is not None
                          else f"{estimate.total_hours:,.2f} h")
                messages.success(request, f"Estimate of {figure} recorded from "
                                          f"{estimate.effective_month:%B %Y}; the next "
                                          "recognition run catches up.")
                return redirect(reverse("revenue:schedule-detail", args=[contract_id])
                                + "#estimates")
        return schedule_page(request, schedule, form=form, status=400)

