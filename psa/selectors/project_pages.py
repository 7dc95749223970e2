"""Reads behind the browser pages, each scoped to the actor with the role matrix.

Every function takes `actor` and starts from `psa.rules.visible(...)`, so a page shows
exactly the rows the API would. Each one runs a fixed number of queries whatever the
number of rows, and templates receive finished objects (they run no queries).
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from auditlog.models import LogEntry
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    Expression,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)

from psa.models import (
    ChangeOrder,
    Client,
    Contract,
    CostRate,
    LegalEntity,
    Milestone,
    Person,
    Project,
    ProjectMember,
    Role,
    Task,
)
from psa.roles import ALL, OWN
from psa.rules import OWN_SCOPES, scope, visible

UserLike = User | AnonymousUser
Choice = tuple[str, str]

ZERO = Decimal("0.00")


# --- Permission flags computed in SQL -------------------------------------------------------

def perm_flag(actor: UserLike, perm: str, model: type[Model], ref: str = "pk") -> Expression:
    """Whether the actor holds `perm` on the row that `ref` points at, as a SQL boolean.

    The same rule as `actor.has_perm(perm, obj)` (psa/rules.py), evaluated for every row
    of a list in one query instead of one query per row.
    """
    granted = scope(actor, perm)
    if granted == ALL:
        return Value(True, output_field=BooleanField())
    if granted == OWN:
        own = model._default_manager.filter(pk=OuterRef(ref)).filter(OWN_SCOPES[perm](actor))
        return Exists(own)
    return Value(False, output_field=BooleanField())


def order_for(sort: str, allowed: Mapping[str, str], default: str) -> tuple[list[str], str]:
    """The ORDER BY for a whitelisted `?sort=` key ("-key" descends) and the key applied."""
    key = sort.removeprefix("-")
    if key not in allowed:
        sort, key = default, default.removeprefix("-")
    column = allowed[key]
    descending = sort.startswith("-")
    return [f"-{column}" if descending else column, "-pk" if descending else "pk"], sort


# --- Lists ----------------------------------------------------------------------------------

PROJECT_SORTS: dict[str, str] = {
    "code": "code", "name": "name", "client": "client__name", "manager": "manager__last_name",
    "status": "status", "service_line": "service_line", "start": "start_date",
    "end": "end_date", "budget_hours": "budget_hours",
}
CLIENT_SORTS: dict[str, str] = {
    "code": "code", "name": "name", "legal_entity": "legal_entity__code",
    "currency": "currency", "country": "country", "projects": "project_count",
}
PERSON_SORTS: dict[str, str] = {
    "name": "last_name", "employee_number": "employee_number", "role": "role__level",
    "legal_entity": "legal_entity__code", "status": "employment_status", "city": "city",
}


def project_list(*, actor: UserLike, q: str = "", status: str = "", client: int | None = None,
                 manager: int | None = None, service_line: str = "",
                 legal_entity: int | None = None, sort: str = "code") -> QuerySet[Project]:
    """Projects the actor may see, filtered and sorted; each row carries `can_see_financials`."""
    projects = visible(Project.objects.all(), actor, "psa.view_project")
    if q:
        projects = projects.filter(Q(code__icontains=q) | Q(name__icontains=q)
                                   | Q(client__name__icontains=q))
    if status:
        projects = projects.filter(status=status)
    if client:
        projects = projects.filter(client_id=client)
    if manager:
        projects = projects.filter(manager_id=manager)
    if service_line:
        projects = projects.filter(service_line=service_line)
    if legal_entity:
        projects = projects.filter(legal_entity_id=legal_entity)
    ordering, _ = order_for(sort, PROJECT_SORTS, "code")
    return (projects.select_related("client", "manager", "legal_entity")
            .annotate(can_see_financials=perm_flag(actor, "psa.view_project_financials", Project))
            .order_by(*ordering))


def client_list(*, actor: UserLike, q: str = "", legal_entity: int | None = None,
                active: str = "", sort: str = "name") -> QuerySet[Client]:
    """Clients the actor may see, with `project_count` of the projects the actor may see."""
    clients = visible(Client.objects.all(), actor, "psa.view_client")
    if q:
        clients = clients.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if legal_entity:
        clients = clients.filter(legal_entity_id=legal_entity)
    if active:
        clients = clients.filter(is_active=active == "active")
    seen_projects = visible(Project.objects.all(), actor, "psa.view_project").values("pk")
    ordering, _ = order_for(sort, CLIENT_SORTS, "name")
    return (clients.select_related("legal_entity")
            .annotate(project_count=Count("projects", filter=Q(projects__in=seen_projects)))
            .order_by(*ordering))


def person_list(*, actor: UserLike, q: str = "", role: int | None = None,
                legal_entity: int | None = None, status: str = "",
                sort: str = "name") -> QuerySet[Person]:
    """People the actor may see, filtered and sorted."""
    people = visible(Person.objects.all(), actor, "psa.view_person")
    if q:
        people = people.filter(Q(first_name__icontains=q) | Q(last_name__icontains=q)
                               | Q(employee_number__icontains=q) | Q(email__icontains=q))
    if role:
        people = people.filter(role_id=role)
    if legal_entity:
        people = people.filter(legal_entity_id=legal_entity)
    if status:
        people = people.filter(employment_status=status)
    ordering, _ = order_for(sort, PERSON_SORTS, "name")
    if ordering[0].lstrip("-") == "last_name":
        ordering.insert(1, ordering[0].replace("last_name", "first_name"))
    return people.select_related("role", "legal_entity", "manager").order_by(*ordering)


# --- Filter choices -------------------------------------------------------------------------

@dataclass(frozen=True)
class FilterOptions:
    """Choices for a list's filter form, already read (the form renders them without queries)."""

    clients: list[Choice] = field(default_factory=list)
    managers: list[Choice] = field(default_factory=list)
    service_lines: list[Choice] = field(default_factory=list)
    legal_entities: list[Choice] = field(default_factory=list)
    roles: list[Choice] = field(default_factory=list)


def _legal_entity_choices() -> list[Choice]:
    return [(str(pk), f"{code} · {name}")
            for pk, code, name in LegalEntity.objects.values_list("pk", "code", "name")]


def project_filter_options(*, actor: UserLike) -> FilterOptions:
    """Clients, managers and service lines that occur in the projects the actor may see."""
    projects = visible(Project.objects.all(), actor, "psa.view_project")
    clients = Client.objects.filter(pk__in=projects.values("client_id")).order_by("name")
    managers = Person.objects.filter(pk__in=projects.values("manager_id"))
    lines = (projects.exclude(service_line="").order_by("service_line")
             .values_list("service_line", flat=True).distinct())
    return FilterOptions(
        clients=[(str(pk), name) for pk, name in clients.values_list("pk", "name")],
        managers=[(str(pk), f"{first} {last}") for pk, first, last
                  in managers.values_list("pk", "first_name", "last_name")],
        service_lines=[(line, line) for line in lines],
        legal_entities=_legal_entity_choices(),
    )


def client_filter_options(*, actor: UserLike) -> FilterOptions:
    """The client list's choices: the legal entities (every role may see them all)."""
    return FilterOptions(legal_entities=_legal_entity_choices())


def person_filter_options(*, actor: UserLike) -> FilterOptions:
    """The people list's choices: legal entities and job roles."""
    return FilterOptions(
        legal_entities=_legal_entity_choices(),
        roles=[(str(pk), name) for pk, name in Role.objects.values_list("pk", "name")],
    )


# --- CSV rows -------------------------------------------------------------------------------

PROJECT_CSV_HEADER = ["Code", "Name", "Client", "Manager", "Status", "Service line",
                      "Legal entity", "Start", "End", "Currency", "Budget hours",
                      "Budget cost", "Budget revenue"]


def project_csv_rows(projects: QuerySet[Project]) -> Iterator[tuple[object, ...]]:
    """The export's rows, streamed in chunks; money is blank where the actor may not see it."""
    rows = projects.values_list(
        "code", "name", "client__name", "manager__first_name", "manager__last_name", "status",
        "service_line", "legal_entity__code", "start_date", "end_date", "currency",
        "budget_hours", "budget_cost_amount", "budget_revenue_amount", "can_see_financials")
    for (code, name, client, first, last, status, line, entity, start, end, currency, hours,
         cost, revenue, financials) in rows.iterator(chunk_size=2000):
        yield (code, name, client or "", f"{first} {last}", status, line, entity, start, end,
               currency, hours, cost if financials else None, revenue if financials else None)


CLIENT_CSV_HEADER = ["Code", "Name", "Legal entity", "Currency", "Country",
                     "Payment terms (days)", "Active", "Projects"]


def client_csv_rows(clients: QuerySet[Client]) -> Iterator[tuple[object, ...]]:
    """The client export's rows, streamed in chunks."""
    yield from clients.values_list(
        "code", "name", "legal_entity__code", "currency", "country", "payment_terms_days",
        "is_active", "project_count").iterator(chunk_size=2000)


PERSON_CSV_HEADER = ["Employee number", "First name", "Last name", "Email", "Role",
                     "Legal entity", "Country", "City", "Status", "Weekly hours"]


def person_csv_rows(people: QuerySet[Person]) -> Iterator[tuple[object, ...]]:
    """The people export's rows, streamed in chunks (no cost rates: they need their own perm)."""
    yield from people.values_list(
        "employee_number", "first_name", "last_name", "email", "role__name",
        "legal_entity__code", "country", "city", "employment_status",
        "weekly_standard_hours").iterator(chunk_size=2000)


# --- Detail pages ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskRow:
    """One WBS node in display order, with its depth in the tree."""

    task: Task
    depth: int
    has_children: bool


@dataclass(frozen=True)
class ProjectPage:
    project: Project
    can_see_financials: bool
    can_see_contract: bool
    tasks: list[TaskRow]
    milestones: list[Milestone]
    team: list[ProjectMember]
    task_budget_hours: Decimal
    milestone_total: Decimal
    linkable_people: frozenset[int]  # people (manager, team) whose page the actor may open


def wbs_tree(tasks: list[Task]) -> list[TaskRow]:
    """Order tasks depth-first (parents before children, siblings by position and WBS code).

    A task whose parent is missing from the list is shown as a root rather than dropped.
    """
    ids = {task.pk for task in tasks}
    children: dict[int | None, list[Task]] = defaultdict(list)
    for task in tasks:
        children[task.parent_id if task.parent_id in ids else None].append(task)
    rows: list[TaskRow] = []
    stack = [(task, 0) for task in reversed(children[None])]
    while stack:
        task, depth = stack.pop()
        kids = children.get(task.pk, [])
        rows.append(TaskRow(task=task, depth=depth, has_children=bool(kids)))
        stack.extend((kid, depth + 1) for kid in reversed(kids))
    return rows


def project_page(*, actor: UserLike, pk: int) -> ProjectPage:
    """Everything the project page shows, in six queries whatever the project's size.

    Raises Project.DoesNotExist when the actor may not see the project.
    """
    project = (visible(Project.objects.all(), actor, "psa.view_project")
               .select_related("client", "contract", "manager", "legal_entity")
               .annotate(can_see_financials=perm_flag(actor, "psa.view_project_financials",
                                                      Project),
                         can_see_contract=perm_flag(actor, "psa.view_contract", Contract,
                                                    "contract_id"))
               .get(pk=pk))
    tasks = list(Task.objects.filter(project=project).order_by("position", "wbs_code", "pk"))
    milestones = list(Milestone.objects.filter(project=project).order_by("due_date", "pk"))
    team = list(ProjectMember.objects.filter(project=project)
                .select_related("person", "person__role", "role")
                .order_by("person__last_name", "person__first_name"))
    rows = wbs_tree(tasks)
    people = {project.manager_id, *(member.person_id for member in team)}
    linkable = visible(Person.objects.filter(pk__in=people), actor, "psa.view_person")
    return ProjectPage(
        project=project,
        can_see_financials=bool(project.can_see_financials),
        can_see_contract=bool(project.contract_id and project.can_see_contract),
        tasks=rows,
        milestones=milestones,
        team=team,
        task_budget_hours=sum((row.task.budget_hours for row in rows if not row.has_children),
                              ZERO),
        milestone_total=sum((m.amount for m in milestones), ZERO),
        linkable_people=frozenset(linkable.values_list("pk", flat=True)),
    )


@dataclass(frozen=True)
class ClientPage:
    client: Client
    contracts: list[Contract]
    projects: list[Project]
    may_view_contracts: bool


def client_page(*, actor: UserLike, pk: int) -> ClientPage:
    """A client with the contracts and projects the actor may see.

    Raises Client.DoesNotExist when the actor may not see the client.
    """
    client = (visible(Client.objects.all(), actor, "psa.view_client")
              .select_related("legal_entity").get(pk=pk))
    contracts = visible(Contract.objects.filter(client=client), actor, "psa.view_contract")
    projects = visible(Project.objects.filter(client=client), actor, "psa.view_project")
    return ClientPage(
        client=client,
        contracts=list(contracts.order_by("-start_date", "code")),
        projects=list(projects.select_related("manager").order_by("code")),
        may_view_contracts=scope(actor, "psa.view_contract") is not None,
    )


@dataclass(frozen=True)
class ContractPage:
    contract: Contract
    projects: list[Project]
    change_orders: list[ChangeOrder]


def contract_page(*, actor: UserLike, pk: int) -> ContractPage:
    """A contract, its projects and change orders, as far as the actor may see them.

    Raises Contract.DoesNotExist when the actor may not see the contract.
    """
    contract = (visible(Contract.objects.all(), actor, "psa.view_contract")
                .select_related("client", "legal_entity", "rate_card").get(pk=pk))
    projects = visible(Project.objects.filter(contract=contract), actor, "psa.view_project")
    orders = visible(ChangeOrder.objects.filter(contract=contract), actor,
                     "psa.view_changeorder")
    return ContractPage(
        contract=contract,
        projects=list(projects.select_related("manager").order_by("code")),
        change_orders=list(orders.order_by("effective_date", "reference")),
    )


@dataclass(frozen=True)
class PersonPage:
    person: Person
    memberships: list[ProjectMember]
    managed_projects: list[Project]
    reports: list[Person]
    cost_rates: list[CostRate] | None  # None: the actor may not see cost rates


def person_page(*, actor: UserLike, pk: int) -> PersonPage:
    """A person with their projects and reports; cost rates only with psa.view_costrate.

    Raises Person.DoesNotExist when the actor may not see the person.
    """
    person = (visible(Person.objects.all(), actor, "psa.view_person")
              .select_related("role", "legal_entity", "manager").get(pk=pk))
    seen = visible(Project.objects.all(), actor, "psa.view_project").values("pk")
    memberships = (ProjectMember.objects.filter(person=person, project__in=seen)
                   .select_related("project", "project__client", "role")
                   .order_by("project__code"))
    managed = Project.objects.filter(manager=person, pk__in=seen).select_related("client")
    reports = visible(Person.objects.filter(manager=person), actor, "psa.view_person")
    cost_rates = None
    if actor.has_perm("psa.view_costrate"):
        cost_rates = list(CostRate.objects.filter(person=person).order_by("-effective_from"))
    return PersonPage(person=person, memberships=list(memberships),
                      managed_projects=list(managed.order_by("code")),
                      reports=list(reports.order_by("last_name", "first_name")),
                      cost_rates=cost_rates)


# --- Home panels ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ManagedProjects:
    projects: list[Project]
    milestones_due: list[Milestone]
    horizon_days: int


def home_my_projects(*, actor: UserLike) -> list[Project]:
    """Projects the actor is on the team of (the consultant's view of their work)."""
    projects = visible(Project.objects.all(), actor, "psa.view_project")
    return list(projects.filter(memberships__person__user=actor)
                .exclude(status=Project.Status.CLOSED)
                .select_related("client", "manager").order_by("code").distinct()[:50])


def home_managed_projects(*, actor: UserLike, today: date, horizon_days: int = 30,
                          ) -> ManagedProjects:
    """Open projects the actor manages with their budget, and their milestones due soon."""
    projects = (visible(Project.objects.all(), actor, "psa.view_project")
                .filter(manager__user=actor).exclude(status=Project.Status.CLOSED))
    milestones = (Milestone.objects.filter(project__in=projects.values("pk"))
                  .filter(due_date__lte=today + timedelta(days=horizon_days))
                  .filter(status__in=[Milestone.Status.PLANNED, Milestone.Status.COMPLETED])
                  .select_related("project").order_by("due_date", "pk"))
    return ManagedProjects(
        projects=list(projects.select_related("client")
                      .annotate(can_see_financials=perm_flag(
                          actor, "psa.view_project_financials", Project))
                      .order_by("code")[:50]),
        milestones_due=list(milestones[:20]),
        horizon_days=horizon_days,
    )


@dataclass(frozen=True)
class StaffingCounts:
    active_people: int
    active_projects: int
    unstaffed_projects: int


def home_staffing_counts(*, actor: UserLike) -> StaffingCounts:
    """People and project counts, and how many active projects have nobody on the team."""
    people = visible(Person.objects.active(), actor, "psa.view_person")
    projects = visible(Project.objects.active(), actor, "psa.view_project")
    counts = projects.aggregate(
        total=Count("pk"),
        unstaffed=Count("pk", filter=~Exists(ProjectMember.objects.filter(
            project_id=OuterRef("pk")))))
    return StaffingCounts(active_people=people.count(), active_projects=counts["total"],
                          unstaffed_projects=counts["unstaffed"])


@dataclass(frozen=True)
class ContractTotal:
    label: str
    billing_model: str
    currency: str
    count: int
    value: Decimal


def home_contracts_by_model(*, actor: UserLike) -> list[ContractTotal]:
    """Draft and active contracts per billing model and currency: count and total value."""
    labels = dict(Contract.BillingModel.choices)
    rows = (visible(Contract.objects.all(), actor, "psa.view_contract")
            .filter(status__in=[Contract.Status.DRAFT, Contract.Status.ACTIVE])
            .values("billing_model", "currency")
            .annotate(count=Count("pk"), value=Sum("value_amount"))
            .order_by("billing_model", "currency"))
    return [ContractTotal(label=str(labels.get(row["billing_model"], row["billing_model"])),
                          billing_model=row["billing_model"], currency=row["currency"],
                          count=row["count"], value=row["value"] or ZERO) for row in rows]


@dataclass(frozen=True)
class FirmTotals:
    active_contract_value: list[tuple[str, int, Decimal]]  # (currency, count, total)
    projects_by_status: list[tuple[str, str, int]]  # (status, label, count)


def home_firm_totals(*, actor: UserLike) -> FirmTotals:
    """Active contract value per currency and the number of projects in each status."""
    values = (visible(Contract.objects.filter(status=Contract.Status.ACTIVE), actor,
                      "psa.view_contract")
              .values("currency").annotate(count=Count("pk"), value=Sum("value_amount"))
              .order_by("currency"))
    by_status = dict(visible(Project.objects.all(), actor, "psa.view_project")
                     .values_list("status").annotate(n=Count("pk")).order_by())
    return FirmTotals(
        active_contract_value=[(row["currency"], row["count"], row["value"] or ZERO)
                               for row in values],
        projects_by_status=[(status, str(label), by_status.get(status, 0))
                            for status, label in Project.Status.choices],
    )


@dataclass(frozen=True)
class AdminSummary:
    counts: list[tuple[str, int]]
    recent: list["AuditRow"]  # defined with the audit trail below


def home_admin_summary(*, actor: UserLike) -> AdminSummary:
    """Row counts of the master data and the latest audit entries."""
    counts = [
        ("User accounts", User.objects.filter(is_active=True).count()),
        ("People", Person.objects.count()),
        ("Clients", Client.objects.count()),
        ("Projects", Project.objects.count()),
    ]
    return AdminSummary(counts=counts, recent=audit_rows(audit_list(actor=actor)[:10]))


# --- Search ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchResults:
    q: str
    clients: list[Client]
    projects: list[Project]
    people: list[Person]
    limit: int

    @property
    def total(self) -> int:
        return len(self.clients) + len(self.projects) + len(self.people)


def search(*, actor: UserLike, q: str, limit: int = 20) -> SearchResults:
    """Clients, projects and people whose name or code contains `q`, as far as visible."""
    q = q.strip()
    if not q:
        return SearchResults(q=q, clients=[], projects=[], people=[], limit=limit)
    clients = visible(Client.objects.all(), actor, "psa.view_client").filter(
        Q(name__icontains=q) | Q(code__icontains=q)).order_by("name")
    projects = visible(Project.objects.all(), actor, "psa.view_project").filter(
        Q(name__icontains=q) | Q(code__icontains=q)).select_related("client").order_by("code")
    people = visible(Person.objects.all(), actor, "psa.view_person").filter(
        Q(first_name__icontains=q) | Q(last_name__icontains=q)
        | Q(employee_number__icontains=q)).select_related("role").order_by("last_name")
    return SearchResults(q=q, clients=list(clients[:limit]), projects=list(projects[:limit]),
                         people=list(people[:limit]), limit=limit)


# --- Audit trail ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditChange:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class AuditRow:
    entry: LogEntry
    actor_label: str
    model_label: str
    action: str
    is_create: bool
    changes: list[AuditChange]


def audit_list(*, actor: UserLike, content_type: int | None = None,
               actor_id: int | None = None) -> QuerySet[LogEntry]:
    """Audit entries (newest first) the actor may read, filtered by model and by who acted."""
    entries = visible(LogEntry.objects.all(), actor, "psa.view_auditlog")
    if content_type:
        entries = entries.filter(content_type_id=content_type)
    if actor_id:
        entries = entries.filter(actor_id=actor_id)
    return entries.select_related("actor", "content_type").order_by("-timestamp", "-pk")


def audit_filter_options(*, actor: UserLike) -> tuple[list[Choice], list[Choice]]:
    """(models, actors) that occur in the audit trail, for the filter form."""
    entries = visible(LogEntry.objects.all(), actor, "psa.view_auditlog")
    types = ContentType.objects.filter(pk__in=entries.values("content_type_id"))
    actors = User.objects.filter(pk__in=entries.values("actor_id")).order_by("username")
    return ([(str(t.pk), f"{t.app_label}.{t.model}") for t in types.order_by("model")],
            [(str(pk), name) for pk, name in actors.values_list("pk", "username")])


# Bookkeeping columns and auditlog's placeholders for reverse relations ("psa.Task.None")
# say nothing to a reader of the trail.
_AUDIT_SKIPPED_FIELDS = frozenset({"id", "created_at", "updated_at"})
_RELATION_PLACEHOLDER = re.compile(r"^\w+\.\w+\.None$")


def _change_text(value: object) -> str:
    return "—" if value in (None, "None", "") else str(value)


def _audit_changes(changes: dict | None) -> list[AuditChange]:
    rows = []
    for name, values in (changes or {}).items():
        if name in _AUDIT_SKIPPED_FIELDS or not isinstance(values, list | tuple):
            continue
        if len(values) != 2:
            continue
        before, after = (_change_text(v) for v in values)
        if all(v == "—" or _RELATION_PLACEHOLDER.match(v) for v in (before, after)):
            continue
        rows.append(AuditChange(field=name, before=before, after=after))
    return rows


def audit_rows(entries: Iterable[LogEntry]) -> list[AuditRow]:
    """Display rows for audit entries: who, what, and each field's before and after."""
    labels = dict(LogEntry.Action.choices)
    rows = []
    for entry in entries:
        changes = _audit_changes(entry.changes_dict)
        actor = entry.actor
        rows.append(AuditRow(
            entry=entry,
            actor_label=actor.get_username() if actor else (entry.actor_email or "system"),
            model_label=str(entry.content_type.model_class()._meta.verbose_name
                            if entry.content_type.model_class() else entry.content_type.model),
            action=str(labels.get(entry.action, entry.action)),
            is_create=entry.action == LogEntry.Action.CREATE,
            changes=changes,
        ))
    return rows
