"""Writes projects with their WBS, teams and milestones, and the internal projects."""

from datetime import date, timedelta
from decimal import Decimal

from psa import models
from psa.demo.build_sales import at
from psa.demo.bulk import ids_by, insert, missing
from psa.demo.people import CONSULTANT, HEADS
from psa.demo.sales import ContractPlan
from psa.demo.scope import DemoScope, Pools
from psa.demo.tables import ENTITY_CURRENCY, INTERNAL_PROJECTS
from psa.demo.work import ProjectPlan, TaskPlan


def ensure_projects(batch: list[tuple[ContractPlan, list[ProjectPlan]]], *,
                    contract_ids: dict[str, int], client_ids: dict[int, int],
                    entity_ids: dict[str, int], person_ids: dict[int, int],
                    levels: dict[int, int], role_ids: dict[int, int],
                    user_ids: dict[str, int]) -> None:
    """The projects of a batch of contracts; new ones get their tasks, team and milestones."""
    new = missing(models.Project, "code", [p.code for _, projects in batch for p in projects])
    insert(models.Project, (models.Project(
        code=p.code, name=p.name, contract_id=contract_ids[c.code],
        client_id=client_ids[c.client.index], legal_entity_id=entity_ids[c.entity],
        manager_id=person_ids[p.manager], status=p.status, start_date=p.start, end_date=p.end,
        currency=c.currency, budget_hours=p.budget_hours, budget_cost_amount=p.budget_cost,
        budget_revenue_amount=p.budget_revenue, service_line=p.service_line,
        cost_center=f"{c.entity}-{p.service_line[:3].upper()}",
        requires_time_notes=p.requires_notes) for c, projects in batch for p in projects))
    plans = [(p, c.currency) for c, projects in batch for p in projects if p.code in new]
    project_ids = ids_by(models.Project, "code", [p.code for p, _ in plans])
    ensure_tasks({project_ids[p.code]: p.tasks for p, _ in plans})
    insert(models.ProjectMember, (models.ProjectMember(
        project_id=project_ids[p.code], person_id=person_ids[index],
        role_id=role_ids[levels[index]]) for p, _ in plans for index in p.members))

    finance = user_ids["finance"]
    insert(models.Milestone, (models.Milestone(
        project_id=project_ids[p.code], name=m.name, due_date=m.due, amount=m.amount,
        currency=currency, requires_acceptance=m.requires_acceptance, status=m.status,
        completed_at=None if m.status == "planned" else at(m.due),
        accepted_at=at(m.due + timedelta(days=3)) if m.status == "accepted" else None,
        accepted_by_id=finance if m.status == "accepted" else None)
        for p, currency in plans for m in p.milestones))


def ensure_tasks(tasks_by_project: dict[int, list[TaskPlan]]) -> None:
    """Phases first, then their leaf tasks under them (wbs "1", then "1.1", "1.2", ...)."""
    insert(models.Task, (models.Task(
        project_id=project_id, wbs_code=t.wbs_code, name=t.name, is_billable=t.is_billable,
        is_open=t.is_open, budget_hours=t.hours, start_date=t.start, end_date=t.end,
        position=t.position)
        for project_id, tasks in tasks_by_project.items() for t in tasks if t.parent_wbs is None))
    parents = {(project_id, wbs): task_id for project_id, wbs, task_id in models.Task.objects
               .filter(project_id__in=list(tasks_by_project), parent__isnull=True)
               .values_list("project_id", "wbs_code", "id")}
    insert(models.Task, (models.Task(
        project_id=project_id, parent_id=parents[(project_id, t.parent_wbs)],
        wbs_code=t.wbs_code, name=t.name, is_billable=t.is_billable, is_open=t.is_open,
        budget_hours=t.hours, start_date=t.start, end_date=t.end, position=t.position)
        for project_id, tasks in tasks_by_project.items() for t in tasks
        if t.parent_wbs is not None))


def internal_code(entity: str, suffix: str) -> str:
    return f"INT-{entity}-{suffix}"


def ensure_internal_projects(scope: DemoScope, pools: Pools, *, entity_ids: dict[str, int],
                             person_ids: dict[int, int], levels: dict[int, int],
                             role_ids: dict[int, int]) -> None:
    """Training and bench projects per entity: no contract, non-billable, the whole window."""
    start = date(scope.window_start.year, 1, 1)
    end = date(scope.as_of.year + 1, 12, 31)
    specs = [(entity, suffix, name, leaves) for entity in entity_ids
             for suffix, name, leaves in INTERNAL_PROJECTS]
    new = missing(models.Project, "code", [internal_code(e, s) for e, s, _, _ in specs])
    specs = [spec for spec in specs if internal_code(spec[0], spec[1]) in new]
    insert(models.Project, (models.Project(
        code=internal_code(entity, suffix), name=name, legal_entity_id=entity_ids[entity],
        is_internal=True, manager_id=person_ids[HEADS[entity]], start_date=start, end_date=end,
        currency=ENTITY_CURRENCY[entity], budget_hours=Decimal(sum(h for _, h in leaves)),
        service_line="Internal", cost_center=f"{entity}-INT")
        for entity, suffix, name, leaves in specs))
    ids = ids_by(models.Project, "code", [internal_code(e, s) for e, s, _, _ in specs])
    tasks = {}
    for entity, suffix, name, leaves in specs:
        phase = TaskPlan("1", None, name.split(" · ")[-1], False, True,
                         Decimal(sum(h for _, h in leaves)), start, end, 1)
        tasks[ids[internal_code(entity, suffix)]] = [phase, *(
            TaskPlan(f"1.{n}", "1", leaf, False, True, Decimal(hours), start, end, n + 1)
            for n, (leaf, hours) in enumerate(leaves, start=1))]
    ensure_tasks(tasks)
    members = []
    for entity, suffix, _, _ in specs:
        rng = scope.rng(f"internal-{suffix}", list(entity_ids).index(entity))
        staff = pools.members.get(entity, [])
        team = rng.sample(staff, min(len(staff), rng.randint(3, 8)))
        if entity == "US":
            team.append(CONSULTANT)
        members += [(ids[internal_code(entity, suffix)], index) for index in team]
    insert(models.ProjectMember, (models.ProjectMember(
        project_id=project_id, person_id=person_ids[index], role_id=role_ids[levels[index]])
        for project_id, index in members))
