"""Comparing two amounts of the same calls in integer micro-units (10**-6 of a currency unit).

Owns the arithmetic of `telebill rerate` and `telebill reconcile`: the exact difference of two
int64 columns (with the rows where it would not fit 64 bits), how a re-rating changed each call
(`Change`), whether a carrier's amount is within a tolerance of ours (`Tolerance`, `Verdict`),
and exact sums. Everything is integer arithmetic (numpy int64, Python ints where int64 could
overflow); no float anywhere. Reading amounts and writing reports belong to the adapters.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from telebill.domain.errors import InvalidInput
from telebill.domain.money import decimal_as_ratio, to_micros

Int64Array = npt.NDArray[np.int64]
Int8Array = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
_LOW_BITS: Final = 32


class Change(IntEnum):
    """What re-rating did to one call (old rating vs new rating)."""

    UNCHANGED = 0  # priced both times, same currency, same charge
    CHANGED = 1  # priced both times, same currency, another charge
    NEWLY_PRICED = 2  # rejected before, priced now
    NEWLY_REJECTED = 3  # priced before, rejected now (no price, blocked, ...)
    STILL_REJECTED = 4  # rejected both times
    CURRENCY_CHANGED = 5  # priced both times, in different currencies (no difference)

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


class Verdict(IntEnum):
    """How a carrier's billed amount for one call compares with ours."""

    AGREED = 0  # within the tolerance
    OVERBILLED = 1  # the carrier billed more than we expect, beyond the tolerance
    UNDERBILLED = 2  # the carrier billed less than we expect, beyond the tolerance
    NOT_PRICED = 3  # we cannot price the call (no price, blocked, unreadable number, ...)
    BAD_AMOUNT = 4  # the carrier's amount cannot be read
    DUPLICATE = 5  # the carrier billed this call before (same caller, callee, start, duration)

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


def micros_decimal(micros: int) -> Decimal:
    """`micros` / 10**6 as a Decimal with 6 places, exactly (no context rounding)."""
    return Decimal(f"{int(micros)}E-6")


def exact_sum(micros: Int64Array) -> int:
    """The exact sum of an int64 column (no overflow: high and low 32-bit halves summed apart)."""
    values = np.asarray(micros, dtype=np.int64)
    if not values.size:
        return 0
    high = int((values >> _LOW_BITS).sum())
    low = int((values & ((1 << _LOW_BITS) - 1)).sum())
    return (high << _LOW_BITS) + low


def difference(minuend: Int64Array, subtrahend: Int64Array) -> tuple[Int64Array, BoolArray]:
    """`minuend - subtrahend` per row, and the rows where that does not fit int64 (they hold 0).
    A difference of -2**63 counts as overflow too, so the absolute value of any result fits."""
    a = np.asarray(minuend, dtype=np.int64)
    b = np.asarray(subtrahend, dtype=np.int64)
    d = a - b  # wraps on overflow; detected below from the signs
    overflow: BoolArray = (((a ^ b) & (a ^ d)) < 0) | (d == INT64_MIN)
    return np.where(overflow, 0, d), overflow


def changes(
    old_ok: BoolArray, new_ok: BoolArray, same_currency: BoolArray, old: Int64Array, new: Int64Array
) -> Int8Array:
    """The `Change` of each call, from whether each rating priced it, whether both are in one
    currency, and the two charges (ignored where the rating did not price the call)."""
    kind = np.full(np.asarray(old_ok).size, Change.STILL_REJECTED, dtype=np.int8)
    both = old_ok & new_ok
    kind[~old_ok & new_ok] = Change.NEWLY_PRICED
    kind[old_ok & ~new_ok] = Change.NEWLY_REJECTED
    kind[both & ~same_currency] = Change.CURRENCY_CHANGED
    kind[both & same_currency & (old == new)] = Change.UNCHANGED
    kind[both & same_currency & (old != new)] = Change.CHANGED
    return kind


def rerate_difference(kind: Int8Array, old: Int64Array, new: Int64Array) -> tuple[Int64Array, BoolArray]:
    """New charge - old charge per call, a missing charge counting as 0 (a newly priced call
    gains its whole charge, a newly rejected one loses it); not valid for calls still rejected,
    calls whose currency changed, and differences beyond int64."""
    has_old = np.isin(kind, (Change.UNCHANGED, Change.CHANGED, Change.NEWLY_REJECTED))
    has_new = np.isin(kind, (Change.UNCHANGED, Change.CHANGED, Change.NEWLY_PRICED))
    diff, overflow = difference(np.where(has_new, new, 0), np.where(has_old, old, 0))
    valid: BoolArray = (has_old | has_new) & (kind != Change.CURRENCY_CHANGED) & ~overflow
    return diff, valid


@dataclass(frozen=True)
class Tolerance:
    """How far a carrier's amount may be from ours before the call is disputed.

    A call is disputed when |carrier - ours| > `absolute_micros` and, if `relative_percent` is
    set, also > `relative_percent` % of |ours|: the allowance is the larger of the two. A
    difference exactly at the allowance is not a dispute.
    """

    absolute_micros: int = 100  # 0.0001
    relative_percent: Decimal | None = None

    def __post_init__(self) -> None:
        if self.absolute_micros < 0:
            raise InvalidInput("the tolerance cannot be negative")
        if self.relative_percent is not None and (not self.relative_percent.is_finite() or self.relative_percent < 0):
            raise InvalidInput(f"the relative tolerance {self.relative_percent} must be a percentage of 0 or more")

    @classmethod
    def of(cls, absolute: Decimal, relative_percent: Decimal | None = None) -> Tolerance:
        """From amounts in currency units (`Decimal("0.0001")`); at most 6 decimals."""
        if not absolute.is_finite():
            raise InvalidInput(f"the tolerance {absolute} is not a number")
        return cls(to_micros(absolute), relative_percent)

    def exceeded(self, diff: Int64Array, expected: Int64Array) -> BoolArray:
        """Where |diff| is beyond the allowance; `diff` must not hold -2**63 (see `difference`)."""
        magnitude = np.abs(np.asarray(diff, dtype=np.int64))
        out: BoolArray = magnitude > self.absolute_micros
        if self.relative_percent is None:
            return out
        rows = np.flatnonzero(out)
        if rows.size:
            out[rows] = _beyond_percent(
                magnitude[rows], np.asarray(expected, dtype=np.int64)[rows], self.relative_percent
            )
        return out


def _beyond_percent(magnitude: Int64Array, expected: Int64Array, percent: Decimal) -> BoolArray:
    """magnitude > percent/100 * |expected|, i.e. magnitude * 100 * q > p * |expected| for
    percent = p / q, in int64 when no product can overflow, else in Python ints."""
    p, q = decimal_as_ratio(percent)
    factor = 100 * q
    safe = (
        int(magnitude.max()) <= INT64_MAX // factor
        and int(expected.min()) > INT64_MIN
        and int(np.abs(expected).max()) <= INT64_MAX // max(p, 1)
    )
    if safe:
        result: BoolArray = magnitude * factor > np.abs(expected) * p
        return result
    pairs = zip(magnitude.tolist(), expected.tolist(), strict=True)
    return np.fromiter((m * factor > abs(e) * p for m, e in pairs), dtype=np.bool_, count=magnitude.size)


def verdicts(
    carrier: Int64Array,
    carrier_ok: BoolArray,
    ours: Int64Array,
    priced: BoolArray,
    tolerance: Tolerance,
    repeated: BoolArray | None = None,
) -> tuple[Int8Array, Int64Array, BoolArray]:
    """The `Verdict` of each call, carrier - ours, and where that difference is valid (checked
    calls whose difference fits int64; a difference beyond int64 makes the call BAD_AMOUNT).
    We expect nothing for a `repeated` call (billed before): it is a DUPLICATE when the carrier
    billed it beyond the tolerance (its difference is then the carrier's whole amount); a
    repeated credit is underbilled, and a repeat costing nothing agreed. A bad amount wins
    over a call we cannot price, which wins over a duplicate."""
    repeated = np.zeros(np.asarray(carrier_ok).size, dtype=np.bool_) if repeated is None else repeated
    expected = np.where(repeated, 0, ours)
    diff, overflow = difference(carrier, expected)
    checked = carrier_ok & priced & ~overflow
    beyond = tolerance.exceeded(diff, expected) & checked
    kind = np.full(np.asarray(carrier_ok).size, Verdict.AGREED, dtype=np.int8)
    kind[beyond & (diff > 0)] = Verdict.OVERBILLED
    kind[beyond & (diff < 0)] = Verdict.UNDERBILLED
    kind[beyond & (diff > 0) & repeated] = Verdict.DUPLICATE
    kind[~priced] = Verdict.NOT_PRICED
    kind[~carrier_ok | (carrier_ok & priced & overflow)] = Verdict.BAD_AMOUNT
    return kind, diff, checked
