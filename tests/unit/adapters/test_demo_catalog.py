"""The demo catalog: every country priced, shared codes split, blocked and free destinations,
origin-specific rates, the plan's tier chain, the extra sections, and a deterministic build."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from importlib.resources import files

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from telebill.adapters.demo_catalog import (
    DOMESTIC,
    EEA_DECK,
    INTERNATIONAL,
    DemoCatalog,
    build_demo_catalog,
)
from telebill.adapters.demo_prices import NO_OWN_RANGE
from telebill.domain.catalog.deck import DeckContent, DeckVersion
from telebill.domain.catalog.entries import ALL, ROW, InboundType
from telebill.domain.catalog.plans import EEA, PricePlan, quote
from telebill.domain.money import currency
from telebill.domain.numbering import parse_number

EFFECTIVE = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> DemoCatalog:
    return build_demo_catalog()


@pytest.fixture(scope="module")
def versions(catalog: DemoCatalog) -> dict[str, DeckVersion]:
    return {name: DeckVersion.of(name, currency(code), EFFECTIVE, content) for name, code, content in catalog.decks}


@pytest.fixture(scope="module")
def intl(versions: dict[str, DeckVersion]) -> DeckVersion:
    return versions[INTERNATIONAL]


def plan(catalog: DemoCatalog, name: str) -> PricePlan:
    return next(p for p in catalog.plans if p.name == name)


def csv_countries() -> list[tuple[str, str, tuple[str, ...]]]:
    """(iso, CLDR name, dial codes as digits) of every CSV row with a dialling code."""
    text = (files("telebill") / "data" / "country-codes.csv").read_text(encoding="utf-8")
    out = []
    for row in csv.DictReader(io.StringIO(text, newline="")):
        codes = tuple(c.replace("-", "") for c in re.findall(r"\d+(?:-\d+)?", row["Dial"]))
        if row["ISO3166-1-Alpha-2"].strip() and codes:
            out.append((row["ISO3166-1-Alpha-2"].strip(), row["CLDR display name"].strip(), codes))
    return out


def example(region: str, kind: int) -> str | None:
    number = phonenumbers.example_number_for_type(region, kind)
    if number is None or phonenumbers.number_type(number) != kind:
        return None
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))[1:]


def snapshot(content: DeckContent) -> tuple[object, ...]:
    return (list(content.voice), content.inbound, content.sms, content.numbers, content.resources)


def test_the_catalog_has_three_usd_decks_and_two_plans(catalog: DemoCatalog) -> None:
    assert [(name, code) for name, code, _ in catalog.decks] == [
        (INTERNATIONAL, "USD"),
        (DOMESTIC, "USD"),
        (EEA_DECK, "USD"),
    ]
    assert [p.name for p in catalog.plans] == ["demo", "demo-discount"]
    assert plan(catalog, "demo").deck_names == [DOMESTIC, EEA_DECK, INTERNATIONAL]


def test_every_dial_code_of_the_csv_is_priced_in_the_international_deck(intl: DeckVersion) -> None:
    countries = csv_countries()
    assert len(countries) > 240
    for iso, _, codes in countries:
        for code in codes:
            assert intl.voice_rate(code), f"{iso} {code}"


def test_every_country_with_a_range_of_its_own_has_a_named_row_inside_its_dial_codes(
    intl: DeckVersion,
) -> None:
    for iso, name, codes in csv_countries():
        rows = [intl.voice.entry(int(i)) for i in intl.voice.rows_for_country(iso)]
        if iso in NO_OWN_RANGE:
            assert rows == [], iso
            continue
        assert any(r.friendly_name == name for r in rows), iso
        assert all(r.prefix.startswith(codes) for r in rows), iso


def test_shared_country_codes_are_split_by_real_sub_ranges(intl: DeckVersion) -> None:
    def iso_of(digits: str) -> str:
        return intl.voice_rate(digits).iso_country

    assert iso_of("1684" + "6331234") == "AS"  # American Samoa, NANP area code 684
    assert iso_of("12025550123") == "US"
    assert iso_of("14165550123") == "CA"
    assert iso_of("17872345678") == "PR"
    assert iso_of("74951234567") == "RU"
    assert iso_of("77172123456") == "KZ"
    assert iso_of("358181234567") == "AX"
    assert iso_of("35891234567") == "FI"
    assert iso_of("441481256789") == "GG"
    assert iso_of("390669812345") == "VA"
    assert iso_of("672381234") == "NF"
    assert iso_of("59997001234") == "CW"
    assert iso_of("5997171234") == "BQ"


def test_each_fixed_line_example_number_is_priced_for_its_own_country(intl: DeckVersion) -> None:
    examples = {iso: example(iso, PhoneNumberType.FIXED_LINE) for iso, _, _ in csv_countries()}
    shared = {d for d in examples.values() if list(examples.values()).count(d) > 1}  # BL and MF: one example
    checked = 0
    for iso, digits in examples.items():
        if digits and digits not in shared and iso not in NO_OWN_RANGE:
            assert intl.voice_rate(digits).iso_country == iso, f"{iso} {digits}"
            checked += 1
    assert checked > 220


def test_mobile_rows_are_dearer_than_the_countrys_fixed_rows(intl: DeckVersion) -> None:
    mobile_rows = [r for r in intl.voice if r.friendly_name.endswith(" - Mobile")]
    assert len(mobile_rows) > 150
    for iso in {r.iso_country for r in mobile_rows}:
        rows = [intl.voice.entry(int(i)) for i in intl.voice.rows_for_country(iso)]
        generic = [r for r in rows if r.origin in (ALL, ROW)]
        fixed = [r.tariff.current_price for r in generic if not r.friendly_name.endswith(" - Mobile")]
        mobile = [r.tariff.current_price for r in generic if r.friendly_name.endswith(" - Mobile")]
        assert max(fixed) < min(mobile), iso


def test_the_metadata_example_mobile_number_is_priced_as_a_mobile(intl: DeckVersion) -> None:
    for iso in ("FR", "DE", "GB", "JP", "IN", "NG", "AU", "RE", "YT", "KZ", "RU", "AX", "JE"):
        digits = example(iso, PhoneNumberType.MOBILE)
        assert digits is not None
        assert intl.voice_rate(digits).friendly_name.endswith(" - Mobile"), iso
    assert intl.voice_rate("262639012345").iso_country == "YT"
    assert intl.voice_rate("262692123456").iso_country == "RE"


def test_no_deck_repeats_a_prefix_and_origin_pair(catalog: DemoCatalog) -> None:
    for name, _, content in catalog.decks:
        keys = [(r.prefix, r.origin) for r in content.voice]
        assert len(keys) == len(set(keys)), name


def test_prices_are_exact_plausible_decimals(catalog: DemoCatalog) -> None:
    rates = [r for _, _, content in catalog.decks for r in content.voice]
    priced = [r.tariff for r in rates if not r.tariff.blocked and not r.tariff.free]
    for tariff in priced:
        assert isinstance(tariff.current_price, Decimal)
        assert Decimal("0.0040") <= tariff.current_price <= Decimal("0.9500")
        assert tariff.current_price.as_tuple().exponent == -4
        assert tariff.base_price >= tariff.current_price
    assert any(t.base_price > t.current_price for t in priced)
    assert {str(t.increments) for t in priced} == {"60/60", "1/1", "30/6"}
    assert any(t.connection_fee > 0 for t in priced)


@pytest.mark.parametrize("prefix", ["870", "881", "882", "883", "1900"])
def test_satellite_network_and_premium_prefixes_are_blocked(intl: DeckVersion, prefix: str) -> None:
    rate = intl.voice_rate(prefix + "1234567")
    assert rate.prefix == prefix
    assert rate.tariff.blocked


def test_nanp_premium_rate_is_blocked_in_the_domestic_deck_too(versions: dict[str, DeckVersion]) -> None:
    assert versions[DOMESTIC].voice_rate("19005550123").tariff.blocked


def test_calls_to_the_us_and_canada_are_free_but_not_to_the_caribbean(intl: DeckVersion) -> None:
    for iso in ("US", "CA"):
        rows = [intl.voice.entry(int(i)) for i in intl.voice.rows_for_country(iso)]
        assert rows
        assert all(r.tariff.free and r.tariff.current_price == 0 for r in rows)
    assert intl.voice_rate("12025550123").tariff.free
    assert intl.voice_rate("16045550123").tariff.free
    assert not intl.voice_rate("18762101234").tariff.free


def test_origin_specific_rates_win_over_the_rest_of_world_rate(intl: DeckVersion) -> None:
    specific = [r for r in intl.voice if r.origin not in (ALL, ROW)]
    assert len(specific) >= 3
    uk_mobile = "447400123456"
    from_us = intl.voice_rate(uk_mobile, "12025550123")
    from_france = intl.voice_rate(uk_mobile, "33123456789")
    assert (from_us.prefix, from_us.origin) == ("447", "1")
    assert (from_france.prefix, from_france.origin) == ("447", ROW)
    assert intl.voice_rate(uk_mobile).origin == ROW
    assert from_us.tariff.current_price < from_france.tariff.current_price


def test_french_mobiles_are_cheaper_from_france(intl: DeckVersion) -> None:
    for mobile in ("33612345678", "33712345678"):
        domestic = intl.voice_rate(mobile, "33123456789")
        foreign = intl.voice_rate(mobile, "4930123456")
        assert domestic.origin == "33"
        assert foreign.origin == ALL
        assert domestic.tariff.current_price < foreign.tariff.current_price


def test_origin_specific_rows_are_cheaper_than_the_generic_row_they_refine(intl: DeckVersion) -> None:
    for rate in intl.voice:
        if rate.origin not in (ALL, ROW):
            generic = intl.voice_rate(rate.prefix + "0" * (12 - len(rate.prefix)))
            assert generic.prefix == rate.prefix
            assert rate.tariff.current_price < generic.tariff.current_price


def test_the_demo_plan_uses_the_domestic_deck_for_a_call_within_the_uk(
    catalog: DemoCatalog, versions: dict[str, DeckVersion]
) -> None:
    got = quote(plan(catalog, "demo"), versions, parse_number("+442079460000"), parse_number("+447400123456"))
    assert got.deck.deck == DOMESTIC
    assert got.current_price == Decimal("0.0070")


def test_the_demo_plan_uses_the_eea_deck_for_france_to_germany(
    catalog: DemoCatalog, versions: dict[str, DeckVersion]
) -> None:
    got = quote(plan(catalog, "demo"), versions, parse_number("+4915123456789"), parse_number("+33612345678"))
    assert got.deck.deck == EEA_DECK
    international = versions[INTERNATIONAL].voice_rate("4915123456789")
    assert got.current_price < international.tariff.current_price


def test_the_demo_plan_uses_the_international_deck_for_us_to_japan(
    catalog: DemoCatalog, versions: dict[str, DeckVersion]
) -> None:
    got = quote(plan(catalog, "demo"), versions, parse_number("+81312345678"), parse_number("+12025550123"))
    assert got.deck.deck == INTERNATIONAL
    assert got.entry.iso_country == "JP"


def test_a_call_from_the_eea_to_the_us_falls_through_to_the_free_international_row(
    catalog: DemoCatalog, versions: dict[str, DeckVersion]
) -> None:
    got = quote(plan(catalog, "demo"), versions, parse_number("+12025550123"), parse_number("+33612345678"))
    assert got.deck.deck == INTERNATIONAL
    assert got.entry.tariff.free


def test_the_discount_plan_takes_ten_percent_off_and_fixes_the_uk_at_one_cent(
    catalog: DemoCatalog, versions: dict[str, DeckVersion]
) -> None:
    discount, origin = plan(catalog, "demo-discount"), parse_number("+12025550123")
    japan = quote(discount, versions, parse_number("+81312345678"), origin)
    assert japan.current_price == japan.entry.tariff.current_price * Decimal("0.9")
    uk = quote(discount, versions, parse_number("+447400123456"), origin)
    assert uk.current_price == Decimal("0.01")
    us = quote(discount, versions, parse_number("+14155550123"), origin)
    assert us.current_price == 0


def test_the_eea_deck_prices_only_eea_countries_below_their_international_rate(
    versions: dict[str, DeckVersion],
) -> None:
    eea, intl = versions[EEA_DECK], versions[INTERNATIONAL]
    assert {r.iso_country for r in eea.voice} == set(EEA)
    for rate in eea.voice:
        assert rate.tariff.current_price < intl.voice_rate(rate.prefix).tariff.current_price


def test_toll_free_inbound_costs_more_when_a_mobile_calls(intl: DeckVersion) -> None:
    countries = {p.country for p in intl.inbound}
    assert {"US", "GB", "FR", "DE", "CA", "AU"} <= countries
    for country in countries:
        kinds = {p.number_type for p in intl.inbound if p.country == country and p.caller == ALL}
        assert kinds == set(InboundType), country
    toll_free = parse_number("+448001234567")
    from_mobile = intl.inbound_price(toll_free, parse_number("+447400123456"))
    from_landline = intl.inbound_price(toll_free, parse_number("+442079460000"))
    assert (from_mobile.caller, from_landline.caller) == ("type:mobile", ALL)
    assert from_mobile.current_price > from_landline.current_price


def test_sms_number_and_resource_sections_are_in_the_international_deck(intl: DeckVersion) -> None:
    assert intl.sms_price(parse_number("+447400123456")).current_price == Decimal("0.0400")
    assert intl.sms_price(parse_number("+77051234567")).prefix == "7705"
    assert {"US", "GB", "FR", "DE", "CA", "AU"} <= {s.country for s in intl.sms}
    london = [n for n in intl.numbers if (n.country, n.category, n.region) == ("GB", "local", "London")]
    assert len(london) == 1
    assert {n.category for n in intl.numbers} == {"local", "mobile", "toll_free"}
    resources = {r.resource: (r.unit, r.quantity) for r in intl.resources}
    assert resources["TTS_STANDARD"] == ("character", 1_000_000)
    assert resources["ASR"] == ("second", 15)
    assert resources["RECORDING"] == ("minute", 1)


def test_two_builds_are_identical(catalog: DemoCatalog) -> None:
    again = build_demo_catalog()
    assert [snapshot(c) for _, _, c in again.decks] == [snapshot(c) for _, _, c in catalog.decks]
    assert again.plans == catalog.plans
