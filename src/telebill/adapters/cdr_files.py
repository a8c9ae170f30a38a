"""CDR files in, rated and rejected CDR files out, streamed batch by batch.

Owns reading CSV (`pyarrow.csv.open_csv`, every column as text so a late odd cell cannot
break type inference and the original spelling is written back unchanged) and Parquet
(`ParquetFile.iter_batches`), splitting each rated batch into the output (input columns +
`charge`, `currency`, `matched_prefix`, `billed_s`, `rate`) and the rejects (input columns +
`reject_reason`), and the counts that prove no row was lost. Memory holds one batch at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol, Self

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from telebill.adapters.cdr_arrow import RATED_FIELDS, ArrowCdrRater
from telebill.domain.errors import InvalidInput, TelebillError

FORMATS: Final = ("csv", "parquet")
_CSV_BYTES_PER_ROW: Final = 96
_REASON: Final = "reject_reason"


class CountsDoNotAddUp(TelebillError):
    """Rows read != rows rated + rows rejected: a row went missing (a bug, never expected)."""


@dataclass
class RatingCounts:
    """Rows read, rated and rejected, and the total charge per currency code."""

    read: int = 0
    rated: int = 0
    rejected: int = 0
    charges: dict[str, Decimal] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.read == self.rated + self.rejected


def input_format(path: Path) -> str:
    """`csv` or `parquet`, from the file name (`.csv`, `.csv.gz`, `.parquet`, `.pq`)."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if ".csv" in name:
        return "csv"
    raise InvalidInput(f"{path}: cannot tell the format from the name (.csv or .parquet)")


def total_rows(paths: Sequence[Path]) -> int | None:
    """Rows in all the files when their metadata says so (Parquet), else None (CSV)."""
    if any(input_format(p) != "parquet" for p in paths):
        return None
    return sum(int(pq.ParquetFile(p).metadata.num_rows) for p in paths)


def read_batches(path: Path, batch_rows: int) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The schema of a CDR file and its batches of at most `batch_rows` rows."""
    if input_format(path) == "parquet":
        parquet = pq.ParquetFile(path)
        return parquet.schema_arrow, parquet.iter_batches(batch_size=batch_rows)
    block = min(max(batch_rows * _CSV_BYTES_PER_ROW, 1 << 20), 1 << 30)
    read_options = pcsv.ReadOptions(block_size=block)
    with pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=min(block, 1 << 22))) as probe:
        names = probe.schema.names
    convert = pcsv.ConvertOptions(column_types={name: pa.string() for name in names})
    reader = pcsv.open_csv(path, read_options=read_options, convert_options=convert)
    return reader.schema, _sliced(reader, batch_rows)


def _sliced(reader: pcsv.CSVStreamingReader, batch_rows: int) -> Iterator[pa.RecordBatch]:
    with reader:
        for batch in reader:
            for start in range(0, batch.num_rows, batch_rows):
                yield batch.slice(start, batch_rows)


class _Writer(Protocol):
    def write_batch(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None: ...


class _Sink:
    """A CSV or Parquet file being written batch by batch."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        self.schema = schema
        self._writer: _Writer
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(path, schema)
        else:
            self._writer = pcsv.CSVWriter(path, schema)

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self._writer.write_batch(batch)

    def close(self) -> None:
        self._writer.close()


class _Outputs:
    def __init__(self, out: Path, rejects: Path, fmt: str, rated_schema: pa.Schema, input_schema: pa.Schema) -> None:
        self.rated = _Sink(out, pa.schema([f for f in rated_schema if f.name != _REASON]), fmt)
        try:
            self.rejects = _Sink(rejects, pa.schema([*input_schema, rated_schema.field(_REASON)]), fmt)
        except BaseException:
            self.rated.close()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.rated.close()
        self.rejects.close()


def rate_cdr_files(
    inputs: Sequence[Path],
    out: Path,
    rejects: Path,
    fmt: str,
    rater: ArrowCdrRater,
    batch_rows: int = 1_000_000,
    progress: Callable[[int], None] | None = None,
) -> RatingCounts:
    """Rate every row of `inputs` (CSV or Parquet, one column layout) into `out` and `rejects`
    (format `fmt`); CountsDoNotAddUp if a row is neither rated nor rejected."""
    if fmt not in FORMATS:
        raise InvalidInput(f"output format {fmt!r} must be one of {', '.join(FORMATS)}")
    if not inputs:
        raise InvalidInput("no CDR files given")
    if batch_rows < 1:
        raise InvalidInput(f"batch_rows must be positive, got {batch_rows}")
    counts = RatingCounts()
    totals: dict[str, Decimal] = {}
    first_schema, first_batches = read_batches(inputs[0], batch_rows)
    input_names = first_schema.names
    with _Outputs(out, rejects, fmt, rater.output_schema(first_schema), first_schema) as outputs:
        for i, path in enumerate(inputs):
            schema, batches = (first_schema, first_batches) if i == 0 else read_batches(path, batch_rows)
            if schema.names != input_names:
                raise InvalidInput(f"{path}: columns {schema.names} differ from those of {inputs[0]} {input_names}")
            for batch in batches:
                _rate_one(batch.cast(first_schema) if batch.schema != first_schema else batch, rater, outputs, counts,
                          totals)  # fmt: skip
                if progress is not None:
                    progress(batch.num_rows)
    counts.charges = totals
    if not counts.balanced:
        raise CountsDoNotAddUp(f"read {counts.read} rows but rated {counts.rated} and rejected {counts.rejected}")
    return counts


def _rate_one(
    batch: pa.RecordBatch, rater: ArrowCdrRater, outputs: _Outputs, counts: RatingCounts, totals: dict[str, Decimal]
) -> None:
    result = rater.rate_batch(batch)
    rejected_mask = pc.is_valid(result.column(_REASON))
    rated = result.filter(pc.invert(rejected_mask)).select(outputs.rated.schema.names)
    rejected = result.filter(rejected_mask).select(outputs.rejects.schema.names)
    outputs.rated.write(rated)
    outputs.rejects.write(rejected)
    counts.read += batch.num_rows
    counts.rated += rated.num_rows
    counts.rejected += rejected.num_rows
    if rated.num_rows:
        sums = (
            pa.Table.from_batches([rated.select(["currency", "charge"])])
            .group_by("currency")
            .aggregate([("charge", "sum")])
        )
        for code, total in zip(sums.column("currency").to_pylist(), sums.column("charge_sum").to_pylist(), strict=True):
            totals[code] = totals.get(code, Decimal(0)) + total


__all__ = [
    "FORMATS",
    "RATED_FIELDS",
    "CountsDoNotAddUp",
    "RatingCounts",
    "input_format",
    "rate_cdr_files",
    "total_rows",
]
