"""Phone numbers in columns: `numbering.parse_number` for millions of rows at once.

Owns the vectorised parse of dialled numbers into E.164 integers (international with `+` or
`00`, international digits without a plus, and national format with a default country) and
the exact region of a number. Each row either follows the same steps as `parse_number`
on integer arrays (calling code, national prefix, possible lengths, emergency numbers), or,
when the dialling-plan tables cannot be sure of the answer (a national prefix that might be
stripped, an international prefix, a short digit string that might be an emergency number,
anything but plain digits), is parsed by `parse_number` itself. Property tests hold both
paths to the same result.

Numbers longer than 15 digits are refused: E.164 allows no more and the prefix index keys
at most 15.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
import phonenumbers

from telebill.domain.dialling_plan import NO_REGION, PREFIX_DIGITS, PREFIX_SPAN, DiallingPlan, dialling_plan
from telebill.domain.errors import TelebillError
from telebill.domain.numbering import parse_number

Int64Array = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
Int16Array = npt.NDArray[np.int16]
Int8Array = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

MAX_DIGITS: Final = 18  # digit strings that fit an int64; longer ones go to the scalar parser
E164_MAX_DIGITS: Final = 15
UNRESOLVED: Final = -1  # region of a number whose calling code several regions share
POW10: Final = np.array([10**i for i in range(MAX_DIGITS + 1)], dtype=np.int64)

OK: Final = 0
MISSING: Final = 1
TOO_SHORT: Final = 2
BAD_COUNTRY_CODE: Final = 3
WRONG_LENGTH: Final = 4
TOO_LONG: Final = 5
NOT_E164: Final = 6
FIXED_REASONS: Final = (
    "",
    "missing",
    "too short to be a phone number",
    "no such country calling code",
    "wrong length for its country",
    "too long to be a phone number",
    "longer than 15 digits (the E.164 maximum)",
)


@dataclass(frozen=True, eq=False)
class DialledNumbers:
    """Numbers as written in a CDR column, reduced to digits by the reader.

    `digits` is the value of the digit string (without a leading `+`; leading zeros drop out
    of the value, `length` keeps them). `length` is 0 for a missing number and -1 for text
    that is not plain digits (the scalar parser then reads `texts`, the original text of the
    rows asked for)."""

    digits: Int64Array
    length: Int8Array
    plus: BoolArray
    texts: Callable[[Int64Array], Sequence[str | None]]

    def __len__(self) -> int:
        return int(self.digits.size)


@dataclass(frozen=True, eq=False)
class ParsedNumbers:
    """E.164 digits as integers (-1 where there is no number), each row's region id (see
    `DiallingPlan.regions`; UNRESOLVED when its calling code is shared) and an error code
    (OK, or an index into `reasons`)."""

    e164: Int64Array
    region: Int16Array
    error: Int32Array
    reasons: tuple[str, ...]

    def reason(self, row: int) -> str:
        return self.reasons[int(self.error[row])]


def digit_count(values: Int64Array) -> Int8Array:
    """Number of decimal digits of each positive value (1 for 0)."""
    count = np.searchsorted(POW10, values, side="right")
    return np.maximum(count, 1).astype(np.int8)


def parse_numbers(numbers: DialledNumbers, default_region: int | Int16Array) -> ParsedNumbers:
    """`parse_number(text, default)` for every row; `default_region` is a region id (one for all
    rows, or one per row; NO_REGION for none)."""
    plan = dialling_plan()
    n = len(numbers)
    region_of_row = np.broadcast_to(np.asarray(default_region, dtype=np.int16), (n,))
    v = numbers.digits.astype(np.int64, copy=False)
    length = numbers.length.astype(np.int64)
    if n and numbers.plus.all() and int(length.min()) > 0 and int(length.max()) <= MAX_DIGITS:
        e164, cc, scalar, error = _international(plan, v, length)  # the usual column: `+` and digits
    else:
        e164, cc, scalar, error = _any_numbers(plan, numbers, v, length, region_of_row)
    too_long = e164 >= POW10[E164_MAX_DIGITS]
    if too_long.any():
        error[too_long & ~scalar] = NOT_E164
    region = np.where((error == OK) & ~scalar, plan.cc_region[cc], NO_REGION).astype(np.int16, copy=False)
    reasons = list(FIXED_REASONS)
    rows = np.flatnonzero(scalar)
    if rows.size:
        _scalar(plan, numbers, rows, region_of_row[rows], e164, region, error, reasons)
    e164 = np.where(error == OK, e164, -1)
    return ParsedNumbers(e164, region, error, tuple(reasons))


def _any_numbers(
    plan: DiallingPlan, numbers: DialledNumbers, v: Int64Array, length: Int64Array, region_of_row: Int16Array
) -> tuple[Int64Array, Int64Array, BoolArray, Int32Array]:
    """(E.164 or -1, calling code, for the scalar parser, error code) of every row."""
    n = len(numbers)
    e164 = np.full(n, -1, dtype=np.int64)
    cc = np.zeros(n, dtype=np.int64)
    error = np.where(length == 0, MISSING, OK).astype(np.int32)
    scalar = (length < 0) | (length > MAX_DIGITS)
    bare = ~numbers.plus & (length > 0) & ~scalar
    if bare.any():
        # An emergency short code of the default region is refused before any other reading.
        scalar |= bare & (region_of_row > 0) & (length <= plan.region_emergency_max[region_of_row])
        bare &= ~scalar
        double_zero = bare & (length >= 2) & (v < POW10[np.clip(length - 2, 0, MAX_DIGITS)])
        national = bare & ~double_zero & (region_of_row > 0)
        intl = (length > 0) & ~scalar & ~national
        length = np.where(double_zero, length - 2, length)
    else:
        national = bare
        intl = (length > 0) & ~scalar

    rows = np.flatnonzero(national)
    if rows.size:
        got, got_cc, unsure, failed = _national(plan, v[rows], length[rows], region_of_row[rows])
        scalar[rows[unsure]] = True
        e164[rows], cc[rows] = got, got_cc
        intl[rows[failed]] = True  # not a possible national number: try it as international digits

    if intl.all():
        e164, cc, unsure, error = _international(plan, v, length)
        scalar |= unsure
    else:
        rows = np.flatnonzero(intl)
        if rows.size:
            got, got_cc, unsure, code = _international(plan, v[rows], length[rows])
            scalar[rows[unsure]] = True
            e164[rows], cc[rows], error[rows] = got, got_cc, code
    return e164, cc, scalar, error


def _national(
    plan: DiallingPlan, v: Int64Array, length: Int64Array, rid: Int16Array
) -> tuple[Int64Array, Int64Array, BoolArray, BoolArray]:
    """National reading of digits with a default region: (E.164 or -1, calling code, unsure,
    not possible)."""
    cc = plan.region_cc[rid].astype(np.int64)
    start = _start3(v, length)
    cc_len = digit_count(cc).astype(np.int64)
    starts_with_cc = (length >= cc_len) & (v // POW10[np.maximum(length - cc_len, 0)] == cc)
    unsure = plan.region_idd_unsure[rid, start] | plan.region_npp_may_match(rid, start, length) | starts_with_cc
    unsure |= (cc == 0) | (length < PREFIX_DIGITS)
    possible = (length >= 2) & (length <= 17) & ((plan.cc_lengths[cc] >> np.minimum(length, 30)) & 1 == 1)
    # past 18 digits cc * 10**length overflows: such a number is longer than E.164 anyway
    fits = length + cc_len <= MAX_DIGITS
    value = np.where(fits, cc * POW10[np.where(fits, length, 0)] + v, POW10[E164_MAX_DIGITS])
    got = np.where(possible & ~unsure, value, -1)
    return got, cc, unsure, ~possible & ~unsure


def _international(
    plan: DiallingPlan, v: Int64Array, length: Int64Array
) -> tuple[Int64Array, Int64Array, BoolArray, Int32Array]:
    """Digits after `+` or `00`: (E.164 or -1, calling code, unsure, error code)."""
    t = _international_tables(plan)
    # at most MAX_DIGITS: longer ones go to the scalar parser
    length = np.maximum(length, 0)
    cell = v // t.head_divisor[length] + t.length_base[length]
    cc = t.cc[cell]
    start = v // t.start_divisor[cell] % PREFIX_SPAN
    npp_cell = cc * PREFIX_SPAN + start
    npp = plan.cc_npp_unsure.ravel()[npp_cell]
    anchored = np.flatnonzero(plan.cc_npp_anchored.ravel()[npp_cell])
    if anchored.size:
        m = t.nsn_length[cell[anchored]]
        npp[anchored] |= (plan.cc_npp_lengths[cc[anchored]] >> m) & 1 == 1
    unsure = t.short[cell] | (t.checked[cell] & npp)
    possible = t.possible[cell] & ~npp
    code = np.zeros(v.size, dtype=np.int32)
    bad = np.flatnonzero(~(possible | unsure))
    if bad.size:
        code[bad] = t.error[cell[bad]]
    return np.where(possible, v, -1), cc, unsure, code


@dataclass(frozen=True, eq=False)
class _InternationalTables:
    """What the first three digits and the digit count of an international number decide,
    indexed by `length * PREFIX_SPAN + first three digits` (a shorter number: all its digits)."""

    head_divisor: Int64Array  # [length]: 10**(length - 3), 1 below three digits
    length_base: Int64Array  # [length]: length * PREFIX_SPAN
    cc: Int64Array  # its calling code, 0 for none
    nsn_length: Int64Array  # digits after the calling code
    start_divisor: Int64Array  # 10**(nsn_length - 3): the first three national digits
    short: BoolArray  # a calling code and 2 national digits: the scalar parser decides
    checked: BoolArray  # a calling code and 3+ national digits: unsure if the national prefix may match
    possible: BoolArray  # ... and the national length is possible: parsed unless the prefix may match
    error: Int32Array  # the error code when neither possible nor unsure


@lru_cache(maxsize=4)
def _international_tables(plan: DiallingPlan) -> _InternationalTables:
    code_of, digits_of = _code_tables(plan)
    length = np.repeat(np.arange(MAX_DIGITS + 1, dtype=np.int64), PREFIX_SPAN)
    c3 = np.tile(np.arange(PREFIX_SPAN, dtype=np.int64), MAX_DIGITS + 1)
    has_cc = (length >= 3) & (code_of[c3] > 0)
    cc = np.where(has_cc, code_of[c3], 0).astype(np.int64)
    m = length - digits_of[c3]
    live = has_cc & (m >= 2)
    checked = live & (m >= PREFIX_DIGITS)
    error = np.select(
        [length <= 2, ~has_cc, m < 2, m > 17], [TOO_SHORT, BAD_COUNTRY_CODE, TOO_SHORT, TOO_LONG], WRONG_LENGTH
    ).astype(np.int32)
    heads = np.arange(MAX_DIGITS + 1, dtype=np.int64)
    return _InternationalTables(
        head_divisor=POW10[np.maximum(heads - 3, 0)],
        length_base=heads * PREFIX_SPAN,
        cc=cc,
        nsn_length=np.clip(m, 0, 30),
        start_divisor=POW10[np.clip(m - 3, 0, MAX_DIGITS)],
        short=live & ~checked,
        checked=checked,
        possible=checked & ((plan.cc_lengths[cc] >> np.maximum(m, 0)) & 1 == 1),
        error=error,
    )


@lru_cache(maxsize=4)
def _code_tables(plan: DiallingPlan) -> tuple[Int16Array, Int64Array]:
    """For each first three digits 0..999 of an international number: its calling code (0 for
    none, or a leading zero) and how many of the three digits the code takes (3 when none)."""
    code = np.zeros(PREFIX_SPAN, dtype=np.int16)
    width = np.full(PREFIX_SPAN, 3, dtype=np.int64)
    for c3 in range(100, PREFIX_SPAN):
        for k in (1, 2, 3):
            if plan.is_cc[c3 // 10 ** (3 - k)]:
                code[c3], width[c3] = c3 // 10 ** (3 - k), k
                break
    return code, width


def _start3(v: Int64Array, length: Int64Array) -> Int64Array:
    """The first three digits of each digit string (leading zeros included), as 0..999."""
    shift = np.clip(length - PREFIX_DIGITS, 0, MAX_DIGITS)
    return (v // POW10[shift]) % PREFIX_SPAN


def calling_codes(e164: Int64Array) -> Int64Array:
    """The country calling code of each E.164 number (given as a positive integer)."""
    plan = dialling_plan()
    length = np.maximum(digit_count(e164), 3)
    c3 = np.maximum(e164, 0) // POW10[length - 3] % 1000
    c2, c1 = c3 // 10, c3 // 100
    cc: Int64Array = np.where(plan.is_cc[c1], c1, np.where(plan.is_cc[c2], c2, c3))
    return cc


def _scalar(
    plan: DiallingPlan,
    numbers: DialledNumbers,
    rows: Int64Array,
    rid: Int16Array,
    e164: Int64Array,
    region: Int16Array,
    error: Int32Array,
    reasons: list[str],
) -> None:
    """Rows the tables could not decide: `parse_number` on the original text, once per value."""
    texts = numbers.texts(rows)
    reason_ids = {r: i for i, r in enumerate(reasons)}
    seen: dict[tuple[str | None, int], tuple[int, int, int]] = {}
    for row, text, r in zip(rows.tolist(), texts, rid.tolist(), strict=True):
        key = (text, r)
        answer = seen.get(key)
        if answer is None:
            answer = seen[key] = _parse_one(plan, text, r, reasons, reason_ids)
        e164[row], region[row], error[row] = answer


def _parse_one(
    plan: DiallingPlan, text: str | None, rid: int, reasons: list[str], reason_ids: dict[str, int]
) -> tuple[int, int, int]:
    if text is None or not text.strip():
        return -1, NO_REGION, MISSING
    try:
        number = parse_number(text, plan.regions[rid] or None)
    except TelebillError as exc:
        message = str(exc)
        if message not in reason_ids:
            reason_ids[message] = len(reasons)
            reasons.append(message)
        return -1, NO_REGION, reason_ids[message]
    if len(number.digits) > E164_MAX_DIGITS:
        return -1, NO_REGION, NOT_E164
    return int(number.digits), plan.region_id(number.country), OK


class RegionResolver:
    """The region `parse_number` gives a number, for calling codes several regions share.

    Needs the full metadata (patterns of valid numbers), so it runs once per distinct
    number and remembers the answer (up to `max_cached` numbers)."""

    def __init__(self, max_cached: int = 1_000_000) -> None:
        self._cache: dict[int, int] = {}
        self._max = max_cached

    def resolve(self, e164: Int64Array, region: Int16Array) -> Int16Array:
        """`region` with every UNRESOLVED entry replaced by the exact region of its number."""
        todo = np.flatnonzero(region == UNRESOLVED)
        if not todo.size:
            return region
        out = region.copy()
        values, inverse = np.unique(e164[todo], return_inverse=True)
        found = np.fromiter((self._region_of(int(x)) for x in values), dtype=np.int16, count=values.size)
        out[todo] = found[inverse]
        return out

    def _region_of(self, e164: int) -> int:
        cached = self._cache.get(e164)
        if cached is not None:
            return cached
        if len(self._cache) >= self._max:
            self._cache.clear()
        answer = self._cache[e164] = _exact_region(dialling_plan(), e164)
        return answer


def _exact_region(plan: DiallingPlan, e164: int) -> int:
    if e164 < 0:
        return NO_REGION
    digits = str(e164)
    cc_len = next((k for k in (1, 2, 3) if plan.is_cc[int(digits[:k])]), 0)
    if not cc_len:
        return NO_REGION
    cc, nsn = int(digits[:cc_len]), digits[cc_len:]
    number = phonenumbers.PhoneNumber(country_code=cc, national_number=int(nsn or "0"))
    if len(nsn) > 1 and nsn[0] == "0":
        zeros = 1
        while zeros < len(nsn) - 1 and nsn[zeros] == "0":
            zeros += 1
        number.italian_leading_zero = True
        number.number_of_leading_zeros = zeros
    code = phonenumbers.region_code_for_number(number)
    if code in (None, "ZZ", "001"):
        code = phonenumbers.region_code_for_country_code(cc)
    return plan.region_id(code if code not in (None, "ZZ", "001") else None)
