from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telebill.domain.errors import InvalidMoney
from telebill.domain.money import (
    Money,
    Rounding,
    RoundingMethod,
    currency,
    from_micros,
    round_ratio,
    to_decimal,
    to_micros,
)


def test_a_float_is_refused_as_money() -> None:
    with pytest.raises(InvalidMoney, match="float"):
        to_decimal(0.1)
    with pytest.raises(InvalidMoney):
        Money.of(0.1, "USD")


def test_decimal_strings_are_exact() -> None:
    assert to_decimal(" 0.0085 ") == Decimal("0.0085")
    assert str(Money.of("0.10", "usd")) == "0.10 USD"


def test_non_numbers_and_infinities_are_refused_naming_the_field() -> None:
    with pytest.raises(InvalidMoney, match="price"):
        to_decimal("abc", "price")
    with pytest.raises(InvalidMoney):
        to_decimal("Infinity")


def test_currency_minor_units_come_from_iso_4217() -> None:
    assert currency("JPY").minor_units == 0
    assert currency("eur").minor_units == 2
    assert currency("KWD").minor_units == 3


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(InvalidMoney, match="XYZ"):
        currency("XYZ")


def test_money_of_different_currencies_cannot_be_added() -> None:
    with pytest.raises(InvalidMoney):
        Money.of("1", "USD") + Money.of("1", "EUR")


@pytest.mark.parametrize(
    ("rule", "amount", "expected"),
    [
        ("half_up:2", "0.125", "0.13"),
        ("half_up:2", "0.1249999", "0.12"),
        ("up:2", "0.1200001", "0.13"),
        ("up:2", "0.12", "0.12"),
        ("down:2", "0.1299999", "0.12"),
        ("half_up:0", "2.5", "3"),
        ("half_up:6", "0.0000005", "0.000001"),
        ("down:6", "0.0000009", "0.000000"),
    ],
)
def test_rounding_methods_at_their_edges(rule: str, amount: str, expected: str) -> None:
    assert Rounding.parse(rule).apply(Decimal(amount)) == Decimal(expected)


def test_minor_unit_presentation_uses_the_currency() -> None:
    assert Money.of("1.5", "JPY").to_minor_units().amount == Decimal("2")
    assert Money.of("1.2345", "KWD").to_minor_units().amount == Decimal("1.235")


def test_rounding_rule_text_is_validated() -> None:
    with pytest.raises(InvalidMoney, match="method"):
        Rounding.parse("sideways:2")
    with pytest.raises(InvalidMoney, match=r"0\.\.6"):
        Rounding.parse("up:7")
    assert str(Rounding.parse("UP")) == "up:6"


def test_amounts_finer_than_a_micro_cannot_enter_the_ledger() -> None:
    assert to_micros(Decimal("1.234567")) == 1_234_567
    with pytest.raises(InvalidMoney):
        to_micros(Decimal("0.0000001"))


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_micros_round_trip(micros: int) -> None:
    assert to_micros(from_micros(micros)) == micros


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=1, max_value=10**6),
    st.sampled_from(list(RoundingMethod)),
)
def test_round_ratio_matches_decimal_rounding(num: int, den: int, method: RoundingMethod) -> None:
    exact = Decimal(num) / Decimal(den)
    expected = exact.quantize(Decimal(1), rounding=method.decimal_mode)
    assert round_ratio(num, den, method) == int(expected)
