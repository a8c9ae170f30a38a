"""`make bench` (bulk part): rating call detail records in bulk, Parquet in -> Parquet out.

10 million synthetic CDRs (numpy, seeded: call_id, from, to, start_time as a UTC timestamp,
duration_s) are rated against a 100k-prefix deck imported into a throwaway SQLite telebill
database, with the function `telebill rate-cdrs` uses (`rate_cdr_files` and the service's
`bulk_rater`), beside baselines measured in the same run on the same Parquet file.

Figures (targets in parentheses):
  telebill bulk rating on one core: CDRs/s end-to-end, reading and writing Parquet, rated rows
    and rejects (>= 2M CDRs/s, and >= 20x the SQL join); the plan is loaded and warmed first
  baseline: DuckDB SQL, threads=1 on the same core: one LEFT JOIN per prefix length (1-10
    digits), COALESCE from the longest; billed seconds and the charge (rounded once by the
    entry's rule) in exact integer micros; rated rows and rejects written by `COPY ... TO`
  baseline: plain Python loops, row by row, over the scalar rater: `CatalogService.rate` (20k
    CDRs; it parses and classifies both numbers with phonenumbers) and the domain's `quote` +
    `rate_call` on numbers taken as E.164 (100k CDRs)
  for information: DuckDB with every thread and core, the rates on CPU seconds, Parquet
    read+write only (the CDRs copied batch by batch, no rating: the floor under telebill's figure),
    and Parquet read only, as `rate-cdrs` reads (the least any Parquet-in rating can take), next
    to the rate the ratio target asks for (20x the SQL join's)
Times are medians of 3 runs, telebill and SQL interleaved so that a noisy neighbour slows both
alike. Checks: telebill and the SQL join agree on rated and rejected counts and the total charge
("totals agree"), rated + rejected = CDRs read, and both Python loops charge every CDR of their
sample exactly as telebill does.

The deck has ALL-origin entries only, so that the SQL join, which ignores origin-specific
entries, does the same work. Prefixes start with real country codes and numbers have lengths
their country allows, after national digits that phonenumbers (and telebill, which follows it)
never strips as a national or carrier prefix, so that every rater reads the numbers alike; six
countries are left out of the deck so that ~1 % of the calls have no price, and ~1 % of the
prefixes are blocked.

`--rows N` rates N CDRs instead of 10 million (quick runs).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from phonenumbers import PhoneMetadata

sys.path.insert(0, str(Path(__file__).parent))
from run import HEADER, row  # the catalog bench's deck header and table row

from telebill.adapters.cdr_arrow import ArrowCdrRater, CdrMapping
from telebill.adapters.cdr_files import RatingCounts, batch_memory, rate_cdr_files
from telebill.adapters.cdr_inputs import read_batches
from telebill.adapters.clock import FrozenClock
from telebill.adapters.importers.formats import read_deck
from telebill.bootstrap import Container, bootstrap
from telebill.config import Settings
from telebill.domain.catalog.plans import ConditionKind, PricePlan, Tier, quote
from telebill.domain.errors import TelebillError
from telebill.domain.money import currency
from telebill.domain.numbering import NumberType, PhoneNumber, e164_digits
from telebill.domain.rating import CallUsage, Charge, rate_call
from telebill.service.bulk_rating import bulk_rater

ROWS = 10_000_000
PREFIXES = 100_000
CHUNK = 1_000_000
BATCH_ROWS = 1_000_000  # the CLI's default --batch-rows
REPEAT = 3
LOOP_SAMPLE = 100_000
SERVICE_SAMPLE = 20_000  # CatalogService.rate is slow: phonenumbers classifies every number
UNPRICED_SHARE = 0.01
TARGET_RATE = 2_000_000
TARGET_RATIO = 20
MONTH = datetime(2026, 3, 1, tzinfo=UTC)
DECK_EFFECTIVE = datetime(2026, 1, 1, tzinfo=UTC)
PLAN = "bulk-bench"
CPU = 0  # the one core of the "one core" figures
T = TypeVar("T")


# -- synthetic deck and CDRs ---------------------------------------------------------------


@dataclass(frozen=True)
class Numbering:
    """Deck prefixes, and the heads of the numbers called: a head is a deck prefix (a country
    code gets one more digit), with the length of a number under it (country code included)."""

    prefixes: list[str]
    heads: list[tuple[str, int]]
    unpriced: list[tuple[str, int]]  # heads in countries left out of the deck


def countries() -> list[tuple[str, int]]:
    """(country code, national number length) for every geographic calling code."""
    out = []
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        region = phonenumbers.region_code_for_country_code(code)
        meta = PhoneMetadata.metadata_for_region(region) if region != "001" else None
        if meta is None or meta.general_desc is None:
            continue
        fits = [n for n in meta.general_desc.possible_length if 4 <= n <= 11]
        if fits:
            out.append((str(code), max(fits)))
    return out


def national_starts(code: str, national: int, rnd: random.Random) -> list[str]:
    """First two national digits after which `phonenumbers` (and so telebill) never strips a
    national or carrier prefix (0, Belarus' 80, Brazil's 90xx, ...): a number is rated as the CDR
    spells it, as the SQL baseline reads it. Checked on 100 random numbers per start."""
    region = phonenumbers.region_code_for_country_code(int(code))
    pattern = PhoneMetadata.metadata_for_region(region).national_prefix_for_parsing
    starts = [str(i) for i in range(10, 100)]
    if not pattern:
        return starts
    rx = re.compile(pattern)

    def strips(start: str) -> bool:
        for _ in range(100):
            m = rx.match(start + "".join(rnd.choices("0123456789", k=national - 2)))
            if m is not None and m.end() > 0:
                return True
        return False

    return [s for s in starts if not strips(s)]


def synthetic_numbering(n: int, seed: int) -> Numbering:
    """`n` distinct prefixes shaped like a carrier deck: country codes, then area/mobile ranges;
    six countries are left out of the deck, to call numbers without a price."""
    rnd = random.Random(seed)
    lengths = dict(countries())
    starts = {c: national_starts(c, nat, rnd) for c, nat in lengths.items()}
    usable = sorted(c for c in lengths if starts[c] and c != "54")  # Argentina strips a 15 after its area codes
    left_out = set(rnd.sample([c for c in usable if c not in {"1", "7", "33", "44", "49", "86", "91"}], 6))
    priced = [c for c in usable if c not in left_out]
    head_of = {c: c + rnd.choice(starts[c]) for c in priced}  # numbers called under a country code
    while len(head_of) < n:
        code = rnd.choice(priced)
        national = rnd.choice(starts[code]) + "".join(rnd.choices("0123456789", k=5))
        prefix = code + national[: rnd.randint(1, min(7, lengths[code] - 2))]
        head_of.setdefault(prefix, code + national[:2] if len(prefix) == len(code) + 1 else prefix)
    prefixes = sorted(head_of)

    def length(head: str) -> int:
        return next(len(c) + lengths[c] for c in (head[:1], head[:2], head[:3]) if c in lengths)

    heads = [(head_of[p], length(head_of[p])) for p in prefixes]
    unpriced = [(head, length(head)) for head in (c + rnd.choice(starts[c]) for c in sorted(left_out))]
    return Numbering(prefixes, heads, unpriced)


def write_deck(path: Path, prefixes: list[str], seed: int) -> None:
    """A telebill-format deck, ALL origins only, with varied tariffs: price, increments, fee,
    rounding, a few free and blocked destinations."""
    rnd = random.Random(seed)
    increments = ["60/60", "60/60", "1/1", "30/6", "6/6", "60/1"]
    fees = ["0", "0", "0", "0.01", "0.0025"]
    roundings = ["half_up:6", "half_up:6", "half_up:4", "up:4", "down:2", "up:2"]
    tariffs = []
    for _ in range(500):
        price = f"0.{rnd.randint(1, 4999):04d}"
        free, blocked = rnd.random() < 0.01, rnd.random() < 0.01
        tariffs.append((price, rnd.choice(fees), rnd.choice(increments), free and not blocked, blocked))
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER + "\n")
        w = csv.writer(fh, lineterminator="\n")
        for p in prefixes:
            price, fee, inc, free, blocked = rnd.choice(tariffs)
            flags = [str(free).lower(), str(blocked).lower()]
            w.writerow(["voice", p, "ALL", f"Destination {p[:3]}", "", "", "", "", "", "", "", price, price,
                        "", "", "", fee, inc, *flags, rnd.choice(roundings)])  # fmt: skip


def origins(count: int, seed: int) -> list[str]:
    """Caller numbers of a few thousand lines: US, UK and French numbers."""
    rnd = random.Random(seed)
    shapes = [("+1415555", 4), ("+1212", 7), ("+44207", 7), ("+4420", 8), ("+331", 8), ("+336", 8)]
    out: set[str] = set()
    while len(out) < count:
        head, k = rnd.choice(shapes)
        out.add(head + "".join(rnd.choices("0123456789", k=k)))
    return sorted(out)


def write_cdrs(path: Path, numbering: Numbering, rows: int, seed: int) -> None:
    """`rows` CDRs to Parquet, generated in chunks: destinations drawn uniformly over the deck's
    prefixes (~1 % from countries without a price), durations skewed (many short calls, some 0)."""
    rng = np.random.default_rng(seed)
    all_heads = numbering.heads + numbering.unpriced
    heads = np.array([int(h) for h, _ in all_heads], dtype=np.int64)
    widths = np.array([n - len(h) for h, n in all_heads], dtype=np.int64)
    n_priced, n_unpriced = len(numbering.heads), len(numbering.unpriced)
    callers = pa.array(origins(3000, seed))
    month_us = 31 * 86400 * 10**6
    start_us = int(MONTH.timestamp()) * 10**6
    schema = pa.schema(
        [
            ("call_id", pa.int64()),
            ("from", pa.string()),
            ("to", pa.string()),
            ("start_time", pa.timestamp("us", tz="UTC")),
            ("duration_s", pa.int32()),
        ]
    )
    with pq.ParquetWriter(path, schema) as writer:
        for lo in range(0, rows, CHUNK):
            size = min(CHUNK, rows - lo)
            pick = rng.integers(0, n_priced, size)
            unpriced = rng.random(size) < UNPRICED_SHARE
            pick[unpriced] = n_priced + rng.integers(0, n_unpriced, int(unpriced.sum()))
            scale = 10 ** widths[pick]
            to = heads[pick] * scale + rng.integers(0, scale)
            to_text = pc.binary_join_element_wise("+", pc.cast(pa.array(to), pa.string()), "")
            duration = np.minimum(rng.lognormal(3.6, 1.3, size), 14_400).astype(np.int32) + 1
            duration[rng.random(size) < 0.12] = 0
            start = np.sort(start_us + rng.integers(0, month_us, size) // 10**6 * 10**6)
            batch = pa.record_batch(
                [
                    pa.array(np.arange(lo, lo + size, dtype=np.int64)),
                    callers.take(pa.array(rng.integers(0, len(callers), size))),
                    to_text,
                    pa.array(start, pa.timestamp("us", tz="UTC")),
                    pa.array(duration),
                ],
                schema=schema,
            )
            writer.write_batch(batch)


# -- timing and pinning --------------------------------------------------------------------


def pin(cpus: set[int]) -> None:
    """Set the CPU affinity of every thread of this process (thread pools created before too)."""
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.sched_setaffinity(int(tid), cpus)


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # seconds of CPU of this process (all its threads)


def measure(fn: Callable[[], T]) -> tuple[Run, T]:
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    return Run(time.perf_counter() - w0, time.process_time() - c0), result


def median(runs: list[Run]) -> Run:
    return Run(statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs))


@dataclass(frozen=True)
class Totals:
    rated: int
    rejected: int
    charge: Decimal

    def __str__(self) -> str:
        return f"{self.rated:,} rated, {self.rejected:,} rejected, charge {self.charge}"


# -- baseline A: DuckDB, one equi-join per prefix length -----------------------------------


def prefix_table(deck: Path) -> pa.Table:
    """The deck as SQL sees it: prefix, length and tariff (prices in micros, exact)."""
    names = ("id", "prefix", "len", "rate", "price_u", "fee_u", "ini", "sub", "method", "decimals", "free", "blocked")
    cols: dict[str, list[object]] = {k: [] for k in names}
    with deck.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            ini, _, sub = r["increments"].partition("/")
            method, _, decimals = r["rounding"].partition(":")
            for key, value in (
                ("id", len(cols["id"])),
                ("prefix", r["prefix"]),
                ("len", len(r["prefix"])),
                ("rate", r["current_price"]),
                ("price_u", int(Decimal(r["current_price"]).scaleb(6))),
                ("fee_u", int(Decimal(r["connection_fee"]).scaleb(6))),
                ("ini", int(ini)),
                ("sub", int(sub or ini)),
                ("method", method),
                ("decimals", int(decimals)),
                ("free", r["free"] == "true"),
                ("blocked", r["blocked"] == "true"),
            ):
                cols[key].append(value)
    return pa.table(cols)


def sql_rating(con: duckdb.DuckDBPyConnection, lengths: list[int], cdrs: Path, out: Path, rejects: Path) -> None:
    """Longest prefix by one LEFT JOIN per prefix length (COALESCE from the longest), then the
    charge fee + price * billed / 60 rounded once, on integers (micros of the deck's currency)."""
    joins = "\n".join(
        f"LEFT JOIN (SELECT prefix AS p{n}, id AS r{n} FROM prefixes WHERE len = {n}) ON p{n} = substr(c.d, 1, {n})"
        for n in lengths
    )
    row_of = "COALESCE(" + ", ".join(f"r{n}" for n in sorted(lengths, reverse=True)) + ")"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE rated AS
        WITH m AS (
            SELECT c.call_id, c."from", c."to", c.start_time, c.duration_s, {row_of} AS r
            FROM (SELECT *, ltrim("to", '+') AS d FROM read_parquet('{cdrs}')) c
            {joins}
        ), b AS (
            SELECT m.*, t.prefix, t.rate, t.price_u, t.fee_u, t.method, t.decimals, t.free, t.blocked,
                CASE WHEN m.duration_s <= 0 THEN 0
                     WHEN m.duration_s <= t.ini THEN t.ini
                     ELSE t.ini + (m.duration_s - t.ini + t.sub - 1) // t.sub * t.sub END::BIGINT AS billed_s
            FROM m LEFT JOIN prefixes t ON t.id = m.r
        ), n AS (
            SELECT *, (price_u * billed_s + fee_u * 60) * (10 ** decimals)::BIGINT AS num, 60000000::BIGINT AS den
            FROM b
        )
        SELECT call_id, "from", "to", start_time, duration_s, prefix, rate, billed_s,
            CASE WHEN free THEN 0 ELSE
                (CASE method WHEN 'up' THEN (num + den - 1) // den
                             WHEN 'down' THEN num // den
                             ELSE (2 * num + den) // (2 * den) END)
                * (10 ** (6 - decimals))::BIGINT END AS micros,
            CASE WHEN r IS NULL THEN 'no price' WHEN blocked THEN 'blocked destination' END AS reason
        FROM n
    """)
    con.execute(f"""COPY (SELECT call_id, "from", "to", start_time, duration_s,
                             micros::DECIMAL(18, 0) * 0.000001 AS charge, 'USD' AS currency,
                             prefix AS matched_prefix, billed_s, rate
                         FROM rated WHERE reason IS NULL) TO '{out}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT call_id, "from", "to", start_time, duration_s, reason
                         FROM rated WHERE reason IS NOT NULL) TO '{rejects}' (FORMAT parquet)""")


def totals_of(out: Path, rejects: Path, below: int | None = None) -> Totals:
    """Rated and rejected rows of two Parquet outputs (those with call_id < `below` if given)."""
    con = duckdb.connect()
    where = f"WHERE call_id < {below}" if below is not None else ""
    (rated, charge) = con.execute(f"SELECT count(*), sum(charge) FROM read_parquet('{out}') {where}").fetchone()  # type: ignore[misc]
    (rejected,) = con.execute(f"SELECT count(*) FROM read_parquet('{rejects}') {where}").fetchone()  # type: ignore[misc]
    con.close()
    return Totals(rated, rejected, Decimal(charge or 0))


# -- baseline B: a Python loop over the scalar rater ---------------------------------------


def first_cdrs(cdrs: Path, sample: int) -> list[dict[str, object]]:
    table = pq.ParquetFile(cdrs).iter_batches(batch_size=sample)
    return next(table).to_pylist()


Outcome = tuple[int, str, Decimal | None]  # call_id, called number, charge (None: rejected)


Rater = Callable[[dict[str, object]], Charge]


def python_loop(rate_one: Rater, cdrs: Path, sample: int) -> tuple[float, list[Outcome]]:
    """Read `sample` CDRs row by row (pyarrow's to_pylist) and rate each with `rate_one`."""

    def loop() -> list[Outcome]:
        outcomes: list[Outcome] = []
        for cdr in first_cdrs(cdrs, sample):
            try:
                amount: Decimal | None = rate_one(cdr).amount
            except TelebillError:
                amount = None
            outcomes.append((cdr["call_id"], cdr["to"], amount))  # type: ignore[arg-type]
        return outcomes

    run, outcomes = measure(loop)
    return run.wall, outcomes


def loop_differences(outcomes: list[Outcome], out: Path) -> list[Outcome]:
    """CDRs a Python loop charged otherwise than telebill did (or rejected while it rated)."""
    con = duckdb.connect()
    below = max(cid for cid, _, _ in outcomes) + 1
    rows = con.execute(f"SELECT call_id, charge FROM read_parquet('{out}') WHERE call_id < {below}").fetchall()
    con.close()
    charges = dict(rows)
    return [o for o in outcomes if charges.get(o[0]) != o[2]]


def service_rater(c: Container, plan: PricePlan) -> Rater:
    """CatalogService.rate: parses both numbers (phonenumbers), resolves the deck version, rates."""
    rate = c.catalog.rate

    def rate_one(cdr: dict[str, object]) -> Charge:
        return rate(cdr["from"], cdr["to"], cdr["duration_s"], plan, cdr["start_time"])  # type: ignore[arg-type]

    return rate_one


def domain_rater(c: Container, plan: PricePlan) -> Rater:
    """The domain's quote + rate_call on numbers taken as E.164 (no classification), one deck
    version resolved up front: the least a Python loop over the scalar rater does."""
    decks = c.catalog.resolve(plan, MONTH)

    def number(text: object) -> PhoneNumber:
        return PhoneNumber("+" + e164_digits(str(text)), None, NumberType.UNKNOWN)

    def rate_one(cdr: dict[str, object]) -> Charge:
        origin, destination = number(cdr["from"]), number(cdr["to"])
        usage = CallUsage(origin.e164, destination.e164, cdr["start_time"], cdr["duration_s"])  # type: ignore[arg-type]
        return rate_call(usage, quote(plan, decks, destination, origin))

    return rate_one


# -- telebill ------------------------------------------------------------------------------


def telebill_rater(c: Container, cdrs: Path) -> ArrowCdrRater:
    """The rater `telebill rate-cdrs --plan PLAN` builds, warmed up (deck index, dialling plan)
    on a first batch of 1,000 CDRs so that the timed runs rate only."""
    rater = ArrowCdrRater(bulk_rater(c.catalog, PLAN), CdrMapping())
    rater.rate_batch(next(pq.ParquetFile(cdrs).iter_batches(batch_size=1000)))
    return rater


def telebill_rating(rater: ArrowCdrRater, cdrs: Path, out: Path, rejects: Path) -> RatingCounts:
    """What `telebill rate-cdrs` does once it has its rater: Parquet in, rated and rejects out,
    with the command's memory settings (batch_memory)."""
    with batch_memory():
        return rate_cdr_files([cdrs], out, rejects, "parquet", rater, batch_rows=BATCH_ROWS)


def parquet_floor(cdrs: Path, out: Path) -> None:
    """For information: only reading the CDRs and writing them back unchanged, batch by batch
    (pyarrow's defaults): the least a Parquet-in, Parquet-out rating can cost."""
    source = pq.ParquetFile(cdrs)
    with pq.ParquetWriter(out, source.schema_arrow) as writer:
        for batch in source.iter_batches(batch_size=BATCH_ROWS):
            writer.write_batch(batch)


def parquet_read(cdrs: Path) -> None:
    """For information: only reading the CDRs, as `rate-cdrs` reads them (the callers' numbers
    as the file's dictionary): no Parquet-in rating can be faster than this."""
    with batch_memory():
        _, batches = read_batches(cdrs, BATCH_ROWS, [CdrMapping().origin])
        for _ in batches:
            pass


# -- the bench -----------------------------------------------------------------------------


def prepare(work: Path, rows: int) -> tuple[Container, PricePlan, Path, Path, list[int]]:
    numbering = synthetic_numbering(PREFIXES, 3)
    deck = work / "deck100k.csv"
    write_deck(deck, numbering.prefixes, 5)
    c = bootstrap(Settings(database_url=f"sqlite:///{work / 'bulk.db'}"), FrozenClock(DECK_EFFECTIVE))
    c.migrate()
    c.catalog.import_deck("bulk", currency("USD"), read_deck(deck, None), str(deck))
    plan = c.catalog.create_plan(PricePlan(PLAN, (Tier(ConditionKind.ALWAYS, "bulk"),)))
    cdrs = work / "cdrs.parquet"
    run, _ = measure(lambda: write_cdrs(cdrs, numbering, rows, 17))
    size = cdrs.stat().st_size / 2**20
    print(
        f"{len(numbering.prefixes):,}-prefix deck; {rows:,} CDRs generated in {run.wall:.1f} s, {size:.0f} MB Parquet"
    )
    return c, plan, deck, cdrs, sorted({len(p) for p in numbering.prefixes})


def sql_connection(deck: Path, threads: int) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("deck_arrow", prefix_table(deck))
    con.execute("CREATE TABLE prefixes AS SELECT * FROM deck_arrow")
    con.unregister("deck_arrow")
    con.execute(f"SET threads = {threads}")
    return con


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=ROWS, help=f"CDRs to rate (default {ROWS:,})")
    rows: int = parser.parse_args().rows
    versions = f"Python {sys.version.split()[0]}, duckdb {duckdb.__version__}, pyarrow {pa.__version__}"
    print(f"telebill bulk bench, {versions}")
    print(f"medians of {REPEAT} runs pinned to core {CPU}, telebill and SQL runs interleaved")
    everything = os.sched_getaffinity(0)
    service_n, domain_n = min(SERVICE_SAMPLE, rows), min(LOOP_SAMPLE, rows)
    tb_runs: list[Run] = []
    sql_runs: list[Run] = []
    floor_runs: list[Run] = []
    read_runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        c, plan, deck, cdrs, lengths = prepare(work, rows)
        out, rejects = work / "rated.parquet", work / "rejects.parquet"
        sql_out, sql_rejects = work / "sql-rated.parquet", work / "sql-rejects.parquet"
        try:
            pin({CPU})
            setup, rater = measure(lambda: telebill_rater(c, cdrs))
            con = sql_connection(deck, 1)
            for _ in range(REPEAT):  # interleaved: a noisy neighbour slows both alike
                run, counts = measure(lambda: telebill_rating(rater, cdrs, out, rejects))
                tb_runs.append(run)
                run, _ = measure(lambda: sql_rating(con, lengths, cdrs, sql_out, sql_rejects))
                sql_runs.append(run)
            con.close()
            for _ in range(REPEAT):
                run, _ = measure(lambda: parquet_floor(cdrs, work / "copy.parquet"))
                floor_runs.append(run)
                run, _ = measure(lambda: parquet_read(cdrs))
                read_runs.append(run)
            service_s, service = python_loop(service_rater(c, plan), cdrs, service_n)
            domain_s, domain = python_loop(domain_rater(c, plan), cdrs, domain_n)

            pin(everything)
            con = sql_connection(deck, len(everything))
            all_cores, _ = measure(lambda: sql_rating(con, lengths, cdrs, sql_out, sql_rejects))
            con.close()

            tb, sql = totals_of(out, rejects), totals_of(sql_out, sql_rejects)
            service_diff, domain_diff = loop_differences(service, out), loop_differences(domain, out)
        finally:
            pin(everything)
            c.close()

    tb_run, sql_run = median(tb_runs), median(sql_runs)
    tb_rate, sql_rate = rows / tb_run.wall, rows / sql_run.wall
    service_rate, domain_rate = service_n / service_s, domain_n / domain_s
    tb_text = f"{tb_rate / 1e6:.2f} M CDRs/s"
    print()
    row(f"bulk rating {rows / 1e6:g}M CDRs, one core", tb_text, f"{sql_rate / 1e6:.2f} M CDRs/s",
        f"{tb_rate / sql_rate:.1f}x SQL", f">= {TARGET_RATE / 1e6:g} M/s, >= {TARGET_RATIO}x SQL")  # fmt: skip
    row("  vs Python loop, CatalogService.rate", tb_text, f"{service_rate:,.0f} CDRs/s",
        f"{tb_rate / service_rate:,.0f}x loop", "-")  # fmt: skip
    row("  vs Python loop, quote + rate_call", tb_text, f"{domain_rate:,.0f} CDRs/s",
        f"{tb_rate / domain_rate:,.0f}x loop", "-")  # fmt: skip

    def walls(runs: list[Run]) -> str:
        return " / ".join(f"{r.wall:.2f}" for r in runs)

    print(f"  telebill runs {walls(tb_runs)} s (CPU {tb_run.cpu:.2f} s), after {setup.wall:.2f} s loading the plan")
    joins = f"one LEFT JOIN per prefix length {lengths[0]}-{lengths[-1]}"
    print(f"  SQL join runs {walls(sql_runs)} s (CPU {sql_run.cpu:.2f} s), {joins}")
    print(f"  on CPU seconds: telebill {rows / tb_run.cpu / 1e6:.2f} M CDRs/s, {sql_run.cpu / tb_run.cpu:.1f}x SQL")
    floor = median(floor_runs)
    floor_text = f"{rows / floor.wall / 1e6:.2f} M CDRs/s, {rows / floor.cpu / 1e6:.2f} M/s on CPU seconds"
    print(f"  Parquet read+write only (the CDRs copied, no rating): {floor_text} (information: telebill's floor)")
    read = median(read_runs)
    print(
        f"  Parquet read only, as rate-cdrs reads: {rows / read.wall / 1e6:.2f} M CDRs/s; {TARGET_RATIO}x the SQL join"
        f" would be {TARGET_RATIO * sql_rate / 1e6:.2f} M CDRs/s end to end (information: the ratio target's bound)"
    )
    cores = len(everything)
    print(f"  SQL join, {cores} threads on {cores} cores: {rows / all_cores.wall / 1e6:.2f} M CDRs/s (information)")
    print(f"  Python loops on the first {service_n:,} and {domain_n:,} CDRs, read row by row")
    failures = []
    if tb != sql:
        failures.append(f"telebill and the SQL join disagree:\n    telebill {tb}\n    SQL join {sql}")
    if tb.rated + tb.rejected != rows or (counts.read, counts.rated, counts.rejected) != (rows, tb.rated, tb.rejected):
        failures.append(f"telebill wrote {tb.rated + tb.rejected:,} rows for {rows:,} CDRs, counted {counts}")
    if counts.charges != {"USD": tb.charge}:
        failures.append(f"telebill counted charges {counts.charges}, its output holds {tb.charge}")
    for name, diff in (("CatalogService.rate", service_diff), ("quote + rate_call", domain_diff)):
        if diff:
            failures.append(f"{name} charged {len(diff):,} CDRs otherwise than telebill, e.g. {diff[:3]}")
    if failures:
        raise SystemExit("\n".join(["  CHECK FAILED: " + f for f in failures]))
    print(f"  totals agree: {tb}")
    print("  the Python loops charge every CDR as telebill does")


if __name__ == "__main__":
    main()
