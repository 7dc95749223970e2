"""Model rules: the database refuses what DOMAIN.md forbids, full_clean explains the rest."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from psa.common import money
from psa.models import Contract, Milestone, Period, RateCard
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    CostRateFactory,
    LegalEntityFactory,
    MilestoneFactory,
    PeriodFactory,
    PersonFactory,
    ProjectFactory,
    RateCardFactory,
    RateCardLineFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db


def refused(factory, **kwargs):
    with pytest.raises(IntegrityError), transaction.atomic():
        factory(**kwargs)


class TestDatabaseConstraints:
    def test_unique_codes(self):
        ClientFactory(code="ACME")
        refused(ClientFactory, code="ACME")
        ProjectFactory(code="ACME-1")
        refused(ProjectFactory, code="ACME-1")

    def test_contract_dates_must_be_ordered(self):
        refused(ContractFactory, start_date=date(2026, 5, 1), end_date=date(2026, 4, 30))

    def test_contract_amounts_non_negative(self):
        refused(ContractFactory, value_amount=Decimal("-1.00"))
        refused(ContractFactory, billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP,
                cap_amount=Decimal("-5.00"))

    def test_capped_contract_needs_a_cap(self):
        refused(ContractFactory, billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP,
                cap_amount=None)

    def test_retainer_needs_its_monthly_amount(self):
        refused(ContractFactory, billing_model=Contract.BillingModel.RETAINER,
                retainer_amount=None)

    def test_client_work_needs_a_contract(self):
        refused(ProjectFactory, contract=None, client=None, is_internal=False,
                legal_entity=LegalEntityFactory(), currency="USD")

    def test_internal_project_without_contract_is_fine(self):
        project = ProjectFactory(contract=None, client=None, is_internal=True,
                                 legal_entity=LegalEntityFactory(), currency="USD")
        assert project.pk

    def test_project_dates_and_budgets(self):
        refused(ProjectFactory, start_date=date(2026, 2, 1), end_date=date(2026, 1, 31))
        refused(ProjectFactory, budget_hours=Decimal("-1.00"))

    def test_wbs_codes_unique_per_project(self):
        task = TaskFactory(wbs_code="1.1")
        refused(TaskFactory, project=task.project, wbs_code="1.1")
        assert TaskFactory(wbs_code="1.1").pk  # another project may reuse it

    def test_milestone_amount_non_negative(self):
        refused(MilestoneFactory, amount=Decimal("-0.01"))

    def test_person_termination_not_before_hire(self):
        refused(PersonFactory, hire_date=date(2026, 1, 5), termination_date=date(2026, 1, 4))

    def test_one_cost_rate_per_person_and_date(self):
        rate = CostRateFactory()
        refused(CostRateFactory, person=rate.person, effective_from=rate.effective_from)
        refused(CostRateFactory, hourly_cost=Decimal("-1.0000"))

    def test_rate_card_lines_unique_and_non_negative(self):
        line = RateCardLineFactory()
        refused(RateCardLineFactory, rate_card=line.rate_card, role=line.role,
                effective_from=line.effective_from)
        refused(RateCardLineFactory, hourly_rate=Decimal("-10.0000"))

    def test_one_active_standard_card_per_currency(self):
        RateCardFactory(standard=True, currency="USD")
        refused(RateCardFactory, standard=True, currency="USD")
        assert RateCardFactory(standard=True, currency="GBP").pk

    def test_client_card_needs_its_client(self):
        refused(RateCardFactory, kind=RateCard.Kind.CLIENT, client=None)

    def test_one_period_per_entity_and_month(self):
        period = PeriodFactory()
        refused(PeriodFactory, legal_entity=period.legal_entity, month=period.month)


class TestFullClean:
    def test_contract_explains_missing_cap(self):
        contract = ContractFactory.build(
            client=ClientFactory(), billing_model=Contract.BillingModel.TIME_AND_MATERIALS_CAP,
            cap_amount=None)
        with pytest.raises(ValidationError) as excinfo:
            contract.full_clean()
        assert "cap_amount" in excinfo.value.message_dict

    def test_contract_must_use_the_clients_currency(self):
        client = ClientFactory()
        contract = ContractFactory.build(client=client, legal_entity=client.legal_entity,
                                         currency="GBP")
        with pytest.raises(ValidationError) as excinfo:
            contract.full_clean()
        assert "currency" in excinfo.value.message_dict

    def test_task_parent_must_be_in_the_same_project(self):
        parent = TaskFactory()
        child = TaskFactory.build(project=ProjectFactory(), parent=parent, wbs_code="9")
        with pytest.raises(ValidationError) as excinfo:
            child.full_clean()
        assert "parent" in excinfo.value.message_dict

    def test_period_starts_on_the_first(self):
        period = Period(legal_entity=LegalEntityFactory(), month=date(2026, 1, 15))
        with pytest.raises(ValidationError):
            period.full_clean()


class TestTransitions:
    def test_milestone_needing_acceptance_is_not_billable_when_only_completed(self):
        milestone = MilestoneFactory.build(status=Milestone.Status.COMPLETED,
                                           requires_acceptance=True)
        assert not milestone.can_transition_to(Milestone.Status.INVOICED)
        assert milestone.can_transition_to(Milestone.Status.ACCEPTED)

    def test_milestone_without_acceptance_bills_when_completed(self):
        milestone = MilestoneFactory.build(status=Milestone.Status.COMPLETED,
                                           requires_acceptance=False)
        assert milestone.can_transition_to(Milestone.Status.INVOICED)

    def test_planned_milestone_cannot_be_accepted(self):
        assert not MilestoneFactory.build().can_transition_to(Milestone.Status.ACCEPTED)


class TestMoney:
    def test_ratable_split_matches_domain_example(self):
        assert money.split(Decimal("10000.00"), [31, 28, 31], "USD") == [
            Decimal("3444.44"), Decimal("3111.11"), Decimal("3444.45")]

    def test_half_up(self):
        assert money.quantize(Decimal("707.524"), "USD") == Decimal("707.52")
        assert money.quantize(Decimal("0.125"), "USD") == Decimal("0.13")
        assert money.quantize(Decimal("100.5"), "JPY") == Decimal("101")

    def test_currency_mismatch(self):
        with pytest.raises(money.CurrencyMismatch):
            money.ensure_same_currency("USD", "GBP")

