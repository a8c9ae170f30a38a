"""Rating Arrow record batches of call records: the CDR column mapping and `ArrowCdrRater`.

Owns the shape of a rated batch: every input column, then `charge` (decimal128 with
CHARGE_DECIMALS), `currency`, `matched_prefix`, `billed_s`, `rate` (the price per minute
charged, as text) and `reject_reason` (null when the row was rated). Which input columns
hold the call's fields, and how they are spelled, is a `CdrMapping`; `CdrMapping.preset`
knows the layouts telebill ships an example of. An `ArrowCdrRater` is picklable, so Spark
can ship it to its executors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from telebill.adapters.cdr_columns import (
    ISO_8601,
    Reasons,
    dialled_numbers,
    flags,
    instants_us,
    joined,
    whole_numbers,
)
from telebill.domain.bulk_numbers import MISSING, OK, parse_numbers
from telebill.domain.bulk_rating import CHARGE_DECIMALS, BulkRater, CdrColumns, RatedColumns, RateStatus
from telebill.domain.dialling_plan import dialling_plan
from telebill.domain.errors import InvalidInput
from telebill.domain.numbering import normalise_region

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

CHARGE_TYPE: Final = pa.decimal128(38, CHARGE_DECIMALS)
RATED_FIELDS: Final = (
    pa.field("charge", CHARGE_TYPE),
    pa.field("currency", pa.string()),
    pa.field("matched_prefix", pa.string()),
    pa.field("billed_s", pa.int64()),
    pa.field("rate", pa.string()),
    pa.field("reject_reason", pa.string()),
)
_DAY_US: Final = 86_400_000_000
# The mapping's names for its fields, as `--columns` spells them.
FIELD_NAMES: Final = {
    "call_id": "call_id",
    "from": "origin",
    "to": "destination",
    "start_time": "start_time",
    "start_date": "start_date",
    "duration_s": "duration_s",
    "end_time": "end_time",
    "end_date": "end_date",
    "answered": "answered",
}


@dataclass(frozen=True)
class CdrMapping:
    """Which input columns hold a call's fields, and how they are spelled.

    The start is `start_time` (ISO 8601 by default, or `time_format`, a strptime format),
    or `start_date` + " " + `start_time` when the date has a column of its own. The duration
    is `duration_s`, or the seconds from the start to `end_date` + " " + `end_time` (rounded
    up; without an end date, an end before the start is on the next day). Without an
    `answered` column every call was answered. Numbers in national format are read in
    `default_country`; without one, every number must be international (`+44...`, `0044...`
    or `44...`). Column names match exactly, or else ignoring surrounding spaces.
    """

    call_id: str = "call_id"
    origin: str = "from"
    destination: str = "to"
    start_time: str = "start_time"
    duration_s: str | None = "duration_s"
    answered: str | None = None
    start_date: str | None = None
    end_time: str | None = None
    end_date: str | None = None
    time_format: str = ISO_8601
    default_country: str | None = None

    def __post_init__(self) -> None:
        normalise_region(self.default_country)
        if self.duration_s is None and self.end_time is None:
            raise InvalidInput("a CDR mapping needs a duration_s column or an end_time column")

    @classmethod
    def preset(cls, name: str) -> CdrMapping:
        """`uk-sample`: the layout of shared/data/sample-cdrs-uk.csv (national numbers of GB,
        d/m/yyyy dates and the duration from start to end)."""
        if name == "uk-sample":
            return cls(
                call_id="callID",
                origin="phoneNumber",
                destination="destPhoneNumber",
                start_date="startDate",
                start_time="startTime",
                duration_s=None,
                end_date="endDate",
                end_time="endTime",
                time_format="%d/%m/%Y %H:%M:%S",
                default_country="GB",
            )
        raise InvalidInput(f"unknown CDR preset {name!r} (known: uk-sample)")

    def with_columns(self, assignments: Mapping[str, str]) -> CdrMapping:
        """This mapping with some fields moved to other columns: {"from": "caller", ...}."""
        changes: dict[str, str | None] = {}
        for key, column in assignments.items():
            attribute = FIELD_NAMES.get(key.strip())
            if attribute is None:
                raise InvalidInput(f"unknown CDR field {key!r} (known: {', '.join(FIELD_NAMES)})")
            changes[attribute] = column.strip() or None
        return replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> str:
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self) if getattr(self, f.name))


def _column(batch: pa.RecordBatch, name: str, role: str) -> pa.Array:
    names = batch.schema.names
    if name in names:
        return batch.column(names.index(name))
    loose = [i for i, n in enumerate(names) if n.strip() == name.strip()]
    if len(loose) == 1:
        return batch.column(loose[0])
    raise InvalidInput(f"CDR column {name!r} ({role}) not found; the columns are {', '.join(map(repr, names))}")


class ArrowCdrRater:
    """Rates record batches with a BulkRater; every row comes back rated or with a reason."""

    def __init__(self, rater: BulkRater, mapping: CdrMapping) -> None:
        self.rater = rater
        self.mapping = mapping
        self._default_region = dialling_plan().region_id(normalise_region(mapping.default_country))
        if mapping.default_country and not self._default_region:
            raise InvalidInput(f"default country {mapping.default_country!r} has no numbering plan")

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        clash = [f.name for f in RATED_FIELDS if f.name in input_schema.names]
        if clash:
            raise InvalidInput(f"the CDR file already has column(s) {', '.join(clash)}; rename them first")
        return pa.schema([*input_schema, *RATED_FIELDS])

    def rate_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        schema = self.output_schema(batch.schema)
        cdrs, reasons = self._read(batch)
        rated = self.rater.rate(cdrs)
        self._rater_reasons(rated.status, rated.entry, reasons)
        ok = ~reasons.rejected
        columns = [*batch.columns, *self._rated_columns(rated, ok), _reason_column(reasons)]
        return pa.RecordBatch.from_arrays(columns, schema=schema)

    def _read(self, batch: pa.RecordBatch) -> tuple[CdrColumns, Reasons]:
        m = self.mapping
        n = batch.num_rows
        reasons = Reasons(n)
        origin_dialled = dialled_numbers(_column(batch, m.origin, "from"))
        dest_dialled = dialled_numbers(_column(batch, m.destination, "to"))
        origin = parse_numbers(origin_dialled, self._default_region)
        bad_origin = np.flatnonzero((origin.error != OK) & (origin.error != MISSING))
        reasons.add_coded(bad_origin, origin.error[bad_origin], origin.reasons, "from: ")
        dest = parse_numbers(dest_dialled, self._default_region)
        bad_dest = np.flatnonzero(dest.error != OK)
        reasons.add_coded(bad_dest, dest.error[bad_dest], dest.reasons, "to: ")
        start = self._start(batch, reasons)
        duration = self._duration(batch, start, reasons)
        answered = np.ones(n, dtype=np.bool_)
        if m.answered:
            answered = flags(_column(batch, m.answered, "answered"), "answered", reasons)
        reasons.add(duration < 0, "duration_s: negative")
        destination = np.where(reasons.rejected, -1, dest.e164)
        origin_e164 = np.where(origin.error == OK, origin.e164, -1)
        return CdrColumns(destination, origin_e164, start, np.maximum(duration, 0), answered), reasons

    def _start(self, batch: pa.RecordBatch, reasons: Reasons) -> Int64Array:
        m = self.mapping
        column = _column(batch, m.start_time, "start_time")
        if m.start_date:
            column = joined(_column(batch, m.start_date, "start_date"), column)
        start, _ = instants_us(column, m.time_format, "start_time", reasons)
        return start

    def _duration(self, batch: pa.RecordBatch, start: Int64Array, reasons: Reasons) -> Int64Array:
        m = self.mapping
        if m.duration_s:
            return whole_numbers(_column(batch, m.duration_s, "duration_s"), "duration_s", reasons)
        assert m.end_time is not None
        end_column = _column(batch, m.end_time, "end_time")
        date_column = m.end_date or m.start_date
        if date_column:
            end_column = joined(_column(batch, date_column, "end_date"), end_column)
        end, _ = instants_us(end_column, m.time_format, "end_time", reasons)
        if not m.end_date:
            end = np.where(end < start, end + _DAY_US, end)
        span = end - start
        return np.where(span >= 0, -(-span // 1_000_000), -1)

    def _rater_reasons(self, status: npt.NDArray[np.int8], entry: Int64Array, reasons: Reasons) -> None:
        plan = self.rater.plan.name
        reasons.add(status == RateStatus.NO_PRICE, f"no price in plan {plan}")
        reasons.add(status == RateStatus.BAD_DURATION, "duration_s: negative")
        reasons.add(status == RateStatus.TOO_LARGE, "charge too large (over 2^63 micro-units)")
        blocked = np.flatnonzero((status == RateStatus.BLOCKED) & ~reasons.rejected)
        for e in np.unique(entry[blocked]).tolist():
            prefix, name = self.rater.matched_prefix(e), self.rater.friendly_name(e)
            reasons.add(blocked[entry[blocked] == e], f"blocked destination ({name}, prefix {prefix})")
        reasons.add(status == RateStatus.BAD_DESTINATION, "to: missing")

    def _rated_columns(self, rated: RatedColumns, ok: BoolArray) -> list[pa.Array]:
        r = self.rater
        return [
            _decimal_column(rated.charge, ok),
            _names(np.where(ok, rated.currency, -1).astype(np.int64), lambda i: r.currencies[i].code),
            pa.array(r.matched_prefix_digits(rated.entry), mask=~ok).cast(pa.string()),
            pa.array(rated.billed_s, mask=~ok),
            _names(np.where(ok, rated.price, -1).astype(np.int64), r.rate_text),
        ]


def _decimal_column(units: Int64Array, valid: BoolArray) -> pa.Array:
    """decimal128 values from integer units, through the buffers (16-byte little-endian)."""
    words = np.empty((units.size, 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = units >> 63
    validity = None if valid.all() else pa.array(valid).buffers()[1]
    return pa.Array.from_buffers(CHARGE_TYPE, units.size, [validity, pa.py_buffer(words.tobytes())])


def _names(ids: Int64Array, name_of: Callable[[int], str]) -> pa.Array:
    """Text of each id (null for -1), computing each distinct id's text once."""
    valid = ids >= 0
    ids = np.where(valid, ids, 0)
    used = np.flatnonzero(np.bincount(ids[valid], minlength=1)) if valid.any() else np.empty(0, dtype=np.int64)
    dense = np.zeros(int(ids.max(initial=0)) + 1, dtype=np.int32)
    dense[used] = np.arange(used.size, dtype=np.int32)
    dictionary = pa.array([name_of(int(i)) for i in used], type=pa.string())
    indices = dense[ids]
    encoded = pa.DictionaryArray.from_arrays(pa.array(indices, mask=~valid), dictionary)
    return encoded.dictionary_decode()


def _reason_column(reasons: Reasons) -> pa.Array:
    valid = reasons.code >= 0
    dictionary = pa.array(reasons.texts, type=pa.string())
    indices = pa.array(np.where(valid, reasons.code, 0).astype(np.int32), mask=~valid)
    return pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()
