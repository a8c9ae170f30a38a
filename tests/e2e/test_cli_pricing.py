"""`telebill price` and `telebill rate` on the demo catalog, through the real console script."""

from __future__ import annotations

import csv
import io
import re
from decimal import ROUND_HALF_UP, Decimal

import phonenumbers
from e2e_cli import Telebill, parse_json_lines

UK_MOBILE = "+447700900123"
UK_FIXED = "+442071234567"
LONDON_CALLER = "+442079460000"
PARIS = "+33142278186"
BERLIN = "+4930123456"
NEW_YORK = "+12125550123"
NEW_YORK_CALLER = "+12125550199"
INMARSAT = "+870123456789"

PRICE_KEYS = {
    "destination",
    "origin",
    "country",
    "matched_prefix",
    "friendly_name",
    "current_price",
    "base_price",
    "currency",
    "increments",
    "free",
    "blocked",
}


def voice_rows(cli: Telebill, deck: str) -> list[dict[str, str]]:
    """The voice rows of `telebill decks export DECK`."""
    exported = cli.run("decks", "export", deck).stdout
    return [row for row in csv.DictReader(io.StringIO(exported)) if row["kind"] == "voice"]


def test_price_json_prints_one_object_per_number_with_prices_as_strings(demo: Telebill) -> None:
    lines = demo.json_lines("price", UK_FIXED, UK_MOBILE, BERLIN, "--deck", "demo-international", "--json")

    assert [d["destination"] for d in lines] == [UK_FIXED, UK_MOBILE, BERLIN]
    for d in lines:
        assert d.keys() >= PRICE_KEYS
        assert "error" not in d
        for key in ("current_price", "base_price"):
            assert isinstance(d[key], str), f"{key} must be a decimal string, not {d[key]!r}"
            assert Decimal(d[key]) >= 0
        assert re.fullmatch(r"\d+/\d+", d["increments"])
        assert isinstance(d["free"], bool)
        assert isinstance(d["blocked"], bool)
        assert d["currency"] == "USD"
        assert d["origin"] is None
        assert d["destination"][1:].startswith(d["matched_prefix"])
    assert [(d["country"], d["matched_prefix"]) for d in lines] == [("GB", "44"), ("GB", "447"), ("DE", "49")]


def test_price_prints_an_error_object_for_a_bad_number_and_exits_non_zero_after_the_other_lines(
    demo: Telebill,
) -> None:
    proc = demo.run(
        "price", UK_FIXED, "not-a-number", BERLIN, "12345", "--deck", "demo-international", "--json", expect=1
    )
    good, bad, other_good, short = parse_json_lines(proc.stdout)

    assert good["destination"] == UK_FIXED
    assert "error" not in good
    assert other_good["destination"] == BERLIN
    assert "error" not in other_good
    assert bad["destination"] == "not-a-number"
    assert "invalid phone number" in bad["error"]
    assert short["destination"] == "12345"
    assert short["error"]


def test_price_reads_thousands_of_numbers_from_stdin_and_prints_one_line_for_each(demo: Telebill) -> None:
    rows = voice_rows(demo, "demo-international")
    generic = {r["prefix"]: r for r in rows if r["origin"] in ("ALL", "ROW")}
    numbers = _possible_numbers(sorted(generic), count=2000)
    assert len(numbers) == 2000

    lines = demo.json_lines(
        "price", "-", "--deck", "demo-international", "--json", stdin="\n".join(numbers) + "\n"
    )

    assert len(lines) == len(numbers)
    for number, d in zip(numbers, lines, strict=True):
        assert "error" not in d, (number, d)
        # the CLI prints the E.164 form, which libphonenumber may normalise (Norfolk Island, ...)
        expected = phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.E164)
        assert d["destination"] == expected
        longest = max((p for p in generic if expected[1:].startswith(p)), key=len)
        assert d["matched_prefix"] == longest, (number, d)
        entry = generic[longest]
        assert (d["current_price"], d["base_price"], d["friendly_name"]) == (
            entry["current_price"],
            entry["base_price"],
            entry["friendly_name"],
        )


def _possible_numbers(prefixes: list[str], count: int) -> list[str]:
    """`count` numbers of a possible length for their country, cycling over `prefixes`."""
    fillers = ("2345678901234", "5550123456789", "9876543210987", "3141592653589", "2718281828459")
    numbers: list[str] = []
    for filler in fillers:
        for prefix in prefixes:
            for length in range(len(prefix) + 4, 16):
                candidate = "+" + (prefix + filler)[:length]
                try:
                    if phonenumbers.is_possible_number(phonenumbers.parse(candidate)):
                        numbers.append(candidate)
                        break
                except phonenumbers.NumberParseException:
                    break
            if len(numbers) == count:
                return numbers
    return numbers


def test_price_from_an_origin_selects_the_origin_specific_entry(demo: Telebill) -> None:
    uk_mobile = {r["origin"]: r for r in voice_rows(demo, "demo-international") if r["prefix"] == "447"}
    assert {"1", "ROW"} <= uk_mobile.keys()
    assert uk_mobile["1"]["current_price"] != uk_mobile["ROW"]["current_price"]

    (from_us,) = demo.json_lines(
        "price", UK_MOBILE, "--from", NEW_YORK, "--deck", "demo-international", "--json"
    )
    (from_france,) = demo.json_lines(
        "price", UK_MOBILE, "--from", PARIS, "--deck", "demo-international", "--json"
    )

    assert from_us["origin"] == NEW_YORK
    assert from_us["matched_prefix"] == "447"
    assert from_us["origin_selector"] == "1"
    assert from_us["current_price"] == uk_mobile["1"]["current_price"]
    assert from_france["origin"] == PARIS
    assert from_france["origin_selector"] == "ROW"
    assert from_france["current_price"] == uk_mobile["ROW"]["current_price"]


def test_plan_demo_prices_a_domestic_call_from_the_domestic_deck_and_an_eea_call_from_the_eea_deck(
    demo: Telebill,
) -> None:
    (gb_to_gb,) = demo.json_lines("price", UK_FIXED, "--from", LONDON_CALLER, "--plan", "demo", "--json")
    (fr_to_de,) = demo.json_lines("price", BERLIN, "--from", PARIS, "--plan", "demo", "--json")

    assert gb_to_gb["deck"].startswith("demo-domestic@")
    assert gb_to_gb["country"] == "GB"
    assert fr_to_de["deck"].startswith("demo-eea@")
    assert fr_to_de["country"] == "DE"


def test_price_shows_blocked_destinations_as_blocked_and_domestic_us_calls_as_free(demo: Telebill) -> None:
    blocked, free = demo.json_lines(
        "price", INMARSAT, NEW_YORK, "--from", NEW_YORK_CALLER, "--plan", "demo", "--json"
    )

    assert blocked["matched_prefix"] == "870"
    assert blocked["blocked"] is True
    assert blocked["free"] is False
    assert free["country"] == "US"
    assert free["free"] is True
    assert free["blocked"] is False
    assert Decimal(free["current_price"]) == 0


def test_price_at_an_instant_before_the_demo_decks_take_effect_is_an_error(demo: Telebill) -> None:
    proc = demo.fails("price", UK_FIXED, "--plan", "demo", "--at", "2025-12-31T23:59:59", "--json")

    assert proc.stdout == ""
    assert "no version in force" in proc.stderr


def test_rate_json_gives_the_charge_as_a_string_with_billed_seconds_and_an_explanation(
    demo: Telebill,
) -> None:
    (charge,) = demo.json_lines(
        "rate", "--from", NEW_YORK, "--to", UK_MOBILE, "--seconds", "61", "--plan", "demo", "--json"
    )

    assert charge["origin"] == NEW_YORK
    assert charge["destination"] == UK_MOBILE
    assert charge["currency"] == "USD"
    assert (charge["increments"], charge["connection_fee"], charge["rounding"]) == ("60/60", "0", "half_up:6")
    assert charge["billed_s"] == 120
    assert isinstance(charge["charge"], str)
    assert isinstance(charge["rate"], str)
    expected = (Decimal(charge["rate"]) * 2).quantize(Decimal("0.000001"), ROUND_HALF_UP)
    assert charge["charge"] == str(expected)
    assert isinstance(charge["explanation"], list)
    assert all(isinstance(step, str) for step in charge["explanation"])
    assert any("billed 120 s" in step for step in charge["explanation"])
    assert any(charge["charge"] in step for step in charge["explanation"])


def test_rate_of_a_call_to_a_blocked_destination_exits_non_zero_saying_it_is_blocked(demo: Telebill) -> None:
    proc = demo.fails(
        "rate", "--from", NEW_YORK, "--to", INMARSAT, "--seconds", "60", "--plan", "demo", "--json"
    )

    assert proc.stdout == ""
    assert "blocked" in proc.stderr


def test_rate_of_an_unanswered_call_charges_nothing(demo: Telebill) -> None:
    (charge,) = demo.json_lines(
        "rate",
        "--from",
        NEW_YORK,
        "--to",
        UK_MOBILE,
        "--seconds",
        "61",
        "--plan",
        "demo",
        "--unanswered",
        "--json",
    )

    assert Decimal(charge["charge"]) == 0
    assert charge["billed_s"] == 0
    assert Decimal(charge["rate"]) > 0
