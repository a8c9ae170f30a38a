"""Calls billed twice in a carrier's files: rows whose caller, callee, start and duration are
those of an earlier row of the same run.

Call ids are not compared: a carrier that numbers calls per line (as the UK sample does) repeats
them, and a call billed twice may carry two ids. A row's key is a 128-bit BLAKE2b digest of its
four cells as written; two different calls share a digest with a probability far below that of
a memory error, so equal digests are taken as equal keys.

The digests of the distinct calls seen so far are kept sorted in a few runs, with where each
was first seen (file and row): 24 bytes per distinct call, whatever the width of the rows. A
run is merged with the one before it once it has grown to half that one's size, so each digest
is merged a logarithmic number of times.
"""

from __future__ import annotations

from collections.abc import Callable
from hashlib import blake2b
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from telebill.adapters.cdr_arrow import CdrMapping
from telebill.adapters.cdr_columns import Reasons
from telebill.adapters.cdr_compare import call_columns, column_of
from telebill.adapters.cdr_times import instants_us, joined
from telebill.domain.errors import InvalidInput

BoolArray = npt.NDArray[np.bool_]
Int64Array = npt.NDArray[np.int64]
DigestArray = npt.NDArray[np.bytes_]

_DIGEST: Final = np.dtype("S16")
_ROW_BITS: Final = 40  # a location is file index << 40 | row number (1-based)
_SEPARATOR: Final = "\x1f"  # the ASCII unit separator: cannot be mistaken for a cell's own text
_SLICE: Final = 65_536


def location(file_index: int, rows: Int64Array) -> Int64Array:
    """The locations of rows (1-based numbers) of the `file_index`-th file."""
    if file_index >= 1 << (63 - _ROW_BITS) or (rows.size and int(rows.max()) >= 1 << _ROW_BITS):
        raise InvalidInput("too many files, or rows in one file, to number (2^23 files, 2^40 rows)")
    return (np.int64(file_index) << _ROW_BITS) | rows.astype(np.int64)


def file_and_row(at: int) -> tuple[int, int]:
    return at >> _ROW_BITS, at & ((1 << _ROW_BITS) - 1)


def row_name(at: int, file_names: list[str]) -> str:
    """`FILE row N` of a location, as reasons and disputes name the first copy of a call."""
    file_index, row = file_and_row(at)
    return f"{file_names[file_index]} row {row}"


def call_keys(origin: pa.Array, destination: pa.Array, start_us: pa.Array, duration_s: pa.Array) -> pa.Array:
    """Each row's key as text: the numbers as written (trimmed), the start instant and the
    duration in seconds, joined; null where one is missing or blank (a CSV reads an empty cell
    as "", Parquet as null: the same call either way)."""
    cells = []
    for column in (origin, destination, start_us, duration_s):
        trimmed = pc.utf8_trim_whitespace(column.cast(pa.string()))
        cells.append(pc.if_else(pc.equal(pc.utf8_length(trimmed), 0), pa.scalar(None, pa.string()), trimmed))
    joined: pa.Array = pc.binary_join_element_wise(*cells, _SEPARATOR)
    return joined


def batch_keys(batch: pa.RecordBatch, mapping: CdrMapping, cells: list[pa.Array] | None = None) -> pa.Array:
    """The keys of a batch's rows: the start is compared as the instant it stands for, so
    `10:00:00Z` and `11:00:00+01:00`, or a text and a Parquet timestamp, are the same start.
    `cells`: the batch's `call_columns`, if already made."""
    cells = cells if cells is not None else call_columns(batch, mapping)
    start = column_of(batch, mapping.start_time, "start_time")
    if mapping.start_date:
        start = joined(column_of(batch, mapping.start_date, "start_date"), start)
    us, ok = instants_us(start, mapping.time_format, "start_time", Reasons(batch.num_rows), mapping.timezone)
    return call_keys(cells[1], cells[2], pa.array(us, mask=~ok), cells[4])


def _digests(keys: pa.Array) -> tuple[Int64Array, DigestArray]:
    """The rows that have a key, and their keys' digests; hashed a slice at a time, so that
    the Python objects made for hashing stay few whatever the batch size."""
    rows: list[Int64Array] = []
    parts: list[bytes] = []
    for start in range(0, len(keys), _SLICE):
        texts = keys.slice(start, _SLICE).cast(pa.binary()).to_pylist()
        rows.append(np.fromiter((start + i for i, t in enumerate(texts) if t), dtype=np.int64))
        parts.append(b"".join(blake2b(t, digest_size=16).digest() for t in texts if t))
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=_DIGEST)
    return np.concatenate(rows), np.frombuffer(b"".join(parts), dtype=_DIGEST)


class SeenCalls:
    """The calls of a run so far, by key."""

    def __init__(self) -> None:
        self._runs: list[tuple[DigestArray, Int64Array]] = []

    def earlier(self, keys: pa.Array, locations: Int64Array) -> Int64Array:
        """For each row, the location of an earlier row with the same key (before it in this
        batch, or in an earlier one), else -1; then this batch's new keys are remembered. A row
        without a key (null, or empty) is never a duplicate and is not remembered."""
        out = np.full(len(keys), -1, dtype=np.int64)
        rows, digests = _digests(keys)
        if not rows.size:
            return out
        distinct, first, inverse = np.unique(digests, return_index=True, return_inverse=True)
        first_at = locations[rows[first]]
        before = np.full(distinct.size, -1, dtype=np.int64)
        for run, run_at in self._runs:
            pos = np.searchsorted(run, distinct)
            inside = pos < run.size
            found = np.zeros(distinct.size, dtype=np.bool_)
            found[inside] = run[pos[inside]] == distinct[inside]
            found &= before < 0
            before[found] = run_at[pos[found]]
        inverse = inverse.reshape(-1)
        is_first = first[inverse] == np.arange(rows.size)
        out[rows] = np.where(before[inverse] >= 0, before[inverse], np.where(is_first, -1, first_at[inverse]))
        new = before < 0
        self._remember(distinct[new], first_at[new])
        return out

    def _remember(self, digests: DigestArray, at: Int64Array) -> None:
        if not digests.size:
            return
        self._runs.append((digests, at))
        while len(self._runs) > 1 and self._runs[-1][0].size * 2 >= self._runs[-2][0].size:
            (a, a_at), (b, b_at) = self._runs[-2], self._runs[-1]
            merged = np.concatenate([a, b])
            order = np.argsort(merged, kind="stable")
            self._runs[-2:] = [(merged[order], np.concatenate([a_at, b_at])[order])]

    @property
    def distinct(self) -> int:
        return sum(run.size for run, _ in self._runs)


class RunRepeats:
    """The rows of a run of files that repeat an earlier row, as reasons to reject them (`telebill
    rate-cdrs --reject-duplicates`)."""

    def __init__(self, file_names: list[str], mapping: CdrMapping) -> None:
        self._seen = SeenCalls()
        self._file_names = file_names
        self._mapping = mapping

    def reasons(self, batch: pa.RecordBatch, file_index: int, first_row: int) -> Callable[[Reasons], None]:
        """A function that, given the reasons the rater found for `batch` (rows `first_row + 1`...
        of the `file_index`-th file), rejects each row that repeats an earlier rated row as
        `duplicate of FILE row N`. Only rated rows count as billed: a rejected row's copy may
        still be rated. Call it once per batch, in the run's order."""
        keys = batch_keys(batch, self._mapping)
        rows = np.arange(first_row + 1, first_row + batch.num_rows + 1, dtype=np.int64)

        def add(reasons: Reasons) -> None:
            rated_keys = pc.if_else(pa.array(reasons.rejected), pa.scalar(None, pa.string()), keys)
            earlier = self._seen.earlier(rated_keys, location(file_index, rows))
            repeats = np.flatnonzero(earlier >= 0)
            if repeats.size:
                firsts, codes = np.unique(earlier[repeats], return_inverse=True)
                texts = [f"duplicate of {row_name(at, self._file_names)}" for at in firsts.tolist()]
                reasons.add_coded(repeats, codes.reshape(-1).astype(np.int32), texts, "")

        return add
