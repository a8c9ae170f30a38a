"""`telebill rate-cdrs` through the real console script: the UK sample, exact charges, Parquet."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
from e2e_cli import TELEBILL, TIMEOUT_S, Telebill

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "sample-cdrs-uk.csv"
SAMPLE_ROWS = 42_238

DECK = """kind,prefix,origin,friendly_name,country,base_price,current_price,connection_fee,increments,blocked,rounding
voice,44,ALL,United Kingdom,GB,0.0120,0.0100,0,60/60,false,half_up:6
voice,447,ALL,UK mobile,GB,0.0350,0.0333,0,1/1,false,up:4
voice,33,ALL,France,FR,0.02,0.02,0.05,30/6,false,half_up:2
voice,882,ALL,Networks,,0,0,0,60/60,true,half_up:6
"""
CDRS = """call_id,from,to,start_time,duration_s
a,+33612345678,+44 20 7946 0018,2026-03-01T10:00:00Z,61
b,,+447700900123,2026-03-01T10:00:00+01:00,7
c,+447700900123,0033142278186,2026-03-01 10:00:00,31
d,,+882345678901,2026-03-01T10:00:00Z,60
e,,+81312345678,2026-03-01T10:00:00Z,60
f,,+447700900123,2026-02-28T23:59:59Z,60
g,,999,2026-03-01T10:00:00Z,60
"""


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_uk_sample_is_rated_or_rejected_row_for_row_with_the_demo_plan(telebill: Telebill) -> None:
    telebill.run("demo", "--effective-from", "2013-01-01")
    proc = telebill.run("rate-cdrs", str(SAMPLE), "--preset", "uk-sample", "--plan", "demo", "--out", "rated.csv")
    rated, rejected = read_csv(telebill.cwd / "rated.csv"), read_csv(telebill.cwd / "rated.rejects.csv")
    assert len(rated) + len(rejected) == SAMPLE_ROWS
    assert f"read {SAMPLE_ROWS} rows: {len(rated)} rated, {len(rejected)} rejected" in proc.stdout
    assert len(rated) > 0.9 * SAMPLE_ROWS
    assert all(r["reject_reason"] for r in rejected)
    # callID repeats in the sample: every input row, with all its cells, comes out exactly once
    columns = list(read_csv(SAMPLE)[0])
    written = Counter(tuple(r[c] for c in columns) for r in [*rated, *rejected])
    assert written == Counter(tuple(r[c] for c in columns) for r in read_csv(SAMPLE))
    total = sum(Decimal(r["charge"]) for r in rated)
    assert f"total {total} USD" in proc.stdout
    assert {r["currency"] for r in rated} == {"USD"}


def test_a_hand_written_file_is_charged_to_the_micro_unit_and_round_trips_through_parquet(telebill: Telebill) -> None:
    (telebill.cwd / "deck.csv").write_text(DECK, encoding="utf-8")
    (telebill.cwd / "cdrs.csv").write_text(CDRS, encoding="utf-8")
    telebill.run("decks", "import", "deck.csv", "--name", "carrier", "--currency", "EUR",
                 "--effective-from", "2026-03-01")  # fmt: skip
    telebill.run("plans", "create", "retail", "--international", "carrier")

    proc = telebill.run("rate-cdrs", "cdrs.csv", "--plan", "retail", "--out", "out.csv", "--rejects", "rej.csv")

    rated = {r["call_id"]: (r["charge"], r["billed_s"], r["matched_prefix"], r["rate"], r["currency"])
             for r in read_csv(telebill.cwd / "out.csv")}  # fmt: skip
    assert rated == {
        "a": ("0.020000", "120", "44", "0.0100", "EUR"),  # two minutes at 0.01
        "b": ("0.003900", "7", "447", "0.0333", "EUR"),  # 0.0333 * 7 / 60 = 0.003885, up:4
        "c": ("0.060000", "36", "33", "0.02", "EUR"),  # 0.05 + 0.02 * 36 / 60 = 0.062, half_up:2
    }
    reasons = {r["call_id"]: r["reject_reason"] for r in read_csv(telebill.cwd / "rej.csv")}
    assert reasons["d"] == "blocked destination (Networks, prefix 882)"
    assert reasons["e"] == "no price in plan retail"
    assert reasons["f"] == "no price in plan retail: its decks for this call have no version in force at that time"
    assert reasons["g"].startswith("to: ")
    assert "read 7 rows: 3 rated, 4 rejected" in proc.stdout
    assert "total 0.083900 EUR" in proc.stdout

    telebill.run("rate-cdrs", "cdrs.csv", "--plan", "retail", "--out", "out.parquet")
    table = pq.read_table(telebill.cwd / "out.parquet")
    pq.write_table(table.select(["call_id", "from", "to", "start_time", "duration_s"]), telebill.cwd / "in.parquet")
    again = telebill.run("rate-cdrs", "in.parquet", "--plan", "retail", "--out", "again.parquet")
    assert "read 3 rows: 3 rated, 0 rejected" in again.stdout
    assert pq.read_table(telebill.cwd / "again.parquet").equals(table)
    assert pq.read_table(telebill.cwd / "out.rejects.parquet").num_rows == 4


def test_a_missing_column_fails_naming_it(telebill: Telebill) -> None:
    (telebill.cwd / "deck.csv").write_text(DECK, encoding="utf-8")
    (telebill.cwd / "cdrs.csv").write_text("id,to\n1,+442079460018\n", encoding="utf-8")
    telebill.run("decks", "import", "deck.csv", "--name", "carrier", "--currency", "EUR")
    telebill.run("plans", "create", "retail", "--international", "carrier")
    proc = telebill.fails("rate-cdrs", "cdrs.csv", "--plan", "retail")
    assert "'from'" in proc.stderr


def test_an_output_naming_an_input_fails_before_writing_and_leaves_the_input_as_it_was(telebill: Telebill) -> None:
    (telebill.cwd / "deck.csv").write_text(DECK, encoding="utf-8")
    (telebill.cwd / "cdrs.csv").write_text(CDRS, encoding="utf-8")
    telebill.run("decks", "import", "deck.csv", "--name", "carrier", "--currency", "EUR")
    telebill.run("plans", "create", "retail", "--international", "carrier")
    (telebill.cwd / "link.csv").symlink_to("cdrs.csv")
    os.link(telebill.cwd / "cdrs.csv", telebill.cwd / "hard.csv")
    for rejects in ("cdrs.csv", "link.csv", "hard.csv"):
        proc = telebill.fails("rate-cdrs", "cdrs.csv", "--plan", "retail", "--out", "out.csv", "--rejects", rejects)
        assert f"--rejects {rejects} is the input cdrs.csv" in proc.stderr
    proc = telebill.fails("rate-cdrs", "cdrs.csv", "--plan", "retail", "--out", "hard.csv")
    assert "--out hard.csv is the input cdrs.csv" in proc.stderr
    assert (telebill.cwd / "cdrs.csv").read_text(encoding="utf-8") == CDRS
    assert sorted(p.name for p in telebill.cwd.iterdir() if p.suffix == ".csv") == [
        "cdrs.csv", "deck.csv", "hard.csv", "link.csv"
    ]  # fmt: skip


def test_a_custom_time_format_rejects_impossible_dates_and_prices_real_ones(telebill: Telebill) -> None:
    (telebill.cwd / "deck.csv").write_text(DECK, encoding="utf-8")
    (telebill.cwd / "cdrs.csv").write_text(
        "call_id,from,to,start_time,duration_s\n"
        "a,,+442079460018,29/02/2026 10:00:00,60\n"
        "b,,+442079460018,31/03/2026 23:59:60,60\n"
        "c,,+442079460018,31/03/2026 23:59:59,+60\n",
        encoding="utf-8",
    )
    telebill.run("decks", "import", "deck.csv", "--name", "carrier", "--currency", "EUR",
                 "--effective-from", "2026-03-01")  # fmt: skip
    telebill.run("plans", "create", "retail", "--international", "carrier")
    proc = telebill.run("rate-cdrs", "cdrs.csv", "--plan", "retail", "--time-format", "%d/%m/%Y %H:%M:%S")
    assert "read 3 rows: 1 rated, 2 rejected" in proc.stdout
    assert [(r["call_id"], r["billed_s"]) for r in read_csv(telebill.cwd / "cdrs.rated.csv")] == [("c", "60")]
    assert {r["call_id"]: r["reject_reason"] for r in read_csv(telebill.cwd / "cdrs.rejects.csv")} == {
        "a": "start_time: not a valid date/time",
        "b": "start_time: not a valid date/time",
    }


def test_local_times_of_the_uk_sample_layout_count_the_hour_the_clocks_skip(telebill: Telebill) -> None:
    (telebill.cwd / "deck.csv").write_text(DECK, encoding="utf-8")
    telebill.run("decks", "import", "deck.csv", "--name", "carrier", "--currency", "GBP",
                 "--effective-from", "2014-01-01")  # fmt: skip
    telebill.run("plans", "create", "carrier", "--international", "carrier")
    # 00:50 GMT to 02:10 BST on 30 March 2014 is 20 minutes; 01:30 that night never happened
    (telebill.cwd / "uk.csv").write_text(
        "callID, phoneNumber, Line, destPhoneNumber, startDate, endDate, startTime, endTime, Type, Cost\n"
        "1,1650333333,1,2079460018,30/3/2014,30/3/2014,0:50:00,2:10:00,Local,0\n"
        "2,1650333333,1,2079460018,30/3/2014,30/3/2014,1:30:00,2:10:00,Local,0\n",
        encoding="utf-8",
    )
    local = ("rate-cdrs", "uk.csv", "--preset", "uk-sample", "--plan", "carrier")
    telebill.run(*local)
    rated, rejected = read_csv(telebill.cwd / "uk.rated.csv"), read_csv(telebill.cwd / "uk.rejects.csv")
    assert [(r["callID"], r["billed_s"], r["charge"]) for r in rated] == [("1", "1200", "0.200000")]
    assert [r["reject_reason"] for r in rejected] == [
        "start_time: a time the clocks skip in Europe/London (daylight saving)"
    ]

    telebill.run(*local, "--timezone", "UTC", "--out", "utc.csv")
    assert [(r["callID"], r["billed_s"]) for r in read_csv(telebill.cwd / "utc.csv")] == [("1", "4800"), ("2", "2400")]
    assert (
        "timezone: unknown time zone 'Europe/Londres'" in telebill.fails(*local, "--timezone", "Europe/Londres").stderr
    )


def test_reject_duplicates_rejects_a_call_billed_again_in_any_file_naming_the_first(telebill: Telebill) -> None:
    (telebill.cwd / "deck.csv").write_text(DECK, encoding="utf-8")
    telebill.run("decks", "import", "deck.csv", "--name", "carrier", "--currency", "EUR",
                 "--effective-from", "2026-03-01")  # fmt: skip
    telebill.run("plans", "create", "retail", "--international", "carrier")
    header = "call_id,from,to,start_time,duration_s\n"
    (telebill.cwd / "day1.csv").write_text(
        header + "a,+33612345678,+442079460018,2026-03-01T10:00:00Z,61\n"
        "b,+33612345678,+442079460018,2026-03-01T10:00:00Z,62\n"  # another duration: another call
        "a,+33612345678,+442079460018,2026-03-01T10:00:00Z,61\n",  # the same call again
        encoding="utf-8",
    )
    (telebill.cwd / "day2.csv").write_text(
        header + "z9,+33612345678, +442079460018 ,2026-03-01T10:00:00Z,61\n",  # again, under another id
        encoding="utf-8",
    )
    files = ("rate-cdrs", "day1.csv", "day2.csv", "--plan", "retail")
    proc = telebill.run(*files, "--reject-duplicates", "--out", "out.csv")
    assert "read 4 rows: 2 rated, 2 rejected" in proc.stdout
    assert [r["call_id"] for r in read_csv(telebill.cwd / "out.csv")] == ["a", "b"]
    assert [(r["call_id"], r["reject_reason"]) for r in read_csv(telebill.cwd / "out.rejects.csv")] == [
        ("a", "duplicate of day1.csv row 1"),
        ("z9", "duplicate of day1.csv row 1"),
    ]
    assert "read 4 rows: 4 rated, 0 rejected" in telebill.run(*files, "--out", "all.csv").stdout


def test_sigterm_stops_a_run_without_leaving_partial_files_or_outputs(telebill: Telebill) -> None:
    (telebill.cwd / "deck.csv").write_text(DECK, encoding="utf-8")
    rows = "".join(f"k{i},,+442079460018,2026-03-01T10:00:00Z,{i % 600}\n" for i in range(20_000))
    (telebill.cwd / "cdrs.csv").write_text("call_id,from,to,start_time,duration_s\n" + rows, encoding="utf-8")
    telebill.run("decks", "import", "deck.csv", "--name", "carrier", "--currency", "EUR")
    telebill.run("plans", "create", "retail", "--international", "carrier")
    # a batch per row: the run lasts long enough to be stopped while it writes
    args = [str(TELEBILL), "rate-cdrs", "cdrs.csv", "--plan", "retail", "--out", "out.csv", "--batch-rows", "1"]
    proc = subprocess.Popen(args, env=telebill.env, cwd=telebill.cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not list(telebill.cwd.glob(".*.partial")):
            assert proc.poll() is None, "the run ended before it could be stopped"
            assert time.monotonic() < deadline, "no partial file appeared"
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=TIMEOUT_S) == -signal.SIGTERM  # ended by the signal, once unwound
    finally:
        proc.kill()
        proc.communicate()
    assert sorted(p.name for p in telebill.cwd.iterdir() if not p.name.endswith(".db")) == ["cdrs.csv", "deck.csv"]


def test_an_output_named_for_another_format_or_compressed_is_refused_before_writing(telebill: Telebill) -> None:
    (telebill.cwd / "deck.csv").write_text(DECK, encoding="utf-8")
    (telebill.cwd / "cdrs.csv").write_text(CDRS, encoding="utf-8")
    telebill.run("decks", "import", "deck.csv", "--name", "carrier", "--currency", "EUR")
    telebill.run("plans", "create", "retail", "--international", "carrier")
    mismatch = telebill.fails("rate-cdrs", "cdrs.csv", "--plan", "retail", "--out", "out.csv", "--format", "parquet")
    assert "--out out.csv names a csv file, but the output format is parquet" in mismatch.stderr
    for ending in (".gz", ".bz2", ".zst", ".lz4"):
        compressed = telebill.fails("rate-cdrs", "cdrs.csv", "--plan", "retail", "--out", f"out.csv{ending}")
        assert f"written uncompressed; give a name without {ending}" in compressed.stderr
    summary = telebill.fails("reconcile", "cdrs.csv", "--plan", "retail", "--cost-column", "duration_s",
                             "--out", "d.parquet", "--summary", "s.csv")  # fmt: skip
    assert "--summary s.csv names a csv file" in summary.stderr
    assert not [p.name for p in telebill.cwd.iterdir() if p.name.startswith(("out", "d.", "s."))]
