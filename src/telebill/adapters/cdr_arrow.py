"""Rating Arrow record batches of call records: the CDR column mapping and `ArrowCdrRater`.

Owns the shape of a rated batch: every input column, then `charge` (decimal128 with
CHARGE_DECIMALS), `currency`, `matched_prefix`, `billed_s`, `rate` (the price per minute
charged, as text) and `reject_reason` (null when the row was rated). Which input columns
hold the call's fields, and how they are spelled, is a `CdrMapping`; `CdrMapping.preset`
knows the layouts telebill ships an example of. An `ArrowCdrRater` is picklable, so Spark
can ship it to its executors. `split_batch` gives the same rating already split into rated rows
and rejects, with text columns dictionary-encoded (for writing files without materialising
a string per row) and exact per-currency totals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from telebill.adapters.cdr_columns import Reasons, dialled_numbers, encoded_texts, flags, whole_numbers
from telebill.adapters.cdr_names import FIELD_NAMES, time_fields
from telebill.adapters.cdr_times import ISO_8601, check_zone, instants_us, joined
from telebill.domain.bulk_numbers import MISSING, OK, ParsedNumbers, parse_numbers
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
# The rated text columns as `split_batch` builds them: indices into the batch's distinct texts.
TEXT_IDS: Final = pa.dictionary(pa.int32(), pa.string())
_TEXT_COLUMNS: Final = frozenset({"currency", "matched_prefix", "rate", "reject_reason"})
_DAY_US: Final = 86_400_000_000
# A number column with at most this share of distinct values in a sample is parsed once per value.
_SAMPLE_ROWS: Final = 4096
_REPEATED_SHARE: Final = 0.9
_NUMBER_ERROR: Final = re.compile(r"^invalid phone number (?:'[^']*'|\"[^\"]*\"): ")


@dataclass(frozen=True)
class CdrMapping:
    """Which input columns hold a call's fields, and how they are spelled.

    The start is `start_time` (ISO 8601 by default, or `time_format`, a strptime format),
    or `start_date` + " " + `start_time` when the date has a column of its own. The duration
    is `duration_s`, or the seconds from the start to `end_date` + " " + `end_time` (rounded
    up; without an end date, an end before the start is on the next day). Without an
    `answered` column every call was answered. Numbers in national format are read in
    `default_country`; without one, every number must be international (`+44...`, `0044...`
    or `44...`). Times written without a UTC offset are local times of `timezone` (an IANA
    name such as Europe/London; default UTC). Column names match exactly, or else ignoring
    surrounding spaces.
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
    timezone: str | None = None

    def __post_init__(self) -> None:
        normalise_region(self.default_country)
        if self.timezone is not None:
            check_zone(self.timezone)
        if self.time_format != ISO_8601:
            time_fields(self.time_format)  # refuses a format whose dates it could not check
        if self.duration_s is None and self.end_time is None:
            raise InvalidInput("a CDR mapping needs a duration_s column or an end_time column")

    @classmethod
    def preset(cls, name: str) -> CdrMapping:
        """`uk-sample`: the layout of shared/data/sample-cdrs-uk.csv (national numbers of GB,
        d/m/yyyy dates and UK local times, the duration from start to end)."""
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
                timezone="Europe/London",
            )
        raise InvalidInput(f"unknown CDR preset {name!r} (known: uk-sample)")

    def with_columns(self, assignments: Mapping[str, str]) -> CdrMapping:
        """This mapping with some fields moved to other columns: {"from": "caller", ...}. Naming
        an `end_time` column without naming a `duration_s` one takes the duration from the end."""
        changes: dict[str, str | None] = {}
        for key, column in assignments.items():
            attribute = FIELD_NAMES.get(key.strip())
            if attribute is None:
                raise InvalidInput(f"unknown CDR field {key!r} (known: {', '.join(FIELD_NAMES)})")
            changes[attribute] = column.strip() or None
        if changes.get("end_time") and "duration_s" not in changes:
            changes["duration_s"] = None
        return replace(self, **changes)  # type: ignore[arg-type]

    def describe(self) -> str:
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self) if getattr(self, f.name))


def _column(batch: pa.RecordBatch, name: str, role: str) -> pa.Array:
    names = batch.schema.names
    if name in names:
        if names.count(name) > 1:
            raise InvalidInput(f"CDR column {name!r} ({role}) appears {names.count(name)} times; rename all but one")
        return batch.column(names.index(name))
    loose = [i for i, n in enumerate(names) if n.strip() == name.strip()]
    if len(loose) == 1:
        return batch.column(loose[0])
    raise InvalidInput(f"CDR column {name!r} ({role}) not found; the columns are {', '.join(map(repr, names))}")


@dataclass(frozen=True, eq=False)
class SplitBatch:
    """A rated batch in two: `rated` (input columns + charge, currency, matched_prefix, billed_s,
    rate) and `rejects` (input columns + reject_reason), text columns as TEXT_IDS; and the total
    charge of the rated rows per currency code, in units of 10**-CHARGE_DECIMALS."""

    rated: pa.RecordBatch
    rejects: pa.RecordBatch
    totals: dict[str, int]


class ArrowCdrRater:
    """Rates record batches with a BulkRater; every row comes back rated or with a reason."""

    def __init__(self, rater: BulkRater, mapping: CdrMapping) -> None:
        self.rater = rater
        self.mapping = mapping
        self._default_region = dialling_plan().region_id(normalise_region(mapping.default_country))
        if mapping.default_country and not self._default_region:
            raise InvalidInput(f"default country {mapping.default_country!r} has no numbering plan")
        self._rate_texts: dict[int, str] = {}

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        clash = [f.name for f in RATED_FIELDS if f.name in input_schema.names]
        if clash:
            raise InvalidInput(f"the CDR file already has column(s) {', '.join(clash)}; rename them first")
        return pa.schema([*input_schema, *RATED_FIELDS])

    def split_schemas(self, input_schema: pa.Schema) -> tuple[pa.Schema, pa.Schema]:
        """The schemas of `split_batch`'s rated and rejects batches (text columns as TEXT_IDS)."""
        out = self.output_schema(input_schema)
        encoded = [f.with_type(TEXT_IDS) if f.name in _TEXT_COLUMNS else f for f in RATED_FIELDS]
        return pa.schema([*input_schema, *encoded[:-1]]), pa.schema([*out][: len(input_schema)] + encoded[-1:])

    def column_kinds(self, input_schema: pa.Schema) -> tuple[list[str], list[str]]:
        """(columns likely to repeat values, worth a dictionary in a file: all but the call id, the
        called number and the times, plus the rated text columns; the call id and called number,
        near-unique, which compression barely shrinks)."""
        m = self.mapping
        unique = [
            n for n in input_schema.names if n in (m.call_id, m.destination) or n.strip() in (m.call_id, m.destination)
        ]
        times = {m.start_time, m.end_time}
        names = [n for n in input_schema.names if n not in unique and n not in times and n.strip() not in times]
        return [*names, "currency", "matched_prefix", "billed_s", "rate", "reject_reason"], unique

    def rate_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        schema = self.output_schema(batch.schema)
        rated, reasons = self._outcome(batch)
        ok = ~reasons.rejected
        columns = [*batch.columns, *self._rated_columns(rated, ok), _reason_column(reasons)]
        decoded = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in columns]
        return pa.RecordBatch.from_arrays(decoded, schema=schema)

    def split_batch(self, batch: pa.RecordBatch, more: Callable[[Reasons], None] | None = None) -> SplitBatch:
        """`rate_batch` split into the rated rows and the rejects, with per-currency totals.
        `more` may add reasons to reject rows, after the rater's own."""
        rated_schema, rejects_schema = self.split_schemas(batch.schema)
        rated, reasons = self._outcome(batch)
        if more is not None:
            more(reasons)
        ok = ~reasons.rejected
        rows = np.flatnonzero(ok)
        inputs = batch if rows.size == ok.size else batch.filter(pa.array(ok))
        picked = RatedColumns(*(np.asarray(getattr(rated, f.name))[rows] for f in fields(RatedColumns)))
        rated_batch = pa.RecordBatch.from_arrays(
            [*inputs.columns, *self._rated_columns(picked, None)], schema=rated_schema
        )
        bad = np.flatnonzero(reasons.rejected)
        rejected = batch.take(pa.array(bad, type=pa.int64())) if bad.size else batch.slice(0, 0)
        reason = _reason_column(reasons, bad)
        rejects = pa.RecordBatch.from_arrays([*rejected.columns, reason], schema=rejects_schema)
        return SplitBatch(rated_batch, rejects, self._totals(picked))

    def _totals(self, rated: RatedColumns) -> dict[str, int]:
        """Exact sums of int64 charges: high and low 32 bits summed apart cannot overflow."""
        out: dict[str, int] = {}
        for c in np.flatnonzero(np.bincount(rated.currency)).tolist() if rated.currency.size else []:
            charge = rated.charge if len(self.rater.currencies) == 1 else rated.charge[rated.currency == c]
            high, low = int(np.sum(charge >> 32)), int(np.sum(charge & 0xFFFFFFFF))
            out[self.rater.currencies[c].code] = (high << 32) + low
        return out

    def _outcome(self, batch: pa.RecordBatch) -> tuple[RatedColumns, Reasons]:
        cdrs, reasons = self._read(batch)
        rated = self.rater.rate(cdrs)
        self._rater_reasons(rated.status, rated.entry, reasons)
        return rated, reasons

    def _numbers(self, column: pa.Array | pa.ChunkedArray) -> ParsedNumbers:
        """`parse_numbers` of a column; once per distinct value for a dictionary column, or when a
        sample of the column repeats values."""
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if pa.types.is_dictionary(array.type):  # once per dictionary value, and once for null
            values = pa.concat_arrays([array.dictionary, pa.nulls(1, array.dictionary.type)])
            once = parse_numbers(dialled_numbers(values), self._default_region)
            index = np.asarray(array.indices.fill_null(len(array.dictionary)).to_numpy(), dtype=np.int64)
            return ParsedNumbers(once.e164[index], once.region[index], once.error[index], once.reasons)
        if len(array) > 2 * _SAMPLE_ROWS and pa.types.is_string(array.type):
            sample = array.slice(0, _SAMPLE_ROWS)
            if len(sample.unique()) <= _REPEATED_SHARE * _SAMPLE_ROWS:
                encoded = array.dictionary_encode(null_encoding="encode")
                once = parse_numbers(dialled_numbers(encoded.dictionary), self._default_region)
                index = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
                return ParsedNumbers(once.e164[index], once.region[index], once.error[index], once.reasons)
        return parse_numbers(dialled_numbers(array), self._default_region)

    def _read(self, batch: pa.RecordBatch) -> tuple[CdrColumns, Reasons]:
        m = self.mapping
        n = batch.num_rows
        reasons = Reasons(n)
        origin = self._numbers(_column(batch, m.origin, "from"))
        bad_origin = np.flatnonzero((origin.error != OK) & (origin.error != MISSING))
        reasons.add_coded(bad_origin, origin.error[bad_origin], _bare(origin.reasons), "from: ")
        dest = self._numbers(_column(batch, m.destination, "to"))
        bad_dest = np.flatnonzero(dest.error != OK)
        reasons.add_coded(bad_dest, dest.error[bad_dest], _bare(dest.reasons), "to: ")
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
        start, _ = instants_us(column, m.time_format, "start_time", reasons, m.timezone)
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
        end, _ = instants_us(end_column, m.time_format, "end_time", reasons, m.timezone)
        if not m.end_date:
            end = np.where(end < start, end + _DAY_US, end)
        span = end - start
        return np.where(span >= 0, -(-span // 1_000_000), -1)

    def _rater_reasons(self, status: npt.NDArray[np.int8], entry: Int64Array, reasons: Reasons) -> None:
        plan = self.rater.plan.name
        reasons.add(status == RateStatus.NO_PRICE, f"no price in plan {plan}")
        reasons.add(
            status == RateStatus.NO_VERSION,
            f"no price in plan {plan}: its decks for this call have no version in force at that time",
        )
        reasons.add(status == RateStatus.BAD_DURATION, "duration_s: negative")
        reasons.add(status == RateStatus.TOO_LARGE, "charge too large (over 2^63 micro-units)")
        blocked = np.flatnonzero((status == RateStatus.BLOCKED) & ~reasons.rejected)
        if blocked.size:
            used, inverse = np.unique(entry[blocked], return_inverse=True)
            texts = [
                f"blocked destination ({self.rater.friendly_name(e)}, prefix {self.rater.matched_prefix(e)})"
                for e in used.tolist()
            ]
            reasons.add_coded(blocked, inverse.astype(np.int32), texts, "")
        reasons.add(status == RateStatus.BAD_DESTINATION, "to: missing")

    def _rated_columns(self, rated: RatedColumns, ok: BoolArray | None) -> list[pa.Array]:
        """charge, currency, matched_prefix, billed_s and rate; null where `ok` is False (or
        no nulls with `ok` None); text columns as TEXT_IDS."""
        r = self.rater
        valid = np.ones(rated.charge.size, dtype=np.bool_) if ok is None else ok
        return [
            _decimal_column(rated.charge, valid),
            encoded_texts(rated.currency, valid, lambda ids: [r.currencies[i].code for i in ids.tolist()]),
            encoded_texts(rated.entry, valid, self._prefix_texts),
            pa.array(rated.billed_s, mask=None if ok is None else ~ok),
            encoded_texts(rated.price, valid, self._rate_text_list),
        ]

    def _prefix_texts(self, entries: Int64Array) -> pa.Array:
        return pa.array(self.rater.matched_prefix_digits(entries)).cast(pa.string())

    def _rate_text_list(self, slots: Int64Array) -> list[str]:
        cache = self._rate_texts
        out = []
        for s in slots.tolist():
            text = cache.get(s)
            if text is None:
                text = cache[s] = self.rater.rate_text(s)
            out.append(text)
        return out


def _bare(reasons: tuple[str, ...]) -> tuple[str, ...]:
    """Reasons a number was refused, without the `invalid phone number '...': ` that the scalar
    parser's errors open with: a row reads the same reason whichever parser refused its number
    (the rejects file has the number beside it)."""
    return tuple(_NUMBER_ERROR.sub("", r) for r in reasons)


def _decimal_column(units: Int64Array, valid: BoolArray) -> pa.Array:
    """decimal128 values from integer units, through the buffers (16-byte little-endian)."""
    words = np.empty((units.size, 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = units >> 63
    validity = None if valid.all() else pa.array(valid).buffers()[1]
    return pa.Array.from_buffers(CHARGE_TYPE, units.size, [validity, pa.py_buffer(words)])


def _reason_column(reasons: Reasons, rows: Int64Array | None = None) -> pa.Array:
    """Reasons as TEXT_IDS (null where none), of every row or of `rows` (all of them rejected)."""
    code = reasons.code if rows is None else reasons.code[rows]
    valid = code >= 0
    return encoded_texts(code, valid, lambda ids: [reasons.texts[i] for i in ids.tolist()])
