"""The firm `bench/load.py` loads: people, projects and the work each virtual user will do.

Runs in the benchmark's own process with Django set up on the throwaway database (the one the
gunicorn it starts will serve). Everything is written with `bulk_create` (no signals, no audit
rows), except the service account, which goes through its service so its token is real.

Shape: `managers` project managers with two projects of five tasks each; every manager's
`consultants / managers` consultants are on the team of both (ten grid rows each), with a
cost rate and the standard USD rate card's line for their role, so approval can price their
time. What the virtual users act on is planned here and handed over as plain ids and dates:

- cell savers: consultants whose week (this week) has 50 cells to save again and again;
- submitters: other consultants with one draft week (five entries) per submission to make,
  in weeks going back from last week;
- approvers: managers with one submitted person-week (five entries) per approval to make,
  in weeks before the submitters' ones;
- the API client: a service account's bearer token (scope `psa.view_timeentry`).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice

PASSWORD = "load-bench-password"  # the throwaway database's users all share it
PROJECTS_PER_MANAGER = 2
TASKS_PER_PROJECT = 5
WORK_DAYS = 5  # Monday to Friday
# Hire, cost rate and rate card dates: before any week planned (one user submitting 50 weeks a
# second for a minute goes back 58 years, and the approvers' weeks lie before those).
SINCE = date(1900, 1, 1)
BATCH = 2000


@dataclass
class SaverPlan:
    """A consultant who saves cells of one week: (task id, ISO day) pairs, saved in turn."""

    username: str
    person_id: int
    week: str
    cells: list[tuple[int, str]]


@dataclass
class SubmitterPlan:
    """A consultant with one draft week per submission, newest first."""

    username: str
    person_id: int
    weeks: list[str]


@dataclass
class ApproverPlan:
    """A manager with one submitted person-week per approval: `t:1 t:2 …` as the page posts."""

    username: str
    groups: list[str]
    entry_ids: list[int] = field(default_factory=list)


@dataclass
class World:
    """What the virtual users need, and what the checks after the run compare against."""

    savers: list[SaverPlan]
    submitters: list[SubmitterPlan]
    approvers: list[ApproverPlan]
    api_token: str
    entries: int  # time entries in the database after seeding
    submit_since: date  # the submitters' oldest week; older weeks hold the approvers' work


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def seed(*, consultants: int, managers: int, savers: int, submitters: int, approvers: int,
         submissions_each: int, approvals_each: int) -> World:
    """Write the firm and plan each virtual user's work (see the module docstring)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from psa import roles
    from psa.models import CostRate, Person, Project, ProjectMember, Task, TimeEntry
    from psa.services.accounts import service_account_create
    from tests.psa.factories import (
        ContractFactory,
        RateCardFactory,
        RateCardLineFactory,
        RoleFactory,
    )

    per_team = consultants // managers
    if savers + submitters > per_team * managers:
        raise SystemExit(f"{savers} savers and {submitters} submitters need at least that many "
                         f"consultants on teams; there are {per_team * managers}.")
    role = RoleFactory()
    contract = ContractFactory(start_date=SINCE, end_date=date(2099, 12, 31))
    card = RateCardFactory(standard=True, currency=contract.currency)
    RateCardLineFactory(rate_card=card, role=role, effective_from=SINCE)
    entity = contract.legal_entity

    password = make_password(PASSWORD)  # hashed once: the same hash for every user
    names = [f"load-c{i:04d}" for i in range(consultants)] + \
            [f"load-m{i:03d}" for i in range(managers)]
    users = User.objects.bulk_create([User(username=n, email=f"{n}@example.com",
                                           password=password) for n in names])
    groups = {name: Group.objects.get_or_create(name=name)[0]
              for name in (roles.CONSULTANT, roles.PROJECT_MANAGER)}
    User.groups.through.objects.bulk_create([
        User.groups.through(user_id=u.pk, group_id=groups[
            roles.CONSULTANT if i < consultants else roles.PROJECT_MANAGER].pk)
        for i, u in enumerate(users)])
    people = Person.objects.bulk_create([
        Person(user=u, employee_number=f"L{i:05d}", first_name=u.username, last_name="Load",
               email=u.email, legal_entity=entity, role=role, country=entity.country,
               hire_date=SINCE, weekly_standard_hours=Decimal("40.00"))
        for i, u in enumerate(users)])
    staff, bosses = people[:consultants], people[consultants:]
    CostRate.objects.bulk_create([
        CostRate(person=p, hourly_cost=Decimal("80.0000"), currency=entity.base_currency,
                 effective_from=SINCE) for p in people])
    projects = Project.objects.bulk_create([
        Project(code=f"LD-{m:03d}-{n}", name=f"Load project {m}.{n}", contract=contract,
                client=contract.client, legal_entity=entity, currency=contract.currency,
                manager=boss, start_date=SINCE, end_date=date(2099, 12, 31),
                budget_hours=Decimal("10000.00"), budget_cost_amount=Decimal("800000.00"),
                budget_revenue_amount=Decimal("1500000.00"))
        for m, boss in enumerate(bosses) for n in range(PROJECTS_PER_MANAGER)])
    tasks = Task.objects.bulk_create([
        Task(project=p, wbs_code=f"{t + 1}", name=f"Task {p.code}.{t + 1}", position=t,
             budget_hours=Decimal("1000.00"))
        for p in projects for t in range(TASKS_PER_PROJECT)])
    team_of = {i: i // per_team for i in range(per_team * managers)}  # consultant -> manager
    ProjectMember.objects.bulk_create([
        ProjectMember(project=projects[m * PROJECTS_PER_MANAGER + n], person=staff[i])
        for i, m in team_of.items() for n in range(PROJECTS_PER_MANAGER)])
    per_manager_tasks = PROJECTS_PER_MANAGER * TASKS_PER_PROJECT

    def tasks_of(consultant: int) -> list[Task]:
        start = team_of[consultant] * per_manager_tasks
        return tasks[start:start + per_manager_tasks]

    this_week = monday_of(timezone.localdate())
    days = [timedelta(days=d) for d in range(WORK_DAYS)]
    saver_plans = [
        SaverPlan(username=users[i].username, person_id=staff[i].pk,
                  week=this_week.isoformat(),
                  cells=[(t.pk, (this_week + d).isoformat()) for d in days for t in tasks_of(i)])
        for i in range(savers)]

    submit_weeks = [this_week - timedelta(weeks=k + 1) for k in range(submissions_each)]
    submitter_plans = []
    drafts = []
    for i in range(savers, savers + submitters):
        own = tasks_of(i)
        for k, week in enumerate(submit_weeks):
            task = own[k % len(own)]
            drafts += [TimeEntry(person=staff[i], task=task, project_id=task.project_id,
                                 work_date=week + d, hours=Decimal("8.00")) for d in days]
        submitter_plans.append(SubmitterPlan(username=users[i].username, person_id=staff[i].pk,
                                             weeks=[w.isoformat() for w in submit_weeks]))
    _insert(TimeEntry, drafts)

    oldest = this_week - timedelta(weeks=submissions_each + 1)
    weeks_each = -(-approvals_each // per_team)  # ceil: one group per consultant and week
    if oldest - timedelta(weeks=weeks_each) < SINCE:
        raise SystemExit(f"The planned weeks reach back before {SINCE}: ask for a shorter "
                         f"--duration or more --users.")
    approver_plans = []
    now = timezone.now()
    for m in range(approvers):
        team = [i for i, boss in team_of.items() if boss == m]
        submitted = []
        for j in range(weeks_each):
            week = oldest - timedelta(weeks=j)
            for i in team:
                task = tasks_of(i)[j % per_manager_tasks]
                submitted.append([TimeEntry(
                    person=staff[i], task=task, project_id=task.project_id, work_date=week + d,
                    hours=Decimal("7.50"), status=TimeEntry.Status.SUBMITTED, submitted_at=now)
                    for d in days])
        submitted = submitted[:approvals_each]
        _insert(TimeEntry, [e for group in submitted for e in group])
        approver_plans.append(ApproverPlan(
            username=users[consultants + m].username,
            groups=[" ".join(f"t:{e.pk}" for e in group) for group in submitted],
            entry_ids=[e.pk for group in submitted for e in group]))

    _, _, token = service_account_create(username="load-api", scopes=["psa.view_timeentry"],
                                         token_label="bench/load.py")
    _analyze()
    return World(savers=saver_plans, submitters=submitter_plans, approvers=approver_plans,
                 api_token=token, entries=TimeEntry.objects.count(),
                 submit_since=submit_weeks[-1] if submit_weeks else this_week)


def _insert(model: type, rows: list) -> None:
    """bulk_create in batches (primary keys come back on PostgreSQL and SQLite ≥ 3.35)."""
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH)):
        model.objects.bulk_create(batch)


def _analyze() -> None:
    """Statistics for the planner, as autovacuum would have gathered on a live database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def check_outcome(world: World, counts: dict[str, int]) -> list[str]:
    """What the database says happened, against the successful requests of each path.

    `counts` maps "submit" and "approve" to their successful requests and "save" to the
    distinct cells saved; returns a sentence per mismatch (empty when all agree).
    """
    from psa.models import TimeEntry

    problems = []
    submitted = TimeEntry.objects.filter(
        person_id__in=[p.person_id for p in world.submitters],
        work_date__gte=world.submit_since, status=TimeEntry.Status.SUBMITTED).count()
    if submitted != WORK_DAYS * counts.get("submit", 0):
        problems.append(f"submit: {counts.get('submit', 0)} weeks answered as submitted, but "
                        f"{submitted} entries are submitted (expected "
                        f"{WORK_DAYS * counts.get('submit', 0)})")
    approved = TimeEntry.objects.filter(status=TimeEntry.Status.APPROVED,
                                        bill_rate__isnull=False).count()
    if approved != WORK_DAYS * counts.get("approve", 0):
        problems.append(f"approve: {counts.get('approve', 0)} groups answered as approved, but "
                        f"{approved} entries are approved with a frozen rate (expected "
                        f"{WORK_DAYS * counts.get('approve', 0)})")
    saved = TimeEntry.objects.filter(
        person_id__in=[p.person_id for p in world.savers],
        status=TimeEntry.Status.DRAFT).count()
    if saved != counts.get("save", 0):
        problems.append(f"save: {counts.get('save', 0)} distinct cells were saved, but the "
                        f"savers have {saved} draft entries")
    return problems
