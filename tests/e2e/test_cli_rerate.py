"""`telebill rerate` through the real console script: a new deck version, --at, Parquet, the UK sample."""

from __future__ import annotations

import csv
import os
import re
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from e2e_cli import Telebill

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "sample-cdrs-uk.csv"
SAMPLE_ROWS = 42_238

DECK_HEADER = (
    "kind,prefix,origin,friendly_name,country,base_price,current_price,connection_fee,increments,blocked,rounding\n"
)
DECK = (
    DECK_HEADER
    + """voice,44,ALL,United Kingdom,GB,0.0120,0.0100,0,60/60,false,half_up:6
voice,447,ALL,UK mobile,GB,0.0350,0.0333,0,1/1,false,up:4
voice,33,ALL,France,FR,0.02,0.02,0.05,30/6,false,half_up:2
voice,882,ALL,Networks,,0,0,0,60/60,true,half_up:6
"""
)
# April's price list: the UK dearer, France gone, Japan added
DECK_APRIL = (
    DECK_HEADER
    + """voice,44,ALL,United Kingdom,GB,0.0120,0.0150,0,60/60,false,half_up:6
voice,447,ALL,UK mobile,GB,0.0350,0.0333,0,1/1,false,up:4
voice,81,ALL,Japan,JP,0.10,0.10,0,60/60,false,half_up:6
voice,882,ALL,Networks,,0,0,0,60/60,true,half_up:6
"""
)
CDRS = """call_id,from,to,start_time,duration_s
a,+33612345678,+44 20 7946 0018,2026-03-01T10:00:00Z,61
b,,+447700900123,2026-03-01T10:00:00+01:00,7
c,+447700900123,0033142278186,2026-03-01 10:00:00,31
d,,+882345678901,2026-03-01T10:00:00Z,60
e,,+81312345678,2026-03-01T10:00:00Z,60
f,,+447700900123,2026-02-28T23:59:59Z,60
g,,999,2026-03-01T10:00:00Z,60
"""
COUNTS = re.compile(
    r"read (\d+) rows: (\d+) unchanged, (\d+) changed, (\d+) newly priced, (\d+) newly rejected, "
    r"(\d+) still rejected, (\d+) currency changed"
)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def counts(stdout: str) -> list[int]:
    match = COUNTS.search(stdout)
    assert match, stdout
    read, *by_change = (int(g) for g in match.groups())
    assert read == sum(by_change), stdout  # every row is accounted for
    return [read, *by_change]


def rated_in_march(telebill: Telebill, out: str = "out.csv") -> None:
    (telebill.cwd / "deck.csv").write_text(DECK, encoding="utf-8")
    (telebill.cwd / "april.csv").write_text(DECK_APRIL, encoding="utf-8")
    (telebill.cwd / "cdrs.csv").write_text(CDRS, encoding="utf-8")
    telebill.run("decks", "import", "deck.csv", "--name", "carrier", "--currency", "EUR",
                 "--effective-from", "2026-03-01")  # fmt: skip
    telebill.run("plans", "create", "retail", "--international", "carrier")
    telebill.run("rate-cdrs", "cdrs.csv", "--plan", "retail", "--out", out)
    telebill.run("decks", "import", "april.csv", "--name", "carrier", "--currency", "EUR",
                 "--effective-from", "2026-04-01")  # fmt: skip


def test_a_new_price_list_changes_nothing_for_past_calls_unless_priced_at_its_instant(telebill: Telebill) -> None:
    rated_in_march(telebill)

    as_rated = telebill.run("rerate", "out.csv", "out.rejects.csv", "--plan", "retail", "--out", "same.csv")
    assert counts(as_rated.stdout) == [7, 3, 0, 0, 0, 4, 0]
    assert read_csv(telebill.cwd / "same.csv") == []
    assert "EUR: old total 0.083900, new total 0.083900, difference 0.000000" in as_rated.stdout

    proc = telebill.run("rerate", "out.csv", "out.rejects.csv", "--plan", "retail", "--at", "2026-04-01",
                        "--out", "diffs.csv")  # fmt: skip
    # a: 2 min at 0.015 (was 0.01); c: France gone; e: Japan added; f: before March, priced in April
    assert counts(proc.stdout) == [7, 1, 1, 2, 1, 2, 0]
    assert "EUR: old total 0.083900, new total 0.167200, difference 0.083300" in proc.stdout
    assert "differences: diffs.csv (4 rows)" in proc.stdout
    rows = {r["call_id"]: r for r in read_csv(telebill.cwd / "diffs.csv")}
    assert {k: (r["change"], r["old_charge"], r["new_charge"], r["difference"]) for k, r in rows.items()} == {
        "a": ("changed", "0.020000", "0.030000", "0.010000"),
        "c": ("newly rejected", "0.060000", "", "-0.060000"),
        "e": ("newly priced", "", "0.100000", "0.100000"),
        "f": ("newly priced", "", "0.033300", "0.033300"),
    }
    a = rows["a"]
    assert (a["from"], a["to"], a["start_time"], a["duration_s"]) == ("+33612345678", "+44 20 7946 0018",
                                                                      "2026-03-01T10:00:00Z", "61")  # fmt: skip
    assert (a["old_prefix"], a["old_rate"], a["new_prefix"], a["new_rate"]) == ("44", "0.0100", "44", "0.0150")
    assert rows["c"]["new_reason"] == "no price in plan retail"
    assert rows["e"]["old_reason"] == "no price in plan retail"
    summary = [(r["destination"], r["country"], r["calls"], r["difference"])
               for r in read_csv(telebill.cwd / "diffs.summary.csv")]  # fmt: skip
    assert summary == [
        ("Japan", "JP", "1", "0.100000"),
        ("France", "FR", "1", "-0.060000"),  # named by the March version of the deck
        ("UK mobile", "GB", "2", "0.033300"),
        ("United Kingdom", "GB", "1", "0.010000"),
    ]

    everything = telebill.run("rerate", "out.csv", "out.rejects.csv", "--plan", "retail", "--at", "2026-04-01",
                              "--all", "--out", "all.csv")  # fmt: skip
    assert len(read_csv(telebill.cwd / "all.csv")) == 7
    assert "differences: all.csv (7 rows)" in everything.stdout


def test_parquet_outputs_are_re_rated_into_parquet_with_exact_decimals(telebill: Telebill) -> None:
    rated_in_march(telebill, "out.parquet")
    proc = telebill.run("rerate", "out.parquet", "out.rejects.parquet", "--plan", "retail", "--at", "2026-04-01")
    assert counts(proc.stdout) == [7, 1, 1, 2, 1, 2, 0]
    diffs = pq.read_table(telebill.cwd / "out.rerate.parquet")
    assert diffs.schema.field("difference").type == pa.decimal128(38, 6)
    assert sorted(diffs.column("difference").to_pylist()) == [Decimal(x) for x in ("-0.06", "0.01", "0.0333", "0.1")]
    summary = pq.read_table(telebill.cwd / "out.rerate.summary.parquet")
    assert sum(summary.column("difference").to_pylist()) == Decimal("0.083300")


def test_the_uk_sample_is_re_rated_row_for_row_and_the_totals_match_the_first_rating(telebill: Telebill) -> None:
    telebill.run("demo", "--effective-from", "2013-01-01")
    first = telebill.run("rate-cdrs", str(SAMPLE), "--preset", "uk-sample", "--plan", "demo", "--out", "rated.csv")
    old_total = re.search(r"total (\S+) USD", first.stdout)
    assert old_total

    proc = telebill.run("rerate", "rated.csv", "rated.rejects.csv", "--plan", "demo-discount", "--preset",
                        "uk-sample", "--out", "diffs.parquet")  # fmt: skip

    read, _, changed, newly_priced, newly_rejected, still_rejected, moved = counts(proc.stdout)
    assert read == SAMPLE_ROWS
    assert newly_priced == newly_rejected == moved == 0
    rejected = len(read_csv(telebill.cwd / "rated.rejects.csv"))
    assert still_rejected == rejected
    new_total = re.search(r"USD: old total (\S+), new total (\S+), difference (\S+)", proc.stdout)
    assert new_total
    assert new_total.group(1) == old_total.group(1)
    assert Decimal(new_total.group(2)) - Decimal(new_total.group(1)) == Decimal(new_total.group(3))
    diffs = pq.read_table(telebill.cwd / "diffs.parquet")
    assert diffs.num_rows == changed
    assert set(diffs.column("change").to_pylist()) <= {"changed"}
    summary = pq.read_table(telebill.cwd / "diffs.summary.parquet")
    assert sum(summary.column("calls").to_pylist()) == SAMPLE_ROWS - rejected
    assert sum(summary.column("difference").to_pylist()) == Decimal(new_total.group(3))
    differences = [abs(d) for d in summary.column("difference").to_pylist()]
    assert differences == sorted(differences, reverse=True)


def test_an_unknown_plan_or_a_bad_instant_fails_with_a_message(telebill: Telebill) -> None:
    rated_in_march(telebill)
    assert "nope" in telebill.fails("rerate", "out.csv", "--plan", "nope").stderr
    assert "--at" in telebill.fails("rerate", "out.csv", "--plan", "retail", "--at", "April").stderr


def test_a_summary_naming_an_input_through_any_link_fails_and_leaves_the_input_as_it_was(telebill: Telebill) -> None:
    rated_in_march(telebill)
    before = (telebill.cwd / "out.csv").read_bytes()
    (telebill.cwd / "link.csv").symlink_to("out.csv")
    os.link(telebill.cwd / "out.csv", telebill.cwd / "hard.csv")
    for summary in ("link.csv", "hard.csv"):
        proc = telebill.fails("rerate", "out.csv", "--plan", "retail", "--out", "d.csv", "--summary", summary)
        assert f"--summary {summary} is the input out.csv" in proc.stderr
    assert (telebill.cwd / "out.csv").read_bytes() == before
    assert not (telebill.cwd / "d.csv").exists()
