"""`telebill decks` and `telebill plans`: importing the three formats, versions, export, plans."""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

from e2e_cli import DEMO_AT, Telebill, parse_json_lines

TELEBILL_DECK = """\
kind,prefix,origin,friendly_name,country,number_type,caller,resource,unit,quantity,base_price,current_price,connection_fee,increments,free,blocked,rounding
voice,44,ALL,United Kingdom,GB,,,,,,0.0120,0.0100,0,60/60,false,false,half_up:6
voice,4420,ROW,London from abroad,GB,,,,,,0.0200,0.0200,0.01,1/1,false,false,up:4
voice,447,1,UK mobile from NANP,GB,,,,,,0.0350,0.0300,0,30/6,false,false,half_up:6
voice,882,ALL,International Networks,,,,,,,0,0,0,60/60,false,true,half_up:6
voice,1,ALL,United States,US,,,,,,0,0,0,60/60,yes,no,half_up:6
inbound,,,,US,toll_free,ALL,,,,0.0220,0.0220,0,60/60,,,half_up:6
resource,,,,,,,tts,characters,1000,0.016,0.016,,,,,
"""

TWILIO_DECK = """\
ISO,Country,Description,Price / min,Origination Prefixes,Destination Prefixes
FR,France,France,0.0140,,"33"
FR,France,France - Mobile,0.0850,,"336, 337"
FR,France,,0.050000,"33, 4420","336, 337"
GB,United Kingdom,United Kingdom - Mobile - Local origination,0.0300,"44","447"
"""

# decimal commas, `;` separators, Windows line ends and the BOM Excel's "CSV UTF-8" adds
SIMPLE_DECK = "\ufeffPays;Indicatif;Tarif\r\nAllemagne;49;0,0125\r\nFrance mobile;336;0,0850\r\nFrance;33;0,014\r\n"

BAD_DECK = """\
kind,prefix,origin,friendly_name,country,base_price,current_price,increments
voice,44,ALL,United Kingdom,GB,0.0120,0.0100,60/60
voice,33,ALL,France,FR,0.0200,abc,60/60

voice,3x,ALL,Nowhere,FR,0.0200,0.0100,60/60
voice,49,ALL,"Germany,
landlines",DE,0.0200,-0.0100,60/60
voice,34,ALL,Spain,ES,0.0200,0.0100,60/60
voice,44,ALL,United Kingdom again,GB,0.0200,0.0100,60/60
voice,39,ALL,Italy,IT,0.0200,0.0100,sixty
"""


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))  # bytes: keep the BOM and the \r\n line ends as written
    return path


def by_destination(stdout: str) -> dict[str, dict[str, Any]]:
    return {d["destination"]: d for d in parse_json_lines(stdout)}


def test_decks_import_reads_each_format_and_price_deck_finds_the_imported_prices(
    telebill: Telebill, tmp_path: Path
) -> None:
    write(tmp_path / "rates.csv", TELEBILL_DECK)
    write(tmp_path / "twilio.csv", TWILIO_DECK)
    write(tmp_path / "tarifs.csv", SIMPLE_DECK)

    # different decks: the three imports may run side by side
    imported = telebill.run_all(
        ("decks", "import", "rates.csv", "--name", "carrier", "--currency", "EUR"),
        ("decks", "import", "twilio.csv", "--name", "twilio", "--currency", "USD", "--format", "Twilio"),
        ("decks", "import", "tarifs.csv", "--name", "tarifs", "--currency", "EUR"),
    )
    assert "imported 5 voice rows and 2 other prices into deck carrier" in imported[0].stdout
    # Twilio: 1 + 2 + (2 origins x 2 destinations) + 1
    assert "imported 8 voice rows and 0 other prices into deck twilio" in imported[1].stdout
    assert "imported 3 voice rows and 0 other prices into deck tarifs" in imported[2].stdout

    twilio_numbers = ("+33612345678", "+33712345678", "+33142278186", "+447700900123")
    carrier, twilio_anywhere, twilio_from_london, twilio_from_paris, tarifs = telebill.run_all(
        (
            "price",
            *("+442071234567", "+447700900123", "+441632960000", "+12025550123", "+882340123456"),
            *("--from", "+12125550123", "--deck", "carrier", "--json"),
        ),
        ("price", *twilio_numbers, "--deck", "twilio", "--json"),
        ("price", *twilio_numbers, "--from", "+442079460000", "--deck", "twilio", "--json"),
        ("price", *twilio_numbers[:3], "--from", "+33142278186", "--deck", "twilio", "--json"),
        ("price", "+4930123456", "+33612345678", "+33142278186", "--deck", "tarifs", "--json"),
        expect=None,
    )

    check_telebill_format_prices(carrier)
    check_twilio_prices(twilio_numbers, twilio_anywhere, twilio_from_london, twilio_from_paris)
    check_simple_format_prices(tarifs)


def check_telebill_format_prices(proc: subprocess.CompletedProcess[str]) -> None:
    """Origins, increments, connection fees and flags as written, called from New York."""
    assert proc.returncode == 0, proc.stderr
    from_us = by_destination(proc.stdout)
    london = from_us["+442071234567"]
    assert (london["matched_prefix"], london["origin_selector"]) == ("4420", "ROW")
    assert (london["current_price"], london["increments"], london["connection_fee"]) == (
        "0.0200",
        "1/1",
        "0.01",
    )
    mobile = from_us["+447700900123"]
    assert (mobile["matched_prefix"], mobile["origin_selector"]) == ("447", "1")
    assert (mobile["base_price"], mobile["current_price"], mobile["increments"]) == (
        "0.0350",
        "0.0300",
        "30/6",
    )
    assert from_us["+441632960000"]["matched_prefix"] == "44"
    assert from_us["+441632960000"]["currency"] == "EUR"
    assert from_us["+12025550123"]["free"] is True
    assert from_us["+882340123456"]["blocked"] is True


def check_twilio_prices(
    numbers: tuple[str, ...],
    anywhere: subprocess.CompletedProcess[str],
    from_london: subprocess.CompletedProcess[str],
    from_paris: subprocess.CompletedProcess[str],
) -> None:
    """Each prefix of a multi-prefix cell priced once per origination prefix of its row."""
    # no origin: the generic rows; UK mobile is only priced for callers from 44
    assert anywhere.returncode == 1, anywhere.stderr
    plain = by_destination(anywhere.stdout)
    assert [plain[n].get("current_price") for n in numbers] == ["0.0850", "0.0850", "0.0140", None]
    assert plain["+33612345678"]["friendly_name"] == "France - Mobile"
    assert "no price" in str(plain["+447700900123"]["error"])
    # from London (4420...): the origin-specific rows, named after Country when Description is empty
    assert from_london.returncode == 0, from_london.stderr
    london = by_destination(from_london.stdout)
    assert [(london[n]["matched_prefix"], london[n]["origin_selector"]) for n in numbers] == [
        ("336", "4420"),
        ("337", "4420"),
        ("33", "ALL"),
        ("447", "44"),
    ]
    assert london["+33612345678"]["current_price"] == "0.050000"
    assert london["+33612345678"]["friendly_name"] == "France"
    assert london["+447700900123"]["current_price"] == "0.0300"
    assert london["+447700900123"]["country"] == "GB"
    assert from_paris.returncode == 0, from_paris.stderr
    paris = by_destination(from_paris.stdout)
    assert [paris[n]["origin_selector"] for n in numbers[:3]] == ["33", "33", "ALL"]


def check_simple_format_prices(proc: subprocess.CompletedProcess[str]) -> None:
    """Decimal commas read exactly, as list and current price, billed 60/60."""
    assert proc.returncode == 0, proc.stderr
    priced = by_destination(proc.stdout)
    assert [
        (d["matched_prefix"], d["friendly_name"], d["current_price"], d["base_price"], d["currency"])
        for d in priced.values()
    ] == [
        ("49", "Allemagne", "0.0125", "0.0125", "EUR"),
        ("336", "France mobile", "0.0850", "0.0850", "EUR"),
        ("33", "France", "0.014", "0.014", "EUR"),
    ]
    assert {d["increments"] for d in priced.values()} == {"60/60"}


def test_a_deck_with_bad_rows_is_refused_listing_every_bad_row_and_nothing_is_imported(
    telebill: Telebill, tmp_path: Path
) -> None:
    deck = write(tmp_path / "bad.csv", BAD_DECK)

    proc = telebill.fails("decks", "import", str(deck), "--name", "bad", "--currency", "USD")

    assert "bad.csv: 5 bad row(s), nothing imported" in proc.stderr
    reported = {int(n): reason for n, reason in re.findall(r"line (\d+): (.*)", proc.stderr)}
    assert sorted(reported) == [3, 5, 6, 9, 10]
    assert "abc" in reported[3]
    assert "3x" in reported[5]
    assert "negative" in reported[6]
    assert "line 2" in reported[9]
    assert "sixty" in reported[10]
    assert "imported" not in proc.stdout
    assert telebill.json_lines("decks", "list", "--json") == []


def test_effective_from_adds_a_second_version_and_price_at_selects_the_version_in_force(
    telebill: Telebill, tmp_path: Path
) -> None:
    first = write(tmp_path / "v1.csv", "prefix,rate\n44,0.0100\n")
    second = write(tmp_path / "v2.csv", "prefix,rate\n44,0.0200\n")
    common = ("--name", "uk", "--currency", "GBP")
    telebill.run("decks", "import", str(first), *common, "--effective-from", "2026-02-01")
    telebill.run("decks", "import", str(second), *common, "--effective-from", "2026-03-01T00:00:00+01:00")

    listed, too_early, last_second_of_first, in_second = telebill.run_all(
        ("decks", "list", "--json"),
        ("price", "+442071234567", "--deck", "uk", "--at", "2026-01-31T23:59:59", "--json"),
        ("price", "+442071234567", "--deck", "uk", "--at", "2026-02-28T22:59:59", "--json"),
        ("price", "+442071234567", "--deck", "uk", "--at", "2026-02-28T23:00:00Z", "--json"),
        expect=None,
    )

    assert listed.returncode == 0, listed.stderr
    (uk,) = parse_json_lines(listed.stdout)
    assert (uk["name"], uk["currency"]) == ("uk", "GBP")
    assert [(v["effective_from"], v["voice_rows"]) for v in uk["versions"]] == [
        ("2026-02-01T00:00:00+00:00", 1),
        ("2026-02-28T23:00:00+00:00", 1),
    ]
    assert too_early.returncode != 0
    assert "no version in force" in too_early.stderr
    prices = []
    for proc in (last_second_of_first, in_second):
        assert proc.returncode == 0, proc.stderr
        (line,) = parse_json_lines(proc.stdout)
        prices.append((line["current_price"], line["deck"]))
    # the second version took effect at 2026-03-01T00:00+01:00, that is 2026-02-28T23:00Z
    assert prices == [("0.0100", "uk@2026-02-01"), ("0.0200", "uk@2026-02-28")]


def test_an_exported_deck_imported_again_exports_to_an_identical_file(demo: Telebill, tmp_path: Path) -> None:
    exported = tmp_path / "international.csv"

    wrote = demo.run("decks", "export", "demo-international", *DEMO_AT, "--out", str(exported))
    assert re.search(r"wrote \d+ rows of demo-international@2026-01-01", wrote.stdout), wrote.stdout
    imported = demo.run("decks", "import", str(exported), "--name", "copy", "--currency", "USD")
    assert re.search(r"imported \d+ voice rows and \d+ other prices into deck copy", imported.stdout)

    original = exported.read_bytes()
    assert original.startswith(b"kind,prefix,origin,")
    assert {b"voice,", b"inbound,", b"sms,", b"number,", b"resource,"} <= {
        line[: line.index(b",") + 1] for line in original.splitlines()[1:]
    }
    assert demo.run_bytes("decks", "export", "copy") == original


def test_a_generated_deck_of_100k_rows_imports_through_the_cli(telebill: Telebill, tmp_path: Path) -> None:
    deck = tmp_path / "big.csv"
    with deck.open("w", encoding="utf-8", newline="") as fh:
        fh.write("kind,prefix,origin,friendly_name,country,base_price,current_price,increments\n")
        for i in range(100_000):
            price = f"0.{i % 10_000:04d}"
            fh.write(f"voice,{2_000_000 + i},ALL,Destination {i},,{price},{price},60/60\n")

    imported = telebill.run("decks", "import", str(deck), "--name", "big", "--currency", "USD")

    assert "imported 100000 voice rows and 0 other prices into deck big" in imported.stdout


def test_plans_create_stores_tiers_and_overrides_that_price_applies_and_a_second_create_fails(
    demo: Telebill,
) -> None:
    created = demo.run(
        "plans",
        "create",
        "reseller",
        "--international",
        "demo-international",
        "--domestic",
        "demo-domestic",
        "--eea",
        "demo-eea",
        "--discount",
        "12.5",
        "--fixed",
        "447=0.02",
        "--fixed",
        "+33=0.015",
    )
    assert "created plan reseller" in created.stdout

    again, listed, plan_prices, deck_prices = demo.run_all(
        ("plans", "create", "reseller", "--international", "demo-international"),
        ("plans", "list", "--json"),
        ("price", "+4930123456", "+447700900123", "+33142278186", "--plan", "reseller", *DEMO_AT, "--json"),
        ("price", "+4930123456", "--deck", "demo-international", *DEMO_AT, "--json"),
        expect=None,
    )

    assert again.returncode != 0
    assert "already exists" in again.stderr
    assert listed.returncode == 0, listed.stderr
    plans = {p["name"]: p for p in parse_json_lines(listed.stdout)}
    assert {"demo", "demo-discount", "reseller"} <= set(plans)
    reseller = plans["reseller"]
    assert [(t["condition"], t["group"], t["deck"]) for t in reseller["tiers"]] == [
        ("domestic", None, "demo-domestic"),
        ("origin_in_group", "EEA", "demo-eea"),
        ("always", None, "demo-international"),
    ]
    overrides = {(o["prefix"], o["percent_off"], o["fixed_price"]) for o in reseller["overrides"]}
    assert overrides == {(None, "12.5", None), ("447", None, "0.02"), ("33", None, "0.015")}

    assert plan_prices.returncode == 0, plan_prices.stderr
    berlin, uk_mobile, paris = parse_json_lines(plan_prices.stdout)
    (listed_berlin,) = parse_json_lines(deck_prices.stdout)
    assert Decimal(berlin["current_price"]) < Decimal(berlin["base_price"])
    assert Decimal(berlin["current_price"]) == Decimal(listed_berlin["current_price"]) * Decimal("0.875")
    assert berlin["base_price"] == listed_berlin["base_price"]
    assert Decimal(uk_mobile["current_price"]) == Decimal("0.02")
    assert Decimal(paris["current_price"]) == Decimal("0.015")
    assert isinstance(berlin["current_price"], str)


def test_plans_create_refuses_an_empty_plan_name(telebill: Telebill, tmp_path: Path) -> None:
    write(tmp_path / "intl.csv", "prefix,rate\n49,0.0200\n")
    telebill.run("decks", "import", "intl.csv", "--name", "intl", "--currency", "USD")

    proc = telebill.run("plans", "create", "", "--international", "intl", expect=None)

    assert proc.returncode != 0, proc.stdout
    assert "name" in proc.stderr
