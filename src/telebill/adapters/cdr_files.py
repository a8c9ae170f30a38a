"""CDR files rated into a rated and a rejects file (CSV or Parquet), streamed batch by batch,
with the counts that prove no row was lost.

Owns splitting each rated batch into the output (input columns + `charge`, `currency`,
`matched_prefix`, `billed_s`, `rate`) and the rejects (input columns + `reject_reason`), writing
both, and the counts. Memory holds one batch at a time. The inputs are read by `cdr_inputs`,
whose column layout is settled before anything is written; outputs are written under temporary
names and renamed into place only when the run completes (`staged`), so a failed run leaves
none half-written.
Parquet output is written for speed on one core: text columns arrive dictionary-encoded
(`ArrowCdrRater.split_batch`) and are stored as plain strings in the file's schema; dictionaries
only for text columns that repeat values; integer and time columns delta-encoded (ids and times
that climb, small counts of seconds); no compression for near-unique text; min/max statistics
only for columns that are neither text nor decimals.

Batch after batch allocates and frees the same few hundred megabytes of columns. Left to its
defaults, glibc's malloc hands much of that back to the kernel between batches (trimming the
heap, unmapping large blocks) and faults it in again page by page for the next one, which cost
up to a fifth of a run in system time. `batch_memory` asks malloc to keep freed memory (once
per process, Linux with glibc only) and has Arrow allocate from that malloc while it lasts (its
default pool, mimalloc, returns freed memory to the kernel too). Both are settings of the whole
process, so the commands that stream batches take them (entrypoints/cli), not this module's
functions, which a long-running process may call too.
"""

from __future__ import annotations

import base64
import ctypes
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol, Self

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from telebill.adapters.cdr_arrow import RATED_FIELDS, ArrowCdrRater
from telebill.adapters.cdr_columns import Reasons
from telebill.adapters.cdr_duplicates import RunRepeats
from telebill.adapters.cdr_inputs import common_schema, read_batches, read_errors
from telebill.adapters.cdr_names import FORMATS, file_labels, input_format
from telebill.domain.bulk_rating import CHARGE_DECIMALS
from telebill.domain.errors import InvalidInput, TelebillError

_REASON: Final = "reject_reason"
_COMPRESSION: Final = "snappy"
_Kinds = tuple[list[str], list[str]]  # columns that repeat values, near-unique columns


# glibc mallopt: blocks up to 32 MiB (its most) come from the heap; up to 1 GiB of freed heap is kept.
_M_TRIM_THRESHOLD: Final = -1
_M_MMAP_THRESHOLD: Final = -3
_MMAP_THRESHOLD: Final = 32 << 20
_TRIM_THRESHOLD: Final = 1 << 30


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


@cache
def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep the memory a batch frees for the next batch; False where
    there is no glibc (the defaults then stay)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it (and mallopt's meaning)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


@contextmanager
def batch_memory() -> Iterator[None]:
    """For a process that streams batches: malloc keeps freed memory for the next batch, and
    Arrow allocates from malloc while this lasts (if malloc could be told; else no change)."""
    if not keep_freed_memory():
        yield
        return
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


class _Writer(Protocol):
    def write_batch(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None: ...


class _Sink:
    """A CSV or Parquet file being written batch by batch. Batches come with `encoded` types
    (text columns as dictionaries); the file holds the `plain` schema (Parquet: its Arrow schema
    is stored as is, so the dictionaries are only an encoding of the file's text columns)."""

    def __init__(self, path: Path, plain: pa.Schema, encoded: pa.Schema, fmt: str, kinds: _Kinds) -> None:
        self.plain, self.encoded = plain, encoded
        self._decode = fmt != "parquet"
        self._writer: _Writer
        self._stored: dict[bytes, bytes] = {}
        if fmt == "parquet":
            # The file's Arrow schema, which readers apply to its columns (a timestamp's zone):
            # the plain one, not the dictionaries the batches arrive in. Written as the file's
            # key-value metadata at close: with store_schema=False the writer drops a schema's
            # metadata, and with True it would store the encoded schema.
            self._stored = {b"ARROW:schema": _ipc_schema(plain.remove_metadata())}
            repeated, unique = kinds
            # Delta encoding packs climbing ids and times, and small counts, tighter and faster
            # than a dictionary or plain values would.
            deltas = [f.name for f in plain if _is_integral(f.type)]
            names = set(encoded.names) - set(deltas)
            self._writer = pq.ParquetWriter(
                path,
                encoded,
                store_schema=False,  # `_stored` is the schema to store
                # near-unique text (the called number) costs much to compress for little
                compression={f.name: "none" if f.name in unique and _is_text(f.type) else _COMPRESSION for f in plain},
                use_dictionary=[n for n in repeated if n in names],
                column_encoding=dict.fromkeys(deltas, "DELTA_BINARY_PACKED"),
                # min/max of text columns cost much (dictionaries are decoded for them) and help little;
                # so do those of decimals (16 bytes each), and every row group spans the charges anyway
                write_statistics=[f.name for f in plain if not (_is_text(f.type) or pa.types.is_decimal(f.type))],
            )
        else:
            self._writer = pcsv.CSVWriter(path, plain)

    def write(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        if self._decode:
            decoded = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns]
            batch = pa.RecordBatch.from_arrays(decoded, schema=self.plain)
        self._writer.write_batch(batch)

    def close(self) -> None:
        if self._stored:
            assert isinstance(self._writer, pq.ParquetWriter)
            self._writer.add_key_value_metadata(self._stored)
        self._writer.close()


def _ipc_schema(schema: pa.Schema) -> bytes:
    """A schema as Arrow's Parquet writer stores it (`ARROW:schema`: base64 of its IPC form)."""
    return base64.b64encode(schema.serialize().to_pybytes())


def _is_integral(kind: pa.DataType) -> bool:
    """Stored as Parquet INT32 or INT64 (what the delta encoding takes)."""
    t = pa.types
    return bool(t.is_integer(kind) or t.is_timestamp(kind) or t.is_date(kind) or t.is_time(kind))


def _is_text(kind: pa.DataType) -> bool:
    t = pa.types
    return bool(t.is_string(kind) or t.is_large_string(kind) or t.is_binary(kind) or t.is_dictionary(kind))


class _Outputs:
    def __init__(
        self, out: Path, rejects: Path, fmt: str, rater: ArrowCdrRater, input_schema: pa.Schema, read: pa.Schema
    ) -> None:
        rated_schema = rater.output_schema(input_schema)
        rated_encoded, rejects_encoded = rater.split_schemas(read)
        kinds = rater.column_kinds(input_schema)
        plain = pa.schema([f for f in rated_schema if f.name != _REASON])
        self.rated = _Sink(out, plain, rated_encoded, fmt, kinds)
        try:
            plain = pa.schema([*input_schema, rated_schema.field(_REASON)])
            self.rejects = _Sink(rejects, plain, rejects_encoded, fmt, kinds)
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
    reject_duplicates: bool = False,
) -> RatingCounts:
    """Rate every row of `inputs` (CSV or Parquet, one column layout) into `out` and `rejects`
    (format `fmt`); CountsDoNotAddUp if a row is neither rated nor rejected. With
    `reject_duplicates`, a row with the caller, callee, start and duration of an earlier row
    of the run is rejected as its duplicate (cdr_duplicates.py)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"output format {fmt!r} must be one of {', '.join(FORMATS)}")
    if not inputs:
        raise InvalidInput("no CDR files given")
    if batch_rows < 1:
        raise InvalidInput(f"batch_rows must be positive, got {batch_rows}")
    repeats = RunRepeats(file_labels(inputs), rater.mapping) if reject_duplicates else None
    return _rate_files(inputs, out, rejects, fmt, rater, batch_rows, progress, repeats)


def _rate_files(
    inputs: Sequence[Path],
    out: Path,
    rejects: Path,
    fmt: str,
    rater: ArrowCdrRater,
    batch_rows: int,
    progress: Callable[[int], None] | None,
    repeats: RunRepeats | None,
) -> RatingCounts:
    counts = RatingCounts()
    totals: dict[str, int] = {}
    schema = common_schema(inputs)
    # The callers' numbers repeat: a Parquet file's dictionary of them is read as it is.
    repeated = [rater.mapping.origin] if input_format(inputs[0]) == "parquet" else []
    read_schema = pa.schema(
        [f.with_type(pa.dictionary(pa.int32(), f.type)) if f.name in repeated and pa.types.is_string(f.type) else f
         for f in schema]
    )  # fmt: skip
    with staged(out, rejects) as (out_part, rejects_part):
        with _Outputs(out_part, rejects_part, fmt, rater, schema, read_schema) as outputs:
            for file_index, path in enumerate(inputs):
                _, batches = read_batches(path, batch_rows, repeated)
                row = 0
                for batch in batches:
                    with read_errors(path):  # a cell Arrow cannot convert, in this file
                        conformed = _conform(batch, read_schema)
                        more = repeats.reasons(conformed, file_index, row) if repeats is not None else None
                        _rate_one(conformed, rater, outputs, counts, totals, more)
                    row += batch.num_rows
                    if progress is not None:
                        progress(batch.num_rows)
        if not counts.balanced:  # before the outputs replace anything
            raise CountsDoNotAddUp(f"read {counts.read} rows but rated {counts.rated} and rejected {counts.rejected}")
    counts.charges = {code: Decimal(units).scaleb(-CHARGE_DECIMALS) for code, units in totals.items()}
    return counts


@contextmanager
def staged(*paths: Path) -> Iterator[tuple[Path, ...]]:
    """Paths to write `paths` under, beside them: renamed onto them when the block completes,
    deleted when it fails, so that a failed run leaves no half-written output (and the files
    it would have replaced as they were)."""
    for path in paths:  # found now, not at the rename after a long run
        if path.is_dir():
            raise InvalidInput(f"{path} is a directory, not a file to write")
        if not path.parent.is_dir():
            raise InvalidInput(f"{path}: no directory {path.parent} to write it in")
    parts = tuple(p.with_name(f".{p.name}.{os.getpid()}.partial") for p in paths)
    try:
        yield parts
        # one rename per output: a failure between two (a vanished directory) can still leave
        # the first replaced, but never a part file behind
        for part, path in zip(parts, paths, strict=True):
            os.replace(part, path)
    except BaseException:
        for part in parts:
            part.unlink(missing_ok=True)
        raise


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` with the types of `schema` (a dictionary column kept as it is when its values
    have the type the schema's dictionary has)."""
    if batch.schema == schema:
        return batch
    columns = []
    for column, f in zip(batch.columns, schema, strict=True):
        if column.type == f.type:
            columns.append(column)
        elif pa.types.is_dictionary(f.type):
            same = pa.types.is_dictionary(column.type) and column.type.value_type == f.type.value_type
            plain = column.dictionary_decode() if pa.types.is_dictionary(column.type) and not same else column
            columns.append(plain if same else plain.cast(f.type.value_type).dictionary_encode())
        else:
            columns.append(column.cast(f.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _rate_one(
    batch: pa.RecordBatch,
    rater: ArrowCdrRater,
    outputs: _Outputs,
    counts: RatingCounts,
    totals: dict[str, int],
    more: Callable[[Reasons], None] | None,
) -> None:
    split = rater.split_batch(batch, more)
    outputs.rated.write(split.rated)
    outputs.rejects.write(split.rejects)
    counts.read += batch.num_rows
    counts.rated += split.rated.num_rows
    counts.rejected += split.rejects.num_rows
    for code, units in split.totals.items():
        totals[code] = totals.get(code, 0) + units


__all__ = [
    "FORMATS",
    "RATED_FIELDS",
    "CountsDoNotAddUp",
    "RatingCounts",
    "batch_memory",
    "input_format",
    "rate_cdr_files",
]
