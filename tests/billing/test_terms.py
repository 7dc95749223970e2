"""Billing terms: installment schedules and rounding policies."""

from datetime import date
from decimal import Decimal

import pytest

from billing.errors import BillingTermsError
from billing.models import BilledItem, Installment, Invoice, RoundingPolicy
from billing.services.terms import (
    installment_amounts,
    installments_generate,
    month_day_clamped,
    rounding_policy_set,
)
from psa.models import Contract
from tests.psa.factories import ContractFactory, UserFactory

D = Decimal
BM = Contract.BillingModel


@pytest.fixture
def finance(db):
    return UserFactory(role="finance")


def fixed(value="10000.00", start=date(2026, 1, 31), **kwargs):
    return ContractFactory(billing_model=BM.FIXED_INSTALLMENTS, value_amount=D(value),
                           start_date=start, **kwargs)


def bill(installment, live=True):
    contract = installment.contract
    invoice = Invoice.objects.create(
        legal_entity=contract.legal_entity, client=contract.client, contract=contract,
        currency=contract.currency,
        status=Invoice.Status.DRAFT if live else Invoice.Status.VOID)
    return BilledItem.objects.create(invoice=invoice, installment=installment, is_live=live,
                                     amount=installment.amount)


def schedule(contract):
    return list(Installment.objects.filter(contract=contract).order_by("sequence")
                .values_list("sequence", "due_date", "amount"))


class TestPureHelpers:
    def test_month_day_is_clamped_to_month_end_from_the_start_day(self):
        start = date(2026, 1, 31)
        assert [month_day_clamped(start, n) for n in range(4)] == [
            date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
        assert month_day_clamped(date(2027, 11, 30), 3) == date(2028, 2, 29)

    def test_amounts_last_takes_the_residual(self):
        assert installment_amounts(D("10000.00"), 3, "USD") == [
            D("3333.33"), D("3333.33"), D("3333.34")]
        assert installment_amounts(D("100.00"), 1, "USD") == [D("100.00")]

    def test_tiny_amounts_never_go_negative(self):
        # split() alone would give nine 0.01 parts and a last part of -0.04.
        parts = installment_amounts(D("0.05"), 10, "USD")
        assert sum(parts) == D("0.05")
        assert all(part >= 0 for part in parts)

    def test_zero_minor_unit_currency(self):
        assert installment_amounts(D("1000"), 3, "JPY") == [D("333"), D("333"), D("334")]


@pytest.mark.django_db
class TestInstallmentsGenerate:
    def test_monthly_count_from_the_start(self, finance):
        contract = fixed()
        rows = installments_generate(contract=contract, actor=finance, count=3)
        assert [row.sequence for row in rows] == [1, 2, 3]
        assert schedule(contract) == [
            (1, date(2026, 1, 31), D("3333.33")),
            (2, date(2026, 2, 28), D("3333.33")),
            (3, date(2026, 3, 31), D("3333.34"))]
        assert rows[0].description == "Installment 1 of 3"

    def test_explicit_dates_are_sorted(self, finance):
        contract = fixed(value="1000.00")
        installments_generate(contract=contract, actor=finance,
                              dates=[date(2026, 6, 1), date(2026, 2, 1)])
        assert schedule(contract) == [(1, date(2026, 2, 1), D("500.00")),
                                      (2, date(2026, 6, 1), D("500.00"))]

    def test_regenerating_replaces_the_unbilled_schedule(self, finance):
        contract = fixed(value="900.00")
        installments_generate(contract=contract, actor=finance, count=3)
        voided = Installment.objects.get(contract=contract, sequence=1)
        bill(voided, live=False)  # on a voided invoice: no longer billed
        installments_generate(contract=contract, actor=finance, count=2)
        assert schedule(contract) == [(1, date(2026, 1, 31), D("450.00")),
                                      (2, date(2026, 2, 28), D("450.00"))]
        assert Installment.objects.filter(pk=voided.pk).exists()  # reused by sequence

    def test_refused_once_any_installment_is_billed(self, finance):
        contract = fixed(value="900.00")
        installments_generate(contract=contract, actor=finance, count=3)
        bill(Installment.objects.get(contract=contract, sequence=2))
        with pytest.raises(BillingTermsError, match="already billed"):
            installments_generate(contract=contract, actor=finance, count=6)
        assert len(schedule(contract)) == 3

    def test_surplus_row_that_was_invoiced_cannot_be_dropped(self, finance):
        contract = fixed(value="900.00")
        installments_generate(contract=contract, actor=finance, count=3)
        bill(Installment.objects.get(contract=contract, sequence=3), live=False)
        with pytest.raises(BillingTermsError, match="keep at least 3"):
            installments_generate(contract=contract, actor=finance, count=2)
        assert len(schedule(contract)) == 3

    @pytest.mark.parametrize("kwargs", [{}, {"count": 2, "dates": [date(2026, 1, 1)]},
                                        {"count": 0}, {"count": 121}, {"dates": []},
                                        {"dates": [date(2026, 1, 1), date(2026, 1, 1)]}])
    def test_bad_arguments(self, finance, kwargs):
        contract = fixed()
        with pytest.raises(BillingTermsError):
            installments_generate(contract=contract, actor=finance, **kwargs)
        assert schedule(contract) == []

    def test_only_for_installment_contracts(self, finance):
        with pytest.raises(BillingTermsError, match="not billed by installments"):
            installments_generate(contract=ContractFactory(), actor=finance, count=2)

    def test_not_for_cancelled_contracts(self, finance):
        contract = fixed(status=Contract.Status.CANCELLED)
        with pytest.raises(BillingTermsError, match="cancelled"):
            installments_generate(contract=contract, actor=finance, count=2)


@pytest.mark.django_db
class TestRoundingPolicySet:
    def test_creates_then_updates_one_policy_per_owner(self, finance):
        contract = ContractFactory()
        policy = rounding_policy_set(actor=finance, contract=contract, increment_minutes=15,
                                     method="up", scope="entry")
        again = rounding_policy_set(actor=finance, contract=contract, increment_minutes=6,
                                    method="nearest", scope="person_day_project")
        assert again.pk == policy.pk
        again.refresh_from_db()
        assert (again.increment_minutes, again.method, again.scope) == (
            6, "nearest", "person_day_project")
        client_policy = rounding_policy_set(actor=finance, client=contract.client,
                                            increment_minutes=15, method="up", scope="entry")
        assert client_policy.pk != policy.pk
        assert RoundingPolicy.objects.count() == 2

    @pytest.mark.parametrize("kwargs", [
        {"increment_minutes": 10, "method": "up", "scope": "entry"},
        {"increment_minutes": 15, "method": "down", "scope": "entry"},
        {"increment_minutes": 15, "method": "up", "scope": "week"},
    ])
    def test_invalid_values_are_refused(self, finance, kwargs):
        with pytest.raises(BillingTermsError):
            rounding_policy_set(actor=finance, contract=ContractFactory(), **kwargs)
        assert not RoundingPolicy.objects.exists()

    def test_exactly_one_owner(self, finance):
        contract = ContractFactory()
        for owners in ({}, {"contract": contract, "client": contract.client}):
            with pytest.raises(BillingTermsError, match="one client or one contract"):
                rounding_policy_set(actor=finance, increment_minutes=15, method="up",
                                    scope="entry", **owners)
