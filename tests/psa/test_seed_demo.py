"""`manage.py seed_demo`: shape, logins, idempotency, production refusal, scale, determinism."""

from collections import Counter
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, F, Max, Sum
from django.test import RequestFactory, override_settings

from psa import models, roles
from psa.demo import model_counts

AS_OF = "2026-03-15"
LOGINS = {
    "consultant": roles.CONSULTANT, "manager": roles.PROJECT_MANAGER,
    "resources": roles.RESOURCE_MANAGER, "finance": roles.FINANCE,
    "executive": roles.EXECUTIVE, "admin": roles.ADMINISTRATOR,
}
SEEDED = (models.LegalEntity, models.Period, models.Role, models.Person, models.CostRate,
          models.RateCard, models.RateCardLine, models.RateCardOverride, models.Client,
          models.Contract, models.ChangeOrder, models.Project, models.ProjectMember, models.Task,
          models.Milestone)


def seed(*args: str, as_of: str = AS_OF) -> str:
    out = StringIO()
    call_command("seed_demo", "--as-of", as_of, *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, object]:
    """Count, last change and last id of every seeded model, plus the users' password hashes."""
    state: dict[str, object] = {
        model._meta.label: model.objects.aggregate(n=Count("id"), changed=Max("updated_at"),
                                                   last=Max("id"))
        for model in SEEDED}
    state["users"] = sorted(User.objects.values_list("username", "password", "last_login"))
    return state


def fingerprint() -> list[tuple]:
    return [
        *models.Client.objects.order_by("code").values_list("code", "name", "tax_rate"),
        *models.Contract.objects.order_by("code").values_list(
            "code", "client__code", "billing_model", "value_amount", "start_date", "status"),
        *models.Person.objects.order_by("employee_number").values_list(
            "employee_number", "first_name", "last_name", "email", "manager__employee_number"),
        *models.Project.objects.order_by("code").values_list("code", "manager__employee_number"),
    ]


class _Discard(Exception):
    pass


def fresh_run_fingerprint(*args: str) -> list[tuple]:
    """Seed into an empty database, fingerprint it, then roll the seed back."""
    result: list[tuple] = []
    try:
        with transaction.atomic():
            assert not models.Client.objects.exists()
            seed(*args)
            result = fingerprint()
            raise _Discard
    except _Discard:
        pass
    return result


@pytest.mark.django_db
class TestSeedDemoDefault:
    def test_default_run_builds_two_entities_with_periods_and_roles(self):
        seed()

        entities = {e.code: e for e in models.LegalEntity.objects.all()}
        assert set(entities) == {"US", "UK"}
        assert (entities["US"].base_currency, entities["US"].time_zone,
                entities["US"].invoice_prefix) == ("USD", "America/New_York", "US")
        assert (entities["UK"].base_currency, entities["UK"].time_zone,
                entities["UK"].invoice_prefix) == ("GBP", "Europe/London", "UK")
        assert all(e.address and e.tax_registration for e in entities.values())
        months = models.Period.objects.filter(legal_entity__code="US").values_list("month",
                                                                                   flat=True)
        assert sorted(months)[0] == date(2025, 3, 1)
        assert sorted(months)[-1] == date(2026, 3, 1)
        assert models.Period.objects.count() == 26
        assert set(models.Period.objects.values_list("status", flat=True)) == {"open"}
        assert list(models.Role.objects.order_by("level").values_list("name", "level")) == [
            ("Analyst", 1), ("Consultant", 2), ("Senior Consultant", 3), ("Manager", 4),
            ("Partner", 5)]
        assert LogEntry.objects.count() == 0  # the seed runs with the audit log off

    def test_default_run_builds_people_with_hierarchy_and_cost_rates(self):
        seed()

        people = models.Person.objects.all()
        assert people.count() == 60
        statuses = Counter(people.values_list("employment_status", flat=True))
        assert statuses["terminated"] == 2 and statuses["leave"] == 1
        assert {"US", "GB"} <= set(people.values_list("country", flat=True))
        tops = people.filter(manager__isnull=True)
        assert set(tops.values_list("role__code", flat=True)) == {"PTR"}
        assert not people.filter(manager__role__level__lte=1).exists()
        for person in people.exclude(manager__isnull=True).select_related("manager__role",
                                                                          "role"):
            # Everyone reports one level up or more; partners report to the entity's head.
            assert (person.manager.role.level > person.role.level
                    or (person.role.level == 5 and person.manager.manager_id is None))
            assert person.manager.legal_entity_id == person.legal_entity_id
        assert people.exclude(weekly_standard_hours=40).exists()
        rates = models.CostRate.objects.values("person").annotate(n=Count("id"))
        assert {row["n"] for row in rates} == {2}
        assert models.CostRate.objects.filter(person__legal_entity__code="UK").exclude(
            currency="GBP").count() == 0

    def test_default_run_covers_every_billing_model_and_revenue_method(self):
        seed()

        contracts = models.Contract.objects.all()
        assert models.Client.objects.count() == 15
        assert contracts.count() == 25
        assert set(contracts.values_list("billing_model", flat=True)) == set(
            models.Contract.BillingModel.values)
        assert set(contracts.values_list("revenue_method", flat=True)) == set(
            models.Contract.RevenueMethod.values)
        statuses = Counter(contracts.values_list("status", flat=True))
        assert statuses["active"] > len(contracts) / 2
        assert statuses["completed"] and statuses["draft"]
        assert not contracts.filter(billing_model="tm_cap", cap_amount__isnull=True).exists()
        assert not contracts.filter(billing_model="retainer",
                                    retainer_included_hours__isnull=True).exists()
        for contract in contracts.select_related("client"):
            assert contract.currency == contract.client.currency
            assert contract.legal_entity_id == contract.client.legal_entity_id
        assert set(models.ChangeOrder.objects.values_list("status", flat=True)) == {
            "pending", "approved", "rejected"}
        assert set(models.RateCard.objects.values_list("kind", flat=True)) == {
            "standard", "client", "contract"}
        assert models.RateCardOverride.objects.exists()
        assert set(models.Client.objects.filter(currency="GBP")
                   .values_list("tax_rate", flat=True)) == {20}

    def test_default_run_builds_projects_with_wbs_teams_and_milestones(self):
        seed()

        internal = models.Project.objects.filter(is_internal=True)
        assert internal.count() >= 2
        assert not internal.filter(contract__isnull=False).exists()
        assert {"Internal · Training", "Internal · Bench"} <= set(
            internal.values_list("name", flat=True))
        client_projects = models.Project.objects.filter(is_internal=False)
        assert set(client_projects.values_list("manager__role__code", flat=True)) <= {"MGR",
                                                                                       "PTR"}
        teams = client_projects.annotate(n=Count("memberships")).values_list("n", flat=True)
        assert min(teams) >= 3 and max(teams) <= 8
        assert models.Task.objects.filter(wbs_code="1.1", parent__wbs_code="1").exists()
        assert not models.Task.objects.filter(parent__parent__isnull=False).exists()
        assert models.Task.objects.filter(is_billable=False).exists()
        milestone_contracts = models.Contract.objects.filter(billing_model="fixed_milestones")
        for contract in milestone_contracts:
            total = models.Milestone.objects.filter(project__contract=contract).aggregate(
                s=Sum("amount"))["s"]
            assert total == contract.value_amount
        assert {"completed", "accepted"} & set(
            models.Milestone.objects.values_list("status", flat=True))

    def test_every_demo_login_signs_in_with_the_demo_password_in_its_group(self):
        output = seed()

        for username, group in LOGINS.items():
            user = User.objects.get(username=username)
            assert list(user.groups.values_list("name", flat=True)) == [group]
            assert user.person is not None
            request = RequestFactory().post("/accounts/login/")
            assert authenticate(request, username=username, password="demo") == user
            assert username in output
        admin = User.objects.get(username="admin")
        assert admin.is_staff and admin.is_superuser
        bot = User.objects.get(username="erp-bot")
        assert not bot.has_usable_password()
        assert list(bot.groups.values_list("name", flat=True)) == [roles.SERVICE]
        managed = models.Project.objects.filter(manager__user__username="manager")
        assert managed.count() >= 3
        on_team = managed.filter(memberships__person__user__username="consultant")
        assert on_team.count() >= 3


@pytest.mark.django_db
class TestSeedDemoRepeat:
    def test_second_run_creates_and_changes_nothing_even_without_the_fast_path(self):
        seed()
        before = snapshot()

        seed("--force")

        assert snapshot() == before
        for model, field in ((models.Client, "code"), (models.Contract, "code"),
                             (models.Project, "code"), (models.Person, "employee_number"),
                             (models.RateCard, "code")):
            values = list(model.objects.values_list(field, flat=True))
            assert len(values) == len(set(values))

    def test_later_run_adds_only_the_new_months_periods(self):
        seed()
        before = model_counts()

        seed(as_of="2026-05-04")

        after = model_counts()
        assert after.pop("Period") == before.pop("Period") + 2 * 2
        assert after == before
        assert models.Period.objects.filter(month=date(2026, 5, 1)).count() == 2

    def test_second_run_takes_the_fast_path(self):
        seed()
        counts = model_counts()

        output = seed()

        assert "Demo data already present" in output
        assert model_counts() == counts


@pytest.mark.django_db
@override_settings(PRODUCTION=True)
def test_seed_demo_in_production_mode_refuses_and_writes_nothing():
    with pytest.raises(CommandError, match="production"):
        seed()

    assert not models.Person.objects.exists()
    assert not User.objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_seed_demo_scaled_run_builds_the_requested_size():
    seed("--people", "120", "--clients", "30", "--months", "6")

    assert models.Person.objects.count() == 120
    assert models.Client.objects.count() == 30
    assert models.Contract.objects.count() == 50
    assert models.Period.objects.count() == 2 * 7
    assert models.Project.objects.filter(contract__code="SOW-00050").exists()


@pytest.mark.django_db
def test_seed_demo_same_seed_gives_the_same_firm_and_another_seed_another():
    first = fresh_run_fingerprint()
    second = fresh_run_fingerprint()
    other = fresh_run_fingerprint("--seed", "7")

    assert first and first == second
    assert other != first


@pytest.mark.django_db
class TestSeedDemoTimeAndExpenses:
    def test_time_and_expenses_in_every_state_following_the_rules(self):
        seed()

        entries = models.TimeEntry.objects.all()
        assert {"draft", "submitted", "approved", "rejected"} <= set(
            entries.values_list("status", flat=True))
        assert {"draft", "submitted", "approved"} <= set(
            models.Expense.objects.values_list("status", flat=True))
        assert not entries.filter(status="rejected", rejection_reason="").exists()
        assert not entries.filter(status="approved", cost_rate__isnull=True).exists()
        assert not entries.filter(status="approved", is_billable=True,
                                  bill_rate__isnull=True).exists()
        assert not entries.filter(is_billable=True, task__is_billable=False).exists()
        assert not entries.filter(task__children__isnull=False).exists()  # leaf tasks only
        assert not entries.filter(work_date__week_day__in=(1, 7)).exists()  # weekdays only
        assert not entries.filter(work_date__lt=F("person__hire_date")).exists()
        assert not entries.filter(work_date__gt=F("person__termination_date")).exists()
        assert not entries.filter(work_date__gt=date(2026, 3, 15)).exists()
        for hours in entries.values_list("hours", flat=True).distinct():
            assert hours % Decimal("0.25") == 0 and Decimal("0") < hours <= Decimal("24")
        daily = entries.values("person", "work_date").annotate(total=Sum("hours"))
        assert max(row["total"] for row in daily) <= Decimal("24")
        assert models.TimeOff.objects.filter(status="approved").exists()
        assert set(models.ExpensePolicy.objects.values_list("legal_entity__code", flat=True)) \
            == {"US", "UK"}
        assert models.ExpensePolicy.objects.filter(category="mileage",
                                                   unit_rate__isnull=False).count() == 2
        assert not models.Expense.objects.filter(is_over_policy=True, justification="").exists()

    def test_demo_consultant_has_drafts_now_and_last_week_waiting_for_the_manager(self):
        seed()  # as of Sunday 15 March 2026: this week starts Monday 9 March

        mine = models.TimeEntry.objects.filter(person__user__username="consultant")
        assert mine.filter(work_date__gte=date(2026, 3, 9), status="draft").exists()
        last_week = mine.filter(work_date__range=(date(2026, 3, 2), date(2026, 3, 8)))
        assert last_week.exists()
        assert set(last_week.values_list("status", flat=True)) == {"submitted"}
        from psa.selectors.approvals import approval_groups

        manager = User.objects.get(username="manager")
        consultant = models.Person.objects.get(user__username="consultant")
        assert any(g.person_id == consultant.pk and g.week_start == date(2026, 3, 2)
                   for g in approval_groups(actor=manager))

    def test_second_run_adds_no_time_entries_expenses_or_time_off(self):
        seed()
        counts = {model: model.objects.aggregate(n=Count("id"), last=Max("id"))
                  for model in (models.TimeEntry, models.Expense, models.TimeOff,
                                models.ExpensePolicy)}

        seed("--force")

        assert {model: model.objects.aggregate(n=Count("id"), last=Max("id"))
                for model in counts} == counts
