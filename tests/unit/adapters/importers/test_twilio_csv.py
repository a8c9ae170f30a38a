"""Twilio's voice price CSV: prefix lists expanding to (destination x origination) pairs, and errors."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from telebill.adapters.importers.twilio_csv import read_twilio_csv
from telebill.domain.catalog.deck import DeckContent
from telebill.domain.catalog.entries import ALL, ROW, Increments
from telebill.domain.errors import InvalidRows

HEADER = "ISO, Country, Description, Price / min, Origination Prefixes, Destination Prefixes"


PER_MINUTE = Increments(60, 60)


def read(body: str, header: str = HEADER, increments: Increments = PER_MINUTE) -> DeckContent:
    return read_twilio_csv(io.StringIO(f"{header}\n{body}"), "twilio.csv", increments=increments)


def pairs(content: DeckContent) -> list[tuple[str, str]]:
    return sorted((rate.prefix, rate.origin) for rate in content.voice)


def errors_of(body: str, header: str = HEADER) -> list[tuple[int, str]]:
    with pytest.raises(InvalidRows) as caught:
        read(body, header)
    return caught.value.errors


def test_each_destination_prefix_is_priced_from_each_origination_prefix() -> None:
    content = read('FR,France,France - Mobile,0.0850,"33, 4420","336, 337"\n')

    assert pairs(content) == [("336", "33"), ("336", "4420"), ("337", "33"), ("337", "4420")]


def test_an_empty_origination_field_means_all_origins() -> None:
    content = read('JP,Japan,Japan,0.07460,,"81, 8190"\n')

    assert pairs(content) == [("81", ALL), ("8190", ALL)]


def test_row_and_all_origination_selectors_are_kept() -> None:
    content = read('DE,Germany,Germany,0.02,"ROW, ALL, 49",49\n')

    assert pairs(content) == [("49", "49"), ("49", ALL), ("49", ROW)]


def test_a_row_reads_name_country_and_exact_price() -> None:
    (rate,) = read("gb,United Kingdom,United Kingdom - Mobile,0.04100,,447\n").voice

    assert (rate.friendly_name, rate.iso_country) == ("United Kingdom - Mobile", "GB")
    assert str(rate.tariff.base_price) == "0.04100"
    assert rate.tariff.current_price == Decimal("0.041")
    assert rate.tariff.increments == Increments(60, 60)


def test_the_friendly_name_falls_back_to_the_country_without_a_description() -> None:
    (rate,) = read("AF,Afghanistan,,0.3,,93\n").voice

    assert rate.friendly_name == "Afghanistan"


def test_increments_can_be_given_for_per_second_billing() -> None:
    (rate,) = read("US,United States,US,0.013,,1\n", increments=Increments(60, 1)).voice

    assert rate.tariff.increments == Increments(60, 1)


def test_header_names_match_in_any_case_with_extra_columns_ignored() -> None:
    header = "\ufeffdestination prefixes ,PRICE / MIN,Interval 1,iso"
    (rate,) = read("44,0.01,60,GB\n", header).voice

    assert (rate.prefix, rate.origin, rate.iso_country) == ("44", ALL, "GB")


def test_a_missing_required_column_is_reported_on_line_one() -> None:
    errors = errors_of("FR,France,France,0.1\n", "ISO,Country,Description,Price / min")

    assert errors[0][0] == 1
    assert "destination prefixes" in errors[0][1]


def test_every_bad_row_is_reported_with_its_line_number() -> None:
    body = (
        "FR,France,France,0.1,,33\n"
        "\n"
        "DE,Germany,Germany,abc,,49\n"
        'IT,Italy,Italy,0.1,,"39, 3x9"\n'
        "ES,Spain,Spain,0.1,XY,34\n"
        "PT,Portugal,Portugal,0.1,,\n"
        "BE,Belgium,Belgium,0.1,,32,extra\n"
        "NLD,Netherlands,Netherlands,0.1,,31\n"
    )

    errors = errors_of(body)

    assert [line for line, _ in errors] == [4, 5, 6, 7, 8, 9]
    reasons = dict(errors)
    assert reasons[4] == "Price / min: 'abc' is not a decimal number"
    assert "destination prefix '3x9'" in reasons[5]
    assert "origin prefix 'XY'" in reasons[6]
    assert reasons[7] == "Destination Prefixes: no prefix given"
    assert "7 fields" in reasons[8]
    assert "country: 'NLD'" in reasons[9]


def test_a_prefix_repeated_from_the_same_origin_is_a_duplicate() -> None:
    body = 'US,United States,US,0.01,,"1, 1201"\nCA,Canada,Canada,0.01,,"1204, 1"\nUS,United States,US,0.01,ROW,1\n'

    assert errors_of(body) == [(3, "prefix 1 from ALL is already priced on line 2")]


def test_progress_counts_csv_rows_not_expanded_pairs() -> None:
    calls: list[int] = []
    read_twilio_csv(io.StringIO(f'{HEADER}\nFR,France,France,0.1,"33, 1","33, 331"\n'), "t", calls.append)

    assert calls == [1]
