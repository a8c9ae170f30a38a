"""Streaming CDR files through the rater: CSV and Parquet in and out, counts that add up."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute
import pyarrow.csv
import pyarrow.parquet as pq
import pytest
from test_cdr_arrow import rater

from telebill.adapters import cdr_files
from telebill.adapters.cdr_files import (
    CountsDoNotAddUp,
    RatingCounts,
    batch_memory,
    input_format,
    keep_freed_memory,
    rate_cdr_files,
)
from telebill.adapters.cdr_inputs import total_rows
from telebill.domain.errors import InvalidInput

HEADER = "call_id,from,to,start_time,duration_s\n"
ROWS = [
    "c1,+33612345678,+442079460018,2026-02-01T10:00:00Z,61\n",
    "c2,,+447700900123,2026-02-01T10:00:00Z,7\n",
    "c3,,+81312345678,2026-02-01T10:00:00Z,60\n",
    "c4,,0033142278186,2026-02-01T10:00:00Z,31\n",
    "c5,,,2026-02-01T10:00:00Z,31\n",
]


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_rows_go_to_the_rated_or_the_rejects_file_and_the_counts_add_up(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "cdrs.csv", ROWS)
    counts = rate_cdr_files([source], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater(), batch_rows=2)
    assert counts == RatingCounts(5, 3, 2, {"EUR": Decimal("0.265900")})
    rated = read_csv(tmp_path / "out.csv")
    assert [(r["call_id"], r["charge"], r["billed_s"], r["rate"]) for r in rated] == [
        ("c1", "0.200000", "120", "0.10"),
        ("c2", "0.003900", "7", "0.0333"),
        ("c4", "0.062000", "36", "0.02"),
    ]
    assert [(r["call_id"], r["reject_reason"]) for r in read_csv(tmp_path / "rej.csv")] == [
        ("c3", "no price in plan p"),
        ("c5", "to: missing"),
    ]


def test_original_cells_are_written_back_as_they_were_spelled(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "cdrs.csv", ["007,,0033142278186,2026-02-01T10:00:00Z,0031\n"])
    rate_cdr_files([source], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater())
    row = read_csv(tmp_path / "out.csv")[0]
    assert (row["call_id"], row["to"], row["duration_s"]) == ("007", "0033142278186", "0031")


def test_parquet_in_and_out_keeps_every_row_and_the_exact_decimal_charges(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "cdrs.csv", ROWS)
    rate_cdr_files([source], tmp_path / "a.parquet", tmp_path / "a-rej.parquet", "parquet", rater())
    table = pq.read_table(tmp_path / "a.parquet")
    assert table.schema.field("charge").type == pa.decimal128(38, 6)
    pq.write_table(pq.read_table(tmp_path / "a.parquet").select(["call_id", "from", "to", "start_time", "duration_s"]),
                   tmp_path / "again.parquet")  # fmt: skip
    assert total_rows([tmp_path / "again.parquet"]) == 3
    counts = rate_cdr_files(
        [tmp_path / "again.parquet"], tmp_path / "b.parquet", tmp_path / "b-rej.parquet", "parquet", rater()
    )
    assert (counts.read, counts.rated, counts.rejected) == (3, 3, 0)
    assert pq.read_table(tmp_path / "b.parquet").column("charge").to_pylist() == table.column("charge").to_pylist()


def test_several_inputs_are_rated_into_one_output(tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", ROWS[:2])
    second = write_csv(tmp_path / "b.csv", ROWS[2:])
    counts = rate_cdr_files([first, second], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater())
    assert (counts.read, counts.rated, counts.rejected) == (5, 3, 2)


def test_inputs_with_other_columns_are_refused(tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", ROWS[:1])
    other = tmp_path / "b.csv"
    other.write_text("id,to\n1,+442079460018\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="differ"):
        rate_cdr_files([first, other], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater())


def test_the_format_comes_from_the_file_name() -> None:
    assert [input_format(Path(p)) for p in ("a.csv", "a.CSV.gz", "a.parquet", "a.pq")] == [
        "csv", "csv", "parquet", "parquet"
    ]  # fmt: skip
    with pytest.raises(InvalidInput, match="format"):
        input_format(Path("a.txt"))


def test_parquet_output_holds_plain_text_columns_equal_to_rate_batch(tmp_path: Path) -> None:
    """Text columns are written from dictionaries, but the file's schema is the plain one."""
    source = write_csv(tmp_path / "cdrs.csv", ROWS)
    r = rater()
    rate_cdr_files([source], tmp_path / "a.parquet", tmp_path / "a-rej.parquet", "parquet", r)
    rated, rejects = pq.read_table(tmp_path / "a.parquet"), pq.read_table(tmp_path / "a-rej.parquet")
    whole = pa.Table.from_batches([r.rate_batch(pa.csv.read_csv(source, convert_options=pa.csv.ConvertOptions(
        column_types={n: pa.string() for n in HEADER.strip().split(",")})).to_batches()[0])])  # fmt: skip
    assert rated.schema == whole.schema.remove(whole.schema.get_field_index("reject_reason"))
    assert rejects.schema.names == [*HEADER.strip().split(","), "reject_reason"]
    assert rejects.schema.field("reject_reason").type == pa.string()
    ok = whole.filter(pa.compute.is_null(whole.column("reject_reason")))
    assert rated.to_pylist() == ok.drop_columns(["reject_reason"]).to_pylist()
    bad = whole.filter(pa.compute.is_valid(whole.column("reject_reason")))
    assert rejects.to_pylist() == bad.select(rejects.schema.names).to_pylist()


def test_a_batch_with_repeated_numbers_rates_as_one_without(tmp_path: Path) -> None:
    """Callers repeat: their numbers are parsed once per value; the result is the same."""
    n = 20_000
    callers = ["+33612345678", "+447700900123", "bad", "", "+4420794600"]
    table = pa.table({
        "call_id": [f"c{i}" for i in range(n)],
        "from": [callers[i % len(callers)] if i % 7 else None for i in range(n)],
        "to": ["+442079460018" if i % 3 else "+81312345678" for i in range(n)],
        "start_time": ["2026-02-01T10:00:00Z"] * n,
        "duration_s": [str(i % 500) for i in range(n)],
    })  # fmt: skip
    pq.write_table(table, tmp_path / "many.parquet")
    counts = rate_cdr_files([tmp_path / "many.parquet"], tmp_path / "o.parquet", tmp_path / "r.parquet", "parquet",
                            rater())  # fmt: skip
    one_by_one = [rater().rate_batch(table.slice(i, 1).to_batches()[0]) for i in range(0, n, 997)]
    rated = {row["call_id"]: row for row in pq.read_table(tmp_path / "o.parquet").to_pylist()}
    rejected = {row["call_id"]: row for row in pq.read_table(tmp_path / "r.parquet").to_pylist()}
    for single in one_by_one:
        row = single.to_pylist()[0]
        if row["reject_reason"] is None:
            assert rated[row["call_id"]] == {k: v for k, v in row.items() if k != "reject_reason"}
        else:
            assert rejected[row["call_id"]]["reject_reason"] == row["reject_reason"]
    assert counts.read == n
    assert counts.balanced
    totals: dict[str, Decimal] = {}
    for row in rated.values():
        totals[row["currency"]] = totals.get(row["currency"], Decimal(0)) + row["charge"]
    assert rated
    assert rejected
    assert counts.charges == totals


def test_a_parquet_file_and_a_csv_file_rate_together_as_apart(tmp_path: Path) -> None:
    """The callers of a Parquet file are read as a dictionary; a CSV file after it fits in."""
    csv_file = write_csv(tmp_path / "cdrs.csv", ROWS)
    columns = HEADER.strip().split(",")
    table = pa.csv.read_csv(csv_file, convert_options=pa.csv.ConvertOptions(column_types=dict.fromkeys(columns,
                            pa.string())))  # fmt: skip
    pq.write_table(table, tmp_path / "cdrs.parquet")
    both = rate_cdr_files([tmp_path / "cdrs.parquet", csv_file], tmp_path / "o.csv", tmp_path / "r.csv", "csv", rater())
    alone = rate_cdr_files([csv_file], tmp_path / "a.csv", tmp_path / "ar.csv", "csv", rater())
    assert (both.read, both.rated, both.rejected) == (2 * alone.read, 2 * alone.rated, 2 * alone.rejected)
    assert read_csv(tmp_path / "o.csv") == read_csv(tmp_path / "a.csv") * 2
    assert read_csv(tmp_path / "r.csv") == read_csv(tmp_path / "ar.csv") * 2


def test_batch_memory_has_arrow_allocate_from_malloc_while_it_lasts_and_restores_the_pool_after() -> None:
    before = pa.default_memory_pool().backend_name
    with batch_memory():
        during = pa.default_memory_pool().backend_name
    assert pa.default_memory_pool().backend_name == before
    assert during == ("system" if keep_freed_memory() else before)


def call_table(**columns: pa.Array) -> pa.Table:
    """Calls to the UK with the given columns (as many rows as they have)."""
    n = len(next(iter(columns.values())))
    one = {"call_id": "x", "from": "+33612345678", "to": "+442079460018", "start_time": "2026-02-01T10:00:00Z"}
    return pa.table({**{k: pa.array([v] * n) for k, v in one.items()}, **columns})


def rate_parquet(tmp_path: Path, *tables: pa.Table) -> RatingCounts:
    paths = []
    for i, table in enumerate(tables):
        paths.append(tmp_path / f"in{i}.parquet")
        pq.write_table(table, paths[-1])
    return rate_cdr_files(paths, tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater())


def test_inputs_whose_column_types_differ_are_rated_as_one_type_with_reasons(tmp_path: Path) -> None:
    counts = rate_parquet(
        tmp_path,
        call_table(duration_s=pa.array([60], pa.int64())),
        call_table(duration_s=pa.array([60.4, 61.0])),  # each cell read as its text
        call_table(duration_s=pa.array([2**62], pa.int64())),
    )
    assert (counts.read, counts.rated, counts.rejected) == (4, 2, 2)
    assert [r["duration_s"] for r in read_csv(tmp_path / "out.csv")] == ["60", "61"]
    assert [(r["duration_s"], r["reject_reason"]) for r in read_csv(tmp_path / "rej.csv")] == [
        ("60.4", "duration_s: not a whole number"),
        ("4611686018427387904", "duration_s: too large"),  # as text, past what the rater reads
    ]
    numbers = rate_parquet(
        tmp_path, call_table(to=pa.array([442079460018]), duration_s=pa.array([60], pa.int32())),
        call_table(duration_s=pa.array([2**62], pa.int64())),
    )  # fmt: skip
    assert (numbers.read, numbers.rated, numbers.rejected) == (2, 1, 1)


def test_inputs_whose_column_types_cannot_be_one_are_refused_naming_both_before_writing(tmp_path: Path) -> None:
    (tmp_path / "out.csv").write_text("earlier output\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"in1.parquet: column 'start_time' is timestamp\[ms\], but string in .*in0"):
        rate_parquet(
            tmp_path,
            call_table(duration_s=pa.array([60])),
            call_table(duration_s=pa.array([60])).set_column(3, "start_time", pa.array([0], pa.timestamp("ms"))),
        )
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "earlier output\n"
    assert not (tmp_path / "rej.csv").exists()


def test_a_plus_signed_duration_is_rated_as_its_seconds(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "cdrs.csv", ["p,,+442079460018,2026-02-01T10:00:00Z,+61\n"])
    counts = rate_cdr_files([source], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater())
    assert (counts.read, counts.rated) == (1, 1)
    assert [(r["duration_s"], r["billed_s"]) for r in read_csv(tmp_path / "out.csv")] == [("+61", "120")]


def test_a_csv_row_of_the_wrong_width_fails_naming_its_line_and_leaves_the_outputs_as_they_were(
    tmp_path: Path,
) -> None:
    good = "c,,+442079460018,2026-02-01T10:00:00Z,61\n"
    rows = 30_000  # more than the first block read, so that some batches are rated before the bad row
    source = write_csv(tmp_path / "cdrs.csv", [good] * rows + ["short,,+442079460018,61\n", good])
    (tmp_path / "out.csv").write_text("earlier output\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=rf"cdrs.csv: line {rows + 2}: expected 5 columns, got 4: 'short,"):
        rate_cdr_files([source], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater(), batch_rows=1000)
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "earlier output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdrs.csv", "out.csv"]


def test_an_empty_csv_or_a_blank_line_fails_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"empty.csv: empty file \(no header row\)"):
        rate_cdr_files([tmp_path / "empty.csv"], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater())
    blank = write_csv(tmp_path / "blank.csv", [ROWS[0], "   \n"])
    with pytest.raises(InvalidInput, match=r"blank\.csv: line 3: expected 5 columns, got 1"):
        rate_cdr_files([blank], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blank.csv", "empty.csv"]


def test_a_missing_mapped_column_fails_without_leaving_output_files(tmp_path: Path) -> None:
    (tmp_path / "cdrs.csv").write_text("id,to\n1,+442079460018\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="'from'"):
        rate_cdr_files([tmp_path / "cdrs.csv"], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdrs.csv"]


def test_counts_that_do_not_add_up_leave_the_earlier_outputs_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_csv(tmp_path / "cdrs.csv", ROWS)
    out, rej = tmp_path / "out.csv", tmp_path / "rej.csv"
    out.write_text("earlier output\n")
    rej.write_text("earlier rejects\n")
    rate_one = cdr_files._rate_one

    def losing_a_row(batch: pa.RecordBatch, *rest: object) -> None:
        rate_one(batch, *rest)  # type: ignore[arg-type]
        rest[2].read += 1  # type: ignore[attr-defined]  # a row read but neither rated nor rejected

    monkeypatch.setattr(cdr_files, "_rate_one", losing_a_row)
    with pytest.raises(CountsDoNotAddUp):
        rate_cdr_files([source], out, rej, "csv", rater())
    assert (out.read_text(), rej.read_text()) == ("earlier output\n", "earlier rejects\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdrs.csv", "out.csv", "rej.csv"]


def test_an_output_that_is_a_directory_is_refused_before_rating(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "cdrs.csv", ROWS)
    (tmp_path / "rej.csv").mkdir()
    with pytest.raises(InvalidInput, match="is a directory"):
        rate_cdr_files([source], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdrs.csv", "rej.csv"]


def test_an_output_in_a_directory_that_does_not_exist_is_refused_before_rating(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "cdrs.csv", ROWS)
    with pytest.raises(InvalidInput, match=r"no directory .*nowhere"):
        rate_cdr_files([source], tmp_path / "nowhere" / "out.csv", tmp_path / "rej.csv", "csv", rater())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdrs.csv"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_duplicates_are_found_across_batches_and_files_of_either_format(tmp_path: Path, fmt: str) -> None:
    rows = [
        "k1,+14155550100,+442079460018,2026-02-01T10:00:00Z,61\n",
        "k2,,+442079460018,2026-02-01T10:00:00Z,61\n",  # no caller: never a duplicate
        "k3,,+442079460018,2026-02-01T10:00:00Z,61\n",
        "k4,+14155550100,+442079460018,2026-02-01T10:00:00Z,61\n",
    ]
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(HEADER + "".join(rows[:3]), encoding="utf-8")
    second.write_text(HEADER + rows[3] + rows[0], encoding="utf-8")
    if fmt == "parquet":
        for path in (first, second):
            texts = pyarrow.csv.ConvertOptions(column_types=dict.fromkeys(["call_id", "from", "to"], pa.string()))
            pq.write_table(pyarrow.csv.read_csv(path, convert_options=texts), path.with_suffix(".parquet"))
        first, second = first.with_suffix(".parquet"), second.with_suffix(".parquet")
    counts = rate_cdr_files([first, second], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater(),
                            batch_rows=1, reject_duplicates=True)  # fmt: skip
    assert (counts.read, counts.rated, counts.rejected) == (5, 3, 2)
    with (tmp_path / "rej.csv").open(encoding="utf-8") as fh:
        rejected = [(r["call_id"], r["reject_reason"]) for r in csv.DictReader(fh)]
    assert rejected == [("k4", f"duplicate of {first.name} row 1"), ("k1", f"duplicate of {first.name} row 1")]


def test_a_duplicate_is_a_copy_of_a_rated_row_with_the_same_start_instant_however_written(tmp_path: Path) -> None:
    source = tmp_path / "a.csv"
    source.write_text(
        HEADER
        + "k1,+14155550100,+442079460018,2026-02-01T10:00:00Z,-5\n"  # rejected: its copy is not a duplicate
        + "k2,+14155550100,+442079460018,2026-02-01T10:00:00Z,-5\n"
        + "k3,+14155550100,+442079460018,2026-02-01T10:00:00Z,61\n"
        + "k4,+14155550100,+442079460018,2026-02-01T11:00:00+01:00,61\n"  # the same instant as k3
        + "k5,+14155550100,+442079460018,2026-02-01T11:00:00Z,61\n",
        encoding="utf-8",
    )
    counts = rate_cdr_files([source], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater(),
                            reject_duplicates=True)  # fmt: skip
    assert (counts.rated, counts.rejected) == (2, 3)
    with (tmp_path / "rej.csv").open(encoding="utf-8") as fh:
        reasons = {r["call_id"]: r["reject_reason"] for r in csv.DictReader(fh)}
    assert reasons["k4"] == "duplicate of a.csv row 3"
    assert not reasons["k2"].startswith("duplicate")


def test_a_duplicate_in_a_file_of_the_same_name_in_another_folder_names_the_first_by_its_path(tmp_path: Path) -> None:
    row = "k1,+14155550100,+442079460018,2026-02-01T10:00:00Z,61\n"
    (tmp_path / "jan").mkdir()
    (tmp_path / "feb").mkdir()
    jan, feb = tmp_path / "jan" / "cdrs.csv", tmp_path / "feb" / "cdrs.csv"
    for path in (jan, feb):
        path.write_text(HEADER + row, encoding="utf-8")
    rate_cdr_files([jan, feb], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater(), reject_duplicates=True)
    with (tmp_path / "rej.csv").open(encoding="utf-8") as fh:
        assert [r["reject_reason"] for r in csv.DictReader(fh)] == [f"duplicate of {jan} row 1"]


@pytest.mark.parametrize(("name", "ending"), [("cdrs.csv", ""), ("cdrs.csv", "\n"), ("cdrs.csv", "\r\n"),
                                            ("cdrs.csv.gz", ""), ("cdrs.CSV", "")])  # fmt: skip
def test_a_csv_file_that_is_only_a_header_has_no_rows_with_or_without_a_line_break(
    tmp_path: Path, name: str, ending: str
) -> None:
    source = tmp_path / name
    header = (HEADER.rstrip("\n") + ending).encode()
    source.write_bytes(gzip.compress(header) if name.endswith(".gz") else header)
    counts = rate_cdr_files([source], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater())
    assert (counts.read, counts.rated, counts.rejected) == (0, 0, 0)
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").startswith('"call_id","from","to"')


def test_a_column_the_mapping_reads_that_appears_twice_is_refused_naming_it(tmp_path: Path) -> None:
    source = tmp_path / "cdrs.csv"
    source.write_text("call_id,from,to,to,start_time,duration_s\nk1,,+442079460018,+33142278186,"
                      "2026-02-01T10:00:00Z,60\n", encoding="utf-8")  # fmt: skip
    with pytest.raises(InvalidInput, match=r"'to' .* appears 2 times"):
        rate_cdr_files([source], tmp_path / "out.csv", tmp_path / "rej.csv", "csv", rater())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdrs.csv"]


def test_parquet_outputs_keep_the_input_column_types_a_zoned_time_included(tmp_path: Path) -> None:
    source = tmp_path / "cdrs.parquet"
    london = pa.timestamp("us", tz="Europe/London")
    pq.write_table(
        pa.table({
            "call_id": ["k1", "k4"], "from": ["", ""], "to": ["+442079460018", "+81312345678"],
            "start_time": pa.array([datetime(2026, 2, 1, 10, tzinfo=UTC)] * 2, london), "duration_s": [61, 60],
        }),
        source,
    )  # fmt: skip
    rate_cdr_files([source], tmp_path / "out.parquet", tmp_path / "rej.parquet", "parquet", rater())
    rated, rejects = pq.read_table(tmp_path / "out.parquet"), pq.read_table(tmp_path / "rej.parquet")
    assert rated.schema.field("start_time").type == london
    assert rejects.schema.field("start_time").type == london
    assert [rated.schema.field(n).type for n in ("from", "currency", "matched_prefix", "rate")] == [pa.string()] * 4
    assert rejects.schema.field("reject_reason").type == pa.string()
    assert rated.column("start_time").to_pylist() == [datetime(2026, 2, 1, 10, tzinfo=UTC)]
