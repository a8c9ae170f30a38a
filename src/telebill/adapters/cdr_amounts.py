"""Exact money amounts of Arrow columns as int64 micro-units (10**-6), and back to decimal128.

Owns the reading of amount cells: decimal text (`12`, `-0.5`, `.25`, `+3.`, surrounding spaces
ignored), integer columns and decimal columns, optionally multiplied by an exact decimal `scale`
(`0.01` reads pence as pounds). Text is read digit by digit into integers, never through float;
a float column is refused. A cell that is missing, is not a decimal, is finer than a micro-unit
after scaling, or does not fit 64-bit micros gets a per-row reason (`Reasons`) naming the column
(and, for text that is not a decimal, the cell), never an exception.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from telebill.adapters.cdr_arrow import CHARGE_TYPE
from telebill.adapters.cdr_columns import Reasons, as_array, bools, ints
from telebill.domain.charge_comparison import INT64_MAX
from telebill.domain.errors import InvalidInput
from telebill.domain.money import decimal_as_ratio

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

AMOUNT_TYPE: Final = CHARGE_TYPE  # decimal128(38, 6): whole micro-units
_DECIMALS: Final = AMOUNT_TYPE.scale
_POW10: Final = np.array([10**i for i in range(19)], dtype=np.int64)
_DECIMAL_TEXT: Final = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$"
_PARTS: Final = r"^(?P<whole>[0-9]*)\.?(?P<fraction>[0-9]*)$"
_NAMED_CELLS: Final = 100  # distinct bad cells quoted in reasons per batch; the rest share one reason
_ONE: Final = Decimal(1)


def decimal_column(micros: Int64Array, valid: BoolArray) -> pa.Array:
    """decimal128(38, 6) values of int64 micro-units (null where not `valid`), through the
    buffers: 16-byte little-endian two's complement, the high word the sign of the low one."""
    units = np.ascontiguousarray(micros, dtype=np.int64)
    words = np.empty((units.size, 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = units >> 63
    mask = np.asarray(valid, dtype=np.bool_)
    validity = None if mask.all() else pa.array(mask).buffers()[1]
    return pa.Array.from_buffers(AMOUNT_TYPE, units.size, [validity, pa.py_buffer(words.tobytes())])


def amount_micros(column: pa.Array | pa.ChunkedArray, name: str, reasons: Reasons, scale: Decimal = _ONE) -> Int64Array:
    """Micro-units of each cell times `scale` (0 where the row got a reason)."""
    array = as_array(column)
    kind = array.type
    if not scale.is_finite() or scale <= 0:
        raise InvalidInput(f"the scale of {name} must be a positive number, got {scale}")
    if pa.types.is_decimal128(kind) and kind.scale == _DECIMALS and scale == _ONE:
        return _decimal128_micros(array, name, reasons)
    if pa.types.is_null(kind):
        reasons.add(np.ones(len(array), dtype=np.bool_), f"{name}: missing")
        return np.zeros(len(array), dtype=np.int64)
    if pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        array = array.cast(pa.string())
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise InvalidInput(f"{name}: a {kind} column is not an exact amount; write the amounts as decimal text")
    return _text_micros(array.cast(pa.string()), name, reasons, scale)


def _decimal128_micros(array: pa.Array, name: str, reasons: Reasons) -> Int64Array:
    n = len(array)
    valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    words = np.frombuffer(array.buffers()[1], dtype=np.int64, count=2 * (array.offset + n))
    pairs = words[2 * array.offset :].reshape(n, 2)
    low, high = pairs[:, 0], pairs[:, 1]
    fits = high == (low >> 63)
    reasons.add(~valid, f"{name}: missing")
    reasons.add(valid & ~fits, f"{name}: too large (over 2^63 micro-units)")
    return np.where(valid & fits, low, 0)


def _text_micros(array: pa.Array, name: str, reasons: Reasons, scale: Decimal) -> Int64Array:
    n = len(array)
    text = pc.utf8_trim_whitespace(array)
    valid = bools(pc.is_valid(text)) & (ints(pc.binary_length(text)) > 0)
    reasons.add(~valid, f"{name}: missing")
    well_formed = valid & bools(pc.match_substring_regex(text, pattern=_DECIMAL_TEXT))
    _name_bad_cells(text, np.flatnonzero(valid & ~well_formed), name, reasons)
    negative = bools(pc.starts_with(text, "-"))
    body = pc.if_else(pa.array(well_formed), pc.utf8_ltrim(text, characters="+-"), "0")
    parts = pc.extract_regex(body, pattern=_PARTS)
    whole = pc.utf8_ltrim(parts.field("whole"), characters="0")
    fraction = pc.utf8_rtrim(parts.field("fraction"), characters="0")
    digits = pc.binary_join_element_wise(whole, fraction, "")
    n_digits = ints(pc.binary_length(digits))
    # value = M * 10**-f; scaled micros = M * num * 10**(6 - f - k) where scale = num / 10**k
    num, den = decimal_as_ratio(scale)
    k = len(str(den)) - 1
    exponent = _DECIMALS - k - ints(pc.binary_length(fraction))
    fast = well_formed & (n_digits + len(str(num)) + np.maximum(exponent, 0) <= 18) & (exponent >= -18)
    micros = np.zeros(n, dtype=np.int64)
    finer = np.zeros(n, dtype=np.bool_)
    if fast.any():
        rows = np.flatnonzero(fast)
        mantissa = ints(pc.cast(pc.if_else(pa.array(n_digits[rows] > 0), digits.take(rows), "0"), pa.int64()))
        product = mantissa * num  # < 10**18: fits
        e = exponent[rows]
        power = _POW10[np.abs(e)]
        up, down = e >= 0, e < 0
        scaled = np.empty(rows.size, dtype=np.int64)
        scaled[up] = product[up] * power[up]  # < 10**18 by the `fast` condition
        scaled[down] = product[down] // power[down]
        finer[rows[down]] = product[down] % power[down] != 0
        micros[rows] = scaled
    slow = np.flatnonzero(well_formed & ~fast)
    too_large = np.zeros(n, dtype=np.bool_)
    if slow.size:
        for row, text_digits, e in zip(
            slow.tolist(), digits.take(slow).to_pylist(), exponent[slow].tolist(), strict=True
        ):
            value = int(text_digits or "0") * num
            if e >= 0:
                value *= 10**e
            else:
                value, remainder = divmod(value, 10**-e)
                finer[row] = remainder != 0
            too_large[row] = value > INT64_MAX
            micros[row] = value if value <= INT64_MAX else 0
    scaled_by = "" if scale == _ONE else f" after scaling by {scale}"
    reasons.add(finer, f"{name}: more than {_DECIMALS} decimals{scaled_by}")
    reasons.add(too_large, f"{name}: too large (over 2^63 micro-units){scaled_by}")
    micros = np.where(negative, -micros, micros)
    return np.where(reasons.rejected, 0, micros)


def _name_bad_cells(text: pa.Array, rows: Int64Array, name: str, reasons: Reasons) -> None:
    """Reasons quoting each distinct bad cell (the first `_NAMED_CELLS` of them per batch)."""
    if not rows.size:
        return
    by_cell: dict[str, list[int]] = {}
    for row, cell in zip(rows.tolist(), text.take(rows).to_pylist(), strict=True):
        by_cell.setdefault(str(cell), []).append(row)
    for i, (cell, cell_rows) in enumerate(by_cell.items()):
        if i >= _NAMED_CELLS:
            break
        reasons.add(np.array(cell_rows, dtype=np.int64), f"{name}: not a decimal amount: {cell!r}")
    reasons.add(rows, f"{name}: not a decimal amount")
