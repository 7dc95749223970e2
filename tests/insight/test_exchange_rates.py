"""Stored exchange rates: the page finance keeps them on, the service and the rate table."""

from datetime import date
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from psa.models import ExchangeRate
from psa.selectors.exchange_rates import rate_table

pytestmark = pytest.mark.django_db
URL = reverse("exchange-rate-list")


def test_finance_stores_and_replaces_a_months_rate_with_an_audit_trail(client, finance):
    client.force_login(finance.user)
    data = {"from_currency": "GBP", "to_currency": "USD", "month": "2026-03", "rate": "1.27"}
    assert client.post(URL, data).status_code == 302
    assert client.post(URL, {**data, "rate": "1.29"}).status_code == 302
    rate = ExchangeRate.objects.get()
    assert rate.month == date(2026, 3, 1) and rate.rate == Decimal("1.29")
    assert LogEntry.objects.get_for_object(rate).count() == 2
    assert "1.29" in client.get(URL).content.decode()


def test_bad_rates_are_refused_beside_the_field(client, finance):
    client.force_login(finance.user)
    same = client.post(URL, {"from_currency": "USD", "to_currency": "USD", "month": "2026-03",
                             "rate": "1"})
    assert same.status_code == 400 and 'id="id_to_currency_error"' in same.content.decode()
    zero = client.post(URL, {"from_currency": "GBP", "to_currency": "USD", "month": "2026-03",
                             "rate": "0"})
    assert zero.status_code == 400 and 'id="id_rate_error"' in zero.content.decode()
    assert not ExchangeRate.objects.exists()


def test_executives_read_but_do_not_write(client, executive, consultant):
    client.force_login(executive.user)
    assert client.get(URL).status_code == 200
    assert client.post(URL, {"from_currency": "GBP", "to_currency": "USD",
                             "month": "2026-03", "rate": "1.2"}).status_code == 403
    client.force_login(consultant.user)
    assert client.get(URL).status_code == 403


def test_the_latest_earlier_rate_applies_and_the_reverse_pair_is_inverted():
    ExchangeRate.objects.create(from_currency="GBP", to_currency="USD", month=date(2026, 1, 1),
                                rate=Decimal("1.25"))
    ExchangeRate.objects.create(from_currency="GBP", to_currency="USD", month=date(2026, 3, 1),
                                rate=Decimal("1.30"))
    ExchangeRate.objects.create(from_currency="USD", to_currency="EUR", month=date(2026, 1, 1),
                                rate=Decimal("0.80"))
    table = rate_table(target="USD", through=date(2026, 12, 1))
    assert table.rate("GBP", date(2026, 2, 1)) == Decimal("1.25")
    assert table.rate("GBP", date(2026, 4, 1)) == Decimal("1.30")
    assert table.convert(Decimal("100"), "EUR", date(2026, 2, 1)) == Decimal("125")
    assert table.rate("GBP", date(2025, 12, 1)) is None
    assert table.missing_pairs == ["GBP→USD"]
    assert table.rate("USD", date(2020, 1, 1)) == 1
