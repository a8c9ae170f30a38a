"""CDR files read for rating, batch by batch: the column layout the inputs share, and their
batches streamed from CSV or Parquet, with errors that name the file (and line) that failed.

Owns reading CSV (`pyarrow.csv.open_csv`, every column as text so a late odd cell cannot
break type inference and the original spelling is written back unchanged) and Parquet
(`ParquetFile.iter_batches`); memory holds one batch at a time. Before anything is written, the
inputs' headers and metadata must agree on one column layout (`common_schema`); a file that
cannot be read fails naming it (`read_errors`), and a CSV row of the wrong width its line too,
which Arrow's streaming reader does not know, so the file is read again to find it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Self

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from telebill.adapters.cdr_names import input_format
from telebill.domain.errors import InvalidInput

_CSV_BYTES_PER_ROW: Final = 96
_LONGEST_HEADER: Final = 1 << 16  # a one-line CSV file longer than this is not taken for a header


def total_rows(paths: Sequence[Path]) -> int | None:
    """Rows in all the files when their metadata says so (Parquet), else None (CSV, or a file
    that cannot be read: reading it fails with the reason)."""
    if any(input_format(p) != "parquet" for p in paths):
        return None
    try:
        return sum(int(pq.ParquetFile(p).metadata.num_rows) for p in paths)
    except (pa.ArrowException, OSError):
        return None


def input_schema(path: Path) -> pa.Schema:
    """The columns of a CDR file, from its metadata (Parquet) or header (CSV: every column as
    text); InvalidInput naming the file when it cannot be read."""
    if input_format(path) == "parquet":
        with read_errors(path):
            return pq.read_schema(path)
    with _open_csv(path, 1 << 22) as probe:
        names = probe.schema.names
    return pa.schema([pa.field(name, pa.string()) for name in names])


def common_schema(paths: Sequence[Path]) -> pa.Schema:
    """The one column layout of `paths`: their common column names, each with the type of all the
    files, else one every file's values convert to exactly (int64 for integers of several
    widths, text for numbers and text); InvalidInput naming the file and column otherwise. Read
    from the files' headers and metadata, so a mismatch stops a run before it writes anything."""
    schemas = [input_schema(p) for p in paths]
    first = schemas[0]
    for path, schema in zip(paths[1:], schemas[1:], strict=True):
        if schema.names != first.names:
            raise InvalidInput(f"{path}: columns {schema.names} differ from those of {paths[0]} {first.names}")
    fields = []
    for i, f in enumerate(first):
        kinds = [schema.field(i).type for schema in schemas]
        kind = _common_type(kinds)
        if kind is None:
            other = next(j for j, k in enumerate(kinds) if _plain_type(k) != _plain_type(kinds[0]))
            raise InvalidInput(
                f"{paths[other]}: column {f.name!r} is {kinds[other]}, but {kinds[0]} in {paths[0]};"
                " convert the files to one type for it"
            )
        fields.append(f.with_type(kind))
    return pa.schema(fields, metadata=first.metadata)


def _plain_type(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.string() if pa.types.is_large_string(kind) else kind


def _common_type(kinds: Sequence[pa.DataType]) -> pa.DataType | None:
    if all(k == kinds[0] for k in kinds):
        return kinds[0]
    plain = {_plain_type(k) for k in kinds if not pa.types.is_null(k)}
    if len(plain) <= 1:
        return plain.pop() if plain else pa.null()
    if all(pa.types.is_integer(k) for k in plain) and pa.uint64() not in plain:
        return pa.int64()
    # each cell as text, as the rater reads a number column of any one type (`60.5` is not a whole number)
    if all(
        pa.types.is_integer(k) or pa.types.is_floating(k) or pa.types.is_decimal(k) or k == pa.string() for k in plain
    ):
        return pa.string()
    return None


@contextmanager
def read_errors(path: Path, bad_rows: Sequence[pcsv.InvalidRow] = ()) -> Iterator[None]:
    """Errors reading `path` (Arrow's, the file system's) as InvalidInput naming it; naming the
    line too when the error is a CSV row of the wrong width (seen in `bad_rows`)."""
    try:
        yield
    except (pa.ArrowException, OSError) as exc:
        if isinstance(exc, pa.ArrowInvalid) and bad_rows:
            row = bad_rows[0]
            line = _line_of_width(path, row.expected_columns)
            where = f"line {line}: " if line is not None else ""
            message = f"{where}expected {row.expected_columns} columns, got {row.actual_columns}: {row.text!r}"
        else:
            message = "empty file (no header row)" if str(exc) == "Empty CSV file" else str(exc)
        raise InvalidInput(f"{path}: {message}") from exc


def read_batches(
    path: Path, batch_rows: int, dictionaries: Sequence[str] = ()
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The schema of a CDR file and its batches of at most `batch_rows` rows. Text columns of
    a Parquet file named in `dictionaries` come as dictionaries (the schema keeps them as text).
    A file that cannot be read, now or while its batches are read, raises InvalidInput naming
    it (and, for a CSV row of the wrong width, its line)."""
    if input_format(path) == "parquet":
        with read_errors(path):
            text = [n for n in dictionaries if n in parquet_names(path)]
            parquet = pq.ParquetFile(path, read_dictionary=text or None)
        return parquet.schema_arrow, _checked(path, parquet.iter_batches(batch_size=batch_rows))
    names = input_schema(path).names
    block = min(max(batch_rows * _CSV_BYTES_PER_ROW, 1 << 20), 1 << 30)
    reader = _open_csv(path, block, dict.fromkeys(names, pa.string()))
    return reader.schema, _sliced(path, reader, batch_rows)


def _open_csv(path: Path, block_size: int, types: dict[str, pa.DataType] | None = None) -> _CsvReader:
    bad_rows: list[pcsv.InvalidRow] = []

    def refuse(row: pcsv.InvalidRow) -> str:
        bad_rows.append(row)  # to name it in the error
        return "error"

    def open_csv(source: Path | pa.BufferReader) -> pcsv.CSVStreamingReader:
        return pcsv.open_csv(
            source,
            read_options=pcsv.ReadOptions(block_size=block_size),
            parse_options=pcsv.ParseOptions(invalid_row_handler=refuse),
            convert_options=pcsv.ConvertOptions(column_types=types or {}),
        )

    with read_errors(path, bad_rows):
        try:
            reader = open_csv(path)
        except pa.ArrowInvalid:
            header = _header_only(path)  # read only when Arrow refuses the file
            if header is None:
                raise
            reader = open_csv(header)
    return _CsvReader(reader, bad_rows)


def _header_only(path: Path) -> pa.BufferReader | None:
    """A CSV file that is a header without a line break after it, with that line break added:
    Arrow's reader takes such a file for an empty one ("cannot infer number of columns") where
    it reads the same header with a line break as a file of no rows. Read decompressed, as
    Arrow reads the file (`.csv.gz`...). None for other files."""
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            data = stream.read(_LONGEST_HEADER + 1)
    except (pa.ArrowException, OSError):
        return None  # reading the path fails again, naming it
    if not data or len(data) > _LONGEST_HEADER or b"\n" in data or b"\r" in data:
        return None
    return pa.BufferReader(data + b"\n")


def _checked(path: Path, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    with read_errors(path):
        yield from batches


def _line_of_width(path: Path, expected: int) -> int | None:
    """The line of the first CSV record of `path` without `expected` fields (Arrow's streaming
    reader does not know it). Only read when the file has such a row, to name it."""
    with pa.input_stream(str(path)) as raw, io.TextIOWrapper(raw, encoding="utf-8", errors="replace") as text:
        records = csv.reader(text)
        for record in records:
            if record and len(record) != expected:
                return records.line_num
    return None


def parquet_names(path: Path) -> list[str]:
    """Names of the text columns of a Parquet file."""
    return [f.name for f in pq.read_schema(path) if pa.types.is_string(f.type)]


@dataclass(frozen=True)
class _CsvReader:
    """A CSV file's streaming reader, and the rows of the wrong width it met (to name them)."""

    reader: pcsv.CSVStreamingReader
    bad_rows: list[pcsv.InvalidRow]

    @property
    def schema(self) -> pa.Schema:
        return self.reader.schema

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reader.close()


def _sliced(path: Path, csv_reader: _CsvReader, batch_rows: int) -> Iterator[pa.RecordBatch]:
    with csv_reader, read_errors(path, csv_reader.bad_rows):
        for batch in csv_reader.reader:
            for start in range(0, batch.num_rows, batch_rows):
                yield batch.slice(start, batch_rows)
