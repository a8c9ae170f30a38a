"""`telebill price` and `telebill rate` on the demo catalog, through the real console script.

Each test loads the demo into its own database (about 3 s), so related checks share a test and
independent commands of one test run side by side (`Telebill.run_all`).
"""

from __future__ import annotations

import csv
import io
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import phonenumbers
from e2e_cli import DEMO_AT, Telebill, parse_json_lines

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


def voice_rows(exported: str) -> list[dict[str, str]]:
    """The voice rows of the output of `telebill decks export`."""
    return [row for row in csv.DictReader(io.StringIO(exported)) if row["kind"] == "voice"]


def test_price_json_prints_one_object_per_number_with_string_prices_and_exits_non_zero_after_a_bad_one(
    demo: Telebill,
) -> None:
    proc = demo.run(
        "price",
        UK_FIXED,
        "not-a-number",
        INMARSAT,
        NEW_YORK,
        "12345",
        BERLIN,
        "--from",
        NEW_YORK_CALLER,
        "--plan",
        "demo",
        *DEMO_AT,
        "--json",
        expect=1,
    )
    uk, bad, inmarsat, new_york, short, berlin = parse_json_lines(proc.stdout)

    for d in (uk, inmarsat, new_york, berlin):
        assert d.keys() >= PRICE_KEYS
        assert "error" not in d
        for key in ("current_price", "base_price"):
            assert isinstance(d[key], str), f"{key} must be a decimal string, not {d[key]!r}"
            assert Decimal(d[key]) >= 0
        assert re.fullmatch(r"\d+/\d+", d["increments"])
        assert d["currency"] == "USD"
        assert d["origin"] == NEW_YORK_CALLER
    assert [(d["destination"], d["country"], d["matched_prefix"]) for d in (uk, berlin)] == [
        (UK_FIXED, "GB", "44"),
        (BERLIN, "DE", "49"),
    ]
    for d in (uk, berlin):
        assert d["deck"].split("@")[0] == "demo-international"
        assert (d["free"], d["blocked"]) == (False, False)
        assert Decimal(d["current_price"]) > 0
    assert inmarsat["matched_prefix"] == "870"
    assert (inmarsat["blocked"], inmarsat["free"]) == (True, False)
    # a US number called from the US is free
    assert new_york["country"] == "US"
    assert (new_york["free"], new_york["blocked"]) == (True, False)
    assert Decimal(new_york["current_price"]) == 0
    assert (bad["destination"], short["destination"]) == ("not-a-number", "12345")
    assert "invalid phone number" in bad["error"]
    assert short["error"]


def test_price_reads_thousands_of_numbers_from_stdin_and_prints_one_line_for_each(demo: Telebill) -> None:
    rows = voice_rows(demo.run("decks", "export", "demo-international", *DEMO_AT).stdout)
    generic = {r["prefix"]: r for r in rows if r["origin"] in ("ALL", "ROW")}
    numbers = possible_numbers(sorted(generic), count=2000)
    assert len(numbers) == 2000

    lines = demo.json_lines(
        "price", "-", "--deck", "demo-international", *DEMO_AT, "--json", stdin="\n".join(numbers) + "\n"
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


def test_the_caller_selects_origin_specific_entries_and_plan_demo_picks_the_domestic_or_eea_deck(
    demo: Telebill,
) -> None:
    exported, from_us, from_france, gb_to_gb, fr_to_de = demo.run_all(
        ("decks", "export", "demo-international", *DEMO_AT),
        ("price", UK_MOBILE, "--from", NEW_YORK, "--deck", "demo-international", *DEMO_AT, "--json"),
        ("price", UK_MOBILE, "--from", PARIS, "--deck", "demo-international", *DEMO_AT, "--json"),
        ("price", UK_FIXED, "--from", LONDON_CALLER, "--plan", "demo", *DEMO_AT, "--json"),
        ("price", BERLIN, "--from", PARIS, "--plan", "demo", *DEMO_AT, "--json"),
    )
    uk_mobile = {r["origin"]: r for r in voice_rows(exported.stdout) if r["prefix"] == "447"}
    assert {"1", "ROW"} <= uk_mobile.keys()
    assert uk_mobile["1"]["current_price"] != uk_mobile["ROW"]["current_price"]
    (us,) = parse_json_lines(from_us.stdout)
    (france,) = parse_json_lines(from_france.stdout)

    assert (us["origin"], us["matched_prefix"], us["origin_selector"]) == (NEW_YORK, "447", "1")
    assert us["current_price"] == uk_mobile["1"]["current_price"]
    assert (france["origin"], france["matched_prefix"], france["origin_selector"]) == (PARIS, "447", "ROW")
    assert france["current_price"] == uk_mobile["ROW"]["current_price"]

    (domestic,) = parse_json_lines(gb_to_gb.stdout)
    (eea,) = parse_json_lines(fr_to_de.stdout)
    assert (domestic["country"], domestic["deck"].split("@")[0]) == ("GB", "demo-domestic")
    assert (eea["country"], eea["deck"].split("@")[0]) == ("DE", "demo-eea")


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


def test_rate_json_charges_billed_seconds_charges_nothing_unanswered_and_refuses_blocked_calls(
    demo: Telebill,
) -> None:
    call = (
        "rate",
        "--from",
        NEW_YORK,
        "--to",
        UK_MOBILE,
        "--seconds",
        "61",
        "--plan",
        "demo",
        *DEMO_AT,
        "--json",
    )
    answered, unanswered, blocked = demo.run_all(
        call,
        (*call, "--unanswered"),
        (
            "rate",
            "--from",
            NEW_YORK,
            "--to",
            INMARSAT,
            "--seconds",
            "60",
            "--plan",
            "demo",
            *DEMO_AT,
            "--json",
        ),
        expect=None,
    )

    assert answered.returncode == 0, answered.stderr
    (charge,) = parse_json_lines(answered.stdout)
    assert (charge["origin"], charge["destination"], charge["currency"]) == (NEW_YORK, UK_MOBILE, "USD")
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

    assert unanswered.returncode == 0, unanswered.stderr
    (not_answered,) = parse_json_lines(unanswered.stdout)
    assert not_answered["rate"] == charge["rate"]
    assert not_answered["billed_s"] == 0
    assert Decimal(not_answered["charge"]) == 0

    assert blocked.returncode != 0
    assert blocked.stdout == ""
    assert "blocked" in blocked.stderr


def test_a_plan_still_prices_calls_while_one_of_its_decks_has_only_a_future_version(
    telebill: Telebill, tmp_path: Path
) -> None:
    (tmp_path / "intl.csv").write_text("prefix,rate\n49,0.0200\n", encoding="utf-8")
    (tmp_path / "domestic.csv").write_text("prefix,rate\n49,0.0050\n", encoding="utf-8")
    telebill.run_all(
        (
            "decks",
            "import",
            "intl.csv",
            "--name",
            "intl",
            "--currency",
            "USD",
            "--effective-from",
            "2026-01-01",
        ),
        (
            "decks",
            "import",
            "domestic.csv",
            "--name",
            "dom",
            "--currency",
            "USD",
            "--effective-from",
            "2099-01-01",
        ),
    )
    telebill.run("plans", "create", "p", "--international", "intl", "--domestic", "dom")

    # France -> Germany is not domestic, and the domestic deck prices nothing before 2099 anyway
    proc = telebill.run("price", BERLIN, "--from", PARIS, "--plan", "p", "--at", "2026-06-01", "--json", expect=None)

    assert proc.returncode == 0, proc.stderr
    (line,) = parse_json_lines(proc.stdout)
    assert (line["deck"], line["current_price"]) == ("intl@2026-01-01", "0.0200")
