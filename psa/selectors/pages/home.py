"""The home page panels, one set per role, each scoped by the role matrix."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Sum,
)

from psa.models import (
    Client,
    Contract,
    Milestone,
    Person,
    Project,
    ProjectMember,
)
from psa.rules import visible
from psa.selectors.calendar import capacity_by_day
from psa.selectors.pages.audit import AuditRow, audit_list, audit_rows
from psa.selectors.pages.common import perm_flag
from psa.selectors.projects import actual_hours_subquery
from psa.selectors.timesheet import timesheet_summary, week_start_of

UserLike = User | AnonymousUser
Choice = tuple[str, str]

ZERO = Decimal("0.00")



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
                          actor, "psa.view_project_financials", Project),
                                actual_hours=actual_hours_subquery())
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
    recent: list[AuditRow]


def home_admin_summary(*, actor: UserLike) -> AdminSummary:
    """Row counts of the master data and the latest audit entries."""
    counts = [
        ("User accounts", User.objects.filter(is_active=True).count()),
        ("People", Person.objects.count()),
        ("Clients", Client.objects.count()),
        ("Projects", Project.objects.count()),
    ]
    return AdminSummary(counts=counts, recent=audit_rows(audit_list(actor=actor)[:10]))


@dataclass(frozen=True)
class MyWeek:
    """The signed-in person's current week: hours against capacity and what is still open."""

    week_start: date
    total: Decimal
    capacity: Decimal
    to_submit: int
    status_counts: dict[str, int]


def home_my_week(*, actor: UserLike, today: date) -> MyWeek | None:
    """This week's hours of the actor's own person (None for a login without a person)."""
    person = Person.objects.filter(user=actor).first() if actor.is_authenticated else None
    if person is None:
        return None
    start = week_start_of(today)
    summary = timesheet_summary(person=person, week_start=start)
    capacity = sum((day.capacity for day in capacity_by_day(
        person=person, start=start, end=start + timedelta(days=6))), ZERO)
    return MyWeek(week_start=start, total=summary.total, capacity=capacity,
                  to_submit=summary.to_submit, status_counts=summary.status_counts)
