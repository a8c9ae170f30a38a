"""`make bench`: catalog performance figures, each printed beside a baseline from the same run.

Figures (targets in parentheses):
  scalar lookup on a 100k-prefix deck (median <= 2 us/number), baseline: dict probe loop
  bulk lookup on 10M numbers (>= 10M numbers/s on one core), baseline: the scalar path
  100k-row import into SQLite (<= 3 s), baseline: csv.reader + sqlite3 executemany of raw text
  memory of a loaded 1M-prefix deck (<= 300 MB), baseline: a dict of prefix -> entry tuple
"""

from __future__ import annotations

import csv
import gc
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np

from telebill.adapters.clock import FrozenClock
from telebill.adapters.importers.formats import read_deck
from telebill.bootstrap import bootstrap
from telebill.config import Settings
from telebill.domain.catalog.entries import ALL, Destination, Increments, Tariff
from telebill.domain.catalog.prefix_index import keys_of_numbers
from telebill.domain.catalog.voice_index import VoiceIndex
from telebill.domain.catalog.voice_table import VoiceRateTable, VoiceRateTableBuilder
from telebill.domain.money import currency

HEADER = (
    "kind,prefix,origin,friendly_name,country,number_type,region,caller,resource,unit,quantity,"
    "base_price,current_price,setup_price,monthly_price,inbound_price,connection_fee,increments,"
    "free,blocked,rounding"
)


def synthetic_prefixes(n: int, seed: int) -> list[str]:
    """`n` distinct prefixes shaped like a carrier deck: country codes, then area/mobile ranges."""
    rnd = random.Random(seed)
    countries = [str(c) for c in range(1, 999) if rnd.random() < 0.25] + ["1", "7", "33", "44", "49"]
    out: set[str] = set(countries)
    while len(out) < n:
        cc = rnd.choice(countries)
        out.add(cc + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 7))))
    return sorted(out)[:n]


def write_deck(path: Path, prefixes: list[str], seed: int) -> None:
    rnd = random.Random(seed)
    prices = [f"0.{rnd.randint(1, 4999):04d}" for _ in range(500)]
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER + "\n")
        w = csv.writer(fh, lineterminator="\n")
        for p in prefixes:
            price = rnd.choice(prices)
            w.writerow(["voice", p, "ALL", f"Destination {p[:3]}", "", "", "", "", "", "", "",
                        price, price, "", "", "", "0", "60/60", "false", "false", "half_up:6"])  # fmt: skip


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def table_of(prefixes: list[str]) -> VoiceRateTable:
    b = VoiceRateTableBuilder()
    tariffs = [Tariff(Decimal(f"0.{i:04d}"), Decimal(f"0.{i:04d}"), Increments()) for i in range(1, 501)]
    for i, p in enumerate(prefixes):
        b.add(p, ALL, Destination(f"Destination {p[:3]}"), tariffs[i % 500])
    return b.build()


def row(label: str, value: str, baseline: str, ratio: str, target: str) -> None:
    print(f"{label:<38} {value:>16}   baseline {baseline:>16}   {ratio:>10}   target {target}")


def bench_lookups(prefixes: list[str]) -> None:
    index = VoiceIndex(table_of(prefixes))
    rnd = random.Random(7)
    numbers = [rnd.choice(prefixes) + str(rnd.randint(10**5, 10**7)) for _ in range(100_000)]
    numbers = [n[:15] for n in numbers]
    lookup = index.lookup
    probe = {p: i for i, p in enumerate(prefixes)}

    def scalar() -> None:
        for n in numbers:
            lookup(n)

    def dict_probe() -> None:
        get = probe.get
        for n in numbers:
            for length in range(len(n), 0, -1):
                if get(n[:length]) is not None:
                    break

    per_scalar = median_time(scalar, 7) / len(numbers) * 1e6
    per_dict = median_time(dict_probe, 7) / len(numbers) * 1e6
    row("scalar lookup, 100k-prefix deck", f"{per_scalar:.2f} us/number", f"{per_dict:.2f} us/number",
        f"{per_dict / per_scalar:.1f}x faster", "<= 2 us")  # fmt: skip

    big = np.array([int(n) for n in numbers] * 100, dtype=np.int64)  # 10M numbers
    bulk_s = median_time(lambda: index.lookup_many(keys_of_numbers(big)), 5)
    bulk_rate = big.size / bulk_s
    scalar_rate = 1e6 / per_scalar
    row("bulk lookup, 10M numbers, one core", f"{bulk_rate / 1e6:.1f} M/s", f"{scalar_rate / 1e6:.2f} M/s",
        f"{bulk_rate / scalar_rate:.0f}x scalar", ">= 10 M/s")  # fmt: skip
    sample = big[:200_000]
    assert list(index.lookup_many(keys_of_numbers(sample))) == [lookup(str(n)) for n in sample.tolist()]


def bench_import(path: Path, rows: int, workdir: Path) -> None:
    runs = []
    for i in range(3):
        url = f"sqlite:///{workdir / f'import{i}.db'}"
        c = bootstrap(Settings(database_url=url), FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)))
        c.migrate()
        t0 = time.perf_counter()
        content = read_deck(path, None)
        c.catalog.import_deck("bench", currency("USD"), content, str(path))
        runs.append(time.perf_counter() - t0)
        c.close()

    def raw() -> None:
        db = workdir / "raw.db"
        db.unlink(missing_ok=True)
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE r (a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r2,s,t,u)")
        with path.open(encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader)
            conn.executemany("INSERT INTO r VALUES (" + ",".join("?" * 21) + ")", reader)
        conn.commit()
        conn.close()

    imp, base = statistics.median(runs), median_time(raw, 3)
    row(f"import {rows // 1000}k rows (parse+validate+SQLite)", f"{imp:.2f} s", f"{base:.2f} s",
        f"{imp / base:.1f}x raw", "<= 3 s")  # fmt: skip


def traced(build: Callable[[], object]) -> tuple[float, float, object]:
    gc.collect()
    tracemalloc.start()
    obj = build()
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current / 2**20, peak / 2**20, obj


def bench_memory() -> None:
    prefixes = synthetic_prefixes(1_000_000, 11)

    def telebill_deck() -> object:
        index = VoiceIndex(table_of(prefixes))
        index.lookup("4420")
        return index

    def naive() -> object:
        tariffs = [(Decimal(f"0.{i:04d}"), Decimal(f"0.{i:04d}"), 60, 60) for i in range(1, 501)]
        return {p: (p, ALL, f"Destination {p[:3]}", tariffs[i % 500]) for i, p in enumerate(prefixes)}

    cur, peak, obj = traced(telebill_deck)
    del obj
    base_cur, _, obj = traced(naive)
    del obj
    row("memory, 1M-prefix deck loaded", f"{cur:.0f} MB", f"{base_cur:.0f} MB",
        f"{base_cur / cur:.1f}x less", "<= 300 MB")  # fmt: skip
    print(f"{'':<38} (peak while building: {peak:.0f} MB)")


def main() -> None:
    print(f"telebill bench, Python {sys.version.split()[0]}, numpy {np.__version__}, pid {os.getpid()}")
    print("medians of repeated runs; baselines measured in this same run\n")
    prefixes = synthetic_prefixes(100_000, 3)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        deck = work / "deck100k.csv"
        write_deck(deck, prefixes, 5)
        bench_lookups(prefixes)
        bench_import(deck, len(prefixes), work)
    bench_memory()


if __name__ == "__main__":
    main()
