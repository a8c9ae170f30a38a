"""Amount cells read exactly into micro-units: decimal text, scales, decimal and integer columns."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from telebill.adapters.cdr_amounts import AMOUNT_TYPE, amount_micros, decimal_column
from telebill.adapters.cdr_columns import Reasons
from telebill.domain.errors import InvalidInput


def read(values: pa.Array, scale: str = "1") -> list[tuple[int, str | None]]:
    reasons = Reasons(len(values))
    micros = amount_micros(values, "cost", reasons, Decimal(scale))
    return [(int(m), reasons.texts[c] if c >= 0 else None) for m, c in zip(micros, reasons.code, strict=True)]


def test_decimal_text_is_read_digit_by_digit_into_micro_units() -> None:
    cells = pa.array(["1.5", " -0.000001 ", "12", ".25", "5.", "+3", "007.100", "0", "-0.0", "9223372036854.775807"])
    assert read(cells) == [
        (1_500_000, None),
        (-1, None),
        (12_000_000, None),
        (250_000, None),
        (5_000_000, None),
        (3_000_000, None),
        (7_100_000, None),
        (0, None),
        (0, None),
        (2**63 - 1, None),
    ]


def test_unreadable_cells_get_a_reason_naming_the_column_and_quoting_the_cell() -> None:
    cells = pa.array(["", None, "abc", "1,5", "1e3", ".", "0.0000001", "9223372036854.775808"])
    assert [reason for _, reason in read(cells)] == [
        "cost: missing",
        "cost: missing",
        "cost: not a decimal amount: 'abc'",
        "cost: not a decimal amount: '1,5'",
        "cost: not a decimal amount: '1e3'",
        "cost: not a decimal amount: '.'",
        "cost: more than 6 decimals",
        "cost: too large (over 2^63 micro-units)",
    ]
    assert all(micros == 0 for micros, _ in read(cells))


def test_a_scale_converts_exactly_and_refuses_what_becomes_finer_than_a_micro_unit() -> None:
    pence = pa.array(["72", "0.5", "12.3456", "12.34567", "1.000000000000000000001"])
    assert read(pence, "0.01") == [
        (720_000, None),
        (5_000, None),
        (123_456, None),
        (0, "cost: more than 6 decimals after scaling by 0.01"),
        (0, "cost: more than 6 decimals after scaling by 0.01"),
    ]
    assert read(pa.array(["1.5", "123456789012345678"]), "1000") == [
        (1_500_000_000, None),
        (0, "cost: too large (over 2^63 micro-units) after scaling by 1000"),
    ]


def test_integer_and_decimal_columns_are_exact_and_float_columns_are_refused() -> None:
    assert read(pa.array([72, -3, None])) == [(72_000_000, None), (-3_000_000, None), (0, "cost: missing")]
    assert read(pa.array([Decimal("1.5"), Decimal("-0.25")], pa.decimal128(10, 3)), "0.1") == [
        (150_000, None),
        (-25_000, None),
    ]
    with pytest.raises(InvalidInput, match="not an exact amount"):
        read(pa.array([1.5]))


def test_decimal128_columns_round_trip_through_micro_units_even_when_sliced() -> None:
    micros = np.array([1, -2, 3, 2**62, -(2**62), 2**63 - 1], dtype=np.int64)
    column = decimal_column(micros, np.array([True, True, False, True, True, True]))
    assert column.type == AMOUNT_TYPE
    assert column.to_pylist()[:3] == [Decimal("0.000001"), Decimal("-0.000002"), None]
    assert read(column.slice(1)) == [(-2, None), (0, "cost: missing"), (2**62, None), (-(2**62), None),
                                     (2**63 - 1, None)]  # fmt: skip
    too_big = pa.array([Decimal(10**20)], AMOUNT_TYPE)
    assert read(too_big) == [(0, "cost: too large (over 2^63 micro-units)")]
