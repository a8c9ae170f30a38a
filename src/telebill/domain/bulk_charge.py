"""The call charge of `rating.rate_call` on integer columns: increments, fee, price, one rounding.

Owns the vectorised arithmetic. Each distinct (tariff, price charged) pair is a *slot* whose
price and fee become integers over a power of ten, so that for `billed` seconds

    units = round((B + A * billed) / D)      (units of 10**-decimals of the tariff's rounding)

with up: q + (r > 0), half_up: q + (2r >= D), down: q, where q, r = divmod(B + A * billed, D)
(docs/adr/0002-rounding.md). A slot knows the most seconds it can bill without leaving int64;
rows beyond it, durations too long for int64 increments and slots whose price has too many
decimals for int64 at all (a percentage off can make long decimals) are charged by
`rating.exact_charge` itself, row by row. Charges come out in units of 10**-CHARGE_DECIMALS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from math import gcd
from typing import Final

import numpy as np
import numpy.typing as npt

from telebill.domain.catalog.entries import Tariff
from telebill.domain.money import RoundingMethod, decimal_as_ratio, format_decimal
from telebill.domain.rating import exact_charge

Int64Array = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
Int8Array = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

CHARGE_DECIMALS: Final = 6  # every rounding has 0..6 decimals, so every charge is whole micros
INT64_MAX: Final = 2**63 - 1
MAX_FAST_DURATION: Final = 2**40  # longer calls get their increments in Python ints
_MAX_INCREMENT: Final = 2**31
_METHOD_CODE: Final = {RoundingMethod.DOWN: 0, RoundingMethod.UP: 1, RoundingMethod.HALF_UP: 2}


class SlotKind(IntEnum):
    INTEGER = 0  # charged on int64 columns
    EXACT = 1  # charged by `exact_charge`, row by row
    FREE = 2
    BLOCKED = 3


class ChargeOutcome(IntEnum):
    CHARGED = 0
    BLOCKED = 1
    TOO_LARGE = 2  # the charge does not fit 64-bit micros


@dataclass(frozen=True, slots=True)
class Slot:
    """One tariff at one price charged per minute (its current price, or an override's)."""

    tariff: Tariff
    price: Decimal


@dataclass(frozen=True, eq=False)
class PriceSlots:
    """Integer parameters of every slot, as arrays indexed by slot id."""

    slots: tuple[Slot, ...]
    kind: Int8Array
    a: Int64Array
    b: Int64Array
    den: Int64Array
    method: Int8Array
    unit: Int64Array  # 10**(CHARGE_DECIMALS - decimals)
    initial: Int64Array
    subsequent: Int64Array
    max_billed: Int64Array
    divisor: Int64Array  # den, 1 where 0 (slots not charged on integers)
    threshold: Int64Array  # the remainder from which rounding adds one: 1 up, ceil(den / 2) half up, den down
    b_rounded: Int64Array  # b + divisor - threshold: floor((b_rounded + a * billed) / divisor) is rounded
    billable: BoolArray  # billed on int64 columns (INTEGER or FREE)
    priced: BoolArray  # charged by arithmetic (INTEGER or EXACT)
    outcome: Int8Array  # ChargeOutcome.BLOCKED for a blocked slot, else CHARGED

    @classmethod
    def of(cls, slots: Sequence[Slot]) -> PriceSlots:
        n = len(slots)
        cols = {name: np.zeros(n, dtype=np.int64) for name in ("a", "b", "den", "unit", "initial", "subsequent")}
        kind = np.zeros(n, dtype=np.int8)
        method = np.zeros(n, dtype=np.int8)
        max_billed = np.full(n, -1, dtype=np.int64)
        for i, slot in enumerate(slots):
            t = slot.tariff
            inc = t.increments
            small_increments = inc.initial < _MAX_INCREMENT and inc.subsequent < _MAX_INCREMENT
            cols["initial"][i] = inc.initial if small_increments else 1
            cols["subsequent"][i] = inc.subsequent if small_increments else 1
            cols["unit"][i] = 10 ** (CHARGE_DECIMALS - t.rounding.decimals)
            method[i] = _METHOD_CODE[t.rounding.method]
            if t.blocked:
                kind[i] = SlotKind.BLOCKED
                continue
            if t.free:
                kind[i] = SlotKind.FREE if small_increments else SlotKind.EXACT
                continue
            params = _integer_params(slot) if small_increments else None
            if params is None:
                kind[i] = SlotKind.EXACT
                cols["den"][i] = 1
                continue
            a, b, den, limit = params
            cols["a"][i], cols["b"][i], cols["den"][i] = a, b, den
            max_billed[i] = min(INT64_MAX, (limit - b) // a) if a else INT64_MAX
        divisor = np.maximum(cols["den"], 1)
        up, half_up = method == _METHOD_CODE[RoundingMethod.UP], method == _METHOD_CODE[RoundingMethod.HALF_UP]
        threshold = np.select([up, half_up], [np.ones_like(divisor), (divisor + 1) // 2], divisor)
        b_rounded = cols["b"] + divisor - threshold
        billable = (kind == SlotKind.INTEGER) | (kind == SlotKind.FREE)
        priced = (kind == SlotKind.INTEGER) | (kind == SlotKind.EXACT)
        outcome = np.where(kind == SlotKind.BLOCKED, ChargeOutcome.BLOCKED, ChargeOutcome.CHARGED).astype(np.int8)
        return cls(tuple(slots), kind, cols["a"], cols["b"], cols["den"], method, cols["unit"],
                   cols["initial"], cols["subsequent"], max_billed, divisor, threshold,
                   b_rounded, billable, priced, outcome)  # fmt: skip

    def __len__(self) -> int:
        return len(self.slots)

    def rate_text(self, slot: int) -> str:
        """The price per minute a call of this slot is charged (`Charge.price_per_minute`)."""
        s = self.slots[slot]
        return "0" if s.tariff.free else format_decimal(s.price)


def _integer_params(slot: Slot) -> tuple[int, int, int, int] | None:
    """(A, B, D, largest B + A * billed that stays in int64 once rounded (adding at most D - 1
    first) and scaled), or None."""
    t = slot.tariff
    p_num, p_den = decimal_as_ratio(slot.price)
    f_num, f_den = decimal_as_ratio(t.connection_fee)
    scale = max(p_den, f_den)
    price, fee = p_num * (scale // p_den), f_num * (scale // f_den)
    places = 10**t.rounding.decimals
    a, b, den = price * places, 60 * fee * places, 60 * scale
    g = gcd(gcd(a, b), den)
    a, b, den = a // g, b // g, den // g
    unit = 10 ** (CHARGE_DECIMALS - t.rounding.decimals)
    if den >= 2**62 or a > INT64_MAX or b > INT64_MAX:
        return None
    limit = min(INT64_MAX - den, (INT64_MAX // unit - 1) * den)
    if b > limit:
        return None
    return a, b, den, limit


def billed_seconds(duration: Int64Array, initial: Int64Array, subsequent: Int64Array) -> Int64Array:
    """`Increments.billed_seconds` per row (durations up to MAX_FAST_DURATION)."""
    return np.where(duration <= 0, 0, _increments(duration, initial, subsequent))


def _increments(duration: Int64Array, initial: Int64Array, subsequent: Int64Array) -> Int64Array:
    """`billed_seconds` of the rows with a positive duration (the others get `initial`)."""
    over: Int64Array = np.maximum(duration - initial, 0)
    over += subsequent - 1
    over //= subsequent
    over *= subsequent
    over += initial
    return over


def charge_slots(
    slots: PriceSlots, slot: Int32Array | Int64Array, duration: Int64Array, answered: BoolArray
) -> tuple[Int64Array, Int64Array, Int8Array]:
    """(charge in units of 10**-CHARGE_DECIMALS, billed seconds, ChargeOutcome) per row."""
    at = np.asarray(slot, dtype=np.intp)
    every = bool(answered.all())
    long_call = duration > MAX_FAST_DURATION
    any_long = bool(long_call.any())
    billed = _increments(
        np.where(long_call, 0, duration) if any_long else duration,
        np.take(slots.initial, at),
        np.take(slots.subsequent, at),
    )
    billable = np.take(slots.billable, at) & (duration > 0)
    if not every:
        billable &= answered
    billed = np.where(billable, billed, 0)
    outcome = np.take(slots.outcome, at)
    # Slots not charged on integers have max_billed -1; unanswered calls bill 0 but pay no fee.
    fits = billed <= np.take(slots.max_billed, at)
    if not every:
        fits &= answered
    if any_long:
        fits &= ~long_call
    # Rows that do not fit may wrap around here: only fitting rows are kept.
    q = np.take(slots.a, at) * billed
    q += np.take(slots.b_rounded, at)
    q //= np.take(slots.divisor, at)
    q *= np.take(slots.unit, at)
    charge = np.where(fits, q, 0)
    exact = np.take(slots.priced, at) & ~fits
    if not every:
        exact &= answered
    if any_long:
        exact |= answered & (np.take(slots.kind, at) == SlotKind.FREE) & long_call
    rows = np.flatnonzero(exact)
    if rows.size:
        _charge_exactly(slots, rows, slot, duration, charge, billed, outcome)
    return charge, billed, outcome


def _charge_exactly(
    slots: PriceSlots,
    rows: Int64Array,
    slot: Int32Array | Int64Array,
    duration: Int64Array,
    charge: Int64Array,
    billed: Int64Array,
    outcome: Int8Array,
) -> None:
    """`Increments.billed_seconds` and `exact_charge` in Python ints, once per (slot, duration)."""
    seen: dict[tuple[int, int], tuple[int, int, int]] = {}
    for row, s, d in zip(rows.tolist(), slot[rows].tolist(), duration[rows].tolist(), strict=True):
        answer = seen.get((s, d))
        if answer is None:
            answer = seen[(s, d)] = _exact_one(slots.slots[s], d)
        charge[row], billed[row], outcome[row] = answer


def _exact_one(slot: Slot, duration: int) -> tuple[int, int, int]:
    t = slot.tariff
    billed = t.increments.billed_seconds(duration)
    units = 0
    if not t.free:
        num, den = decimal_as_ratio(exact_charge(slot.price, billed, t.connection_fee, t.rounding))
        units = num * 10**CHARGE_DECIMALS // den  # exact: a charge has at most 6 decimals
    if billed > INT64_MAX or units > INT64_MAX:
        return 0, 0, ChargeOutcome.TOO_LARGE
    return units, billed, ChargeOutcome.CHARGED
