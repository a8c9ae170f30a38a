"""Simple prefix/rate CSVs: delimiter, header, columns and decimal comma detected from the content."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from telebill.adapters.importers.simple_csv import detect_delimiter, read_simple_csv
from telebill.domain.catalog.deck import DeckContent
from telebill.domain.catalog.entries import ALL, Increments
from telebill.domain.errors import InvalidRows


def read(text: str, increments: Increments | None = None) -> DeckContent:
    if increments is None:
        return read_simple_csv(io.StringIO(text), "rates.csv")
    return read_simple_csv(io.StringIO(text), "rates.csv", increments=increments)


def rows(text: str) -> list[tuple[str, str, str]]:
    """(prefix, name, rate as written) in prefix order."""
    return sorted((r.prefix, r.friendly_name, str(r.tariff.current_price)) for r in read(text).voice)


def errors_of(text: str) -> list[tuple[int, str]]:
    with pytest.raises(InvalidRows) as caught:
        read(text)
    return caught.value.errors


def test_a_comma_separated_file_with_a_header_is_read() -> None:
    text = "Destination,Prefix,Rate\nAfghanistan,93,0.2500\nAlbania,355,0.1\n"

    assert rows(text) == [("355", "Albania", "0.1"), ("93", "Afghanistan", "0.2500")]


def test_every_row_is_a_voice_price_from_all_origins_with_base_equal_to_current() -> None:
    (rate,) = read("Albania,355,0.1\n").voice

    assert rate.origin == ALL
    assert rate.tariff.base_price == rate.tariff.current_price == Decimal("0.1")
    assert rate.tariff.increments == Increments(60, 60)


def test_a_file_without_header_is_detected_from_its_first_row() -> None:
    assert rows("Afghanistan,93,0.25\nAlbania,355,0.1\n") == [
        ("355", "Albania", "0.1"),
        ("93", "Afghanistan", "0.25"),
    ]


def test_decimal_comma_rates_with_semicolons_are_read_exactly() -> None:
    text = "Pays;Indicatif;Tarif\nAllemagne;49;0,0125\nFrance mobile;336;0,1\n"

    assert rows(text) == [("336", "France mobile", "0.1"), ("49", "Allemagne", "0.0125")]


def test_quoted_decimal_comma_rates_in_a_comma_separated_file_are_read_exactly() -> None:
    assert rows('Germany,49,"0,0125"\nFrance,33,"0,02"\n') == [
        ("33", "France", "0.02"),
        ("49", "Germany", "0.0125"),
    ]


def test_unquoted_decimal_commas_in_a_comma_separated_file_are_refused() -> None:
    errors = errors_of("Germany,49,0,0125\nFrance,33,0,02\n")

    assert errors[0][0] == 1
    assert "decimal commas" in errors[0][1]


def test_a_byte_order_mark_is_ignored() -> None:
    assert rows("\ufeffprefix;name;rate\n44;UK;0,01\n") == [("44", "UK", "0.01")]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_detected(delimiter: str) -> None:
    text = "\n".join(
        delimiter.join(row) for row in [["name", "code", "price"], ["UK", "44", "0.01"], ["FR", "33", "0.02"]]
    )

    assert detect_delimiter(text.splitlines()) == delimiter
    assert rows(text) == [("33", "FR", "0.02"), ("44", "UK", "0.01")]


def test_a_two_column_semicolon_file_with_decimal_commas_is_not_mistaken_for_commas() -> None:
    assert rows("44;0,05\n33;0,04\n") == [("33", "", "0.04"), ("44", "", "0.05")]


def test_usual_header_names_choose_the_columns_in_any_order() -> None:
    text = "Cost per minute,Dial Code,Country\n0.5,93,Afghanistan\n0.25,355,Albania\n"

    assert rows(text) == [("355", "Albania", "0.25"), ("93", "Afghanistan", "0.5")]


def test_columns_with_unusual_header_names_are_found_by_content() -> None:
    text = "Zone|Numéro|Tarif\nUK Mobile|447|0.05\nUK Fixed|44|0.01\n"

    assert rows(text) == [("44", "UK Fixed", "0.01"), ("447", "UK Mobile", "0.05")]


def test_the_prefix_column_is_the_one_whose_values_do_not_repeat() -> None:
    text = "1,93,Afghanistan\n1,355,Albania\n2,213,Algeria\n"

    assert rows(text) == [("213", "Algeria", "2"), ("355", "Albania", "1"), ("93", "Afghanistan", "1")]


def test_a_leading_plus_on_prefixes_is_accepted() -> None:
    assert rows("+44,UK,0.01\n+33,France,0.02\n") == [("33", "France", "0.02"), ("44", "UK", "0.01")]


def test_increments_can_be_given() -> None:
    (rate,) = read("44,UK,0.01\n", Increments(1, 1)).voice

    assert rate.tariff.increments == Increments(1, 1)


def test_every_bad_row_is_reported_with_its_line_number() -> None:
    lines = [
        "Destination;Prefix;Rate",
        "UK;44;0,01",
        "",
        "France;33;abc",
        "Germany;49",
        "Spain;3a4;0,02",
        "Italy;39;1,000.5",
        "Chile;56;-0,1",
    ]

    errors = errors_of("\n".join(lines))

    assert errors == [
        (4, "rate: 'abc' is not a decimal number"),
        (5, "the row has 2 fields; prices need at least 3"),
        (6, "prefix '3a4' must be 1 to 15 digits not starting with 0"),
        (7, "rate: '1,000.5' is ambiguous; use one decimal separator, no thousands"),
        (8, "rate: '-0,1' must not be negative"),
    ]


def test_a_first_row_with_a_bad_prefix_is_reported_not_taken_for_a_header() -> None:
    assert errors_of("UK,0044,0.01\nFrance,33,0.02\n") == [
        (1, "prefix '0044' must be 1 to 15 digits not starting with 0")
    ]


def test_rows_with_bad_rates_are_reported_rather_than_hiding_the_rate_column() -> None:
    errors = errors_of("UK,44,0.01\nFR,33,blocked\nDE,49,n/a\nES,34,0.1\nIT,39,0.1\nPT,351,0.1\n")

    assert [line for line, _ in errors] == [2, 3]


def test_a_repeated_prefix_is_an_error_on_the_repeating_line() -> None:
    assert errors_of("UK,44,0.01\nUK again,44,0.02\n") == [(2, "prefix 44 from ALL is already priced on line 1")]


def test_a_file_without_a_prefix_column_is_refused_on_line_one() -> None:
    errors = errors_of("name,rate\nUK,0.01\nFrance,0.02\n")

    assert errors == [(1, "cannot find the prefix column (digits such as 44 or +4420)")]


def test_an_empty_file_and_a_header_alone_are_refused() -> None:
    assert errors_of("") == [(1, "the file is empty; expected a prefix and a rate on each row")]
    assert errors_of("prefix,name,rate\n") == [(1, "the file has a header but no prices")]
