"""Numbers parsed in columns give exactly what `parse_number` gives one by one."""

from __future__ import annotations

import numpy as np
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telebill.domain.bulk_numbers import OK, DialledNumbers, RegionResolver, calling_codes, parse_numbers
from telebill.domain.dialling_plan import NO_REGION, anchored_prefix_tables, dialling_plan, prefix_table
from telebill.domain.errors import TelebillError
from telebill.domain.numbering import parse_number

PLAN = dialling_plan()
REGIONS = [r for r in PLAN.regions if r]
CALLING_CODES = [cc for cc in range(1000) if PLAN.is_cc[cc]]


def dialled(texts: list[str]) -> DialledNumbers:
    """What a reader hands over: plain digits with an optional `+`, anything else as text only."""
    digits, lengths, plus = [], [], []
    for text in texts:
        compact = "".join(ch for ch in text if ch not in " -./()")
        has_plus = compact.startswith("+")
        body = compact[1:] if has_plus else compact
        plain = body.isascii() and body.isdigit() and len(body) <= 18
        digits.append(int(body) if plain else 0)
        lengths.append(len(body) if plain else (0 if not compact else -1))
        plus.append(has_plus and plain)
    return DialledNumbers(
        np.array(digits, dtype=np.int64),
        np.array(lengths, dtype=np.int8),
        np.array(plus, dtype=np.bool_),
        lambda rows: [texts[i] for i in rows],
    )


def scalar(text: str, region: str | None) -> tuple[int, int] | None:
    """(E.164 digits, region id) by `parse_number`, or None when it refuses the text."""
    try:
        number = parse_number(text, region)
    except TelebillError:
        return None
    if len(number.digits) > 15:
        return None
    return int(number.digits), PLAN.region_id(number.country)


def bulk(texts: list[str], region: str | None) -> list[tuple[int, int] | None]:
    parsed = parse_numbers(dialled(texts), PLAN.region_id(region))
    regions = RegionResolver().resolve(parsed.e164, parsed.region)
    return [(int(parsed.e164[i]), int(regions[i])) if parsed.error[i] == OK else None for i in range(len(texts))]


def example_numbers() -> list[str]:
    """Real numbers of every region, written internationally and nationally."""
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            out.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
            out.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    return out


EXAMPLES = example_numbers()
digit_strings = st.text("0123456789", min_size=0, max_size=17)
texts = st.one_of(
    st.builds(lambda cc, rest: f"+{cc}{rest}", st.sampled_from(CALLING_CODES), digit_strings),
    st.builds(lambda cc, rest: f"00{cc}{rest}", st.sampled_from(CALLING_CODES), digit_strings),
    st.builds(lambda cc, rest: f"{cc}{rest}", st.sampled_from(CALLING_CODES), digit_strings),
    digit_strings,
    st.sampled_from(EXAMPLES),
    st.sampled_from(["112", "999", "911", "15", "000", "110", "+", "", " ", "abc", "+44 20 7946 0018", "++44"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, min_size=1, max_size=80), st.one_of(st.none(), st.sampled_from(REGIONS)))
def test_columns_of_numbers_parse_as_parse_number_parses_each(batch: list[str], region: str | None) -> None:
    assert bulk(batch, region) == [scalar(t, region) for t in batch]


@pytest.mark.parametrize("region", ["GB", "US", "FR", "DE", "IT", "RU", "JE", "FI", "AX", "BR", "JP", "AU"])
def test_the_example_numbers_of_every_region_parse_alike_in_a_national_context(region: str) -> None:
    assert bulk(EXAMPLES, region) == [scalar(t, region) for t in EXAMPLES]


def test_each_row_can_be_read_in_a_country_of_its_own() -> None:
    texts = ["020 7946 0018", "06 12 34 56 78", "+4930123456"]
    per_row = np.array([PLAN.region_id("GB"), PLAN.region_id("FR"), NO_REGION], dtype=np.int16)
    parsed = parse_numbers(dialled(texts), per_row)
    assert parsed.e164.tolist() == [442079460018, 33612345678, 4930123456]


def test_uk_national_numbers_without_their_leading_zero_are_read_in_the_default_country() -> None:
    parsed = parse_numbers(dialled(["1650333333", "8450927777"]), PLAN.region_id("GB"))
    assert parsed.e164.tolist() == [441650333333, 448450927777]


def test_an_emergency_number_is_refused_with_the_scalar_reason() -> None:
    parsed = parse_numbers(dialled(["999", "+447700900123"]), PLAN.region_id("GB"))
    assert parsed.error[0] != OK
    assert "emergency" in parsed.reason(0)
    assert parsed.error[1] == OK


def test_numbers_longer_than_e164_are_refused() -> None:
    parsed = parse_numbers(dialled(["+49301234567890123"]), NO_REGION)
    assert parsed.error[0] != OK
    assert "15 digits" in parsed.reason(0) or "long" in parsed.reason(0)


def test_shared_calling_codes_resolve_to_the_region_of_the_number() -> None:
    numbers = np.array([14165550100, 14155550100, 447700900123, 441534456789, 358181234567], dtype=np.int64)
    regions = RegionResolver().resolve(numbers, PLAN.cc_region[calling_codes(numbers)])
    assert [PLAN.regions[r] for r in regions] == ["CA", "US", "GB", "JE", "AX"]


def test_a_national_prefix_pattern_marks_the_starts_it_could_swallow() -> None:
    table = prefix_table("0|180020")
    assert table[[0, 99, 180]].all()
    assert not table[[165, 181]].any()


def test_a_national_prefix_anchored_at_the_end_only_matters_at_its_lengths() -> None:
    free, anchored, lengths = anchored_prefix_tables(r"([24-9]\d{6})$|0")
    assert free[[0, 99]].all()
    assert not free[[200, 999]].any()
    assert anchored[[200, 999]].all()
    assert not anchored[[100, 399]].any()
    assert lengths == 1 << 7


# Codes whose national prefix for parsing has a `$` alternative (MG, NF, SM, JP, GG, NANP islands),
# with every national length around the anchored one.
_ANCHORED_CODES = ["261", "672", "378", "81", "44", "1264", "1441", "61"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda cc, rest, plus: f"{'+' if plus else ''}{cc}{rest}",
            st.sampled_from(_ANCHORED_CODES),
            st.text("0123456789", min_size=3, max_size=12),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([None, "MG", "NF", "SM", "JP", "GG", "AI", "BM", "CC"]),
)
def test_numbers_under_anchored_national_prefixes_parse_as_parse_number(batch: list[str], region: str | None) -> None:
    assert bulk(batch, region) == [scalar(text, region) for text in batch]
