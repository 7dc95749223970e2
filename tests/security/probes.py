"""Every route of the project turned into requests ("probes") over the walk's world.

A probe is one (method, URL) with what it takes to be allowed: the permission the view
declares for the method (read from its `required_perms`, never written here), the object its
URL points at, and for views that dispatch again on a sub-action (a slug or a form field) the
sub-action's own permission, read from the view's own ACTIONS table. `API_ROWS` (the API) and
`PAGE_FILLS` (everything else) say how each route's URL parameters are filled; a route with
parameters that neither fills raises, and one that is neither walked nor listed in
test_route_walk.UNWALKED fails the walk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Model

from billing.views import invoice_actions, terms
from crm_sync.views.backlog import BACKLOGS
from insight.selectors.dashboard import ROWS as MEASURE_ROWS
from tests.security.routes import UNSAFE_METHODS, Route, all_routes, fill
from tests.security.world import WEEK, Side, World

# How a route without `required_perms` is guarded (checked by hand in its view).
LOGIN = "login"  # any signed-in user (home, search)
PUBLIC = "public"  # anyone
ANY_APPROVER = "any_approver"  # psa/views/approvals.py: any of APPROVE_PERMS
ADMIN = "admin"  # Django's admin: staff only
WEBHOOK = "webhook"  # the vendor's signature, nothing else
NOT_ALLOWED = "method_not_allowed"  # the method is listed but always 405

# Rules under which unsafe methods are walked too (the refusal is the point).
UNSAFE_RULES = ("perms", ANY_APPROVER, WEBHOOK)

SPECIAL_RULES: dict[str, str] = {
    "health/": PUBLIC,  # load balancers; no business data (psa/views/ops.py)
    "metrics": PUBLIC,  # loopback or METRICS_TOKEN; the test client is loopback
    "api/schema/": PUBLIC,  # drf-spectacular's default SERVE_PERMISSIONS (AllowAny)
    "api/docs/": PUBLIC,
    "api/redoc/": PUBLIC,
    "": LOGIN,
    "search/": LOGIN,
    "accounts/login/": PUBLIC,
    "accounts/logout/": NOT_ALLOWED,  # Django 5: GET logout is 405 (POST would sign out)
    "approvals/": ANY_APPROVER,
    "approvals/group/<id:person_id>/<str:week_start>/": ANY_APPROVER,
    "api/v1/integrations/<slug:connection>/webhook/": WEBHOOK,
}


@dataclass(frozen=True)
class Probe:
    """One request of the walk and what it takes to be allowed."""

    route: Route
    method: str
    url: str
    perm: str | None  # the view's declared permission for the method (None: refused)
    rule: str = "perms"
    obj: Model | None = None  # the row the URL points at
    view_perm: str | None = None  # the scope the view looks the row up in
    # Checked on the row after it is found: the action's own permission (a DRF action, or a
    # sub-action the view dispatches on).
    sub_perms: tuple[tuple[str, Model | None], ...] = ()
    data: dict = field(default_factory=dict)
    label: str = ""
    ok_statuses: frozenset[int] = frozenset()  # besides 2xx/3xx, for this probe's state
    foreign: bool = False  # the row belongs to the strangers' engagement

    @property
    def is_api(self) -> bool:
        return self.route.is_api

    @property
    def is_unsafe(self) -> bool:
        return self.method in UNSAFE_METHODS

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.url}{f' [{self.label}]' if self.label else ''}"


@dataclass(frozen=True)
class Fill:
    """One way to fill a route: URL kwargs, its object, and anything the view dispatches on."""

    kwargs: dict
    obj: Model | None = None
    view_perm: str | None = None
    sub_perms: tuple[tuple[str, Model | None], ...] = ()
    data: dict = field(default_factory=dict)
    query: str = ""
    label: str = ""
    methods: tuple[str, ...] | None = None  # limit a variant to some methods
    ok_statuses: frozenset[int] = frozenset()


Filler = Callable[[World, Side], list[Fill]]

# --- The API: `<resource>/<pk>/...` routes point at one row of the resource ------------------

API_ROWS: dict[str, Callable[[World, Side], Model]] = {
    "legal-entities": lambda w, s: w.legal_entity,
    "clients": lambda w, s: s.client,
    "contracts": lambda w, s: s.contract,
    "change-orders": lambda w, s: s.change_order,
    "projects": lambda w, s: s.project,
    "tasks": lambda w, s: s.task,
    "milestones": lambda w, s: s.milestone,
    "people": lambda w, s: s.member,
    "roles": lambda w, s: w.role,
    "rate-cards": lambda w, s: w.rate_card,
    "time-entries": lambda w, s: s.time_entry,
    "expenses": lambda w, s: s.expense,
    "skills": lambda w, s: w.skill,
    "person-skills": lambda w, s: s.person_skill,
    "resource-requests": lambda w, s: s.resource_request,
    "assignments": lambda w, s: s.assignment,
    "invoice-runs": lambda w, s: w.invoice_run,
    "invoices": lambda w, s: s.invoice,
    "credit-notes": lambda w, s: s.credit_note,
    "payments": lambda w, s: s.payment,
    "periods": lambda w, s: w.period,
    "revenue-schedules": lambda w, s: s.schedule,
    "revenue-runs": lambda w, s: w.recognition_run,
    "journal-entries": lambda w, s: w.journal_entry,
    "webhook-subscriptions": lambda w, s: w.subscription,
    "events": lambda w, s: w.event,
    "sync/deliveries": lambda w, s: w.delivery,
}


def _api_resource(key: str) -> str:
    path = key.removeprefix("api/v1/")
    return "sync/deliveries" if path.startswith("sync/deliveries") else path.split("/")[0]


def _api_fill(route: Route, world: World, side: Side) -> list[Fill]:
    names = route.kwarg_names
    if not names:
        return [Fill({})]
    if route.key == "api/v1/people/<id:person_id>/skills/":
        return [Fill({"person_id": side.member.pk}, obj=side.member, view_perm="psa.view_person")]
    row = API_ROWS[_api_resource(route.key)](world, side)
    if route.key.endswith("/pdf/$"):
        row = side.issued_invoice  # drafts have no document (409)
    kwargs: dict = {"pk": row.pk}
    if "line_id" in names:
        kwargs["line_id"] = side.invoice_line.pk
    perms = route.view_class.required_perms
    view_perm = perms.get("retrieve") or perms.get("list")
    # DRF checks the action's permission on the row too (ActionPermission.has_object_permission).
    declared = {method: route.declared_perm(method) for method in route.methods()}
    return [Fill(kwargs, obj=row, view_perm=view_perm, methods=(method,),
                 sub_perms=((perm, row),) if perm else ())
            for method, perm in declared.items()]


# --- Pages and fragments ------------------------------------------------------------------

def _invoice_actions(w: World, s: Side) -> list[Fill]:
    return [Fill({"pk": s.invoice.pk, "action": name}, obj=s.invoice,
                 view_perm="billing.view_invoice", sub_perms=((spec.perm, s.invoice),),
                 label=name) for name, spec in invoice_actions.ACTIONS.items()]


def _terms(w: World, s: Side) -> list[Fill]:
    page = Fill({"contract_id": s.contract.pk}, obj=s.contract, view_perm="psa.view_contract",
                methods=("get",))
    posts = []
    for name, spec in terms.ACTIONS.items():
        target = s.change_order if spec.on_change_order else s.contract
        data = {"action": name, **({"change_order": s.change_order.pk}
                                   if spec.on_change_order else {})}
        posts.append(Fill({"contract_id": s.contract.pk}, obj=s.contract,
                          view_perm="psa.view_contract", sub_perms=((spec.perm, target),),
                          data=data, label=name, methods=("post",)))
    return [page, *posts]


# ExpenseEditView.post (psa/views/expenses.py) picks the permission by the `action` field.
EXPENSE_ACTIONS = {"save": "psa.change_expense", "submit": "psa.submit_expense",
                   "delete": "psa.delete_expense"}


def _one(kwargs: Callable[[World, Side], dict], obj: Callable[[World, Side], Model] | None = None,
         view_perm: str | None = None, **extra: object) -> Filler:
    def make(w: World, s: Side) -> list[Fill]:
        return [Fill(kwargs(w, s), obj=obj(w, s) if obj else None, view_perm=view_perm,
                     **extra)]

    return make


def _formats(*formats: str) -> Filler:
    """A report page and its `?format=` exports."""
    return lambda w, s: [Fill({}), *(Fill({}, query=f"format={f}", label=f) for f in formats)]


PAGE_FILLS: dict[str, Filler] = {
    "clients/<id:pk>/": _one(lambda w, s: {"pk": s.client.pk}, lambda w, s: s.client,
                              "psa.view_client"),
    "contracts/<id:pk>/": _one(lambda w, s: {"pk": s.contract.pk}, lambda w, s: s.contract,
                                "psa.view_contract"),
    "projects/<id:pk>/": _one(lambda w, s: {"pk": s.project.pk}, lambda w, s: s.project,
                               "psa.view_project"),
    "people/<id:pk>/": _one(lambda w, s: {"pk": s.member.pk}, lambda w, s: s.member,
                             "psa.view_person"),
    "people/<id:pk>/skills/": lambda w, s: [
        Fill({"pk": s.member.pk}, obj=s.member, view_perm="psa.view_person", methods=("get",)),
        Fill({"pk": s.member.pk}, obj=s.member, view_perm="psa.view_person", methods=("post",),
             data={"person_skill": s.person_skill.pk},
             sub_perms=(("resourcing.confirm_personskill", s.person_skill),))],
    # A row for a task of the signed-in person's own projects; any other task is 404
    # (psa/views/timesheet.py, TimesheetRowView): only the consultant is on the team.
    "time/row/": _one(lambda w, s: {}, ok_statuses=frozenset({404})),
    "time/cell/<id:task_id>/<str:day>/": _one(
        lambda w, s: {"task_id": s.task.pk, "day": "2026-03-10"}),
    "expenses/<id:pk>/": lambda w, s: [
        Fill({"pk": s.expense.pk}, obj=s.expense, view_perm="psa.view_expense",
             methods=("get",)),
        *(Fill({"pk": s.expense.pk}, obj=s.expense, view_perm="psa.view_expense",
               sub_perms=((perm, s.expense),), data={"action": action}, label=action,
               methods=("post",)) for action, perm in EXPENSE_ACTIONS.items())],
    "expenses/<id:pk>/receipt/": _one(lambda w, s: {"pk": s.expense.pk},
                                       lambda w, s: s.expense, "psa.view_expense"),
    "approvals/group/<id:person_id>/<str:week_start>/": _one(
        lambda w, s: {"person_id": s.member.pk, "week_start": WEEK.isoformat()}),
    "staffing/cell/<id:person_id>/<str:week>/": _one(
        lambda w, s: {"person_id": s.member.pk, "week": WEEK.isoformat()}),
    "staffing/requests/<id:request_id>/candidates/": _one(
        lambda w, s: {"request_id": s.resource_request.pk}, lambda w, s: s.resource_request,
        "resourcing.view_resourcerequest"),
    "staffing/requests/<id:request_id>/book/": _one(
        lambda w, s: {"request_id": s.resource_request.pk}, lambda w, s: s.resource_request,
        "resourcing.view_resourcerequest"),
    "staffing/assignments/<id:assignment_id>/": _one(
        lambda w, s: {"assignment_id": s.assignment.pk}, lambda w, s: s.assignment,
        "resourcing.view_assignment"),
    "staffing/requests/<id:pk>/edit/": _one(
        lambda w, s: {"pk": s.resource_request.pk}, lambda w, s: s.resource_request,
        "resourcing.view_resourcerequest"),
    "billing/runs/<id:pk>/": _one(lambda w, s: {"pk": w.invoice_run.pk}),
    "billing/runs/<id:pk>/progress/": _one(lambda w, s: {"pk": w.invoice_run.pk}),
    "billing/holds/<id:pk>/release/": _one(lambda w, s: {"pk": s.held_item.pk}),
    "billing/cap-holds/<id:pk>/write-off/": _one(lambda w, s: {"pk": s.cap_hold.pk}),
    "billing/invoices/<id:pk>/": _one(lambda w, s: {"pk": s.invoice.pk},
                                       lambda w, s: s.invoice, "billing.view_invoice"),
    "billing/invoices/<id:pk>/pdf/": _one(lambda w, s: {"pk": s.issued_invoice.pk},
                                           lambda w, s: s.issued_invoice,
                                           "billing.view_invoice"),
    "billing/invoices/<id:pk>/<slug:action>/": _invoice_actions,
    "billing/lines/<id:pk>/<slug:action>/": lambda w, s: [
        Fill({"pk": s.invoice_line.pk, "action": a}, obj=s.invoice,
             view_perm="billing.view_invoice", sub_perms=(("billing.change_invoice",
                                                            s.invoice),), label=a)
        for a in ("describe", "adjust")],
    "billing/items/<id:pk>/hold/": _one(lambda w, s: {"pk": s.billed_item.pk},
                                         lambda w, s: s.invoice, "billing.view_invoice"),
    "billing/contracts/<id:contract_id>/terms/": _terms,
    "revenue/close/runs/<id:pk>/progress/": _one(lambda w, s: {"pk": w.recognition_run.pk}),
    "revenue/schedules/<id:contract_id>/": _one(
        lambda w, s: {"contract_id": s.contract.pk}, lambda w, s: s.schedule,
        "revenue.view_revenueschedule"),
    "revenue/schedules/<id:contract_id>/estimates/": _one(
        lambda w, s: {"contract_id": s.contract.pk}, lambda w, s: s.schedule,
        "revenue.view_revenueschedule"),
    "revenue/runs/<id:pk>/": _one(lambda w, s: {"pk": w.recognition_run.pk}),
    "revenue/runs/<id:pk>/progress/": _one(lambda w, s: {"pk": w.recognition_run.pk}),
    "integrations/backlog/<slug:kind>/": lambda w, s: [
        Fill({"kind": kind}, label=kind) for kind in BACKLOGS],
    "integrations/<slug:name>/": _one(lambda w, s: {"name": w.connection.name}),
    "integrations/<slug:name>/test/": _one(lambda w, s: {"name": w.connection.name}),
    "integrations/<slug:name>/poll/": _one(lambda w, s: {"name": w.connection.name}),
    "dashboard/": _formats("csv", "xlsx"),
    "dashboard/portfolio/": _formats("csv", "xlsx"),
    "dashboard/lifecycle/": _formats("csv", "xlsx"),
    "utilization/": _formats("csv", "xlsx"),
    "revenue/forecast/": _formats("csv", "xlsx"),
    "dashboard/projects/<id:pk>/health/": lambda w, s: [Fill(
        {"pk": s.project.pk}, obj=s.project, view_perm="psa.view_project",
        sub_perms=(("psa.view_project_financials", s.project),))],
    "dashboard/measures/<slug:key>/": lambda w, s: [
        Fill({"key": key}, label=key) for key in MEASURE_ROWS],
    "api/v1/integrations/<slug:connection>/webhook/": _one(
        lambda w, s: {"connection": w.connection.name}),
}

# Query strings a page or endpoint needs to answer at all.
QUERIES: dict[str, str] = {
    "api/v1/capacity/": "person={member}&start=2026-03-02&end=2026-03-29",
    "api/v1/reports/utilization/": "start=2026-03-01&end=2026-03-31",
    "api/v1/reports/kpis/": "start=2026-01-01&end=2026-03-31",
    "api/v1/timesheets/$": f"person={{member}}&week_start={WEEK.isoformat()}",
    "time/tasks/": "q=task",
    "time/row/": f"task={{task}}&week={WEEK.isoformat()}",
    "search/": "q=Own",
}


def _fills(route: Route, world: World, side: Side) -> list[Fill]:
    """How to fill the route; none for a route with parameters nobody said how to fill (it
    then shows up as unwalked)."""
    if route.key in PAGE_FILLS:
        return PAGE_FILLS[route.key](world, side)
    if route.is_api and (not route.kwarg_names or _api_resource(route.key) in API_ROWS
                         or route.key == "api/v1/people/<id:person_id>/skills/"):
        return _api_fill(route, world, side)
    return [] if route.kwarg_names else [Fill({})]


def _query(route: Route, world: World, extra: str) -> str:
    # Filters name the principals' own engagement: a list is not a row outside one's scope.
    base = QUERIES.get(route.key, "").format(member=world.own.member.pk, task=world.own.task.pk)
    joined = "&".join(part for part in (base, extra) if part)
    return f"?{joined}" if joined else ""


def build_probes(world: World, skip: set[str]) -> list[Probe]:
    """The probes of every non-admin route outside `skip`, for both sides of the world.

    A route is left out (and so fails `test_every_route_is_walked`) when its parameters have
    no fill, or when its view declares no `required_perms` and has no rule here.
    """
    probes: list[Probe] = []
    seen: set[tuple[str, str, str]] = set()
    for route in all_routes().values():
        if route.is_admin or route.key in skip:
            continue
        rule = SPECIAL_RULES.get(route.key, "perms")
        if rule == "perms" and not route.declares_perms():
            continue  # unguarded as far as the walk can tell
        for side in (world.own, world.foreign):
            for f in _fills(route, world, side):
                url = fill(route.key, f.kwargs) + _query(route, world, f.query)
                for method in route.methods():
                    if f.methods is not None and method not in f.methods:
                        continue
                    if method in UNSAFE_METHODS and rule not in UNSAFE_RULES:
                        continue  # signing in or out is not a permission question
                    marker = (method, url, repr(sorted(f.data.items())))
                    if marker in seen:
                        continue
                    seen.add(marker)
                    perm = route.declared_perm(method) if rule == "perms" else None
                    foreign = side is world.foreign and f.obj is not None
                    label = f.label or ("foreign" if foreign else "")
                    probes.append(Probe(route=route, method=method, url=url, perm=perm,
                                        rule=rule, obj=f.obj, view_perm=f.view_perm,
                                        sub_perms=f.sub_perms, data=f.data, label=label,
                                        ok_statuses=f.ok_statuses, foreign=foreign))
    return probes

