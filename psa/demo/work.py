"""Projects of the demo contracts: team, WBS and milestones, as plans (pure, deterministic)."""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from psa.common.money import quantize, split
from psa.demo.people import CONSULTANT, MANAGER
from psa.demo.sales import ContractPlan
from psa.demo.scope import DemoScope, Pools
from psa.demo.tables import BLENDED_COST, BLENDED_RATE, PM_PHASE, WBS_TEMPLATES, split_int


@dataclass(frozen=True, slots=True)
class TaskPlan:
    wbs_code: str
    parent_wbs: str | None
    name: str
    is_billable: bool
    is_open: bool
    hours: Decimal
    start: date
    end: date
    position: int


@dataclass(frozen=True, slots=True)
class MilestonePlan:
    name: str
    due: date
    amount: Decimal
    requires_acceptance: bool
    status: str


@dataclass(slots=True)
class ProjectPlan:
    """One client project under a contract."""

    code: str
    name: str
    status: str
    start: date
    end: date
    service_line: str
    manager: int
    members: list[int]
    budget_hours: Decimal
    budget_cost: Decimal
    budget_revenue: Decimal
    requires_notes: bool
    tasks: list[TaskPlan] = field(default_factory=list)
    milestones: list[MilestonePlan] = field(default_factory=list)


def project_code(contract_index: int, number: int) -> str:
    return f"PRJ-{contract_index + 1:05d}-{number}"


def plan_projects(scope: DemoScope, contract: ContractPlan, pools: Pools, *,
                  demo_managed: bool) -> list[ProjectPlan]:
    """One or two projects per contract, splitting its value; milestones sum to the value."""
    rng = scope.rng("projects", contract.index)
    count = 2 if contract.value >= Decimal(150000) and rng.random() < 0.4 else 1
    weights = [rng.randint(2, 5) for _ in range(count)]
    revenues = split(contract.value, weights, contract.currency)
    second_start = contract.start + timedelta(days=(contract.end - contract.start).days // 3)
    projects = []
    for number, revenue in enumerate(revenues, start=1):
        start = contract.start if number == 1 else second_start
        status = {"draft": "tentative", "completed": "closed"}.get(contract.status, "active")
        if status == "active" and (contract.index == 5 or rng.random() < 0.08):
            status = "on_hold"
        hours = (revenue / BLENDED_RATE[contract.currency]).to_integral_value()
        manager = (MANAGER if demo_managed
                   else rng.choice(pools.managers.get(contract.entity) or [MANAGER]))
        staff = pools.members.get(contract.entity, [])
        team = rng.sample(staff, min(rng.randint(3, 8), len(staff)))
        if demo_managed:
            team = [CONSULTANT, *team[: max(2, len(team) - 1)]]
        label = "Phase 2" if number == 2 else contract.name.split(" · ")[-1]
        project = ProjectPlan(
            code=project_code(contract.index, number),
            name=f"{contract.client.short_name} · {label}", status=status, start=start,
            end=contract.end, service_line=contract.service_line, manager=manager,
            members=team, budget_hours=hours,
            budget_cost=quantize(hours * BLENDED_COST[contract.currency], contract.currency),
            budget_revenue=revenue, requires_notes=rng.random() < 0.2)
        project.tasks = _plan_tasks(scope, project, rng)
        if contract.billing_model == "fixed_milestones" or contract.revenue_method == "milestone":
            project.milestones = _plan_milestones(scope, project, contract.currency, rng)
        projects.append(project)
    return projects


def _plan_tasks(scope: DemoScope, project: ProjectPlan, rng: random.Random) -> list[TaskPlan]:
    """A two-level WBS: the service line's phases in sequence plus project management."""
    phases = [*WBS_TEMPLATES[project.service_line], PM_PHASE]
    total = int(project.budget_hours)
    phase_hours = split_int(total, [weight * rng.randint(8, 12) for _, weight, _ in phases])
    days = (project.end - project.start).days + 1
    sequenced = len(phases) - 1
    tasks: list[TaskPlan] = []
    position = 0
    for number, ((phase, _, leaves), hours) in enumerate(zip(phases, phase_hours, strict=True),
                                                         start=1):
        if number <= sequenced:
            start = project.start + timedelta(days=days * (number - 1) // sequenced)
            end = project.start + timedelta(days=days * number // sequenced - 1)
        else:
            start, end = project.start, project.end
        closed = project.status == "closed" or end < scope.as_of - timedelta(days=30)
        position += 1
        tasks.append(TaskPlan(str(number), None, phase, any(b for _, _, b in leaves), not closed,
                              Decimal(hours), start, max(start, end), position))
        leaf_hours = split_int(hours, [weight for _, weight, _ in leaves])
        for leaf_number, ((leaf, _, billable), leaf_hour) in enumerate(
                zip(leaves, leaf_hours, strict=True), start=1):
            position += 1
            tasks.append(TaskPlan(f"{number}.{leaf_number}", str(number), leaf, billable,
                                  not closed, Decimal(leaf_hour), start, max(start, end),
                                  position))
    return tasks


def _plan_milestones(scope: DemoScope, project: ProjectPlan, currency: str,
                     rng: random.Random) -> list[MilestonePlan]:
    """A sign-off per delivery phase plus final acceptance; amounts add up to the budget."""
    names = [f"{task.name} sign-off" for task in project.tasks
             if task.parent_wbs is None and task.name != PM_PHASE[0]][:-1]
    names.append("Final acceptance")
    amounts = split(project.budget_revenue, [rng.randint(2, 5) for _ in names], currency)
    days = (project.end - project.start).days
    dues = [project.start + timedelta(days=days * (i + 1) // len(names))
            for i in range(len(names))]
    past = [due for due in dues if due <= scope.as_of]
    plans = []
    for name, amount, due in zip(names, amounts, dues, strict=True):
        if project.status == "closed" or (due <= scope.as_of and due != past[-1]):
            status = "accepted"
        elif due <= scope.as_of:
            status = "completed"
        else:
            status = "planned"
        plans.append(MilestonePlan(name, due, amount, status == "accepted" or rng.random() < 0.8,
                                   status))
    return plans


def plan_overrides(contract: ContractPlan, projects: list[ProjectPlan], pools: Pools,
                   scope: DemoScope) -> list[int]:
    """People given a negotiated rate on a contract card: one or two seniors on its team."""
    if contract.card_discount is None:
        return []
    rng = scope.rng("overrides", contract.index)
    team = sorted({p for project in projects for p in project.members if pools.level[p] >= 2})
    return rng.sample(team, min(len(team), rng.randint(1, 2)))
