"""The Spark job (`telebill.bulk.spark`) rates as the single-machine path (`rate_cdr_files`) does.

A small catalog (an international deck with two versions, a domestic deck, a plan with a
domestic tier, an international fallback and an override) and a few hundred CDRs spread
over several files, with every kind of reject (bad and missing numbers, no price, blocked,
negative or unreadable durations and times), are rated both ways; the rated rows and the
rejects must be equal row for row (sorted by call id). The job also runs end to end as
`python -m telebill.bulk.spark` in Spark local mode.
"""

from __future__ import annotations

import os
import pickle
import random
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession
from pyspark.sql.types import DecimalType, LongType, StringType

from telebill.adapters.cdr_arrow import ArrowCdrRater, CdrMapping
from telebill.adapters.cdr_files import RatingCounts, rate_cdr_files
from telebill.bootstrap import Container
from telebill.bulk.spark import _RateBatches, rate_dataframe, rate_files, rated_schema, read_cdrs
from telebill.domain.catalog.deck import DeckContent
from telebill.domain.catalog.entries import ALL, ROW, Destination, Increments, Tariff, VoiceRate
from telebill.domain.catalog.plans import ConditionKind, Override, PricePlan, Tier
from telebill.domain.catalog.voice_table import VoiceRateTable
from telebill.domain.errors import InvalidInput
from telebill.domain.money import Rounding, currency
from telebill.service.bulk_rating import bulk_rater

PLAN = "standard"
JAN, FEB = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
UK = Destination("United Kingdom", "GB")
UK_MOBILE = Destination("United Kingdom - Mobile", "GB")


def _rate(prefix: str, origin: str, where: Destination, price: str, **tariff: object) -> VoiceRate:
    return VoiceRate(prefix, origin, where, Tariff(Decimal(price), Decimal(price), **tariff))  # type: ignore[arg-type]


def intl_deck(uk_price: str) -> DeckContent:
    return DeckContent(
        VoiceRateTable.of(
            [
                _rate("44", ALL, UK, uk_price),
                _rate(
                    "447",
                    ROW,
                    UK_MOBILE,
                    "0.25",
                    increments=Increments(30, 6),
                    connection_fee=Decimal("0.01"),
                    rounding=Rounding.parse("up:4"),
                ),
                _rate("447", "1", UK_MOBILE, "0.15"),
                _rate("1", ALL, Destination("United States", "US"), "0", free=True),
                _rate("870", ALL, Destination("Inmarsat", ""), "5", blocked=True),
            ]
        )
    )


@pytest.fixture
def catalog(container: Container) -> Container:
    """Plan `standard` (USD): calls within one country on `domestic`, all others on `intl`
    (its UK price changes on 1 February), 10 % off London."""
    container.catalog.import_deck("intl", currency("USD"), intl_deck("0.10"), "jan", JAN)
    container.catalog.import_deck("intl", currency("USD"), intl_deck("0.12"), "feb", FEB)
    domestic = VoiceRateTable.of([_rate("44", ALL, UK, "0.02"), _rate("447", ALL, UK_MOBILE, "0.0875")])
    container.catalog.import_deck("domestic", currency("USD"), DeckContent(domestic), "gb", JAN)
    container.catalog.create_plan(
        PricePlan(
            PLAN,
            (Tier(ConditionKind.DOMESTIC, "domestic"), Tier(ConditionKind.ALWAYS, "intl")),
            (Override("4420", percent_off=Decimal(10)),),
        )
    )
    return container


# -- CDRs ------------------------------------------------------------------------------------

ORIGINS = ["+14155550100", "+447700900123", "+33612345678", "+442079460000", "", "not a number"]
DESTINATIONS = [
    "+447400123456",  # UK mobile: ROW, or origin 1
    "+442079460018",  # London: 10 % off
    "+441632960000",  # UK
    "+14155550199",  # free
    "+870773111111",  # blocked
    "+4930123456",  # no price
    "",  # missing
    "12ab",  # not a number
    "+44 20 7946 0019",  # separators
]


def _instant(rng: random.Random) -> datetime:
    return datetime(2026, 1, 10, tzinfo=UTC) + timedelta(seconds=rng.randrange(60 * 86_400))


def default_layout(rows: int, seed: int) -> list[dict[str, object]]:
    """CDRs in the default layout (call_id, from, to, start_time, duration_s); start times and
    durations as Python values (None: missing, a string: unreadable)."""
    rng = random.Random(seed)
    cdrs: list[dict[str, object]] = []
    for i in range(rows):
        duration: object = rng.randrange(0, 3_700)
        if i % 37 == 5:
            duration = -3
        elif i % 53 == 7:
            duration = None
        cdrs.append(
            {
                "call_id": f"p{seed}-{i:04d}",
                "from": rng.choice(ORIGINS),
                "to": rng.choice(DESTINATIONS),
                "start_time": None if i % 61 == 11 else _instant(rng),
                "duration_s": duration,
            }
        )
    return cdrs


def write_parquet(path: Path, cdrs: Sequence[dict[str, object]]) -> Path:
    """Typed columns: the start as a UTC timestamp, the duration as int64."""
    schema = pa.schema(
        [
            ("call_id", pa.string()),
            ("from", pa.string()),
            ("to", pa.string()),
            ("start_time", pa.timestamp("us", tz="UTC")),
            ("duration_s", pa.int64()),
        ]
    )
    pq.write_table(pa.Table.from_pylist(list(cdrs), schema=schema), path)
    return path


UK_HEADER = "callID, phoneNumber, Line, destPhoneNumber, startDate, endDate, startTime, endTime, Type"
UK_NUMBERS = ["2079460018", "7400123456", "1632960000", "8450927777", "0033612345678", "", "12", "7400 123 456"]


def write_uk_csv(path: Path, rows: int, seed: int) -> Path:
    """The uk-sample layout (`CdrMapping.preset("uk-sample")`): GB national numbers, d/m/yyyy
    dates, a duration from start to end, a header with spaces after the commas."""
    rng = random.Random(seed)
    lines = [UK_HEADER]
    for i in range(rows):
        start = _instant(rng)
        end = start + timedelta(seconds=rng.randrange(0, 3_700))
        start_time, end_time = start.strftime("%H:%M:%S"), end.strftime("%H:%M:%S")
        if i % 41 == 3:
            end_time = "25:61:00"  # unreadable
        elif i % 43 == 9:
            start_time = ""  # missing
        caller = rng.choice(["1650333333", "2079460000", "", "+14155550100"])
        called = rng.choice(UK_NUMBERS)
        kind = rng.choice(["National", "Local", '"Mobile, roaming"'])
        lines.append(
            f"u{seed}-{i:04d},{caller},{i % 2},{called},{start.day}/{start.month}/{start.year},"
            f"{end.day}/{end.month}/{end.year},{start_time},{end_time},{kind}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- comparing outputs -----------------------------------------------------------------------


def read_output(path: Path, fmt: str) -> pa.Table:
    """A rated or rejects output, a file (single machine) or a directory of part files (Spark),
    sorted by call id; CSV with every column as text."""
    files = sorted(p for p in path.iterdir() if p.suffix in {".csv", ".parquet"}) if path.is_dir() else [path]
    assert files, f"no part files in {path}"
    if fmt == "parquet":
        tables = [pq.read_table(f) for f in files]
    else:
        names = pcsv.read_csv(files[0]).schema.names
        convert = pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()))
        tables = [pcsv.read_csv(f, convert_options=convert) for f in files]
    table = pa.concat_tables(tables)
    key = next(n for n in table.schema.names if n.strip().lower() == "callid" or n == "call_id")
    return table.sort_by(key)


def assert_same_rows(spark_out: Path, single_out: Path, fmt: str) -> int:
    got, want = read_output(spark_out, fmt), read_output(single_out, fmt)
    assert got.schema.names == want.schema.names
    for name in want.schema.names:
        g, w = got.column(name), want.column(name)
        if pa.types.is_timestamp(w.type):
            g, w = g.cast(pa.timestamp("us", tz="UTC")), w.cast(pa.timestamp("us", tz="UTC"))
        assert g.to_pylist() == w.to_pylist(), name
    return want.num_rows


def rate_both(
    spark: SparkSession, catalog: Container, inputs: Sequence[Path], fmt: str, mapping: CdrMapping, tmp: Path
) -> tuple[RatingCounts, Path]:
    """Rate `inputs` on one machine and with the Spark job; the two must agree. Returns the
    single machine's counts and the directory of its outputs."""
    rater = ArrowCdrRater(bulk_rater(catalog.catalog, PLAN), mapping)
    single = tmp / "single"
    single.mkdir()
    counts = rate_cdr_files(inputs, single / f"rated.{fmt}", single / f"rejects.{fmt}", fmt, rater)
    job = rate_files(spark, [str(p) for p in inputs], fmt, str(tmp / "rated"), str(tmp / "rejects"), fmt, rater)
    assert (job.read, job.rated, job.rejected) == (counts.read, counts.rated, counts.rejected)
    assert job.charges == counts.charges
    assert assert_same_rows(tmp / "rated", single / f"rated.{fmt}", fmt) == counts.rated
    assert assert_same_rows(tmp / "rejects", single / f"rejects.{fmt}", fmt) == counts.rejected
    return counts, single


# -- tests -----------------------------------------------------------------------------------


def test_parquet_files_rated_on_spark_equal_the_single_machine_output_row_for_row(
    spark: SparkSession, catalog: Container, tmp_path: Path
) -> None:
    inputs = [write_parquet(tmp_path / f"cdrs-{k}.parquet", default_layout(120 + 7 * k, seed=k)) for k in range(3)]

    counts, _ = rate_both(spark, catalog, inputs, "parquet", CdrMapping(), tmp_path)

    assert counts.read == 381
    assert counts.rated > 150
    assert counts.rejected > 100
    assert set(counts.charges) == {"USD"}
    rejects = read_output(tmp_path / "rejects", "parquet")
    reasons = {r.split(" (")[0].split(":")[0] for r in rejects.column("reject_reason").to_pylist()}
    assert {"no price in plan standard", "blocked destination", "to", "from", "duration_s", "start_time"} <= reasons


def test_csv_files_rated_on_spark_equal_the_single_machine_output_row_for_row(
    spark: SparkSession, catalog: Container, tmp_path: Path
) -> None:
    inputs = [write_uk_csv(tmp_path / f"cdrs-{k}.csv", 100 + 3 * k, seed=10 + k) for k in range(3)]

    counts, _ = rate_both(spark, catalog, inputs, "csv", CdrMapping.preset("uk-sample"), tmp_path)

    assert counts.read == 309
    assert counts.rated > 100
    assert counts.rejected > 50
    rated = read_output(tmp_path / "rated", "csv")
    assert " Type" in rated.schema.names  # the header's spelling is kept
    assert "Mobile, roaming" in rated.column(" Type").to_pylist()


def test_the_rated_dataframe_has_spark_types_for_the_rated_columns(spark: SparkSession, catalog: Container) -> None:
    rater = ArrowCdrRater(bulk_rater(catalog.catalog, PLAN), CdrMapping())
    df = spark.createDataFrame(
        [("c1", "+14155550100", "+447400123456", "2026-02-03T10:00:00Z", "61")],
        "call_id string, `from` string, to string, start_time string, duration_s string",
    )

    rated = rate_dataframe(df, rater)

    types = {f.name: f.dataType for f in rated.schema.fields}
    assert types["charge"] == DecimalType(38, 6)
    assert types["billed_s"] == LongType()
    assert all(types[n] == StringType() for n in ("currency", "matched_prefix", "rate", "reject_reason"))
    row = rated.collect()[0]  # 0.15 a minute from the US, per minute: 2 minutes
    assert (row["charge"], row["currency"], row["matched_prefix"], row["billed_s"], row["reject_reason"]) == (
        Decimal("0.30"),
        "USD",
        "447",
        120,
        None,
    )


def test_a_python_worker_rates_every_task_of_a_job_with_the_rater_of_its_first_task(catalog: Container) -> None:
    # Spark unpickles the function for each task; the deck's index must be built once per worker.
    rater = ArrowCdrRater(bulk_rater(catalog.catalog, PLAN), CdrMapping())
    function = _RateBatches(rater, pa.schema(rater.output_schema(pa.schema([("call_id", pa.string())]))))
    first, second = pickle.loads(pickle.dumps(function)), pickle.loads(pickle.dumps(function))
    assert first.rater is not second.rater

    assert first._worker_rater() is first.rater
    assert second._worker_rater() is first.rater
    other_job = pickle.loads(pickle.dumps(_RateBatches(rater, function.schema)))
    assert other_job._worker_rater() is other_job.rater


def test_a_dataframe_that_already_has_a_rated_column_is_refused_before_anything_runs(
    spark: SparkSession, catalog: Container
) -> None:
    rater = ArrowCdrRater(bulk_rater(catalog.catalog, PLAN), CdrMapping())
    df = spark.createDataFrame([("c1", "1.0")], "call_id string, charge string")

    with pytest.raises(InvalidInput, match="charge"):
        rated_schema(df, rater)


def test_the_job_runs_end_to_end_with_python_dash_m_in_local_mode(
    spark_env: dict[str, str], catalog: Container, tmp_path: Path
) -> None:
    inputs = [write_uk_csv(tmp_path / f"in-{k}.csv", 60, seed=20 + k) for k in range(2)]
    rater = ArrowCdrRater(bulk_rater(catalog.catalog, PLAN), CdrMapping.preset("uk-sample"))
    single = tmp_path / "single"
    single.mkdir()
    counts = rate_cdr_files(inputs, single / "rated.parquet", single / "rejects.parquet", "parquet", rater)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEBILL_")}
    argv = [
        sys.executable, "-m", "telebill.bulk.spark",
        "--plan", PLAN,
        "--database-url", catalog.settings.resolved_database_url,
        "--input", *map(str, inputs),
        "--out", str(tmp_path / "rated"),
        "--rejects", str(tmp_path / "rejects"),
        "--format", "parquet",
        "--preset", "uk-sample",
    ]  # fmt: skip

    done = subprocess.run(argv, env={**env, **spark_env}, cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"read 120 rows: {counts.rated} rated, {counts.rejected} rejected"
    assert sorted(lines[1:-2]) == sorted(f"total {total} {code}" for code, total in counts.charges.items())
    assert lines[-2:] == [f"rated rows: {tmp_path / 'rated'}", f"rejected rows: {tmp_path / 'rejects'}"]
    assert assert_same_rows(tmp_path / "rated", single / "rated.parquet", "parquet") == counts.rated
    assert assert_same_rows(tmp_path / "rejects", single / "rejects.parquet", "parquet") == counts.rejected


def test_csv_with_a_bom_crlf_and_line_breaks_inside_quoted_cells_rates_as_on_one_machine(
    spark: SparkSession, catalog: Container, tmp_path: Path
) -> None:
    lines = [
        "call_id,from,to,start_time,duration_s",
        '"c1\nits second line",+14155550100,+447400123456,2026-02-03T10:00:00Z,61',
        'c2,+14155550100,"+44 7400\n123456",2026-02-03T10:00:00Z,30',  # a line break in a number
        "c3,+14155550100,+447400123456,2026-02-03T10:00:00Z,30",
    ]
    path = tmp_path / "odd.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")

    counts, _ = rate_both(spark, catalog, [path], "csv", CdrMapping(), tmp_path)

    assert (counts.read, counts.rated, counts.rejected) == (3, 3, 0)  # separators in a number are dropped


def test_an_output_directory_already_there_is_refused_before_the_job_writes_anything(
    spark: SparkSession, catalog: Container, tmp_path: Path
) -> None:
    inputs = [write_parquet(tmp_path / "cdrs.parquet", default_layout(20, seed=3))]
    rater = ArrowCdrRater(bulk_rater(catalog.catalog, PLAN), CdrMapping())
    (tmp_path / "rejects").mkdir()

    with pytest.raises(InvalidInput, match="rejects already exists"):
        rate_files(spark, [str(p) for p in inputs], "parquet", str(tmp_path / "rated"), str(tmp_path / "rejects"),
                   "parquet", rater)  # fmt: skip

    assert not (tmp_path / "rated").exists()
    assert not list((tmp_path / "rejects").iterdir())


def test_a_single_csv_file_is_spread_over_every_core_for_rating(spark: SparkSession, tmp_path: Path) -> None:
    path = write_uk_csv(tmp_path / "one.csv", 50, seed=7)

    df = read_cdrs(spark, [str(path)], "csv")

    assert spark.sparkContext.defaultParallelism == 2  # local[2]
    assert df.rdd.getNumPartitions() == 2
    assert df.count() == 50
