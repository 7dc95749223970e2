from datetime import date
from decimal import Decimal

import pytest

from psa.common.errors import RateNotFoundError
from psa.models import RateCard
from psa.services.rates_resolution import bill_rate_resolve, cost_rate_resolve
from tests.psa.factories import (
    ClientFactory,
    ContractFactory,
    CostRateFactory,
    PersonFactory,
    RateCardFactory,
    RateCardLineFactory,
    RateCardOverrideFactory,
    RoleFactory,
)

WORK_DAY = date(2026, 3, 10)


@pytest.fixture
def setup(db):
    role = RoleFactory(code="CONS", name="Consultant")
    person = PersonFactory(role=role)
    standard = RateCardFactory(standard=True, code="STD-USD", currency="USD")
    RateCardLineFactory(rate_card=standard, role=role, hourly_rate=Decimal("150.0000"))
    client = ClientFactory()
    client_card = RateCardFactory(kind=RateCard.Kind.CLIENT, currency="USD", client=client)
    client.rate_card = client_card
    client.save()
    contract_card = RateCardFactory(kind=RateCard.Kind.CONTRACT, currency="USD", client=client)
    contract = ContractFactory(client=client, rate_card=contract_card)
    return {"role": role, "person": person, "standard": standard, "client_card": client_card,
            "contract_card": contract_card, "contract": contract}


def resolve(setup, on=WORK_DAY):
    return bill_rate_resolve(contract=setup["contract"], person=setup["person"], work_date=on)


class TestBillRateResolve:
    def test_standard_card_when_nothing_else(self, setup):
        rate = resolve(setup)
        assert (rate.hourly_rate, rate.source) == (Decimal("150.0000"), "standard_card")

    def test_client_card_beats_standard(self, setup):
        RateCardLineFactory(rate_card=setup["client_card"], role=setup["role"],
                            hourly_rate=Decimal("140.0000"))
        rate = resolve(setup)
        assert (rate.hourly_rate, rate.source) == (Decimal("140.0000"), "client_card")

    def test_contract_card_beats_client_card(self, setup):
        RateCardLineFactory(rate_card=setup["client_card"], role=setup["role"],
                            hourly_rate=Decimal("140.0000"))
        RateCardLineFactory(rate_card=setup["contract_card"], role=setup["role"],
                            hourly_rate=Decimal("135.0000"))
        rate = resolve(setup)
        assert (rate.hourly_rate, rate.source) == (Decimal("135.0000"), "contract_card")

    def test_person_override_beats_everything(self, setup):
        RateCardLineFactory(rate_card=setup["contract_card"], role=setup["role"],
                            hourly_rate=Decimal("135.0000"))
        RateCardOverrideFactory(rate_card=setup["contract_card"], person=setup["person"],
                                hourly_rate=Decimal("180.0000"))
        rate = resolve(setup)
        assert (rate.hourly_rate, rate.source) == (Decimal("180.0000"), "contract_override")

    def test_override_on_another_card_is_ignored(self, setup):
        RateCardOverrideFactory(rate_card=setup["client_card"], person=setup["person"],
                                hourly_rate=Decimal("999.0000"))
        assert resolve(setup).source == "standard_card"

    def test_line_effective_on_the_work_date_wins(self, setup):
        RateCardLineFactory(rate_card=setup["standard"], role=setup["role"],
                            hourly_rate=Decimal("165.0000"), effective_from=date(2026, 3, 11))
        assert resolve(setup, on=date(2026, 3, 10)).hourly_rate == Decimal("150.0000")
        assert resolve(setup, on=date(2026, 3, 11)).hourly_rate == Decimal("165.0000")

    def test_future_override_does_not_apply_before_its_date(self, setup):
        RateCardOverrideFactory(rate_card=setup["contract_card"], person=setup["person"],
                                hourly_rate=Decimal("180.0000"), effective_from=date(2026, 4, 1))
        assert resolve(setup).source == "standard_card"

    def test_explicit_role_is_priced_instead_of_the_persons(self, setup):
        senior = RoleFactory(code="SNR", name="Senior Consultant", level=3)
        RateCardLineFactory(rate_card=setup["standard"], role=senior,
                            hourly_rate=Decimal("200.0000"))
        rate = bill_rate_resolve(contract=setup["contract"], person=setup["person"],
                                 work_date=WORK_DAY, role=senior)
        assert rate.hourly_rate == Decimal("200.0000")

    def test_missing_rate_is_an_error_not_zero(self, setup):
        setup["standard"].lines.all().delete()
        with pytest.raises(RateNotFoundError, match="No bill rate"):
            resolve(setup)

    def test_rate_before_first_line_is_an_error(self, setup):
        with pytest.raises(RateNotFoundError):
            resolve(setup, on=date(2019, 12, 31))

    def test_standard_card_in_another_currency_does_not_price_the_contract(self, setup):
        setup["standard"].currency = "GBP"
        setup["standard"].save()
        with pytest.raises(RateNotFoundError):
            resolve(setup)

    def test_inactive_card_is_skipped(self, setup):
        RateCardLineFactory(rate_card=setup["contract_card"], role=setup["role"],
                            hourly_rate=Decimal("135.0000"))
        setup["contract_card"].is_active = False
        setup["contract_card"].save()
        assert resolve(setup).source == "standard_card"


class TestCostRateResolve:
    def test_effective_dated(self, db):
        person = PersonFactory()
        CostRateFactory(person=person, hourly_cost=Decimal("80.0000"),
                        effective_from=date(2025, 1, 1))
        CostRateFactory(person=person, hourly_cost=Decimal("90.0000"),
                        effective_from=date(2026, 3, 1))
        assert cost_rate_resolve(person=person, work_date=date(2026, 2, 28)).hourly_cost == \
            Decimal("80.0000")
        assert cost_rate_resolve(person=person, work_date=date(2026, 3, 1)).hourly_cost == \
            Decimal("90.0000")

    def test_missing_cost_rate_is_an_error(self, db):
        with pytest.raises(RateNotFoundError, match="No cost rate"):
            cost_rate_resolve(person=PersonFactory(), work_date=WORK_DAY)
