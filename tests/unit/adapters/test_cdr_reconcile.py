"""Reconciling a carrier's CDR file: disputes beyond the tolerance, rejects named by file and row."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_cdr_arrow import DECK, rater

from telebill.adapters.cdr_reconcile import DISPUTE_SCHEMA, CarrierCost, reconcile_files
from telebill.domain.charge_comparison import Tolerance, Verdict
from telebill.domain.destination_names import DestinationNames
from telebill.domain.errors import InvalidInput

# Our charges (test_cdr_arrow's deck): k1 0.200000 (44, 2 min at 0.10), k2 0.003900 (447),
# k3 0.062000 (33); k4 cannot be priced (81), k5 blocked (882).
HEADER = "call_id,from,to,start_time,duration_s,rate,billed\n"
ROWS = [
    "k1,,+442079460018,2026-02-01T10:00:00Z,61,x,0.2001\n",  # +0.0001: exactly at the tolerance
    "k2,,+447700900123,2026-02-01T10:00:00Z,7,x,0.003799\n",  # -0.000101: just beyond it
    "k3,,0033142278186,2026-02-01T10:00:00Z,31,x, 0.07 \n",  # +0.008
    "k4,,+81312345678,2026-02-01T10:00:00Z,60,x,0.50\n",
    "k5,,+882345678901,2026-02-01T10:00:00Z,60,x,0.10\n",
    "k6,,+442079460018,2026-02-01T10:00:00Z,60,x,12p\n",
]
NAMES = DestinationNames([DECK])


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def carrier_file(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def test_disputes_are_calls_beyond_the_tolerance_and_calls_we_cannot_price_or_read(tmp_path: Path) -> None:
    source = carrier_file(tmp_path / "carrier.csv", ROWS)
    report = reconcile_files([source], tmp_path / "d.csv", tmp_path / "s.csv", "csv", rater(), NAMES,
                             CarrierCost("billed"), Tolerance(), batch_rows=4)  # fmt: skip
    assert (report.read, report.checked, report.disputed, report.rejected) == (6, 3, 2, 3)
    assert report.balanced
    assert report.verdicts[Verdict.NOT_PRICED] == 2
    assert report.verdicts[Verdict.BAD_AMOUNT] == 1
    rows = read_csv(tmp_path / "d.csv")
    assert list(rows[0]) == DISPUTE_SCHEMA.names
    got = [(r["row"], r["call_id"], r["status"], r["carrier_cost"], r["our_charge"], r["difference"], r["reason"])
           for r in rows]  # fmt: skip
    assert got == [
        ("2", "k2", "underbilled", "0.003799", "0.003900", "-0.000101", ""),
        ("3", "k3", "overbilled", "0.070000", "0.062000", "0.008000", ""),
        ("4", "k4", "not priced", "0.500000", "", "", "no price in plan p"),
        ("5", "k5", "not priced", "0.100000", "", "", "blocked destination (Networks, prefix 882)"),
        ("6", "k6", "bad amount", "", "0.100000", "", "billed: not a decimal amount: '12p'"),
    ]
    k3 = rows[1]
    assert (k3["matched_prefix"], k3["rate"], k3["billed_s"], k3["destination"], k3["country"]) == (
        "33",
        "0.02",
        "36",
        "France",
        "FR",
    )
    assert report.unpriced_carrier_micros == 600_000
    eur = report.totals.per_currency()["EUR"]
    assert eur == {
        "calls": 3,
        "disputed": 2,
        "overbilled_calls": 1,
        "underbilled_calls": 1,
        "duplicate_calls": 0,
        "carrier_total": 273_899,
        "expected_total": 265_900,
        "overbilled": 8_000,
        "underbilled": 101,
    }


def test_a_looser_tolerance_or_a_relative_one_turns_disputes_into_agreements(tmp_path: Path) -> None:
    source = carrier_file(tmp_path / "carrier.csv", ROWS[:3])
    loose = reconcile_files([source], tmp_path / "d.csv", tmp_path / "s.csv", "csv", rater(), NAMES,
                            CarrierCost("billed"), Tolerance.of(Decimal("0.000101")))  # fmt: skip
    assert [r["call_id"] for r in read_csv(tmp_path / "d.csv")] == ["k3"]
    assert loose.disputed == 1
    relative = reconcile_files([source], tmp_path / "d.csv", tmp_path / "s.csv", "csv", rater(), NAMES,
                               CarrierCost("billed"), Tolerance.of(Decimal(0), Decimal("12.9")))  # fmt: skip
    # k3: 0.008 is 12.903 % of 0.062 -> still disputed; k2: 0.000101 is 2.6 % of 0.0039 -> agreed
    assert [r["call_id"] for r in read_csv(tmp_path / "d.csv")] == ["k3"]
    assert relative.disputed == 1
    reconcile_files([source], tmp_path / "d.csv", tmp_path / "s.csv", "csv", rater(), NAMES,
                    CarrierCost("billed"), Tolerance.of(Decimal(0), Decimal("12.91")))  # fmt: skip
    assert read_csv(tmp_path / "d.csv") == []


def test_a_cost_scale_reads_hundredths_and_rows_are_numbered_per_file(tmp_path: Path) -> None:
    first = carrier_file(tmp_path / "a.csv", ["k1,,+442079460018,2026-02-01T10:00:00Z,61,x,20\n"])
    second = carrier_file(tmp_path / "b.csv", ["k3,,0033142278186,2026-02-01T10:00:00Z,31,x,6.2\n",
                                               "k1,,+442079460018,2026-02-01T10:05:00Z,61,x,21\n"])  # fmt: skip
    report = reconcile_files([first, second], tmp_path / "d.parquet", tmp_path / "s.parquet", "parquet", rater(),
                             NAMES, CarrierCost("billed", Decimal("0.01")), Tolerance())  # fmt: skip
    assert (report.read, report.checked, report.disputed) == (3, 3, 1)
    disputes = pq.read_table(tmp_path / "d.parquet").to_pylist()
    assert [(d["file"], d["row"], d["carrier_cost"], d["difference"]) for d in disputes] == [
        ("b.csv", 2, Decimal("0.210000"), Decimal("0.010000"))
    ]
    summary = pq.read_table(tmp_path / "s.parquet").to_pylist()
    assert [(s["destination"], s["calls"], s["overbilled"], s["difference"]) for s in summary] == [
        ("United Kingdom", 2, Decimal("0.010000"), Decimal("0.010000")),
        ("France", 1, Decimal("0.000000"), Decimal("0.000000")),
    ]


def test_a_missing_cost_column_is_named(tmp_path: Path) -> None:
    source = carrier_file(tmp_path / "carrier.csv", ROWS[:1])
    with pytest.raises(InvalidInput, match="'cost'"):
        reconcile_files([source], tmp_path / "d.csv", tmp_path / "s.csv", "csv", rater(), NAMES,
                        CarrierCost("cost"), Tolerance())  # fmt: skip


def test_a_call_billed_twice_is_disputed_in_full_at_its_second_row_whatever_its_id(tmp_path: Path) -> None:
    us = "+14155550100"
    first = carrier_file(tmp_path / "a.csv", [
        f"k1,{us},+442079460018,2026-02-01T10:00:00Z,61,x,0.20\n",
        f"k2,{us},+442079460018,2026-02-01T10:00:00Z,62,x,0.30\n",  # another duration: another call
        "k1, +14155550101 ,+442079460018,2026-02-01T10:00:00Z,61,x,0.20\n",  # another caller
        "k7,,+442079460018,2026-02-01T10:00:00Z,61,x,0.20\n",  # no caller: never a duplicate
    ])  # fmt: skip
    second = carrier_file(tmp_path / "b.csv", [
        f"k9,{us}, +442079460018,2026-02-01T10:00:00Z,61,x,0.20\n",  # a.csv's first row, under another id
        f"k4,{us},+81312345678,2026-02-01T10:00:00Z,60,x,0.50\n",
        f"k4,{us},+81312345678,2026-02-01T10:00:00Z,60,x,0.50\n",  # twice, but we cannot price it
        f"k1,{us},+442079460018,2026-02-01T10:00:00Z,61,x,0.20\n",  # a third time
        "k7,,+442079460018,2026-02-01T10:00:00Z,61,x,0.20\n",
        f"z1,{us},+442079460018,2026-02-01T11:00:00Z,0,x,0\n",
        f"z2,{us},+442079460018,2026-02-01T11:00:00Z,0,x,0.00\n",  # a repeat costing nothing: agreed
        f"r1,{us},+447700900123,2026-02-01T12:00:00Z,7,x,-0.50\n",  # a credit (we expect 0.0039)
        f"r2,{us},+447700900123,2026-02-01T12:00:00Z,7,x,-0.50\n",  # credited again: underbilled
    ])  # fmt: skip
    report = reconcile_files([first, second], tmp_path / "d.csv", tmp_path / "s.csv", "csv", rater(), NAMES,
                             CarrierCost("billed"), Tolerance(), batch_rows=2)  # fmt: skip
    assert (report.read, report.checked, report.disputed, report.rejected) == (13, 11, 5, 2)
    assert report.verdicts[Verdict.DUPLICATE] == 2
    assert report.balanced
    rows = [(r["file"], r["row"], r["call_id"], r["status"], r["our_charge"], r["difference"], r["reason"])
            for r in read_csv(tmp_path / "d.csv")]  # fmt: skip
    assert rows == [
        ("a.csv", "2", "k2", "overbilled", "0.200000", "0.100000", ""),
        ("b.csv", "1", "k9", "duplicate", "0.000000", "0.200000", "billed before: a.csv row 1"),
        ("b.csv", "2", "k4", "not priced", "", "", "no price in plan p"),
        ("b.csv", "3", "k4", "not priced", "", "", "no price in plan p"),
        ("b.csv", "4", "k1", "duplicate", "0.000000", "0.200000", "billed before: a.csv row 1"),
        ("b.csv", "8", "r1", "underbilled", "0.003900", "-0.503900", ""),
        ("b.csv", "9", "r2", "underbilled", "0.000000", "-0.500000", "billed before: b.csv row 8"),
    ]
    summary = {r["destination"]: r for r in read_csv(tmp_path / "s.csv")}
    uk = summary["United Kingdom"]
    assert (uk["calls"], uk["disputed"], uk["duplicate_calls"], uk["overbilled"], uk["difference"]) == (
        "9", "3", "2", "0.500000", "0.500000")  # fmt: skip
    assert (uk["carrier_total"], uk["expected_total"]) == ("1.500000", "1.000000")
    mobile = summary["UK mobile"]
    assert (mobile["underbilled_calls"], mobile["underbilled"], mobile["duplicate_calls"]) == ("2", "1.003900", "0")


def test_a_copy_of_a_row_whose_cost_cannot_be_read_is_checked_not_disputed_as_billed_twice(tmp_path: Path) -> None:
    us = "+14155550100"
    source = carrier_file(tmp_path / "carrier.csv", [
        f"k1,{us},+442079460018,2026-02-01T10:00:00Z,61,x,\n",  # no cost: the carrier billed nothing readable
        f"k1,{us},+442079460018,2026-02-01T10:00:00Z,61,x,0.20\n",  # the call's one readable bill: agreed
        f"k1,{us},+442079460018,2026-02-01T10:00:00Z,61,x,0.20\n",  # billed again: a duplicate of row 2
    ])  # fmt: skip
    report = reconcile_files([source], tmp_path / "d.csv", tmp_path / "s.csv", "csv", rater(), NAMES,
                             CarrierCost("billed"), Tolerance())  # fmt: skip
    assert (report.verdicts[Verdict.BAD_AMOUNT], report.verdicts[Verdict.AGREED]) == (1, 1)
    assert report.verdicts[Verdict.DUPLICATE] == 1
    rows = [(r["row"], r["status"], r["reason"]) for r in read_csv(tmp_path / "d.csv")]
    assert rows == [("1", "bad amount", "billed: missing"), ("3", "duplicate", "billed before: carrier.csv row 2")]


def test_files_of_one_name_in_two_folders_are_named_by_their_paths(tmp_path: Path) -> None:
    us = "+14155550100"
    row = f"k1,{us},+442079460018,2026-02-01T10:00:00Z,61,x,0.20\n"
    (tmp_path / "jan").mkdir()
    (tmp_path / "feb").mkdir()
    jan, feb = carrier_file(tmp_path / "jan" / "cdrs.csv", [row]), carrier_file(tmp_path / "feb" / "cdrs.csv", [row])
    reconcile_files([jan, feb], tmp_path / "d.csv", tmp_path / "s.csv", "csv", rater(), NAMES,
                    CarrierCost("billed"), Tolerance())  # fmt: skip
    rows = [(r["file"], r["row"], r["status"], r["reason"]) for r in read_csv(tmp_path / "d.csv")]
    assert rows == [(str(feb), "1", "duplicate", f"billed before: {jan} row 1")]
