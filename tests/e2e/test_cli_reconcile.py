"""`telebill reconcile` through the real console script: the UK sample against a hand-made GBP
deck, and hand-verified disputes on a small file in the same layout, in CSV and Parquet."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from e2e_cli import Telebill

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "sample-cdrs-uk.csv"
SAMPLE_ROWS = 42_238

# The carrier's deck: UK prices per minute in GBP, whole minutes, rounded to the penny.
DECK_HEADER = (
    "kind,prefix,origin,friendly_name,country,base_price,current_price,connection_fee,increments,blocked,rounding\n"
)
CARRIER_DECK = (
    DECK_HEADER
    + """voice,44,ALL,United Kingdom,GB,0.10,0.10,0,60/60,false,half_up:2
voice,441,ALL,UK geographic 01,GB,0.04,0.04,0,60/60,false,half_up:2
voice,442,ALL,UK geographic 02,GB,0.04,0.04,0,60/60,false,half_up:2
voice,447,ALL,UK mobile,GB,0.25,0.25,0,60/60,false,half_up:2
voice,448,ALL,UK non-geographic 08,GB,0.08,0.08,0,60/60,false,half_up:2
voice,449,ALL,UK premium rate 09,GB,1.50,1.50,0,60/60,false,half_up:2
"""
)
# The sample's layout; Cost in pence. Expected: 1) 13 min x 0.04 = 0.52; 2) 9 min x 0.08 = 0.72;
# 3) 9 min x 0.25 = 2.25, billed 2.30; 4) 150 s -> 3 min x 0.04 = 0.12, billed 0.10; 5) no price;
# 6) an unreadable cost; 7) 0.52 billed 0.53: exactly at a 0.01 tolerance.
CARRIER_CDRS = """callID, phoneNumber, Line, destPhoneNumber, startDate, endDate, startTime, endTime, Type, Cost
1,1650333333,1,1657777772,22/01/2014,22/01/2014,18:30:00,18:43:00,Local,52
2,1650333333,1,8450927777,3/1/2014,3/1/2014,11:00:00,11:09:00,National,72
3,1650333333,0,7739000000,10/1/2014,10/1/2014,16:45:00,16:54:00,Mobile,230
4,1650333333,0,2079460018,11/1/2014,11/1/2014,10:00:00,10:02:30,Local,10
5,1650333333,0,64000000000,28/01/2014,28/01/2014,21:50:00,22:03:00,Intl,390
6,1650333333,0,1657777772,12/1/2014,12/1/2014,09:00:00,09:01:00,Local,n/a
7,1650333333,1,1657777772,13/1/2014,13/1/2014,18:30:00,18:43:00,Local,53
"""
RECONCILE = ("--plan", "bt", "--preset", "uk-sample", "--cost-column", "Cost", "--cost-scale", "0.01")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def carrier_plan(telebill: Telebill) -> None:
    """The carrier's deck, and a plan whose only tier points at it."""
    (telebill.cwd / "bt.csv").write_text(CARRIER_DECK, encoding="utf-8")
    telebill.run("decks", "import", "bt.csv", "--name", "bt", "--currency", "GBP", "--effective-from", "2013-01-01")
    telebill.run("plans", "create", "bt", "--international", "bt")


def counted(stdout: str) -> tuple[int, int, int, int, int]:
    match = re.search(r"read (\d+) rows: (\d+) checked, (\d+) rejected \((\d+) not priced, (\d+) bad amount\)", stdout)
    assert match, stdout
    read, checked, rejected, not_priced, bad = (int(g) for g in match.groups())
    assert read == checked + rejected == checked + not_priced + bad, stdout
    return read, checked, rejected, not_priced, bad


def test_the_uk_sample_is_checked_or_rejected_row_for_row_against_the_carrier_deck(telebill: Telebill) -> None:
    carrier_plan(telebill)
    proc = telebill.run("reconcile", str(SAMPLE), *RECONCILE, "--out", "disputes.csv")

    read, checked, rejected, not_priced, bad = counted(proc.stdout)
    assert read == SAMPLE_ROWS
    assert checked + rejected == SAMPLE_ROWS
    assert bad == 0
    disputed = re.search(r"disputed (\d+) calls: (\d+) overbilled, (\d+) underbilled", proc.stdout)
    assert disputed
    assert int(disputed.group(1)) == int(disputed.group(2)) + int(disputed.group(3))
    disputes = read_csv(telebill.cwd / "disputes.csv")
    assert len(disputes) == int(disputed.group(1)) + rejected
    assert sum(r["status"] == "not priced" for r in disputes) == not_priced
    assert all(r["reason"] for r in disputes if r["status"] == "not priced")
    summary = read_csv(telebill.cwd / "disputes.summary.csv")
    assert sum(int(r["calls"]) for r in summary) == checked
    assert {r["currency"] for r in summary} == {"GBP"}
    carrier_total = sum(Decimal(r["carrier_total"]) for r in summary)
    expected_total = sum(Decimal(r["expected_total"]) for r in summary)
    assert f"carrier total {carrier_total:f}, expected total {expected_total:f}" in proc.stdout
    over = [r for r in disputes if r["status"] == "overbilled"]
    assert sum(Decimal(r["difference"]) for r in over) == sum(Decimal(r["overbilled"]) for r in summary)
    assert all(Decimal(r["carrier_cost"]) - Decimal(r["our_charge"]) == Decimal(r["difference"]) for r in over)


def test_hand_verified_disputes_of_a_small_carrier_file(telebill: Telebill) -> None:
    carrier_plan(telebill)
    (telebill.cwd / "carrier.csv").write_text(CARRIER_CDRS, encoding="utf-8")

    proc = telebill.run("reconcile", "carrier.csv", *RECONCILE, "--tolerance", "0.01")

    assert counted(proc.stdout) == (7, 5, 2, 1, 1)
    assert "disputed 2 calls: 1 overbilled, 1 underbilled" in proc.stdout
    assert ("GBP: 5 calls checked, 2 disputed, carrier total 4.170000, expected total 4.130000,"
            " overbilled 0.050000, underbilled 0.020000") in proc.stdout  # fmt: skip
    assert "carrier amount of calls not priced: 3.900000" in proc.stdout
    rows = read_csv(telebill.cwd / "carrier.disputes.csv")
    assert [
        (r["row"], r["call_id"], r["status"], r["carrier_cost"], r["our_charge"], r["difference"]) for r in rows
    ] == [
        ("3", "3", "overbilled", "2.300000", "2.250000", "0.050000"),
        ("4", "4", "underbilled", "0.100000", "0.120000", "-0.020000"),
        ("5", "5", "not priced", "3.900000", "", ""),
        ("6", "6", "bad amount", "", "0.040000", ""),
    ]
    mobile, london, intl, bad = rows
    assert (mobile["matched_prefix"], mobile["rate"], mobile["billed_s"], mobile["destination"]) == (
        "447", "0.25", "540", "UK mobile")  # fmt: skip
    assert (london["duration_s"], london["billed_s"], london["start_time"]) == ("150", "180", "11/1/2014 10:00:00")
    assert intl["reason"] == "no price in plan bt"
    assert bad["reason"] == "Cost: not a decimal amount: 'n/a'"
    assert read_csv(telebill.cwd / "carrier.disputes.summary.csv")[0]["destination"] == "UK mobile"

    strict = telebill.run("reconcile", "carrier.csv", *RECONCILE, "--out", "strict.parquet")
    assert "disputed 3 calls: 2 overbilled, 1 underbilled" in strict.stdout  # 0.01 > the default 0.0001
    table = pq.read_table(telebill.cwd / "strict.parquet")
    assert table.schema.field("difference").type == pa.decimal128(38, 6)
    assert table.column("call_id").to_pylist() == ["3", "4", "5", "6", "7"]
    assert table.column("difference").to_pylist() == [Decimal("0.05"), Decimal("-0.02"), None, None, Decimal("0.01")]
    summary = pq.read_table(telebill.cwd / "strict.summary.parquet")
    assert sum(summary.column("calls").to_pylist()) == 5

    relative = telebill.run("reconcile", "carrier.csv", *RECONCILE, "--tolerance", "0", "--relative-tolerance", "2.3",
                            "--out", "relative.csv")  # fmt: skip
    # 0.05 / 2.25 = 2.2 %, 0.01 / 0.52 = 1.9 %: agreed; 0.02 / 0.12 = 16.7 %: disputed
    assert "disputed 1 calls: 0 overbilled, 1 underbilled" in relative.stdout


def test_a_bad_option_or_a_missing_cost_column_fails_with_a_message(telebill: Telebill) -> None:
    carrier_plan(telebill)
    (telebill.cwd / "carrier.csv").write_text(CARRIER_CDRS, encoding="utf-8")
    assert "--cost-scale" in telebill.fails("reconcile", "carrier.csv", *RECONCILE[:-1], "abc").stderr
    assert "'Charge'" in telebill.fails("reconcile", "carrier.csv", "--plan", "bt", "--preset", "uk-sample",
                                        "--cost-column", "Charge").stderr  # fmt: skip
    assert "tolerance" in telebill.fails("reconcile", "carrier.csv", *RECONCILE, "--tolerance", "-1").stderr


def test_a_call_billed_twice_is_disputed_and_counted(telebill: Telebill) -> None:
    carrier_plan(telebill)
    again = "8,1650333333,1,1657777772,22/01/2014,22/01/2014,18:30:00,18:43:00,Local,52\n"  # row 1 under another id
    (telebill.cwd / "carrier.csv").write_text(CARRIER_CDRS + again, encoding="utf-8")

    proc = telebill.run("reconcile", "carrier.csv", *RECONCILE, "--tolerance", "0.01")

    assert "disputed 3 calls: 1 overbilled, 1 underbilled, 1 billed twice" in proc.stdout
    assert ("GBP: 6 calls checked, 3 disputed, carrier total 4.690000, expected total 4.130000,"
            " overbilled 0.570000, underbilled 0.020000") in proc.stdout  # fmt: skip
    twice = read_csv(telebill.cwd / "carrier.disputes.csv")[-1]
    assert (twice["row"], twice["call_id"], twice["status"], twice["our_charge"], twice["difference"]) == (
        "8", "8", "duplicate", "0.000000", "0.520000")  # fmt: skip
    assert twice["reason"] == "billed before: carrier.csv row 1"
