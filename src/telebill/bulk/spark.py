"""The bulk rater as a PySpark job: the kernel of `telebill rate-cdrs`, over many files at once.

Owns running `ArrowCdrRater` inside Spark. `rate_dataframe` hands each partition's Arrow record
batches to the rater through `DataFrame.mapInArrow`, so the executors run the same numpy
kernel on the same Arrow columns as the single-machine path (`adapters.cdr_files`), and a
rated row equals the one `rate_cdr_files` writes. `main` is the job: it builds the rater once
on the driver from the telebill database (plan and every version of its decks), reads the
input files as one DataFrame, rates it, writes the rated rows and the rejects to two output
directories, and prints the counts, checking rows read == rows rated + rows rejected.

Run it with `python -m telebill.bulk.spark ...` (Spark local mode, or the master of
spark-defaults.conf) or `spark-submit .../telebill/bulk/spark.py ...` on a cluster
(docs/spark.md). Nothing is built at import: the SparkSession exists only inside `main`.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Final

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql.pandas.types import from_arrow_type, to_arrow_schema
from pyspark.sql.types import StructField, StructType

from telebill.adapters.cdr_arrow import RATED_FIELDS, ArrowCdrRater, CdrMapping
from telebill.adapters.cdr_names import FIELD_NAMES, FORMATS, input_format
from telebill.domain.errors import InvalidInput, TelebillError
from telebill.domain.money import format_decimal

REASON: Final = "reject_reason"
_RATED_NAMES: Final = frozenset(f.name for f in RATED_FIELDS)


# -- rating a DataFrame ----------------------------------------------------------------------


def _plain(arrow_type: pa.DataType) -> pa.DataType:
    """The type Spark can take: a dictionary-encoded column as its plain values."""
    return arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type


# The rater each Python worker process rates with, by job key. Spark unpickles the mapInArrow
# function afresh for every task; the first task of a job in a process keeps its rater here, so
# the deck's prefix index (built on first use: seconds, for a 1M-prefix deck) is built once per
# worker process, not once per task (Python workers are reused across tasks by default).
_WORKER_RATERS: dict[str, ArrowCdrRater] = {}


@dataclass(frozen=True)
class _RateBatches:
    """The function mapInArrow runs on each partition: rate every batch, then give each column
    the exact Arrow type the Spark schema stands for (plain strings, not dictionaries).
    A module-level class, so executors unpickle it by name from the installed telebill."""

    rater: ArrowCdrRater
    schema: pa.Schema
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def _worker_rater(self) -> ArrowCdrRater:
        rater = _WORKER_RATERS.get(self.key)
        if rater is None:
            _WORKER_RATERS.clear()  # a worker reused by a later job drops the earlier job's rater
            rater = _WORKER_RATERS[self.key] = self.rater
        return rater

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        rater = self._worker_rater()
        for batch in batches:
            rated = rater.rate_batch(batch)
            columns = []
            for column, target in zip(rated.columns, self.schema, strict=True):
                if pa.types.is_dictionary(column.type):
                    column = column.dictionary_decode()
                if column.type != target.type:
                    column = column.cast(target.type)
                columns.append(column)
            yield pa.RecordBatch.from_arrays(columns, schema=self.schema)


def _arrow_schema(spark: SparkSession, schema: StructType) -> pa.Schema:
    """The Arrow schema of the batches Spark exchanges with Python for `schema`."""
    return to_arrow_schema(
        schema,
        timezone=spark.conf.get("spark.sql.session.timeZone"),
        prefers_large_types=(spark.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false") or "").lower()
        == "true",
    )


def rated_schema(df: DataFrame, rater: ArrowCdrRater) -> StructType:
    """The Spark schema of `rate_dataframe(df, rater)`: df's columns unchanged, then the rated
    columns of `rater.output_schema` (InvalidInput if df already has one of them)."""
    arrow_out = rater.output_schema(_arrow_schema(df.sparkSession, df.schema))
    fields = []
    for f in arrow_out:
        if f.name in _RATED_NAMES:
            fields.append(StructField(f.name, from_arrow_type(_plain(f.type)), nullable=True))
        else:
            fields.append(df.schema[f.name])
    return StructType(fields)


def rate_dataframe(df: DataFrame, rater: ArrowCdrRater) -> DataFrame:
    """Every row of `df` with `charge`, `currency`, `matched_prefix`, `billed_s`, `rate` and
    `reject_reason` (null when rated), rated by `rater` on the executors, batch by batch
    (`spark.sql.execution.arrow.maxRecordsPerBatch` rows at most per batch)."""
    schema = rated_schema(df, rater)
    return df.mapInArrow(_RateBatches(rater, _arrow_schema(df.sparkSession, schema)), schema)


# -- reading and writing files ---------------------------------------------------------------


def read_cdrs(spark: SparkSession, paths: Sequence[str], fmt: str) -> DataFrame:
    """CDR files (or directories, or globs) of one format and column layout as one DataFrame.

    CSV is read as `rate_cdr_files` reads it: a header line in each file, every column as text,
    RFC 4180 quoting (a quoted cell may hold line breaks, so each CSV file is read by one task;
    fewer files than cores are then spread over the cores for rating),
    an empty cell as the empty string (Spark would make it null), a file whose header differs
    from the first file's, or a malformed line, fails the job."""
    if fmt == "parquet":
        return spark.read.parquet(*paths)
    if fmt != "csv":
        raise InvalidInput(f"input format {fmt!r} must be one of {', '.join(FORMATS)}")
    df = spark.read.options(header=True, escape='"', multiLine=True, enforceSchema=False, mode="FAILFAST").csv(
        list(paths)
    )
    cores = spark.sparkContext.defaultParallelism
    if df.rdd.getNumPartitions() < cores:  # a few large files: rate them on every core, not one each
        df = df.repartition(cores)
    return df.select([sf.coalesce(sf.col(f"`{c}`"), sf.lit("")).alias(c) for c in df.columns])


def write_frame(df: DataFrame, path: str, fmt: str, overwrite: bool) -> None:
    writer = df.write.mode("overwrite" if overwrite else "errorifexists")
    if fmt == "csv":
        # Spark trims values when writing CSV unless told not to; the text is written back as read.
        writer.options(header=True, escape='"', ignoreLeadingWhiteSpace=False, ignoreTrailingWhiteSpace=False).csv(path)
    else:
        writer.parquet(path)


@dataclass(frozen=True)
class JobCounts:
    """Rows read, rated and rejected, and the total charge per currency code."""

    read: int
    rated: int
    rejected: int
    charges: dict[str, Decimal]

    @property
    def balanced(self) -> bool:
        return self.read == self.rated + self.rejected


def _refuse_existing(spark: SparkSession, *paths: str) -> None:
    """InvalidInput for the first of `paths` that exists, on whatever file system it names
    (local, HDFS, S3...), asked through Hadoop's FileSystem API as Spark's writers ask it."""
    jvm, conf = spark.sparkContext._jvm, spark.sparkContext._jsc.hadoopConfiguration()
    for path in paths:
        hadoop_path = jvm.org.apache.hadoop.fs.Path(path)  # type: ignore[union-attr]
        if hadoop_path.getFileSystem(conf).exists(hadoop_path):
            raise InvalidInput(f"{path} already exists (--overwrite replaces it)")


def _column(name: str) -> Column:
    return sf.col(f"`{name}`")


def rate_files(
    spark: SparkSession,
    inputs: Sequence[str],
    in_fmt: str,
    out: str,
    rejects: str,
    out_fmt: str,
    rater: ArrowCdrRater,
    overwrite: bool = False,
) -> JobCounts:
    """Rate every row of `inputs` into the directories `out` (input columns + `charge`,
    `currency`, `matched_prefix`, `billed_s`, `rate`) and `rejects` (input columns +
    `reject_reason`), as `rate_cdr_files` splits them. The rated DataFrame is persisted
    (memory, spilling to disk), so the rater runs once for the counts and both outputs.
    Nothing is written if the counts do not add up."""
    if out_fmt not in FORMATS:
        raise InvalidInput(f"output format {out_fmt!r} must be one of {', '.join(FORMATS)}")
    if not overwrite:  # found before the job runs, not when the second output is written
        _refuse_existing(spark, out, rejects)
    df = read_cdrs(spark, inputs, in_fmt)
    read = df.count()
    rated = rate_dataframe(df, rater).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        is_rated = _column(REASON).isNull()
        summary = (
            rated.groupBy(is_rated.alias("ok"), _column("currency").alias("currency"))
            .agg(sf.count(sf.lit(1)).alias("rows"), sf.sum(_column("charge")).alias("total"))
            .collect()
        )
        counts = JobCounts(
            read=read,
            rated=sum(int(r["rows"]) for r in summary if r["ok"]),
            rejected=sum(int(r["rows"]) for r in summary if not r["ok"]),
            charges={r["currency"]: r["total"] for r in summary if r["ok"] and r["currency"] is not None},
        )
        if counts.balanced:
            rated_columns = [_column(c) for c in rated.columns if c != REASON]
            reject_columns = [_column(c) for c in [*df.columns, REASON]]
            write_frame(rated.filter(is_rated).select(rated_columns), out, out_fmt, overwrite)
            write_frame(rated.filter(~is_rated).select(reject_columns), rejects, out_fmt, overwrite)
        return counts
    finally:
        rated.unpersist()


# -- the job ---------------------------------------------------------------------------------


def _mapping(args: argparse.Namespace) -> CdrMapping:
    mapping = CdrMapping.preset(args.preset) if args.preset else CdrMapping()
    assignments: dict[str, str] = {}
    for item in args.columns:
        for part in item.split(","):
            if part.strip():
                key, sep, column = part.partition("=")
                if not sep:
                    raise InvalidInput(f"--columns: {part!r} must be FIELD=COLUMN")
                assignments[key.strip()] = column.strip()
    mapping = mapping.with_columns(assignments)
    if args.default_country is not None:
        mapping = replace(mapping, default_country=args.default_country.strip() or None)
    if args.time_format is not None:
        mapping = replace(mapping, time_format=args.time_format)
    if args.timezone is not None:
        mapping = replace(mapping, timezone=args.timezone.strip() or None)
    return mapping


def _input_format(inputs: Sequence[str], given: str | None) -> str:
    if given:
        return given
    try:
        formats = {input_format(Path(p)) for p in inputs}
    except InvalidInput as exc:
        raise InvalidInput(f"{exc}; for directories and globs give --input-format") from exc
    if len(formats) != 1:
        raise InvalidInput(f"the inputs mix formats ({', '.join(sorted(formats))}); give files of one format")
    return formats.pop()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="telebill.bulk.spark",
        description="Rate CDR files (CSV or Parquet) with a telebill price plan on Spark: rated rows and "
        "rejects go to two output directories; prints the counts and the total charge per currency.",
    )
    p.add_argument("--plan", required=True, help="price plan to rate with")
    p.add_argument(
        "--database-url", help="telebill database holding the plan and its decks (default: TELEBILL_DATABASE_URL)"
    )
    p.add_argument(
        "--input", nargs="+", action="extend", required=True, metavar="PATH", help="CDR files, directories or globs"
    )
    p.add_argument(
        "--input-format", choices=FORMATS, help="format of the inputs (default: from the file names, .csv or .parquet)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the rated rows")
    p.add_argument("--rejects", required=True, metavar="DIR", help="directory for the rejected rows and reasons")
    p.add_argument("--format", choices=FORMATS, default="parquet", help="output format (default: parquet)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output directories")
    p.add_argument("--preset", help="column layout preset: uk-sample")
    p.add_argument(
        "--columns", action="append", default=[], help=f"FIELD=COLUMN,... (repeatable) for {', '.join(FIELD_NAMES)}"
    )
    p.add_argument("--default-country", help="country (ISO alpha-2) of national-format numbers")
    p.add_argument("--time-format", help="strptime format of the start time (default: ISO 8601)")
    p.add_argument("--timezone", help="IANA time zone of times without an offset (default: UTC)")
    p.add_argument("--master", help="Spark master when run with python -m (spark-submit sets its own)")
    return p


def build_rater(plan: str, mapping: CdrMapping, database_url: str | None) -> ArrowCdrRater:
    """The rater of `plan` with every version of its decks, read from the telebill database
    (`database_url`, else the settings: TELEBILL_DATABASE_URL). Only the driver calls this:
    the database, SQLAlchemy and the settings are imported here, not at the top of the module,
    so that executors, which import this module to unpickle the mapInArrow function, need only
    the rating kernel (numpy, pyarrow, phonenumbers) and never reach the database."""
    from telebill.bootstrap import bootstrap
    from telebill.config import Settings
    from telebill.service.bulk_rating import bulk_rater

    container = bootstrap(Settings(database_url=database_url) if database_url else Settings())
    try:
        return ArrowCdrRater(bulk_rater(container.catalog, plan), mapping)
    finally:
        container.close()


def _session(master: str | None) -> SparkSession:
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        # Started from Python, not spark-submit: Python workers (local mode) run this interpreter,
        # which has telebill, unless PYSPARK_PYTHON says otherwise.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("telebill-rate-cdrs")
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    timestamps = "spark.sql.parquet.outputTimestampType"
    if not spark.sparkContext.getConf().contains(timestamps):
        # Parquet timestamps as microseconds, as rate_cdr_files writes them (INT96 is legacy).
        spark.conf.set(timestamps, "TIMESTAMP_MICROS")
    return spark


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # pyspark checks pandas' version on the way to mapInArrow and warns that pandas 3 is not
    # "fully supported"; an Arrow map never uses pandas, so the warning only misleads here.
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    try:
        if args.out == args.rejects or {args.out, args.rejects} & set(args.input):
            raise InvalidInput("--out and --rejects must be two directories other than the inputs")
        mapping = _mapping(args)
        in_fmt = _input_format(args.input, args.input_format)
        rater = build_rater(args.plan, mapping, args.database_url)
        spark = _session(args.master)
        try:
            counts = rate_files(spark, args.input, in_fmt, args.out, args.rejects, args.format, rater, args.overwrite)
        finally:
            spark.stop()
    except (TelebillError, AnalysisException) as exc:  # bad input, or a path missing or already there
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"read {counts.read} rows: {counts.rated} rated, {counts.rejected} rejected")
    for code, total in sorted(counts.charges.items()):
        print(f"total {format_decimal(total)} {code}")
    if not counts.balanced:
        print("error: the counts do not add up; nothing was written", file=sys.stderr)
        return 3
    print(f"rated rows: {args.out}")
    print(f"rejected rows: {args.rejects}")
    return 0


if __name__ == "__main__":
    # Run through the installed module, not this __main__ copy, so that the function shipped to
    # the executors is pickled by reference to telebill.bulk.spark.
    from telebill.bulk.spark import main as _main

    sys.exit(_main())
