"""A small approvals world shared by the approvals tests: a manager, their project, a team."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from psa import models, roles
from tests.psa.factories import (
    CostRateFactory,
    ExpenseFactory,
    ProjectFactory,
    ProjectMemberFactory,
    RateCardFactory,
    RateCardLineFactory,
    TaskFactory,
    TimeEntryFactory,
    person_with_role,
)

WEEK = date(2026, 3, 9)  # a Monday without US public holidays


@dataclass
class ApprovalWorld:
    manager: models.Person
    project: models.Project
    task: models.Task
    consultant: models.Person
    other_project: models.Project


def priced(person: models.Person) -> models.Person:
    """Give the person a cost rate and their role a line on the standard USD card."""
    card = models.RateCard.objects.filter(kind=models.RateCard.Kind.STANDARD,
                                          currency="USD").first()
    if card is None:
        card = RateCardFactory(standard=True, currency="USD", code="STD-USD")
    if not models.RateCardLine.objects.filter(rate_card=card, role=person.role).exists():
        RateCardLineFactory(rate_card=card, role=person.role, hourly_rate=Decimal("150.0000"))
    CostRateFactory(person=person, hourly_cost=Decimal("80.0000"))
    return person


def build_world(manager: models.Person | None = None) -> ApprovalWorld:
    manager = manager or person_with_role(roles.PROJECT_MANAGER, first_name="Marcus",
                                          last_name="Reed")
    project = ProjectFactory(manager=manager, code="ACME-042")
    task = TaskFactory(project=project, name="Discovery workshops")
    consultant = priced(person_with_role(roles.CONSULTANT, first_name="Chloe",
                                         last_name="Bennett"))
    ProjectMemberFactory(project=project, person=consultant)
    other = ProjectFactory(code="OTHER-001")
    return ApprovalWorld(manager, project, task, consultant, other)


def submitted_week(world: ApprovalWorld, *, person: models.Person | None = None,
                   week: date = WEEK, hours: str = "8.00", days: int = 5,
                   task: models.Task | None = None) -> list[models.TimeEntry]:
    from datetime import timedelta

    person = person or world.consultant
    task = task or world.task
    return [TimeEntryFactory(person=person, task=task, work_date=week + timedelta(days=n),
                             hours=Decimal(hours), submitted=True)
            for n in range(days)]


def submitted_expense(world: ApprovalWorld, **kwargs: object) -> models.Expense:
    kwargs.setdefault("person", world.consultant)
    kwargs.setdefault("project", world.project)
    kwargs.setdefault("expense_date", WEEK)
    return ExpenseFactory(submitted=True, **kwargs)
