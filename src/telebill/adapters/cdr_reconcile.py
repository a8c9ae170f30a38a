"""Carrier invoice reconciliation: a carrier's CDR file rated with the carrier's own deck, and
the calls whose billed cost differs from ours by more than a tolerance.

Owns the comparison behind `telebill reconcile`. Each row of the carrier's file carries the
carrier's cost of the call (a column of decimal text, read exactly, optionally scaled), so each
batch is rated where it stands and compared with itself: no join. Disputed calls, calls we
cannot price and rows whose cost cannot be read go to the disputes file batch by batch (with the
file and row number they came from). A call the carrier billed twice is disputed in full at its
second row (cdr_duplicates.py). In memory stay the totals per destination and currency, and a
digest of each distinct call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
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
    column_of,
    destination_labels,
    write_report,
)
from telebill.adapters.cdr_duplicates import SeenCalls, batch_keys, location, row_name
from telebill.adapters.cdr_files import CountsDoNotAddUp, staged
from telebill.adapters.cdr_inputs import read_batches, read_errors
from telebill.adapters.cdr_names import file_labels
from telebill.domain.charge_comparison import Tolerance, Verdict, exact_sum, verdicts
from telebill.domain.destination_names import DestinationNames
from telebill.domain.errors import InvalidInput

BoolArray = npt.NDArray[np.bool_]
Int64Array = npt.NDArray[np.int64]

_RATING_COLUMNS: Final = frozenset(f.name for f in RATED_FIELDS)
DISPUTE_SCHEMA: Final = pa.schema(
    [
        pa.field("file", pa.string()),
        pa.field("row", pa.int64()),
        *CALL_FIELDS,
        pa.field("status", pa.string()),
        pa.field("carrier_cost", AMOUNT_TYPE),
        pa.field("our_charge", AMOUNT_TYPE),
        pa.field("difference", AMOUNT_TYPE),
        pa.field("currency", pa.string()),
        pa.field("matched_prefix", pa.string()),
        pa.field("rate", pa.string()),
        pa.field("billed_s", pa.int64()),
        pa.field("destination", pa.string()),
        pa.field("country", pa.string()),
        pa.field("reason", pa.string()),
    ]
)
SUMMARY_COUNTS: Final = ("calls", "disputed", "overbilled_calls", "underbilled_calls", "duplicate_calls")
SUMMARY_AMOUNTS: Final = ("carrier_total", "expected_total", "overbilled", "underbilled")


@dataclass(frozen=True)
class CarrierCost:
    """The column of the carrier's cost per call, and the factor to its currency units
    (`Decimal("0.01")` when the carrier writes pence and the deck prices pounds)."""

    column: str
    scale: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if not self.column.strip():
            raise InvalidInput("the cost column name is empty")
        if not self.scale.is_finite() or self.scale <= 0:
            raise InvalidInput(f"the cost scale must be a positive number, got {self.scale}")


@dataclass
class ReconcileReport:
    """Rows read and their verdicts, the carrier's amount on calls we cannot price (in micros;
    its currency is unknown), and the per-destination totals of the checked calls."""

    read: int = 0
    verdicts: dict[Verdict, int] = field(default_factory=lambda: dict.fromkeys(Verdict, 0))
    unpriced_carrier_micros: int = 0
    totals: GroupTotals = field(default_factory=lambda: GroupTotals(SUMMARY_COUNTS, SUMMARY_AMOUNTS))

    @property
    def checked(self) -> int:
        v = self.verdicts
        return v[Verdict.AGREED] + self.disputed

    @property
    def disputed(self) -> int:
        v = self.verdicts
        return v[Verdict.OVERBILLED] + v[Verdict.UNDERBILLED] + v[Verdict.DUPLICATE]

    @property
    def rejected(self) -> int:
        return self.verdicts[Verdict.NOT_PRICED] + self.verdicts[Verdict.BAD_AMOUNT]

    @property
    def balanced(self) -> bool:
        return self.read == self.checked + self.rejected


def reconcile_files(
    inputs: Sequence[Path],
    disputes: Path,
    summary: Path,
    fmt: str,
    rater: ArrowCdrRater,
    names: DestinationNames,
    cost: CarrierCost,
    tolerance: Tolerance,
    batch_rows: int = 1_000_000,
    progress: Callable[[int], None] | None = None,
) -> ReconcileReport:
    """Rate every row of the carrier's `inputs` with `rater` and compare with the carrier's cost;
    write disputes and rejected rows to `disputes` and the totals per destination to `summary`
    (format `fmt`). CountsDoNotAddUp if a row is not accounted for."""
    check_format(fmt)
    if not inputs:
        raise InvalidInput("no carrier CDR files given")
    if batch_rows < 1:
        raise InvalidInput(f"batch_rows must be positive, got {batch_rows}")
    report = ReconcileReport()
    seen = SeenCalls()
    file_names = file_labels(inputs)
    with staged(disputes, summary) as (disputes_part, summary_part):
        with ReportSink(disputes_part, DISPUTE_SCHEMA, fmt) as sink:
            for file_index, path in enumerate(inputs):
                _, batches = read_batches(path, batch_rows)
                row = 0
                for batch in batches:
                    where = _Where(file_names, file_index, row, seen)
                    with read_errors(path):  # a cell Arrow cannot convert, in this file
                        _reconcile_one(batch, where, rater, names, cost, tolerance, sink, report)
                    row += batch.num_rows
                    if progress is not None:
                        progress(batch.num_rows)
        write_report(summary_part, summary_table(report.totals), fmt)
        if not report.balanced:  # before the outputs replace anything
            raise CountsDoNotAddUp(
                f"read {report.read} rows but checked {report.checked} and rejected {report.rejected}"
            )
    return report


def summary_table(totals: GroupTotals) -> pa.Table:
    """The per-destination summary: the most money in dispute first."""
    return totals.table(
        derived=[("difference", lambda row: row["carrier_total"] - row["expected_total"])],
        order=lambda row: row["overbilled"] + row["underbilled"],
    )


@dataclass(frozen=True)
class _Where:
    """Where a batch stands: the run's files, this one's index, the rows before the batch in it,
    and the calls seen before it."""

    file_names: list[str]
    file_index: int
    first_row: int
    seen: SeenCalls


def _reconcile_one(
    batch: pa.RecordBatch,
    where: _Where,
    rater: ArrowCdrRater,
    names: DestinationNames,
    cost: CarrierCost,
    tolerance: Tolerance,
    sink: ReportSink,
    report: ReconcileReport,
) -> None:
    n = batch.num_rows
    cost_reasons = Reasons(n)
    carrier = amount_micros(column_of(batch, cost.column, "cost"), cost.column.strip(), cost_reasons, cost.scale)
    calls = batch.select([name for name in batch.schema.names if name not in _RATING_COLUMNS])
    rated = rater.rate_batch(calls)
    our_reason = as_array(rated.column(rated.schema.names.index("reject_reason")))
    priced = ~np.asarray(our_reason.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    ours = amount_micros(rated.column(rated.schema.names.index("charge")), "charge", Reasons(n))
    carrier_ok = ~cost_reasons.rejected
    cells = call_columns(calls, rater.mapping)
    rows = np.arange(where.first_row + 1, where.first_row + n + 1, dtype=np.int64)
    # only a row whose cost could be read billed its call: a copy of one that could not is checked
    keys = pc.if_else(pa.array(carrier_ok), batch_keys(calls, rater.mapping, cells), pa.scalar(None, pa.string()))
    earlier = where.seen.earlier(keys, location(where.file_index, rows))
    kind, diff, checked = verdicts(carrier, carrier_ok, ours, priced, tolerance, earlier >= 0)
    bad = kind == Verdict.BAD_AMOUNT
    cost_reasons.add(bad, "difference too large (over 2^63 micro-units)")
    repeated = (earlier >= 0) & checked  # agreed (costing nothing), underbilled (a credit) or duplicate
    reason = pc.if_else(pa.array(bad), _reason_texts(cost_reasons), our_reason)
    if repeated.any():
        reason = pc.if_else(pa.array(repeated), _billed_before(earlier, repeated, where.file_names), reason)
    ours = np.where(repeated, 0, ours)  # what we expect for a call billed before
    destination, country = destination_labels(as_array(rated.column(rated.schema.names.index("matched_prefix"))), names)
    status = pa.DictionaryArray.from_arrays(pa.array(kind.astype(np.int32)), pa.array([v.label for v in Verdict]))

    def rated_column(name: str) -> pa.Array:
        return as_array(rated.column(rated.schema.names.index(name)))

    sink.write(
        [
            pa.array([where.file_names[where.file_index]] * n, pa.string()),
            pa.array(rows),
            *cells,
            status.dictionary_decode(),
            decimal_column(carrier, carrier_ok),
            decimal_column(ours, priced),
            decimal_column(diff, checked),
            rated_column("currency"),
            rated_column("matched_prefix"),
            rated_column("rate"),
            rated_column("billed_s"),
            destination,
            country,
            reason,
        ],
        kind != Verdict.AGREED,
    )
    counted = np.bincount(kind, minlength=len(Verdict))
    for v in Verdict:
        report.verdicts[v] += int(counted[v])
    report.read += n
    report.unpriced_carrier_micros += exact_sum(carrier[(kind == Verdict.NOT_PRICED) & carrier_ok])
    report.totals.add(_summary_rows(kind, diff, carrier, ours, checked, rated_column("currency"), destination, country))


def _billed_before(earlier: Int64Array, duplicate: BoolArray, file_names: list[str]) -> pa.Array:
    """ "billed before: FILE row N" for each duplicate, naming the row that billed it first."""
    texts: list[str | None] = [None] * earlier.size
    for i in np.flatnonzero(duplicate).tolist():
        texts[i] = f"billed before: {row_name(int(earlier[i]), file_names)}"
    return pa.array(texts, pa.string())


def _reason_texts(reasons: Reasons) -> pa.Array:
    valid = reasons.code >= 0
    dictionary = pa.array([*reasons.texts, ""], pa.string())
    indices = pa.array(np.where(valid, reasons.code, 0).astype(np.int32), mask=~valid)
    return pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()


def _summary_rows(
    kind: npt.NDArray[np.int8],
    diff: Int64Array,
    carrier: Int64Array,
    ours: Int64Array,
    checked: BoolArray,
    currency: pa.Array,
    destination: pa.Array,
    country: pa.Array,
) -> pa.Table:
    """One row per checked call: counts, both amounts, and its difference as overbilled or
    underbilled (a positive amount) when the call is disputed; a duplicate's whole amount is
    overbilled."""
    duplicate = kind == Verdict.DUPLICATE
    over = kind == Verdict.OVERBILLED
    under = kind == Verdict.UNDERBILLED
    every = np.ones(kind.size, dtype=np.bool_)
    return pa.table(
        {
            "destination": destination,
            "country": country,
            "currency": currency,
            "calls": pa.array(np.ones(kind.size, dtype=np.int64)),
            "disputed": pa.array((over | under | duplicate).astype(np.int64)),
            "overbilled_calls": pa.array(over.astype(np.int64)),
            "underbilled_calls": pa.array(under.astype(np.int64)),
            "duplicate_calls": pa.array(duplicate.astype(np.int64)),
            "carrier_total": decimal_column(carrier, every),
            "expected_total": decimal_column(ours, every),
            "overbilled": decimal_column(np.where(over | duplicate, diff, 0), every),
            "underbilled": decimal_column(np.where(under, -diff, 0), every),
        }
    ).filter(pa.array(checked))
