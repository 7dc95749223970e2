"""Detail pages: project (with its WBS), client, contract and person."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User

from psa.extensions import project_money
from psa.models import (
    ChangeOrder,
    Client,
    Contract,
    CostRate,
    Milestone,
    Person,
    Project,
    ProjectMember,
    Task,
)
from psa.rules import scope, visible
from psa.selectors.pages.common import perm_flag
from psa.selectors.projects import project_actuals

UserLike = User | AnonymousUser
Choice = tuple[str, str]

ZERO = Decimal("0.00")



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
    actual_hours: Decimal
    actual_cost: Decimal  # in the project's currency; only shown with the financials permission
    other_currency_costs: dict[str, Decimal]
    revenue_amount: Decimal | None = None  # recognised; None without the financials permission

    @property
    def remaining_revenue(self) -> Decimal | None:
        if self.revenue_amount is None:
            return None
        return self.project.budget_revenue_amount - self.revenue_amount

    @property
    def remaining_hours(self) -> Decimal:
        return self.project.budget_hours - self.actual_hours

    @property
    def remaining_cost(self) -> Decimal:
        return self.project.budget_cost_amount - self.actual_cost


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
    actual_hours, actual_cost, other_costs = project_actuals(project=project)
    money = project_money(project) if project.can_see_financials else None
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
        actual_hours=actual_hours,
        actual_cost=actual_cost,
        other_currency_costs=other_costs,
        revenue_amount=(money.revenue_amount if money else
                        (ZERO if project.can_see_financials else None)),
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
