"""What the CDR comparison reports (`rerate`, `reconcile`) share: the call's own columns as a
report shows them, destination labels of matched prefixes, an output file written batch by
batch, and exact totals per destination and currency merged batch by batch.

Owns the `CALL_FIELDS` of a report row (call id, from, to, start and duration, read through the
same `CdrMapping` that rated the call) and `GroupTotals`, whose memory is one row per distinct
(destination, country, currency), never per call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol, Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from telebill.adapters.cdr_amounts import AMOUNT_TYPE
from telebill.adapters.cdr_arrow import CdrMapping
from telebill.adapters.cdr_columns import Reasons, as_array, whole_numbers
from telebill.adapters.cdr_names import FORMATS
from telebill.adapters.cdr_times import instants_us, joined
from telebill.domain.charge_comparison import micros_decimal
from telebill.domain.destination_names import DestinationNames
from telebill.domain.errors import InvalidInput
from telebill.domain.money import decimal_as_ratio

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

CALL_FIELDS: Final = (
    pa.field("call_id", pa.string()),
    pa.field("from", pa.string()),
    pa.field("to", pa.string()),
    pa.field("start_time", pa.string()),
    pa.field("duration_s", pa.int64()),
)
GROUP_KEYS: Final = ("destination", "country", "currency")
_DAY_US: Final = 86_400_000_000


def find_column(schema: pa.Schema, name: str) -> int | None:
    """Index of column `name`: an exact match, else the one match ignoring surrounding spaces."""
    names: list[str] = schema.names
    if name in names:
        return names.index(name)
    loose = [i for i, n in enumerate(names) if n.strip() == name.strip()]
    return loose[0] if len(loose) == 1 else None


def column_of(batch: pa.RecordBatch, name: str, role: str) -> pa.Array:
    index = find_column(batch.schema, name)
    if index is None:
        names = ", ".join(map(repr, batch.schema.names))
        raise InvalidInput(f"CDR column {name!r} ({role}) not found; the columns are {names}")
    return as_array(batch.column(index))


def _text(column: pa.Array) -> pa.Array:
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


def call_columns(batch: pa.RecordBatch, mapping: CdrMapping) -> list[pa.Array]:
    """The `CALL_FIELDS` of each row: cells as text as spelled (the start joined from its date and
    time columns when it has two), the duration in seconds as the rater reads it (null where it
    cannot be read); a missing call id column gives null ids."""
    n = batch.num_rows
    m = mapping
    index = find_column(batch.schema, m.call_id)
    call_id = _text(as_array(batch.column(index))) if index is not None else pa.nulls(n, pa.string())
    start = column_of(batch, m.start_time, "start_time")
    if m.start_date:
        start = joined(column_of(batch, m.start_date, "start_date"), start)
    reasons = Reasons(n)
    if m.duration_s:
        seconds = whole_numbers(column_of(batch, m.duration_s, "duration_s"), "duration_s", reasons)
    else:
        seconds = _seconds_to_end(batch, m, start, reasons)
    return [
        call_id,
        _text(column_of(batch, m.origin, "from")),
        _text(column_of(batch, m.destination, "to")),
        _text(start),
        pa.array(seconds, mask=reasons.rejected | (seconds < 0)),
    ]


def _seconds_to_end(batch: pa.RecordBatch, m: CdrMapping, start_column: pa.Array, reasons: Reasons) -> Int64Array:
    """Seconds from start to end, rounded up, as `ArrowCdrRater` counts them (without an end
    date, an end before the start is on the next day); -1 where negative."""
    assert m.end_time is not None
    start, _ = instants_us(start_column, m.time_format, "start_time", reasons, m.timezone)
    end_column = column_of(batch, m.end_time, "end_time")
    date_column = m.end_date or m.start_date
    if date_column:
        end_column = joined(column_of(batch, date_column, "end_date"), end_column)
    end, _ = instants_us(end_column, m.time_format, "end_time", reasons, m.timezone)
    if not m.end_date:
        end = np.where(end < start, end + _DAY_US, end)
    span = end - start
    seconds: Int64Array = np.where(span >= 0, -(-span // 1_000_000), -1)
    return seconds


def destination_labels(prefixes: pa.Array, names: DestinationNames) -> tuple[pa.Array, pa.Array]:
    """(friendly name, ISO country) of each matched prefix; null where the prefix is null, the
    name `prefix NNN` and an empty country for a prefix no deck of the plan has."""
    encoded = as_array(prefixes).cast(pa.string()).dictionary_encode()
    labels = [names.label(str(p)) for p in encoded.dictionary.to_pylist()]
    indices = encoded.indices
    name = pa.DictionaryArray.from_arrays(indices, pa.array([d.friendly_name for d in labels], pa.string()))
    country = pa.DictionaryArray.from_arrays(indices, pa.array([d.iso_country for d in labels], pa.string()))
    return name.dictionary_decode(), country.dictionary_decode()


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(f"output format {fmt!r} must be one of {', '.join(FORMATS)}")
    return fmt


class _Writer(Protocol):
    def write_batch(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None: ...


class ReportSink:
    """A CSV or Parquet report file written batch by batch, with a fixed schema."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        self.schema = schema
        self.rows = 0
        self._writer: _Writer
        if check_format(fmt) == "parquet":
            self._writer = pq.ParquetWriter(path, schema)
        else:
            self._writer = pcsv.CSVWriter(path, schema)

    def write(self, columns: Sequence[pa.Array], keep: BoolArray | None = None) -> None:
        batch = pa.RecordBatch.from_arrays(list(columns), schema=self.schema)
        if keep is not None and not keep.all():
            batch = batch.filter(pa.array(keep))
        if batch.num_rows:
            self._writer.write_batch(batch)
            self.rows += batch.num_rows

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def write_report(path: Path, table: pa.Table, fmt: str) -> None:
    """A whole (small) report table, such as a summary, as CSV or Parquet."""
    if check_format(fmt) == "parquet":
        pq.write_table(table, path)
    else:
        pcsv.write_csv(table, path)


def _micros(value: Decimal | int | None) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    numerator, denominator = decimal_as_ratio(value)
    return numerator * 10**6 // denominator


class GroupTotals:
    """Counts and exact amounts per (destination, country, currency), merged batch by batch.

    Each `add` takes a table with the `GROUP_KEYS` columns (strings), the count columns (int64)
    and the amount columns (decimal128(38, 6)); the amounts are kept as Python ints of micros.
    """

    def __init__(self, counts: Sequence[str], amounts: Sequence[str]) -> None:
        self.counts = tuple(counts)
        self.amounts = tuple(amounts)
        self.groups: dict[tuple[str, str, str], list[int]] = {}

    def add(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        values = (*self.counts, *self.amounts)
        keys = [pc.fill_null(table.column(k), "") for k in GROUP_KEYS]
        filled = pa.table([*keys, *(table.column(v) for v in values)], names=[*GROUP_KEYS, *values])
        sums = filled.group_by(list(GROUP_KEYS)).aggregate([(v, "sum") for v in values])
        key_lists = [sums.column(k).to_pylist() for k in GROUP_KEYS]
        value_lists = [sums.column(f"{v}_sum").to_pylist() for v in values]
        for i, key in enumerate(zip(*key_lists, strict=True)):
            totals = self.groups.setdefault(key, [0] * len(values))
            for j, column in enumerate(value_lists):
                totals[j] += _micros(column[i])

    def per_currency(self) -> dict[str, dict[str, int]]:
        """Every count and amount summed over destinations, per currency code."""
        out: dict[str, dict[str, int]] = {}
        names = (*self.counts, *self.amounts)
        for (_, _, code), totals in self.groups.items():
            into = out.setdefault(code, dict.fromkeys(names, 0))
            for name, value in zip(names, totals, strict=True):
                into[name] += value
        return dict(sorted(out.items()))

    def table(
        self,
        derived: Sequence[tuple[str, Callable[[dict[str, int]], int]]] = (),
        order: Callable[[dict[str, int]], int] | None = None,
    ) -> pa.Table:
        """One row per group: keys, counts, amounts and `derived` amounts (name, f(row)),
        largest `order(row)` first (then by destination, country, currency)."""
        names = (*self.counts, *self.amounts)
        rows = []
        for key, totals in self.groups.items():
            row = dict(zip(names, totals, strict=True))
            row.update({name: f(row) for name, f in derived})
            rows.append((key, row))
        rows.sort(key=lambda kr: (-(order(kr[1]) if order else 0), kr[0]))
        columns: dict[str, pa.Array] = {
            k: pa.array([kr[0][i] for kr in rows], pa.string()) for i, k in enumerate(GROUP_KEYS)
        }
        for name in self.counts:
            columns[name] = pa.array([kr[1][name] for kr in rows], pa.int64())
        for name in (*self.amounts, *(n for n, _ in derived)):
            columns[name] = pa.array([micros_decimal(kr[1][name]) for kr in rows], AMOUNT_TYPE)
        return pa.table(columns)
