from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telebill.domain.catalog.deck import DeckContent, DeckVersion
from telebill.domain.catalog.entries import ALL, Destination, Increments, Tariff, VoiceRate
from telebill.domain.catalog.plans import ConditionKind, PricePlan, Tier, quote
from telebill.domain.catalog.voice_table import VoiceRateTable
from telebill.domain.errors import CallBlocked, InvalidRate
from telebill.domain.money import Rounding, currency
from telebill.domain.numbering import parse_number
from telebill.domain.rating import CallUsage, exact_charge, rate_call

AT = datetime(2026, 5, 1, tzinfo=UTC)


def tariff(price: str = "0.12", inc: str = "60/60", fee: str = "0", rounding: str = "half_up:6", **kw: bool) -> Tariff:
    return Tariff(
        Decimal(price),
        Decimal(price),
        Increments.parse(inc),
        Decimal(fee),
        rounding=Rounding.parse(rounding),
        **kw,
    )


def charge_for(t: Tariff, seconds: int, answered: bool = True) -> Decimal:
    table = VoiceRateTable.of([VoiceRate("44", ALL, Destination("United Kingdom", "GB"), t)])
    version = DeckVersion.of("d", currency("USD"), AT, DeckContent(table))
    plan = PricePlan("p", (Tier(ConditionKind.ALWAYS, "d"),))
    q = quote(plan, {"d": version}, parse_number("+442079460018"), parse_number("+14155550100"))
    usage = CallUsage("+14155550100", "+442079460018", AT, seconds, answered)
    return rate_call(usage, q).amount


@pytest.mark.parametrize(
    ("inc", "seconds", "billed"),
    [("60/60", 0, 0), ("60/60", 1, 60), ("60/60", 60, 60), ("60/60", 61, 120), ("30/6", 31, 36),
     ("30/6", 30, 30), ("1/1", 37, 37), ("60/1", 61, 61)],
)  # fmt: skip
def test_increments_bill_the_first_block_then_whole_subsequent_blocks(inc: str, seconds: int, billed: int) -> None:
    assert Increments.parse(inc).billed_seconds(seconds) == billed


@given(
    st.integers(min_value=1, max_value=3600),
    st.integers(min_value=1, max_value=3600),
    st.integers(min_value=2**53, max_value=2**63 - 1),
)
def test_increments_are_exact_for_durations_beyond_a_floats_precision(
    initial: int, subsequent: int, seconds: int
) -> None:
    billed = Increments(initial, subsequent).billed_seconds(seconds)
    assert billed >= seconds
    assert billed - seconds < subsequent
    assert (billed - initial) % subsequent == 0


def test_per_second_increments_bill_ten_quadrillion_seconds_as_ten_quadrillion() -> None:
    assert Increments(1, 1).billed_seconds(10**16) == 10**16


def test_a_minute_at_twelve_cents_costs_twelve_cents() -> None:
    assert charge_for(tariff("0.12"), 45) == Decimal("0.120000")


def test_per_second_billing_is_exact_before_rounding_once() -> None:
    # 0.1 / 60 * 7 = 0.011666..., half-up at 6 decimals
    assert charge_for(tariff("0.1", "1/1"), 7) == Decimal("0.011667")
    assert charge_for(tariff("0.1", "1/1", rounding="down:6"), 7) == Decimal("0.011666")
    assert charge_for(tariff("0.1", "1/1", rounding="up:2"), 7) == Decimal("0.02")


def test_unanswered_calls_cost_nothing_even_with_a_connection_fee() -> None:
    assert charge_for(tariff("0.12", fee="0.05"), 30, answered=False) == 0


def test_an_answered_zero_second_call_costs_its_connection_fee_only() -> None:
    assert charge_for(tariff("0.12", fee="0.05"), 0) == Decimal("0.05")
    assert charge_for(tariff("0.12"), 0) == 0


def test_connection_fee_is_added_before_the_single_rounding() -> None:
    # 0.0000004 fee + 0.1/60*1 = 0.0016670666..: one rounding -> 0.001667
    assert charge_for(tariff("0.1", "1/1", fee="0.0000004"), 1) == Decimal("0.001667")


def test_free_destinations_cost_nothing() -> None:
    assert charge_for(tariff("0.5", free=True), 600) == 0


def test_blocked_destinations_are_refused_with_a_typed_error() -> None:
    with pytest.raises(CallBlocked, match="blocked"):
        charge_for(tariff("0.5", blocked=True), 60)


def test_negative_durations_are_refused() -> None:
    with pytest.raises(InvalidRate, match="duration_s"):
        CallUsage("+1", "+44", AT, -1)


@given(
    st.decimals(min_value=0, max_value=100, places=6, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=100_000),
    st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False),
)
def test_exact_charge_equals_high_precision_decimal_arithmetic(price: Decimal, billed: int, fee: Decimal) -> None:
    import decimal

    with decimal.localcontext() as ctx:
        ctx.prec = 60
        expected = (fee + price * billed / Decimal(60)).quantize(Decimal("0.000001"), decimal.ROUND_HALF_UP)
    assert exact_charge(price, billed, fee, Rounding()) == expected


@given(st.integers(min_value=1, max_value=7200), st.integers(min_value=1, max_value=7200))
def test_a_longer_call_never_costs_less(a: int, b: int) -> None:
    short, long_ = sorted((a, b))
    t = tariff("0.0137", "30/6")
    assert charge_for(t, short) <= charge_for(t, long_)
