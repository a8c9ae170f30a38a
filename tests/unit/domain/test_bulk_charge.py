"""The integer charge kernel at its edges: exact halves, int64 limits, prices with long decimals."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from telebill.domain.bulk_charge import ChargeOutcome, PriceSlots, Slot, SlotKind, billed_seconds, charge_slots
from telebill.domain.catalog.entries import Increments, Tariff
from telebill.domain.money import Rounding, decimal_as_ratio
from telebill.domain.rating import exact_charge


def tariff(price: str, inc: str = "1/1", fee: str = "0", rounding: str = "half_up:6", **kw: bool) -> Tariff:
    return Tariff(
        Decimal(price), Decimal(price), Increments.parse(inc), Decimal(fee), rounding=Rounding.parse(rounding), **kw
    )


def charge(t: Tariff, seconds: int, price: Decimal | None = None, answered: bool = True) -> tuple[int, int, int]:
    slots = PriceSlots.of([Slot(t, t.current_price if price is None else price)])
    units, billed, outcome = charge_slots(
        slots, np.zeros(1, dtype=np.int32), np.array([seconds], dtype=np.int64), np.array([answered])
    )
    return int(units[0]), int(billed[0]), int(outcome[0])


def micros(amount: Decimal) -> int:
    num, den = decimal_as_ratio(amount)
    return num * 10**6 // den


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [("half_up:2", 10_000), ("up:2", 10_000), ("down:2", 0), ("half_up:3", 5_000), ("down:6", 5_000)],
)
def test_exactly_half_a_unit_rounds_by_the_method(rounding: str, expected: int) -> None:
    # 0.30 per minute for one second is 0.005 exactly
    assert charge(tariff("0.30", rounding=rounding), 1)[0] == expected


def test_just_below_half_a_unit_rounds_down_under_half_up() -> None:
    assert charge(tariff("0.2999", rounding="half_up:2"), 1)[0] == 0
    assert charge(tariff("0.2999", rounding="up:2"), 1)[0] == 10_000


def test_a_connection_fee_alone_is_charged_for_an_answered_call_of_zero_seconds() -> None:
    assert charge(tariff("0.12", fee="0.05"), 0) == (50_000, 0, ChargeOutcome.CHARGED)


def test_an_unanswered_call_costs_nothing_and_bills_nothing() -> None:
    assert charge(tariff("0.12", fee="0.05"), 30, answered=False) == (0, 0, ChargeOutcome.CHARGED)


def test_a_free_destination_bills_its_increments_at_no_charge() -> None:
    assert charge(tariff("0", inc="60/60", free=True), 61) == (0, 120, ChargeOutcome.CHARGED)


def test_a_blocked_destination_is_reported_blocked() -> None:
    assert charge(tariff("0.12", blocked=True), 61)[2] == ChargeOutcome.BLOCKED


def test_rows_past_the_int64_limit_of_their_slot_are_charged_exactly() -> None:
    t = tariff("0.123456789012347")  # 15 decimals: B + A * billed leaves int64 after about a million seconds
    slots = PriceSlots.of([Slot(t, t.current_price)])
    assert slots.kind[0] == SlotKind.INTEGER
    limit = int(slots.max_billed[0])
    assert 0 < limit < 10**7
    for seconds in (limit, limit + 1, 10 * limit):
        expected = exact_charge(t.current_price, seconds, Decimal(0), t.rounding)
        assert charge(t, seconds) == (micros(expected), seconds, ChargeOutcome.CHARGED)


def test_a_price_with_too_many_decimals_for_int64_is_charged_exactly() -> None:
    t = tariff("0.123456789")
    price = t.current_price * (100 - Decimal("12.3456789017")) / 100  # a percentage off: 21 decimals
    slots = PriceSlots.of([Slot(t, price)])
    assert slots.kind[0] == SlotKind.EXACT
    expected = exact_charge(price, 61, Decimal(0), t.rounding)
    assert charge(t, 61, price) == (micros(expected), 61, ChargeOutcome.CHARGED)
    assert slots.rate_text(0) == f"{price:f}"


def test_a_charge_beyond_int64_micros_is_reported_too_large() -> None:
    assert charge(tariff("1000000"), 10**12)[2] == ChargeOutcome.TOO_LARGE


def test_very_long_durations_get_their_increments_in_python_ints() -> None:
    t = tariff("0.000001", inc="60/60", rounding="down:0")
    seconds = 2**50 + 1
    billed = t.increments.billed_seconds(seconds)
    expected = exact_charge(t.current_price, billed, Decimal(0), t.rounding)
    assert charge(t, seconds) == (micros(expected), billed, ChargeOutcome.CHARGED)


@given(st.integers(-5, 10**6), st.integers(1, 120), st.integers(1, 120))
def test_vectorised_increments_bill_what_increments_bill(seconds: int, initial: int, subsequent: int) -> None:
    got = billed_seconds(np.array([seconds]), np.array([initial]), np.array([subsequent]))
    assert int(got[0]) == Increments(initial, subsequent).billed_seconds(seconds)
