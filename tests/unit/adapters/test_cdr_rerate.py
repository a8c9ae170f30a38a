"""Re-rating previous outputs: each row compared with its own new rating, batch by batch."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_cdr_arrow import DECK, T0, rater, tariff

from telebill.adapters.cdr_arrow import ArrowCdrRater, CdrMapping
from telebill.adapters.cdr_files import rate_cdr_files
from telebill.adapters.cdr_rerate import DIFF_SCHEMA, rerate_files
from telebill.domain.bulk_rating import BulkRater
from telebill.domain.catalog.deck import DeckContent, DeckVersion
from telebill.domain.catalog.entries import ALL, Destination, VoiceRate
from telebill.domain.catalog.plans import ConditionKind, PricePlan, Tier
from telebill.domain.catalog.voice_table import VoiceRateTable
from telebill.domain.charge_comparison import Change
from telebill.domain.destination_names import DestinationNames
from telebill.domain.errors import InvalidInput
from telebill.domain.money import currency

CDRS = """call_id,from,to,start_time,duration_s
c1,+33612345678,+442079460018,2026-02-01T10:00:00Z,61
c2,,+447700900123,2026-02-01T10:00:00Z,7
c3,,+81312345678,2026-02-01T10:00:00Z,60
c4,,0033142278186,2026-02-01T10:00:00Z,31
c5,,,2026-02-01T10:00:00Z,31
"""


def new_deck(code: str = "EUR") -> DeckVersion:
    return DeckVersion.of(
        "next",
        currency(code),
        T0,
        DeckContent(
            VoiceRateTable.of(
                [
                    VoiceRate("44", ALL, Destination("United Kingdom", "GB"), tariff("0.12")),
                    VoiceRate("447", ALL, Destination("UK mobile", "GB"), tariff("0.0333", "1/1", rounding="up:4")),
                    VoiceRate("81", ALL, Destination("Japan", "JP"), tariff("0.30")),
                ]
            )
        ),
    )


def new_rater(deck: DeckVersion) -> ArrowCdrRater:
    return ArrowCdrRater(BulkRater(PricePlan("next", (Tier(ConditionKind.ALWAYS, "next"),)), {"next": [deck]}),
                         CdrMapping())  # fmt: skip


def names(deck: DeckVersion) -> DestinationNames:
    return DestinationNames([DECK, deck])  # the old deck names France, the new deck wins the others


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def previous(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "cdrs.csv").write_text(CDRS, encoding="utf-8")
    rated, rejects = tmp_path / "rated.csv", tmp_path / "rejects.csv"
    rate_cdr_files([tmp_path / "cdrs.csv"], rated, rejects, "csv", rater())
    return rated, rejects


def test_only_calls_whose_charge_changed_are_written_with_both_ratings_and_the_exact_difference(
    tmp_path: Path, previous: tuple[Path, Path]
) -> None:
    deck = new_deck()
    report = rerate_files(list(previous), tmp_path / "d.csv", tmp_path / "s.csv", "csv", new_rater(deck), names(deck),
                          batch_rows=2)  # fmt: skip
    assert report.read == 5
    assert report.balanced
    assert report.changes == {
        Change.UNCHANGED: 1,
        Change.CHANGED: 1,
        Change.NEWLY_PRICED: 1,
        Change.NEWLY_REJECTED: 1,
        Change.STILL_REJECTED: 1,
        Change.CURRENCY_CHANGED: 0,
    }
    rows = read_csv(tmp_path / "d.csv")
    assert list(rows[0]) == DIFF_SCHEMA.names
    assert report.written == len(rows) == 3
    got = {
        r["call_id"]: (r["change"], r["old_charge"], r["new_charge"], r["difference"], r["destination"]) for r in rows
    }
    assert got == {
        "c1": ("changed", "0.200000", "0.240000", "0.040000", "United Kingdom"),
        "c3": ("newly priced", "", "0.300000", "0.300000", "Japan"),
        "c4": ("newly rejected", "0.062000", "", "-0.062000", "France"),
    }
    c4 = next(r for r in rows if r["call_id"] == "c4")
    assert (c4["old_prefix"], c4["old_rate"], c4["new_reason"]) == ("33", "0.02", "no price in plan next")
    c3 = next(r for r in rows if r["call_id"] == "c3")
    assert (c3["old_reason"], c3["new_prefix"], c3["new_rate"], c3["duration_s"]) == ("no price in plan p", "81",
                                                                                       "0.30", "60")  # fmt: skip


def test_the_summary_totals_each_destination_largest_absolute_difference_first(
    tmp_path: Path, previous: tuple[Path, Path]
) -> None:
    deck = new_deck()
    report = rerate_files(list(previous), tmp_path / "d.csv", tmp_path / "s.csv", "csv", new_rater(deck), names(deck))
    summary = [(r["destination"], r["country"], r["currency"], r["calls"], r["old_total"], r["new_total"],
                r["difference"]) for r in read_csv(tmp_path / "s.csv")]  # fmt: skip
    assert summary == [
        ("Japan", "JP", "EUR", "1", "0.000000", "0.300000", "0.300000"),
        ("France", "FR", "EUR", "1", "0.062000", "0.000000", "-0.062000"),
        ("United Kingdom", "GB", "EUR", "1", "0.200000", "0.240000", "0.040000"),
        ("UK mobile", "GB", "EUR", "1", "0.003900", "0.003900", "0.000000"),
    ]
    totals = report.totals.per_currency()["EUR"]
    assert (totals["old_total"], totals["new_total"]) == (265_900, 543_900)


def test_every_call_is_written_with_all_and_parquet_outputs_keep_exact_decimals(
    tmp_path: Path, previous: tuple[Path, Path]
) -> None:
    rated, rejects = previous
    cdrs = tmp_path / "cdrs.csv"  # the previous outputs as Parquet: charges are decimal128 there
    rate_cdr_files([cdrs], tmp_path / "rated.parquet", tmp_path / "rejects.parquet", "parquet", rater())
    deck = new_deck()
    report = rerate_files([tmp_path / "rated.parquet", tmp_path / "rejects.parquet"], tmp_path / "d.parquet",
                          tmp_path / "s.parquet", "parquet", new_rater(deck), names(deck), write_all=True)  # fmt: skip
    table = pq.read_table(tmp_path / "d.parquet")
    assert table.schema == DIFF_SCHEMA
    assert report.written == table.num_rows == 5
    by_id = {r["call_id"]: r for r in table.to_pylist()}
    assert by_id["c1"]["difference"] == Decimal("0.040000")
    assert by_id["c2"]["change"] == "unchanged"
    assert by_id["c5"]["change"] == "still rejected"
    assert by_id["c5"]["difference"] is None
    csv_report = rerate_files([rated, rejects], tmp_path / "d.csv", tmp_path / "s.csv", "csv", new_rater(deck),
                              names(deck))  # fmt: skip
    assert csv_report.changes == report.changes
    assert pq.read_table(tmp_path / "s.parquet").column("difference").to_pylist() == [
        Decimal(r["difference"]) for r in read_csv(tmp_path / "s.csv")
    ]


def test_a_call_priced_in_another_currency_counts_once_in_each_currency_without_a_difference(
    tmp_path: Path, previous: tuple[Path, Path]
) -> None:
    deck = new_deck("USD")
    report = rerate_files([previous[0]], tmp_path / "d.csv", tmp_path / "s.csv", "csv", new_rater(deck), names(deck))
    assert report.changes[Change.CURRENCY_CHANGED] == 2
    rows = {r["call_id"]: r for r in read_csv(tmp_path / "d.csv")}
    assert (rows["c1"]["change"], rows["c1"]["difference"]) == ("currency changed", "")
    totals = report.totals.per_currency()
    assert (totals["EUR"]["old_total"], totals["EUR"]["new_total"]) == (265_900, 0)
    assert (totals["USD"]["old_total"], totals["USD"]["new_total"]) == (0, 243_900)


def test_a_file_that_is_not_an_output_of_rate_cdrs_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cdrs.csv").write_text(CDRS, encoding="utf-8")
    deck = new_deck()
    with pytest.raises(InvalidInput, match="not an output of rate-cdrs"):
        rerate_files([tmp_path / "cdrs.csv"], tmp_path / "d.csv", tmp_path / "s.csv", "csv", new_rater(deck),
                     names(deck))  # fmt: skip
