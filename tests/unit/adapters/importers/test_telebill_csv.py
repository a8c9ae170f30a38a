"""The telebill CSV: every kind read with every field, defaults, errors, and export -> import round trips."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telebill.adapters.importers.telebill_csv import HEADER, read_telebill_csv, write_telebill_csv
from telebill.domain.catalog.deck import DeckContent
from telebill.domain.catalog.entries import (
    ALL,
    ROW,
    Destination,
    InboundType,
    Increments,
    Tariff,
    VoiceRate,
)
from telebill.domain.catalog.voice_table import VoiceRateTable
from telebill.domain.errors import InvalidRows
from telebill.domain.money import Rounding, RoundingMethod

ALL_KINDS = f"""{HEADER}
voice,44,,United Kingdom,gb,,,,,,,0.010,0.012500,,,,,,,,
voice,4420,ROW,London,GB,,,,,,,0.01,0.02,,,,0.1,1/1,no,true,up:4
inbound,,,,US,toll_free,,type:mobile,,,,0.02,0.03,,,,0.005,6/6,,,down:2
inbound,,,,US,local,,1212,,,,0.01,0.01,,,,,,,,
sms,1,,,US,,,,,,,0.005,0.0075,,,0.001,,,,,
number,,,,US,local,CA,,,,,,,1.00,2.50,,,,,,
resource,,,,,,,,tts,characters,1000,0.1,0.2,,,,,,,,
"""


def read(text: str) -> DeckContent:
    return read_telebill_csv(io.StringIO(text), "deck.csv")


def errors_of(text: str) -> list[tuple[int, str]]:
    with pytest.raises(InvalidRows) as caught:
        read(text)
    assert caught.value.source == "deck.csv"
    return caught.value.errors


def round_trip(content: DeckContent) -> DeckContent:
    out = io.StringIO()
    write_telebill_csv(content, out)
    return read(out.getvalue())


def test_all_five_kinds_are_read_with_every_field() -> None:
    content = read(ALL_KINDS)

    uk, london = sorted(content.voice, key=lambda r: r.prefix)
    assert uk == VoiceRate("44", ALL, Destination("United Kingdom", "GB"), Tariff(Decimal("0.010"), Decimal("0.0125")))
    assert london.origin == ROW
    assert london.tariff == Tariff(
        Decimal("0.01"),
        Decimal("0.02"),
        Increments(1, 1),
        Decimal("0.1"),
        free=False,
        blocked=True,
        rounding=Rounding(RoundingMethod.UP, 4),
    )
    toll_free, local = content.inbound
    assert toll_free.number_type is InboundType.TOLL_FREE
    assert (toll_free.caller, toll_free.increments, str(toll_free.rounding)) == (
        "type:mobile",
        Increments(6, 6),
        "down:2",
    )
    assert toll_free.connection_fee == Decimal("0.005")
    assert local.caller == "1212"
    (sms,) = content.sms
    assert (sms.country, sms.prefix, sms.current_price, sms.inbound_price) == (
        "US",
        "1",
        Decimal("0.0075"),
        Decimal("0.001"),
    )
    (number,) = content.numbers
    assert (number.category, number.region) == ("local", "CA")
    assert (number.setup_price, number.monthly_price) == (Decimal("1"), Decimal("2.5"))
    (resource,) = content.resources
    assert (resource.resource, resource.unit, resource.quantity) == ("tts", "characters", 1000)


def test_empty_optional_cells_take_their_documented_defaults() -> None:
    content = read(ALL_KINDS)

    uk = min(content.voice, key=lambda r: r.prefix)
    assert uk.origin == ALL
    assert uk.tariff.increments == Increments(60, 60)
    assert uk.tariff.connection_fee == 0
    assert str(uk.tariff.rounding) == "half_up:6"
    assert not uk.tariff.free
    assert not uk.tariff.blocked
    assert read(f"{HEADER}\ninbound,,,,US,local,,,,,,0.1,0.1,,,,,,,,\n").inbound[0].caller == ALL
    assert content.numbers[0].base_monthly_price == content.numbers[0].monthly_price
    assert read(f"{HEADER}\nresource,,,,,,,,stt,seconds,,0.1,0.1,,,,,,,,\n").resources[0].quantity == 1


def test_export_then_import_gives_the_same_deck() -> None:
    content = read(ALL_KINDS)

    again = round_trip(content)

    assert again == content
    # == compares the other sections' prices as numbers (0.10 == 0.1); their spelling must survive too.
    assert repr(again.inbound + again.sms + again.numbers + again.resources) == repr(
        content.inbound + content.sms + content.numbers + content.resources
    )


def test_prices_are_written_with_their_exact_published_precision() -> None:
    out = io.StringIO()

    rows = write_telebill_csv(read(ALL_KINDS), out)

    assert rows == 7
    assert ",0.010,0.012500," in out.getvalue()
    assert ",1.00,2.50," in out.getvalue()


def test_equal_prices_keep_their_own_precision_on_each_prefix() -> None:
    uk, fr = Destination("UK", "GB"), Destination("France", "FR")
    rates = [
        VoiceRate("44", ALL, uk, Tariff(Decimal("0.10"), Decimal("0.10"))),
        VoiceRate("33", ALL, fr, Tariff(Decimal("0.1"), Decimal("0.1"))),
    ]
    out = io.StringIO()

    write_telebill_csv(DeckContent(VoiceRateTable.of(rates)), out)

    prices = {row[1]: (row[11], row[12]) for row in csv.reader(out.getvalue().splitlines()[1:])}
    assert prices == {"44": ("0.10", "0.10"), "33": ("0.1", "0.1")}


def test_voice_rows_are_written_in_prefix_order() -> None:
    rows = [
        "voice,45,,B,,,,,,,,1,1,,,,,,,,",
        "voice,4,,A,,,,,,,,1,1,,,,,,,,",
        "voice,44,ROW,C,,,,,,,,1,1,,,,,,,,",
    ]
    text = "\n".join([HEADER, *rows])
    out = io.StringIO()

    write_telebill_csv(read(text), out)

    assert [line.split(",")[1] for line in out.getvalue().splitlines()[1:]] == ["4", "44", "45"]


prefixes = st.from_regex(r"[1-9][0-9]{0,6}", fullmatch=True)
origins = st.one_of(st.sampled_from([ALL, ROW]), prefixes)
prices = st.decimals(min_value=0, max_value=10_000, places=6, allow_nan=False, allow_infinity=False)
names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20).map(str.strip)
tariffs = st.builds(
    Tariff,
    base_price=prices,
    current_price=prices,
    increments=st.builds(Increments, st.integers(1, 120), st.integers(1, 120)),
    connection_fee=prices,
    free=st.booleans(),
    blocked=st.just(False),
    rounding=st.builds(Rounding, st.sampled_from(list(RoundingMethod)), st.integers(0, 6)),
)
voice_entries = st.dictionaries(
    st.tuples(prefixes, origins),
    st.tuples(names, st.sampled_from(["", "FR", "GB", "US"]), tariffs, st.booleans()),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(voice_entries)
def test_any_voice_table_survives_export_then_import(
    entries: dict[tuple[str, str], tuple[str, str, Tariff, bool]],
) -> None:
    rates = [
        VoiceRate(prefix, origin, Destination(name, country), replace(tariff, blocked=blocked and not tariff.free))
        for (prefix, origin), (name, country, tariff, blocked) in entries.items()
    ]
    content = DeckContent(VoiceRateTable.of(rates))

    assert round_trip(content) == content


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("", False),
    ],
)
def test_free_and_blocked_flags_accept_true_false_one_zero_yes_no(cell: str, expected: bool) -> None:
    free = read(f"{HEADER}\nvoice,44,,UK,,,,,,,,1,1,,,,,,{cell},,\n")
    blocked = read(f"{HEADER}\nvoice,44,,UK,,,,,,,,1,1,,,,,,,{cell},\n")

    assert next(iter(free.voice)).tariff.free is expected
    assert next(iter(blocked.voice)).tariff.blocked is expected


def test_every_bad_row_is_reported_with_its_line_number() -> None:
    text = (
        f"{HEADER}\n"
        "voice,44,,UK,,,,,,,,0.1,abc,,,,,,,,\n"
        "\n"
        'voice,33,,"France\nmetropolitan",FR,,,,,,,0.1,0.1,,,,,,,,\n'
        "voice,3x,,Bad,,,,,,,,0.1,0.1,,,,,,,,\n"
        "voice,49,,DE,,,,,,,,0.1,-1,,,,,,maybe,,\n"
        "fax,49,,DE,,,,,,,,0.1,0.1,,,,,,,,\n"
        "voice,49,,DE,,,,,,,,0.1\n"
        "inbound,,,,US,landline,,,,,,0.1,0.1,,,,,,,,\n"
    )

    errors = errors_of(text)

    assert [line for line, _ in errors] == [2, 6, 7, 8, 9, 10]
    reasons = dict(errors)
    assert reasons[2] == "current_price: 'abc' is not a decimal number"
    assert "prefix '3x'" in reasons[6]
    assert reasons[7] == "current_price: '-1' must not be negative"
    assert "kind: 'fax'" in reasons[8]
    assert "the row has 12 fields, the header has 21" in reasons[9]
    assert "number_type: 'landline'" in reasons[10]


def test_nothing_is_imported_when_one_row_is_bad() -> None:
    text = f"{HEADER}\nvoice,44,,UK,,,,,,,,0.1,0.1,,,,,,,,\nvoice,33,,FR,,,,,,,,0.1,0.1,,,,,,true,true,\n"

    assert errors_of(text) == [(3, "an entry cannot be both free and blocked")]


def test_a_repeated_prefix_and_origin_is_reported_on_the_repeating_line() -> None:
    text = (
        f"{HEADER}\nvoice,44,,UK,,,,,,,,1,1,,,,,,,,\nvoice,44,ROW,UK,,,,,,,,1,1,,,,,,,,\n"
        "voice,44,,UK again,,,,,,,,2,2,,,,,,,,\nvoice,44,all,UK thrice,,,,,,,,2,2,,,,,,,,\n"
    )

    assert errors_of(text) == [
        (4, "prefix 44 from ALL is already priced on line 2"),
        (5, "prefix 44 from ALL is already priced on line 2"),
    ]


def test_repeated_inbound_sms_number_and_resource_prices_are_errors() -> None:
    text = (
        f"{HEADER}\n"
        "inbound,,,,US,local,,,,,,0.1,0.1,,,,,,,,\ninbound,,,,us,local,,all,,,,0.2,0.2,,,,,,,,\n"
        "sms,,,,US,,,,,,,0.1,0.1,,,,,,,,\nsms,,,,US,,,,,,,0.1,0.1,,,,,,,,\n"
        "number,,,,US,local,,,,,,,,1,1,,,,,,\nnumber,,,,US,local,,,,,,,,1,1,,,,,,\n"
        "resource,,,,,,,,tts,chars,,0.1,0.1,,,,,,,,\nresource,,,,,,,,tts,chars,1,0.1,0.1,,,,,,,,\n"
    )

    assert [(line, "already on line" in reason) for line, reason in errors_of(text)] == [
        (3, True),
        (5, True),
        (7, True),
        (9, True),
    ]


def test_a_value_in_a_column_the_kind_does_not_use_is_an_error() -> None:
    errors = errors_of(f"{HEADER}\nvoice,44,,UK,,,,,tts,,,1,1,,,,,,,,\n")

    assert errors == [(2, "resource: voice rows do not use this column (got 'tts')")]


def test_decimal_comma_rates_are_read_exactly_and_thousands_separators_are_refused() -> None:
    good = read(f'{HEADER}\nvoice,44,,UK,,,,,,,,"0,0125","0,0125",,,,,,,,\n')
    errors = errors_of(f'{HEADER}\nvoice,44,,UK,,,,,,,,"1,000.5",1,,,,,,,,\n')

    assert next(iter(good.voice)).tariff.current_price == Decimal("0.0125")
    assert "base_price: '1,000.5' is ambiguous" in errors[0][1]


def test_digits_from_other_scripts_are_refused() -> None:
    errors = errors_of(f"{HEADER}\nvoice,٤٤,,UK,,,,,,,,1,1,,,,,,,,\nvoice,44,,UK,,,,,,,,1,1,,,,²/60,,,\n")

    assert [line for line, _ in errors] == [2, 3]


def test_a_byte_order_mark_before_the_header_is_ignored() -> None:
    assert len(read(f"\ufeff{HEADER}\nvoice,44,,UK,,,,,,,,1,1,,,,,,,,\n").voice) == 1


def test_columns_may_come_in_any_order_and_unused_ones_may_be_left_out() -> None:
    content = read("Prefix,Kind,Current_Price,Base_Price,Friendly_Name\n44,voice,0.2,0.1,UK\n")

    (rate,) = content.voice
    assert (rate.prefix, rate.friendly_name, rate.tariff.current_price) == ("44", "UK", Decimal("0.2"))


def test_an_unknown_column_is_reported_on_line_one() -> None:
    errors = errors_of("kind,prefix,rate\nvoice,44,0.1\n")

    assert errors[0][0] == 1
    assert "unknown column 'rate'" in errors[0][1]


def test_an_empty_file_is_an_error_and_a_header_alone_is_an_empty_deck() -> None:
    assert errors_of("")[0][0] == 1
    assert len(read(HEADER + "\n").voice) == 0


def test_progress_is_reported_every_ten_thousand_rows_then_the_remainder() -> None:
    lines = [HEADER] + [f"voice,{100000 + i},,X,,,,,,,,1,1,,,,,,,," for i in range(25_001)]
    calls: list[int] = []

    read_telebill_csv(io.StringIO("\n".join(lines)), "deck.csv", calls.append)

    assert calls == [10_000, 10_000, 5_001]
