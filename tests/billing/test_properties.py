"""Money properties that must hold for every input, not only the worked examples."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing.services import totals
from billing.services.terms import installment_amounts
from psa.common.money import quantize, split

CENT = Decimal("0.01")
values = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False,
                     allow_infinity=False)
positive_values = st.decimals(min_value=Decimal("0.01"), max_value=10**9, places=2,
                              allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False,
                    allow_infinity=False)


@given(value=values, count=st.integers(min_value=1, max_value=60))
def test_installments_add_up_and_are_never_negative(value, count):
    parts = installment_amounts(value, count, "USD")
    assert len(parts) == count
    assert sum(parts, Decimal(0)) == value
    assert all(part >= 0 for part in parts)
    assert all(part == part.quantize(CENT) for part in parts)
    # Equal parts: no two differ by more than the residual's rounding allows.
    assert max(parts) - min(parts) <= CENT * count


@given(value=values, count=st.integers(min_value=1, max_value=60))
def test_installments_in_a_currency_without_cents(value, count):
    whole = value.quantize(Decimal(1))
    parts = installment_amounts(whole, count, "JPY")
    assert sum(parts, Decimal(0)) == whole
    assert all(part >= 0 and part == part.quantize(Decimal(1)) for part in parts)


@given(total=values,
       weights=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=40))
def test_split_adds_up_and_rounds_all_but_the_last(total, weights):
    parts = split(total, weights, "USD")
    assert len(parts) == len(weights)
    assert sum(parts, Decimal(0)) == total
    assert all(part == quantize(part, "USD") for part in parts)


@given(total=positive_values,
       weights=st.lists(st.decimals(min_value=Decimal("0.01"), max_value=1000, places=2,
                                    allow_nan=False, allow_infinity=False),
                        min_size=1, max_size=20))
def test_split_with_decimal_weights_adds_up(total, weights):
    assert sum(split(total, weights, "EUR"), Decimal(0)) == total


lines = st.lists(st.tuples(st.decimals(min_value=Decimal("0.25"), max_value=24, places=2,
                                       allow_nan=False, allow_infinity=False),
                           st.decimals(min_value=0, max_value=2000, places=4,
                                       allow_nan=False, allow_infinity=False)),
                 min_size=1, max_size=30)


@given(lines=lines, tax_rate=rates)
def test_invoice_totals_are_sums_of_rounded_lines(lines, tax_rate):
    amounts = [quantize(hours * rate, "USD") for hours, rate in lines]
    subtotal, tax, total = totals.invoice_totals(amounts, tax_rate, "USD")
    assert subtotal == sum(amounts, Decimal(0))
    assert tax == quantize(subtotal * tax_rate / 100, "USD")
    assert total == subtotal + tax
    assert total == total.quantize(CENT)


@given(lines=lines, tax_rate=rates)
def test_line_rounding_error_is_bounded(lines, tax_rate):
    """Rounding each line moves the subtotal by at most half a cent per line."""
    amounts = [quantize(hours * rate, "USD") for hours, rate in lines]
    exact = sum((hours * rate for hours, rate in lines), Decimal(0))
    subtotal, _, _ = totals.invoice_totals(amounts, tax_rate, "USD")
    assert abs(subtotal - exact) <= Decimal("0.005") * len(lines)
