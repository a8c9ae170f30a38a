"""Re-rating: a previous output of `rate_cdr_files` rated again with another plan, call by call.

Owns the comparison behind `telebill rerate`. No join is needed: every row of a previous output
(rated file or rejects file) still carries the call's own columns, so each batch is stripped of
the old rating columns, rated again where it stands, and compared with itself row by row. The
differences go to a report file batch by batch; only the totals per destination and currency
stay in memory. A row's old rating is its `charge`, `currency`, `matched_prefix` and `rate`
cells, or its `reject_reason`; a charge is read exactly (Parquet decimal or CSV text).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from telebill.adapters.cdr_amounts import AMOUNT_TYPE, amount_micros, decimal_column
from telebill.adapters.cdr_arrow import RATED_FIELDS, ArrowCdrRater
from telebill.adapters.cdr_columns import Reasons, as_array
from telebill.adapters.cdr_compare import (
    CALL_FIELDS,
    GroupTotals,
    ReportSink,
    call_columns,
    check_format,
    destination_labels,
    write_report,
)
from telebill.adapters.cdr_files import CountsDoNotAddUp, staged
from telebill.adapters.cdr_inputs import read_batches, read_errors
from telebill.domain.charge_comparison import Change, changes, rerate_difference
from telebill.domain.destination_names import DestinationNames
from telebill.domain.errors import InvalidInput

BoolArray = npt.NDArray[np.bool_]
Int64Array = npt.NDArray[np.int64]

_RATING_COLUMNS: Final = frozenset(f.name for f in RATED_FIELDS)
_SIDE: Final = (
    ("charge", AMOUNT_TYPE),
    ("currency", pa.string()),
    ("prefix", pa.string()),
    ("rate", pa.string()),
    ("reason", pa.string()),
)
DIFF_SCHEMA: Final = pa.schema(
    [
        *CALL_FIELDS,
        pa.field("change", pa.string()),
        *(pa.field(f"old_{name}", kind) for name, kind in _SIDE),
        *(pa.field(f"new_{name}", kind) for name, kind in _SIDE),
        pa.field("difference", AMOUNT_TYPE),
        pa.field("destination", pa.string()),
        pa.field("country", pa.string()),
    ]
)
SUMMARY_COUNTS: Final = ("calls", "changed", "newly_priced", "newly_rejected")
SUMMARY_AMOUNTS: Final = ("old_total", "new_total")
_QUIET: Final = (Change.UNCHANGED, Change.STILL_REJECTED)  # not written without `write_all`


@dataclass
class RerateReport:
    """Rows read, rows per `Change`, rows written to the diff file, and the per-destination
    totals (`totals.per_currency()` gives old and new totals per currency, in micros)."""

    read: int = 0
    changes: dict[Change, int] = field(default_factory=lambda: dict.fromkeys(Change, 0))
    written: int = 0
    totals: GroupTotals = field(default_factory=lambda: GroupTotals(SUMMARY_COUNTS, SUMMARY_AMOUNTS))

    @property
    def compared(self) -> int:
        return sum(self.changes.values())

    @property
    def balanced(self) -> bool:
        return self.read == self.compared


@dataclass(frozen=True)
class _Side:
    """One rating of a batch: priced or not, charge in micros, and its text columns."""

    ok: BoolArray
    micros: Int64Array
    currency: pa.Array
    prefix: pa.Array
    rate: pa.Array
    reason: pa.Array

    def columns(self) -> list[pa.Array]:
        return [decimal_column(self.micros, self.ok), self.currency, self.prefix, self.rate, self.reason]


def _cell_texts(batch: pa.RecordBatch, name: str) -> pa.Array:
    names = batch.schema.names
    if name not in names:
        return pa.nulls(batch.num_rows, pa.string())
    column = as_array(batch.column(names.index(name)))
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


def _old_side(batch: pa.RecordBatch) -> _Side:
    """The previous rating of each row. A reject reason, or an unreadable charge or currency,
    makes the row one the old rating did not price (with that reason)."""
    n = batch.num_rows
    reasons = Reasons(n)
    old_reason = _cell_texts(batch, "reject_reason")
    reasons.add(np.asarray(old_reason.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_), "rejected")
    if "charge" in batch.schema.names:
        micros = amount_micros(batch.column(batch.schema.names.index("charge")), "charge", reasons)
    else:
        micros = np.zeros(n, dtype=np.int64)
        reasons.add(np.ones(n, dtype=np.bool_), "charge: missing")
    currency = _cell_texts(batch, "currency")
    reasons.add(~np.asarray(currency.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_), "currency: missing")
    ok = ~reasons.rejected
    texts = pa.array([*reasons.texts, ""], pa.string())
    own = pa.DictionaryArray.from_arrays(pa.array(np.where(ok, 0, reasons.code), mask=ok), texts).dictionary_decode()
    reason = pc.coalesce(old_reason, own)
    keep = pa.array(ok)
    return _Side(
        ok,
        micros,
        pc.if_else(keep, currency, None),
        pc.if_else(keep, _cell_texts(batch, "matched_prefix"), None),
        pc.if_else(keep, _cell_texts(batch, "rate"), None),
        reason,
    )


def _new_side(rated: pa.RecordBatch) -> _Side:
    reason = _cell_texts(rated, "reject_reason")
    ok = ~np.asarray(reason.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    micros = amount_micros(rated.column(rated.schema.names.index("charge")), "charge", Reasons(rated.num_rows))
    return _Side(
        ok,
        micros,
        _cell_texts(rated, "currency"),
        _cell_texts(rated, "matched_prefix"),
        _cell_texts(rated, "rate"),
        reason,
    )


def rerate_files(
    previous: Sequence[Path],
    diffs: Path,
    summary: Path,
    fmt: str,
    rater: ArrowCdrRater,
    names: DestinationNames,
    old_names: DestinationNames | None = None,
    write_all: bool = False,
    batch_rows: int = 1_000_000,
    progress: Callable[[int], None] | None = None,
) -> RerateReport:
    """Rate every row of the `previous` outputs again with `rater`; write the calls whose charge
    changed (all calls with `write_all`) to `diffs` and the totals per destination to `summary`
    (format `fmt`). A call is grouped under the destination of its new matched prefix (`names`),
    else of its old one (`old_names`, default `names`). CountsDoNotAddUp if a row is lost."""
    check_format(fmt)
    if not previous:
        raise InvalidInput("no previous output files given")
    if batch_rows < 1:
        raise InvalidInput(f"batch_rows must be positive, got {batch_rows}")
    report = RerateReport()
    call_names: list[str] | None = None
    with staged(diffs, summary) as (diffs_part, summary_part):
        with ReportSink(diffs_part, DIFF_SCHEMA, fmt) as sink:
            for path in previous:
                schema, batches = read_batches(path, batch_rows)
                if "charge" not in schema.names and "reject_reason" not in schema.names:
                    raise InvalidInput(f"{path}: not an output of rate-cdrs (no charge or reject_reason column)")
                names_here = [n for n in schema.names if n not in _RATING_COLUMNS]
                if call_names is None:
                    call_names = names_here
                elif names_here != call_names:
                    raise InvalidInput(
                        f"{path}: call columns {names_here} differ from those of {previous[0]} {call_names}"
                    )
                for batch in batches:
                    with read_errors(path):  # a cell Arrow cannot convert, in this file
                        _compare_one(batch, call_names, rater, names, old_names, write_all, sink, report)
                    if progress is not None:
                        progress(batch.num_rows)
            report.written = sink.rows
        write_report(summary_part, summary_table(report.totals), fmt)
        if not report.balanced:  # before the outputs replace anything
            raise CountsDoNotAddUp(f"read {report.read} rows but compared {report.compared}")
    return report


def summary_table(totals: GroupTotals) -> pa.Table:
    """The per-destination summary, the largest absolute difference first."""
    return totals.table(
        derived=[("difference", lambda row: row["new_total"] - row["old_total"])],
        order=lambda row: abs(row["new_total"] - row["old_total"]),
    )


def _compare_one(
    batch: pa.RecordBatch,
    call_names: list[str],
    rater: ArrowCdrRater,
    names: DestinationNames,
    old_names: DestinationNames | None,
    write_all: bool,
    sink: ReportSink,
    report: RerateReport,
) -> None:
    calls = batch.select(call_names)
    old, new = _old_side(batch), _new_side(rater.rate_batch(calls))
    same_currency = np.asarray(
        pc.equal(old.currency, new.currency).fill_null(False).to_numpy(zero_copy_only=False), dtype=np.bool_
    )
    kind = changes(old.ok, new.ok, same_currency, old.micros, new.micros)
    diff, diff_valid = rerate_difference(kind, old.micros, new.micros)
    new_name, new_country = destination_labels(new.prefix, names)
    old_name, old_country = destination_labels(old.prefix, old_names or names)
    destination, country = pc.coalesce(new_name, old_name), pc.coalesce(new_country, old_country)
    change = pa.DictionaryArray.from_arrays(pa.array(kind.astype(np.int32)), pa.array([c.label for c in Change]))
    columns = [
        *call_columns(calls, rater.mapping),
        change.dictionary_decode(),
        *old.columns(),
        *new.columns(),
        decimal_column(diff, diff_valid),
        destination,
        country,
    ]
    sink.write(columns, None if write_all else ~np.isin(kind, _QUIET))
    counted = np.bincount(kind, minlength=len(Change))
    for c in Change:
        report.changes[c] += int(counted[c])
    report.read += batch.num_rows
    report.totals.add(_summary_rows(kind, old, new, destination, country))


def _summary_rows(
    kind: npt.NDArray[np.int8], old: _Side, new: _Side, destination: pa.Array, country: pa.Array
) -> pa.Table:
    """One row per call that either rating priced, in the currency of its new charge (else its
    old one); a call whose currency changed has a second row, in its old currency, carrying the
    old charge (so it counts once in each currency)."""
    moved = kind == Change.CURRENCY_CHANGED
    priced = kind != Change.STILL_REJECTED
    has_old = np.isin(kind, (Change.UNCHANGED, Change.CHANGED, Change.NEWLY_REJECTED))
    changed = (kind != Change.UNCHANGED).astype(np.int64)
    main = pa.table(
        {
            "destination": destination,
            "country": country,
            "currency": pc.coalesce(new.currency, old.currency),
            "calls": pa.array(np.ones(kind.size, dtype=np.int64)),
            "changed": pa.array(changed),
            "newly_priced": pa.array((kind == Change.NEWLY_PRICED).astype(np.int64)),
            "newly_rejected": pa.array((kind == Change.NEWLY_REJECTED).astype(np.int64)),
            "old_total": decimal_column(np.where(has_old, old.micros, 0), np.ones(kind.size, dtype=np.bool_)),
            "new_total": decimal_column(np.where(new.ok, new.micros, 0), np.ones(kind.size, dtype=np.bool_)),
        }
    ).filter(pa.array(priced))
    if not moved.any():
        return main
    rows = pa.array(np.flatnonzero(moved))
    count = len(rows)
    extra = pa.table(
        {
            "destination": destination.take(rows),
            "country": country.take(rows),
            "currency": old.currency.take(rows),
            "calls": pa.array(np.ones(count, dtype=np.int64)),
            "changed": pa.array(np.ones(count, dtype=np.int64)),
            "newly_priced": pa.array(np.zeros(count, dtype=np.int64)),
            "newly_rejected": pa.array(np.zeros(count, dtype=np.int64)),
            "old_total": decimal_column(old.micros[moved], np.ones(count, dtype=np.bool_)),
            "new_total": decimal_column(np.zeros(count, dtype=np.int64), np.ones(count, dtype=np.bool_)),
        }
    )
    return pa.concat_tables([main, extra])
