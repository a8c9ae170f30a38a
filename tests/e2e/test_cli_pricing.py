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


def test_price_json_prints_one_object_per_number_then_exits_non_zero_if_a_number_had_no_price(
    demo: Telebill,
) -> None:
    proc = demo.run(
        "price",
        UK_FIXED,
        "not-a-number",
        UK_MOBILE,
        "12345",
        BERLIN,
        "--deck",
        "demo-international",
        "--json",
        expect=1,
    )
    uk_fixed, bad, uk_mobile, short, berlin = parse_json_lines(proc.stdout)

    for d in (uk_fixed, uk_mobile, berlin):
        assert d.keys() >= PRICE_KEYS
        assert "error" not in d
        for key in ("current_price", "base_price"):
            assert isinstance(d[key], str), f"{key} must be a decimal string, not {d[key]!r}"
            assert Decimal(d[key]) > 0
        assert re.fullmatch(r"\d+/\d+", d["increments"])
        assert d["free"] is False
        assert d["blocked"] is False
        assert d["currency"] == "USD"
        assert d["origin"] is None
    assert [(d["destination"], d["country"], d["matched_prefix"]) for d in (uk_fixed, uk_mobile, berlin)] == [
        (UK_FIXED, "GB", "44"),
        (UK_MOBILE, "GB", "447"),
        (BERLIN, "DE", "49"),
    ]
    assert bad["destination"] == "not-a-number"
    assert "invalid phone number" in bad["error"]
    assert short["destination"] == "12345"
    assert short["error"]


def test_price_reads_thousands_of_numbers_from_stdin_and_prints_one_line_for_each(demo: Telebill) -> None:
    generic = {
        r["prefix"]: r for r in voice_rows(demo, "demo-international") if r["origin"] in ("ALL", "ROW")
    }
    numbers = possible_numbers(sorted(generic), count=2000)
    assert len(numbers) == 2000

    lines = demo.json_lines(
        "price", "-", "--deck", "demo-international", "--json", stdin="\n".join(numbers) + "\n"
    )

    assert len(lines) == len(numbers)
    for number, d in zip(numbers, lines, strict=True):
        assert "error" not in d, (number, d)
        # the CLI prints the E.164 form, which libphonenumber may complete (Norfolk Island, ...)
        e164 = phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.E164)
        assert d["destination"] == e164
        longest = max((p for p in generic if e164[1:].startswith(p)), key=len)
        assert d["matched_prefix"] == longest, (number, d)
        entry = generic[longest]
        expected = (entry["current_price"], entry["base_price"], entry["friendly_name"], entry["increments"])
        assert (d["current_price"], d["base_price"], d["friendly_name"], d["increments"]) == expected


def possible_numbers(prefixes: list[str], count: int) -> list[str]:
    """`count` numbers of a length possible for their country, cycling over `prefixes`."""
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
    exported, from_us, from_france = demo.run_all(
        ("decks", "export", "demo-international"),
        ("price", UK_MOBILE, "--from", NEW_YORK, "--deck", "demo-international", "--json"),
        ("price", UK_MOBILE, "--from", PARIS, "--deck", "demo-international", "--json"),
    )
    uk_mobile = {
        row["origin"]: row for row in csv.DictReader(io.StringIO(exported.stdout)) if row["prefix"] == "447"
    }
    assert {"1", "ROW"} <= uk_mobile.keys()
    assert uk_mobile["1"]["current_price"] != uk_mobile["ROW"]["current_price"]
    (us,) = parse_json_lines(from_us.stdout)
    (france,) = parse_json_lines(from_france.stdout)

    assert us["origin"] == NEW_YORK
    assert us["matched_prefix"] == "447"
    assert us["origin_selector"] == "1"
    assert us["current_price"] == uk_mobile["1"]["current_price"]
    assert france["origin"] == PARIS
    assert france["matched_prefix"] == "447"
    assert france["origin_selector"] == "ROW"
    assert france["current_price"] == uk_mobile["ROW"]["current_price"]


def test_plan_demo_prices_a_domestic_call_from_the_domestic_deck_and_an_eea_call_from_the_eea_deck(
    demo: Telebill,
) -> None:
    domestic, eea, international = demo.run_all(
        ("price", UK_FIXED, "--from", LONDON_CALLER, "--plan", "demo", "--json"),
        ("price", BERLIN, "--from", PARIS, "--plan", "demo", "--json"),
        ("price", BERLIN, "--from", NEW_YORK_CALLER, "--plan", "demo", "--json"),
    )
    (gb_to_gb,) = parse_json_lines(domestic.stdout)
    (fr_to_de,) = parse_json_lines(eea.stdout)
    (us_to_de,) = parse_json_lines(international.stdout)

    assert gb_to_gb["deck"].startswith("demo-domestic@")
    assert gb_to_gb["country"] == "GB"
    assert fr_to_de["deck"].startswith("demo-eea@")
    assert fr_to_de["country"] == "DE"
    assert us_to_de["deck"].startswith("demo-international@")


def test_price_shows_a_blocked_destination_as_blocked_and_a_us_call_from_the_us_as_free(
    demo: Telebill,
) -> None:
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
    before, on_the_day = demo.run_all(
        ("price", UK_FIXED, "--plan", "demo", "--at", "2025-12-31T23:59:59", "--json"),
        ("price", UK_FIXED, "--plan", "demo", "--at", "2026-01-01", "--json"),
        expect=None,
    )

    assert before.returncode != 0
    assert before.stdout == ""
    assert "no version in force" in before.stderr
    assert on_the_day.returncode == 0, on_the_day.stderr
    (priced,) = parse_json_lines(on_the_day.stdout)
    assert priced["deck"] == "demo-international@2026-01-01"


def test_rate_json_gives_the_charge_as_a_string_with_billed_seconds_and_an_explanation(
    demo: Telebill,
) -> None:
    answered, unanswered = demo.run_all(
        ("rate", "--from", NEW_YORK, "--to", UK_MOBILE, "--seconds", "61", "--plan", "demo", "--json"),
        (
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
        ),
    )
    (charge,) = parse_json_lines(answered.stdout)
    (not_answered,) = parse_json_lines(unanswered.stdout)

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
    # the same call unanswered is charged nothing
    assert Decimal(not_answered["rate"]) > 0
    assert not_answered["billed_s"] == 0
    assert Decimal(not_answered["charge"]) == 0


def test_rate_of_a_call_to_a_blocked_destination_exits_non_zero_saying_it_is_blocked(demo: Telebill) -> None:
    proc = demo.fails(
        "rate", "--from", NEW_YORK, "--to", INMARSAT, "--seconds", "60", "--plan", "demo", "--json"
    )

    assert proc.stdout == ""
    assert "blocked" in proc.stderr
