"""Choosing a deck format: detection from the header line, dispatch, encodings and unknown names."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from telebill.adapters.importers.formats import FORMATS, detect_format, read_deck
from telebill.adapters.importers.telebill_csv import HEADER
from telebill.domain.errors import InvalidRate, InvalidRows

TWILIO = 'ISO,Country,Description,Price / min,Origination Prefixes,Destination Prefixes\nGB,UK,UK,0.01,,"44, 447"\n'


@pytest.mark.parametrize(
    ("first_line", "expected"),
    [
        (HEADER, "telebill"),
        ("\ufeffKind, Prefix,origin", "telebill"),
        ("ISO, Country, Description, Price / min, Origination Prefixes, Destination Prefixes", "twilio"),
        ("Destination;Prefix;Rate", "simple"),
        ("Afghanistan,93,0.25", "simple"),
    ],
)
def test_the_format_is_detected_from_the_header_line(first_line: str, expected: str) -> None:
    assert detect_format(first_line) == expected


def test_the_formats_are_telebill_twilio_and_simple() -> None:
    assert FORMATS == ("telebill", "twilio", "simple")


def test_a_deck_file_is_read_in_its_detected_format(tmp_path: Path) -> None:
    telebill = tmp_path / "deck.csv"
    telebill.write_text(f"{HEADER}\nvoice,44,,UK,GB,,,,,,,0.1,0.2,,,,,,,,\n", encoding="utf-8")
    twilio = tmp_path / "twilio.csv"
    twilio.write_text(TWILIO, encoding="utf-8")
    simple = tmp_path / "simple.csv"
    simple.write_text("Destination;Prefix;Rate\nUK;44;0,0125\n", encoding="utf-8")

    assert [r.tariff.current_price for r in read_deck(telebill, None).voice] == [Decimal("0.2")]
    assert sorted(r.prefix for r in read_deck(twilio, None).voice) == ["44", "447"]
    assert [r.tariff.current_price for r in read_deck(simple, None).voice] == [Decimal("0.0125")]


def test_a_byte_order_mark_does_not_hide_the_format(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(f"{HEADER}\nvoice,44,,Überland,,,,,,,,0.1,0.2,,,,,,,,\n", encoding="utf-8-sig")

    (rate,) = read_deck(path, None).voice

    assert rate.friendly_name == "Überland"


def test_a_named_format_overrides_detection(tmp_path: Path) -> None:
    path = tmp_path / "deck.csv"
    path.write_text("kind,prefix\nUK,44\n", encoding="utf-8")

    with pytest.raises(InvalidRows):
        read_deck(path, None)
    with pytest.raises(InvalidRows, match="cannot find the rate column"):
        read_deck(path, " Simple ")


def test_an_unknown_format_is_refused_naming_the_choices(tmp_path: Path) -> None:
    with pytest.raises(InvalidRate, match="unknown deck format 'xls'; choose one of telebill, twilio, simple"):
        read_deck(tmp_path / "missing.csv", "xls")


def test_a_file_that_is_not_utf8_is_refused_with_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("Destination;Prefix;Rate\nUK;44;0,01\nCôte d'Ivoire;225;0,1\n".encode("latin-1"))

    with pytest.raises(InvalidRows) as caught:
        read_deck(path, None)

    assert caught.value.errors[0][0] == 3
    assert "not UTF-8" in caught.value.errors[0][1]


def test_progress_is_passed_to_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "twilio.csv"
    path.write_text(TWILIO, encoding="utf-8")
    calls: list[int] = []

    read_deck(path, "twilio", calls.append)

    assert calls == [1]


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("UK;44;abc\n", encoding="utf-8")

    with pytest.raises(InvalidRows) as caught:
        read_deck(path, "simple")

    assert caught.value.source == str(path)
