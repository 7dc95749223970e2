"""Factories for the delivery core: each builds a minimal valid row (STYLE.md §17)."""

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from psa import models, roles


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("secret-pass-123")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        """`UserFactory(role="finance")` puts the user in that role's group."""
        if create and extracted:
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])


class LegalEntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.LegalEntity
        django_get_or_create = ("code",)

    code = "US"
    name = "Northwind Consulting Inc."
    country = "US"
    base_currency = "USD"
    time_zone = "America/New_York"
    invoice_prefix = factory.LazyAttribute(lambda e: e.code)
    tax_registration = "EIN 12-3456789"
    address = "1 Main Street\nBoston, MA 02110"


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Role
        django_get_or_create = ("code",)

    code = "CONS"
    name = "Consultant"
    level = 2


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Person

    user = factory.SubFactory(UserFactory)
    employee_number = factory.Sequence(lambda n: f"E{n:05d}")
    first_name = factory.Sequence(lambda n: f"Pat{n}")
    last_name = "Example"
    email = factory.LazyAttribute(lambda p: f"{p.employee_number.lower()}@example.com")
    legal_entity = factory.SubFactory(LegalEntityFactory)
    role = factory.SubFactory(RoleFactory)
    country = factory.SelfAttribute("legal_entity.country")
    hire_date = date(2020, 1, 6)
    weekly_standard_hours = Decimal("40.00")


class CostRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.CostRate

    person = factory.SubFactory(PersonFactory)
    hourly_cost = Decimal("80.0000")
    currency = factory.SelfAttribute("person.legal_entity.base_currency")
    effective_from = date(2020, 1, 1)


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Client

    code = factory.Sequence(lambda n: f"CL{n:04d}")
    name = factory.Sequence(lambda n: f"Client {n} Ltd")
    legal_entity = factory.SubFactory(LegalEntityFactory)
    currency = factory.SelfAttribute("legal_entity.base_currency")
    billing_address = "100 Client Road"
    country = factory.SelfAttribute("legal_entity.country")
    payment_terms_days = 30
    tax_rate = Decimal("8.2500")


class RateCardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.RateCard

    code = factory.Sequence(lambda n: f"RC{n:04d}")
    name = factory.Sequence(lambda n: f"Rate card {n}")
    kind = models.RateCard.Kind.CONTRACT
    currency = "USD"

    class Params:
        standard = factory.Trait(kind=models.RateCard.Kind.STANDARD, client=None)


class RateCardLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.RateCardLine

    rate_card = factory.SubFactory(RateCardFactory)
    role = factory.SubFactory(RoleFactory)
    hourly_rate = Decimal("150.0000")
    effective_from = date(2020, 1, 1)


class RateCardOverrideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.RateCardOverride

    rate_card = factory.SubFactory(RateCardFactory)
    person = factory.SubFactory(PersonFactory)
    hourly_rate = Decimal("175.0000")
    effective_from = date(2020, 1, 1)


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Contract

    code = factory.Sequence(lambda n: f"CT{n:04d}")
    name = factory.Sequence(lambda n: f"Engagement {n}")
    client = factory.SubFactory(ClientFactory)
    legal_entity = factory.SelfAttribute("client.legal_entity")
    currency = factory.SelfAttribute("client.currency")
    billing_model = models.Contract.BillingModel.TIME_AND_MATERIALS
    revenue_method = models.Contract.RevenueMethod.AS_DELIVERED
    status = models.Contract.Status.ACTIVE
    value_amount = Decimal("100000.00")
    start_date = date(2026, 1, 1)
    end_date = date(2026, 12, 31)
    signed_date = date(2025, 12, 15)
    expense_markup_percent = Decimal("10.0000")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Project

    code = factory.Sequence(lambda n: f"PRJ-{n:04d}")
    name = factory.Sequence(lambda n: f"Project {n}")
    contract = factory.SubFactory(ContractFactory)
    client = factory.SelfAttribute("contract.client")
    legal_entity = factory.SelfAttribute("contract.legal_entity")
    currency = factory.SelfAttribute("contract.currency")
    manager = factory.SubFactory(PersonFactory)
    status = models.Project.Status.ACTIVE
    start_date = date(2026, 1, 1)
    end_date = date(2026, 12, 31)
    budget_hours = Decimal("1000.00")
    budget_cost_amount = Decimal("80000.00")
    budget_revenue_amount = Decimal("150000.00")
    service_line = "Cloud"


class ProjectMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ProjectMember

    project = factory.SubFactory(ProjectFactory)
    person = factory.SubFactory(PersonFactory)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Task

    project = factory.SubFactory(ProjectFactory)
    wbs_code = factory.Sequence(lambda n: f"{n + 1}")
    name = factory.Sequence(lambda n: f"Task {n}")
    budget_hours = Decimal("40.00")


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Milestone

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Milestone {n}")
    due_date = date(2026, 6, 30)
    amount = Decimal("25000.00")
    currency = factory.SelfAttribute("project.currency")

    class Params:
        completed = factory.Trait(status=models.Milestone.Status.COMPLETED)


class ChangeOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ChangeOrder

    contract = factory.SubFactory(ContractFactory)
    reference = factory.Sequence(lambda n: f"CO-{n:03d}")
    value_change_amount = Decimal("10000.00")
    effective_date = date(2026, 3, 1)


class PeriodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Period

    legal_entity = factory.SubFactory(LegalEntityFactory)
    month = date(2026, 1, 1)


def person_with_role(role: str, **kwargs: object) -> models.Person:
    """A person whose login holds `role` (one of psa.roles.ROLES)."""
    user = UserFactory(role=role)
    return PersonFactory(user=user, **kwargs)


ROLE_NAMES = roles.ROLES


class TimeEntryFactory(factory.django.DjangoModelFactory):
    """A draft entry on an open leaf task of an active project."""

    class Meta:
        model = models.TimeEntry

    person = factory.SubFactory(PersonFactory)
    task = factory.SubFactory(TaskFactory)
    project = factory.SelfAttribute("task.project")
    work_date = date(2026, 3, 10)
    hours = Decimal("8.00")
    is_billable = factory.SelfAttribute("task.is_billable")

    class Params:
        submitted = factory.Trait(status=models.TimeEntry.Status.SUBMITTED)
        approved = factory.Trait(status=models.TimeEntry.Status.APPROVED,
                                 bill_rate=Decimal("150.0000"), bill_currency="USD",
                                 cost_rate=Decimal("80.0000"), cost_currency="USD")


class ExpensePolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ExpensePolicy
        django_get_or_create = ("legal_entity", "category")

    legal_entity = factory.SubFactory(LegalEntityFactory)
    category = models.ExpenseCategory.LODGING
    currency = factory.SelfAttribute("legal_entity.base_currency")
    receipt_required_above = Decimal("25.00")
    limit_amount = Decimal("300.00")


class ExpenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Expense

    person = factory.SubFactory(PersonFactory)
    project = factory.SubFactory(ProjectFactory)
    expense_date = date(2026, 3, 10)
    category = models.ExpenseCategory.GROUND_TRANSPORT
    merchant = "City Cabs"
    amount = Decimal("35.50")
    currency = factory.SelfAttribute("project.currency")
    project_amount = factory.SelfAttribute("amount")
    project_currency = factory.SelfAttribute("project.currency")

    class Params:
        submitted = factory.Trait(status=models.Expense.Status.SUBMITTED)


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.TimeOff

    person = factory.SubFactory(PersonFactory)
    start_date = date(2026, 3, 9)
    end_date = date(2026, 3, 13)
