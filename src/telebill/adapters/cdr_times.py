"""Start and end times of CDR columns as microseconds since the epoch (UTC): ISO 8601 text,
custom strptime formats, Arrow timestamps and dates, with the check that rejects dates and times
that do not exist.

A time written without a UTC offset (and an Arrow timestamp without a zone, and a date) is a
local time of the mapping's time zone, UTC by default. In a zone with daylight saving time, a
local time in the hour the clocks skip is refused; one in the hour they repeat is the first of
the two (the earlier instant), as nothing in the cell says which was meant.

A cell that cannot be read gets a per-row reason (`Reasons`), never an exception. ISO 8601 text
in mixed spellings, which Arrow's cast refuses as a whole column, is read one by one in Python.
Dates in a custom strptime format are read by Arrow, which rolls an impossible date over (31/02
is 3 March); each digit field of the cell is checked against the instant read, so that such a
date is refused instead (`_unreadable_fields`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from telebill.adapters.cdr_columns import Reasons, as_array, ints
from telebill.adapters.cdr_names import TimeFields, time_fields
from telebill.domain.errors import InvalidInput

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

ISO_8601: Final = "iso8601"
_UNIT_US: Final = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": -1_000}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# The years a date in a custom format may have: a 2-digit year read by `%Y` is year 26, not 2026.
_YEARS: Final = (1900, 2999)
_COMPONENTS: Final = {
    "Y": pc.year,
    "m": pc.month,
    "d": pc.day,
    "e": pc.day,
    "H": pc.hour,
    "M": pc.minute,
    "S": pc.second,
}


def instants_us(
    column: pa.Array | pa.ChunkedArray, fmt: str, field_name: str, reasons: Reasons, zone: str | None = None
) -> tuple[Int64Array, BoolArray]:
    """Microseconds since the epoch (UTC) of each cell, and which cells were read. Timestamps
    without a zone, dates, and date-times without an offset are local times of `zone` (an IANA
    name; None: UTC)."""
    array = as_array(column)
    n = len(array)
    local: BoolArray | bool = False  # which cells hold a local time
    if pa.types.is_timestamp(array.type) or pa.types.is_date(array.type):
        local = pa.types.is_date(array.type) or array.type.tz is None
        if pa.types.is_date(array.type):
            array = array.cast(pa.timestamp("s"))
        raw = np.asarray(array.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        factor = _UNIT_US[array.type.unit]
        us = raw * factor if factor > 0 else raw // -factor
        ok = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
        if factor > 1:  # seconds or milliseconds past 2^63 microseconds would wrap round
            beyond = np.abs(raw) > np.iinfo(np.int64).max // factor
            reasons.add(ok & beyond, f"{field_name}: not a valid date/time")
            ok &= ~beyond
    elif pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        us, ok, impossible, out_of_range, local = _parse_texts(array, fmt)
        reasons.add(impossible, f"{field_name}: not a valid date/time")
        reasons.add(out_of_range, f"{field_name}: year outside {_YEARS[0]}-{_YEARS[1]}")
    else:
        reasons.add(np.ones(n, dtype=np.bool_), f"{field_name}: a {array.type} column is not a date-time")
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.bool_)
    missing = ~np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    reasons.add(missing, f"{field_name}: missing")
    spelled = "an ISO 8601 date-time" if fmt == ISO_8601 else f"a date-time like {fmt}"
    reasons.add(~ok & ~missing, f"{field_name}: not {spelled}")
    if zone is not None and zone != "UTC":
        rows = np.flatnonzero(ok & local)
        if rows.size:
            us = np.array(us, dtype=np.int64)  # may be a read-only view of Arrow's buffer
            us[rows], skipped = _utc_of_local(us[rows], zone)
            gap = np.zeros(n, dtype=np.bool_)
            gap[rows[skipped]] = True
            reasons.add(gap, f"{field_name}: a time the clocks skip in {zone} (daylight saving)")
            ok &= ~gap
    return us, ok


def check_zone(zone: str) -> None:
    """Refuse a time zone name that is not in the IANA database (InvalidInput)."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"timezone: unknown time zone {zone!r} (an IANA name, e.g. Europe/London)") from None


def _utc_of_local(local_us: Int64Array, zone: str) -> tuple[Int64Array, BoolArray]:
    """The instants (UTC) of local times of `zone`, and which local times do not exist there
    (skipped when the clocks go forward). A repeated local time is its earlier instant."""
    naive = pa.array(local_us, type=pa.timestamp("us"))
    instants = pc.assume_timezone(naive, timezone=zone, ambiguous="earliest", nonexistent="earliest")
    # a skipped local time has no instant: "earliest" gives the last one before the gap, which
    # reads back as another local time
    back = ints(pc.local_timestamp(instants))
    utc = ints(instants.cast(pa.timestamp("us")))
    return utc, back != local_us


def _parse_texts(array: pa.Array, fmt: str) -> tuple[Int64Array, BoolArray, BoolArray, BoolArray, BoolArray]:
    """(instants, read, impossible, out of range, local): Arrow's cast rejects an impossible ISO
    8601 date itself; its strptime rolls one over (31/02 is 3 March), so those are found here.
    `local`: the cells written without a UTC offset."""
    none = np.zeros(len(array), dtype=np.bool_)
    if fmt != ISO_8601:
        fields = time_fields(fmt)
        us, ok = _timestamps_us(pc.strptime(array, format=fmt, unit="us", error_is_null=True))
        impossible, out_of_range = _unreadable_fields(array, us, ok, fields)
        local = np.full(len(array), not fields.offset, dtype=np.bool_)
        return us, ok & ~impossible & ~out_of_range, impossible, out_of_range, local
    us, ok, local = _parse_iso(array)
    return us, ok, none, none, local


def _unreadable_fields(
    array: pa.Array, us: Int64Array, ok: BoolArray, fields: TimeFields
) -> tuple[BoolArray, BoolArray]:
    """(impossible, out of range) of the read cells: a digit field that differs from the same
    field of the instant read (the parser rolled the date or time over), or a year outside
    `_YEARS`. The digit runs of a cell pair up with the format's (`TimeFields`) in order."""
    n = len(array)
    impossible = np.zeros(n, dtype=np.bool_)
    out_of_range = np.zeros(n, dtype=np.bool_)
    if not ok.any():
        return impossible, out_of_range
    runs = _DigitRuns.of(array)
    per_row = runs.per_row
    first = np.cumsum(per_row) - per_row
    expected = len(fields.runs)
    extra = per_row - expected
    # `+0100` and `Z` add a run or none after the last field, `+01:00` two
    impossible[ok & ((extra < 0) | (extra > (2 if fields.offset else 0)))] = True
    rows = np.flatnonzero(ok & ~impossible)
    local = us[rows]
    if fields.offset:
        local = local + _offsets_us(runs, first[rows] + expected, extra[rows])
    instant = pa.array(local, type=pa.timestamp("us"))
    parts: dict[str, Int64Array] = {}
    bad = np.zeros(rows.size, dtype=np.bool_)
    for k, run in enumerate(fields.runs):
        want = np.zeros(rows.size, dtype=np.int64)
        for part in run:
            want = want * 10 ** TimeFields.width(part) + (
                _field(instant, part, parts) if part.isalpha() else np.int64(int(part))
            )
        bad |= runs.value[first[rows] + k] != want
    year = _field(instant, "Y", parts)
    impossible[rows[bad]] = True
    out_of_range[rows[~bad & ((year < _YEARS[0]) | (year > _YEARS[1]))]] = True
    return impossible, out_of_range


def _field(instant: pa.Array, part: str, cache: dict[str, Int64Array]) -> Int64Array:
    """The value directive `part` spells of each instant."""
    if part not in cache:
        if part in ("y", "I"):
            base = _field(instant, "Y" if part == "y" else "H", cache)
            cache[part] = base % 100 if part == "y" else (base + 11) % 12 + 1
        else:
            cache[part] = ints(_COMPONENTS[part](instant))
    return cache[part]


def _offsets_us(runs: _DigitRuns, first: Int64Array, count: Int64Array) -> Int64Array:
    """The UTC offsets (`+hhmm`, `+hh`, `+hh:mm`, `Z`) of runs from `first` on, in microseconds."""
    one = count >= 1
    at = np.where(one, first, 0)
    value, digits = np.where(one, runs.value[at], 0), np.where(one, runs.digits[at], 0)
    hours = np.where(digits > 2, value // 100, value)
    minutes = np.where(digits > 2, value % 100, 0)
    two = count == 2
    minutes = np.where(two, runs.value[np.where(two, first + 1, 0)], minutes)
    sign = np.where(one & (runs.before[at] == ord("-")), -1, 1)
    offsets: Int64Array = sign * (hours * 60 + minutes) * 60_000_000
    return offsets


@dataclass(frozen=True)
class _DigitRuns:
    """Every run of ASCII digits in a text column, in order: its value (-1 past 18 digits),
    number of digits and the byte before it (0 at the start of a cell); and the number of runs
    of each cell. Read off the string buffers."""

    value: Int64Array
    digits: Int64Array
    before: npt.NDArray[np.uint8]
    per_row: Int64Array

    @classmethod
    def of(cls, array: pa.Array) -> _DigitRuns:
        n = len(array)
        large = pa.types.is_large_string(array.type)
        _, offsets_buffer, data_buffer = array.buffers()
        kind, size = (np.int64, 8) if large else (np.int32, 4)
        offsets = np.frombuffer(offsets_buffer, dtype=kind, count=n + 1, offset=array.offset * size).astype(np.int64)
        data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
        data = data[int(offsets[0]) : int(offsets[-1])]
        bounds = offsets - offsets[0]
        number = data - np.uint8(ord("0"))  # wraps below "0", so one comparison finds the digits
        digit = number < 10
        starts_mask = digit.copy()
        starts_mask[1:] &= ~digit[:-1]
        ends_mask = digit.copy()
        ends_mask[:-1] &= ~digit[1:]
        # a run stops where its cell does
        cell_starts, cell_ends = bounds[:-1][bounds[:-1] < data.size], bounds[1:][bounds[1:] > 0] - 1
        starts_mask[cell_starts] = digit[cell_starts]
        ends_mask[cell_ends] = digit[cell_ends]
        starts = np.flatnonzero(starts_mask)
        count = np.flatnonzero(ends_mask) + 1 - starts
        value = np.zeros(starts.size, dtype=np.int64)
        shortest = int(count.min()) if count.size else 0
        for k in range(min(int(count.max()) if count.size else 0, 19)):  # a step per digit of the longest run
            if k < shortest:
                value = value * 10 + number[starts + k]
            else:
                more = np.flatnonzero(count > k)
                value[more] = value[more] * 10 + number[starts[more] + k]
        value[count > 18] = -1
        cell_start = np.zeros(data.size, dtype=np.bool_)
        cell_start[cell_starts] = True
        before = np.where(cell_start[starts], 0, data[np.maximum(starts - 1, 0)]).astype(np.uint8)
        return cls(value, count, before, np.diff(np.searchsorted(starts, bounds)))


def _parse_iso(array: pa.Array) -> tuple[Int64Array, BoolArray, BoolArray]:
    """(instants, read, local): Arrow casts a column whose cells all have an offset, or all have
    none; a column of both is read one cell at a time."""
    for target, local in ((pa.timestamp("us", tz="UTC"), False), (pa.timestamp("us"), True)):
        try:
            us, ok = _timestamps_us(pc.cast(array, target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return us, ok, np.full(len(array), local, dtype=np.bool_)
    return _parse_iso_one_by_one(array.to_pylist())


def _timestamps_us(parsed: pa.Array) -> tuple[Int64Array, BoolArray]:
    ok = np.asarray(parsed.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    us = np.asarray(parsed.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    return us, ok


def _parse_iso_one_by_one(texts: list[str | None]) -> tuple[Int64Array, BoolArray, BoolArray]:
    us = np.zeros(len(texts), dtype=np.int64)
    ok = np.zeros(len(texts), dtype=np.bool_)
    local = np.zeros(len(texts), dtype=np.bool_)
    for i, text in enumerate(texts):
        if text is None:
            continue
        try:
            instant = datetime.fromisoformat(text.strip())
        except ValueError:
            continue
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
            local[i] = True
        us[i] = (instant - _EPOCH) // timedelta(microseconds=1)
        ok[i] = True
    return us, ok, local


def joined(left: pa.Array | pa.ChunkedArray, right: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`left + " " + right` per row, as text (a date column and a time column)."""
    return pc.binary_join_element_wise(as_array(left).cast(pa.string()), as_array(right).cast(pa.string()), " ")
