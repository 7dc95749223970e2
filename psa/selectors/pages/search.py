"""The global search of the top bar."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    Q,
)

from psa.models import (
    Client,
    Person,
    Project,
)
from psa.rules import visible

UserLike = User | AnonymousUser
Choice = tuple[str, str]

ZERO = Decimal("0.00")



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
