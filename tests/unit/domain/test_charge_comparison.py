"""Comparing two amounts of the same calls: exact differences, tolerance edges, change kinds."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from telebill.domain.charge_comparison import (
    INT64_MAX,
    INT64_MIN,
    Change,
    Tolerance,
    Verdict,
    changes,
    difference,
    exact_sum,
    micros_decimal,
    rerate_difference,
    verdicts,
)
from telebill.domain.errors import InvalidInput, InvalidMoney


def ints(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def bools(*values: bool) -> np.ndarray:
    return np.array(values, dtype=np.bool_)


def test_a_difference_is_exact_and_flags_the_rows_that_do_not_fit_64_bits() -> None:
    diff, overflow = difference(ints(5, 0, INT64_MAX, INT64_MIN + 1, -1), ints(7, INT64_MAX, -1, 1, INT64_MAX))
    assert diff.tolist() == [-2, -INT64_MAX, 0, 0, 0]
    # MIN + 1 - 1 and -1 - MAX are -2**63: it fits, its absolute value does not
    assert overflow.tolist() == [False, False, True, True, True]


@given(st.lists(st.tuples(st.integers(INT64_MIN, INT64_MAX), st.integers(INT64_MIN, INT64_MAX)), max_size=20))
def test_a_difference_matches_python_integers_wherever_it_fits(pairs: list[tuple[int, int]]) -> None:
    a = ints(*(p[0] for p in pairs))
    b = ints(*(p[1] for p in pairs))
    diff, overflow = difference(a, b)
    for (x, y), d, o in zip(pairs, diff.tolist(), overflow.tolist(), strict=True):
        fits = INT64_MIN < x - y <= INT64_MAX
        assert o == (not fits)
        assert d == (x - y if fits else 0)


def test_a_difference_exactly_at_the_tolerance_is_not_a_dispute_and_one_micro_more_is() -> None:
    tolerance = Tolerance.of(Decimal("0.0001"))
    assert tolerance.absolute_micros == 100
    diff = ints(100, -100, 101, -101, 0, 99)
    assert tolerance.exceeded(diff, ints(1_000_000, 1_000_000, 1_000_000, 1_000_000, 0, 0)).tolist() == [
        False,
        False,
        True,
        True,
        False,
        False,
    ]


def test_a_zero_tolerance_disputes_any_difference() -> None:
    assert Tolerance.of(Decimal(0)).exceeded(ints(0, 1, -1), ints(5, 5, 5)).tolist() == [False, True, True]


def test_a_relative_tolerance_allows_the_larger_of_the_two_allowances_exactly() -> None:
    tolerance = Tolerance.of(Decimal("0.0001"), Decimal("1"))  # 1 % of our charge, at least 0.0001
    expected = ints(10_000_000, 10_000_000, 1_000, 1_000)  # 10.00 and 0.001
    diff = ints(100_000, 100_001, 100, 101)  # 1 % of 10.00 = 0.10 exactly; then the absolute floor rules
    assert tolerance.exceeded(diff, expected).tolist() == [False, True, False, True]


def test_a_fractional_percentage_is_compared_without_rounding() -> None:
    tolerance = Tolerance(0, Decimal("0.3"))  # 0.3 % of 1.000003 = 0.003000009
    assert tolerance.exceeded(ints(3_000, 3_001), ints(1_000_003, 1_000_003)).tolist() == [False, True]


def test_the_relative_check_falls_back_to_python_integers_for_huge_amounts() -> None:
    tolerance = Tolerance(0, Decimal("50"))
    expected = ints(INT64_MAX - 1, INT64_MAX - 1)
    half = (INT64_MAX - 1) // 2
    assert tolerance.exceeded(ints(half, half + 1), expected).tolist() == [False, True]


def test_tolerances_are_refused_when_negative_or_finer_than_a_micro_unit() -> None:
    with pytest.raises(InvalidInput):
        Tolerance.of(Decimal("-0.01"))
    with pytest.raises(InvalidMoney):
        Tolerance.of(Decimal("0.0000001"))
    with pytest.raises(InvalidInput):
        Tolerance.of(Decimal(0), Decimal("-1"))


def test_each_call_gets_the_kind_of_change_its_two_ratings_show() -> None:
    old_ok = bools(True, True, False, True, False, True)
    new_ok = bools(True, True, True, False, False, True)
    same_currency = bools(True, True, False, False, False, False)
    kind = changes(old_ok, new_ok, same_currency, ints(5, 5, 0, 5, 0, 5), ints(5, 6, 7, 0, 0, 5))
    assert [Change(k) for k in kind] == [
        Change.UNCHANGED,
        Change.CHANGED,
        Change.NEWLY_PRICED,
        Change.NEWLY_REJECTED,
        Change.STILL_REJECTED,
        Change.CURRENCY_CHANGED,
    ]
    assert Change.NEWLY_PRICED.label == "newly priced"


def test_a_newly_priced_call_gains_its_charge_and_a_newly_rejected_one_loses_it() -> None:
    kind = np.array([Change.UNCHANGED, Change.CHANGED, Change.NEWLY_PRICED, Change.NEWLY_REJECTED,
                     Change.STILL_REJECTED, Change.CURRENCY_CHANGED], dtype=np.int8)  # fmt: skip
    diff, valid = rerate_difference(kind, ints(5, 5, 99, 5, 99, 5), ints(5, 7, 7, 99, 99, 9))
    assert valid.tolist() == [True, True, True, True, False, False]
    assert diff[valid].tolist() == [0, 2, 7, -5]


def test_verdicts_tell_agreed_overbilled_underbilled_unpriced_and_bad_amounts_apart() -> None:
    carrier = ints(1_000_100, 1_000_101, 999_899, 5, 5, INT64_MIN + 1)
    carrier_ok = bools(True, True, True, True, False, True)
    ours = ints(1_000_000, 1_000_000, 1_000_000, 0, 0, 10)
    priced = bools(True, True, True, False, False, True)
    kind, diff, checked = verdicts(carrier, carrier_ok, ours, priced, Tolerance())
    assert [Verdict(k) for k in kind] == [
        Verdict.AGREED,
        Verdict.OVERBILLED,
        Verdict.UNDERBILLED,
        Verdict.NOT_PRICED,
        Verdict.BAD_AMOUNT,  # a bad amount wins over a call we cannot price
        Verdict.BAD_AMOUNT,  # the difference does not fit 64 bits
    ]
    assert checked.tolist() == [True, True, True, False, False, False]
    assert diff[:3].tolist() == [100, 101, -101]


def test_exact_sums_and_decimals_of_micro_units_never_overflow_or_round() -> None:
    assert exact_sum(ints(INT64_MAX, INT64_MAX, 1)) == 2 * INT64_MAX + 1
    assert exact_sum(ints(INT64_MIN, -1)) == INT64_MIN - 1
    assert exact_sum(ints()) == 0
    assert micros_decimal(2 * INT64_MAX * 10**12) == Decimal(2 * INT64_MAX * 10**6)
    assert f"{micros_decimal(20_000):f}" == "0.020000"
    assert f"{micros_decimal(-1):f}" == "-0.000001"
