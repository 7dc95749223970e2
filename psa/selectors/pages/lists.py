"""Lists behind the pages (projects, clients, people): filters, choices and CSV rows."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    Count,
    Q,
    QuerySet,
)

from psa.models import (
    Client,
    LegalEntity,
    Person,
    Project,
    Role,
)
from psa.rules import visible
from psa.selectors.pages.common import order_for, perm_flag

UserLike = User | AnonymousUser
Choice = tuple[str, str]

ZERO = Decimal("0.00")



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
