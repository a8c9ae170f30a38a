"""The origin rule and the scalar/bulk agreement, checked against a plain reference."""

from __future__ import annotations

import random
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from telebill.domain.catalog.entries import ALL, ROW, Destination, Tariff, VoiceRate
from telebill.domain.catalog.prefix_index import PrefixTree, key_of, keys_of_numbers, keys_of_strings
from telebill.domain.catalog.voice_index import VoiceIndex
from telebill.domain.catalog.voice_table import VoiceRateTable

T = Tariff(Decimal("0.1"), Decimal("0.1"))


def rate(prefix: str, origin: str = ALL, name: str = "") -> VoiceRate:
    return VoiceRate(prefix, origin, Destination(name or f"{prefix}/{origin}"), T)


def reference(rates: list[VoiceRate], dest: str, origin: str | None) -> VoiceRate | None:
    """The rule as DESIGN.md states it, written the slow and obvious way."""
    for length in range(len(dest), 0, -1):
        rows = [r for r in rates if r.prefix == dest[:length]]
        if origin:
            specific = [r for r in rows if r.origin not in (ALL, ROW) and origin.startswith(r.origin)]
            if specific:
                return max(specific, key=lambda r: len(r.origin))
        for selector in (ROW, ALL):
            found = [r for r in rows if r.origin == selector]
            if found:
                return found[0]
    return None


def index_of(rates: list[VoiceRate], radix: bool | None = None) -> tuple[VoiceRateTable, VoiceIndex]:
    table = VoiceRateTable.of(rates)
    return table, VoiceIndex(table, radix)


def found(table: VoiceRateTable, row: int) -> VoiceRate | None:
    return table.entry(row) if row >= 0 else None


def test_longest_prefix_wins_over_country_code() -> None:
    table, index = index_of([rate("44"), rate("447"), rate("4479")])
    assert found(table, index.lookup("447911123456")) == rate("4479")
    assert found(table, index.lookup("447011123456")) == rate("447")
    assert found(table, index.lookup("442079460018")) == rate("44")


def test_a_prefix_longer_than_the_number_does_not_match() -> None:
    table, index = index_of([rate("1"), rate("14150")])
    assert found(table, index.lookup("1415")) == rate("1")
    assert found(table, index.lookup("14150")) == rate("14150")


def test_specific_origin_beats_row_which_beats_all() -> None:
    rates = [rate("447", ALL), rate("447", ROW), rate("447", "1"), rate("447", "1415")]
    table, index = index_of(rates)
    assert found(table, index.lookup("447911123456", "14155550100")) == rate("447", "1415")
    assert found(table, index.lookup("447911123456", "12125550100")) == rate("447", "1")
    assert found(table, index.lookup("447911123456", "33612345678")) == rate("447", ROW)


def test_without_origin_only_generic_entries_apply() -> None:
    table, index = index_of([rate("44"), rate("447", "1")])
    assert found(table, index.lookup("447911123456")) == rate("44")
    assert found(table, index.lookup("447911123456", "14155550100")) == rate("447", "1")


def test_unmatched_origin_falls_back_to_the_next_shorter_destination_prefix() -> None:
    table, index = index_of([rate("33"), rate("336", "33")])
    assert found(table, index.lookup("33612345678", "4420")) == rate("33")
    assert found(table, index.lookup("33612345678", "33123")) == rate("336", "33")


def test_a_destination_no_prefix_covers_has_no_price() -> None:
    _, index = index_of([rate("44")])
    assert index.lookup("33612345678") == -1
    assert list(index.lookup_many(keys_of_strings(["33612345678"]))) == [-1]


def test_bulk_lookup_rejects_impossible_numbers() -> None:
    _, index = index_of([rate("1")])
    keys = keys_of_numbers(np.array([0, -3, 10**15, 12025550100]))
    assert list(index.lookup_many(keys)) == [-1, -1, -1, 0]


def test_bulk_keys_are_the_keys_of_the_digits_at_every_length_and_boundary() -> None:
    nums = [n for k in range(1, 16) for n in (10 ** (k - 1), 10 ** (k - 1) + 1, 10**k - 1)]
    nums += [2**e + d for e in range(50) for d in (-1, 0, 1) if 0 < 2**e + d < 10**15]
    keys = keys_of_numbers(np.array(nums, dtype=np.int64))
    assert keys.tolist() == [key_of(str(n)) for n in nums]


def test_bulk_lookup_walks_deeply_nested_prefixes_below_the_root_table() -> None:
    chain = ["4" * k for k in range(1, 13)] + ["4" * k + "7" for k in range(6, 12)]
    _, index = index_of([rate(p) for p in chain], radix=True)
    nums = [int("4" * k + tail) for k in range(1, 14) for tail in ("", "7", "70", "5")]
    keys = keys_of_numbers(np.array(nums, dtype=np.int64))
    assert list(index.lookup_many(keys)) == [index.lookup(str(n)) for n in nums]


def test_prefix_tree_records_the_nearest_shorter_prefix_as_parent() -> None:
    tree = PrefixTree(keys_of_strings(["1", "14", "1415", "2"]))
    parents = {tree.prefix(i): (tree.prefix(p) if p >= 0 else None) for i, p in enumerate(tree.parent)}
    assert parents == {"1": None, "14": "1", "1415": "14", "2": None}


digits = st.text(alphabet="0123456789", min_size=0, max_size=5)
prefixes = st.builds(lambda first, rest: first + rest, st.sampled_from("123456789"), digits)
origins = st.one_of(st.just(ALL), st.just(ROW), prefixes)
numbers = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("123456789"),
    st.text(alphabet="0123456789", min_size=0, max_size=12),
)


@st.composite
def decks(draw: st.DrawFn) -> list[VoiceRate]:
    pairs = draw(st.lists(st.tuples(prefixes, origins), min_size=1, max_size=40, unique=True))
    return [rate(p, o) for p, o in pairs]


@settings(max_examples=300, deadline=None)
@given(
    decks(),
    st.lists(st.tuples(numbers, st.one_of(st.none(), numbers)), min_size=1, max_size=30),
    st.sampled_from([False, True]),
)
def test_scalar_and_bulk_lookups_agree_with_the_reference_rule(
    rates: list[VoiceRate], calls: list[tuple[str, str | None]], radix: bool
) -> None:
    table, index = index_of(rates, radix)
    scalar = [index.lookup(d, o) for d, o in calls]
    assert [found(table, r) for r in scalar] == [reference(rates, d, o) for d, o in calls]
    dest_keys = keys_of_numbers(np.array([int(d) for d, _ in calls], dtype=np.int64))
    origin_keys = np.array([key_of(o) if o else -1 for _, o in calls], dtype=np.int64)
    assert list(index.lookup_many(dest_keys, origin_keys)) == scalar
    no_origin = [index.lookup(d) for d, _ in calls]
    assert list(index.lookup_many(dest_keys)) == no_origin


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_bulk_lookup_on_a_large_deck_matches_scalar_including_the_block_table(seed: int) -> None:
    rnd = random.Random(seed)
    pool = {
        str(rnd.randint(1, 9)) + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(0, 8)))
        for _ in range(6000)
    }
    rates = [rate(p) for p in sorted(pool)]
    rates += [rate(p, "44") for p in sorted(pool)[:50]]
    _, index = index_of(rates)
    assert index.tree.root is not None
    nums = [int(rnd.choice(sorted(pool)) + str(rnd.randint(0, 99999))) for _ in range(500)]
    nums += [rnd.randint(1, 10**14) for _ in range(500)]
    origins = [rnd.choice([None, "4420", "1"]) for _ in nums]
    keys = keys_of_numbers(np.array(nums, dtype=np.int64))
    okeys = np.array([key_of(o) if o else -1 for o in origins], dtype=np.int64)
    bulk = list(index.lookup_many(keys, okeys))
    assert bulk == [index.lookup(str(n), o) for n, o in zip(nums, origins, strict=True)]


def test_the_readme_worked_example_of_the_origin_rule_holds() -> None:
    def priced(prefix: str, origin: str, price: str) -> VoiceRate:
        return VoiceRate(prefix, origin, Destination(prefix), Tariff(Decimal(price), Decimal(price)))

    rates = [
        priced("44", ALL, "0.0100"),
        priced("447", "1", "0.0210"),
        priced("447", ROW, "0.0450"),
        priced("3361", "33", "0.0050"),
        priced("33", ALL, "0.0300"),
    ]
    table, index = index_of(rates)

    def current(dest: str, origin: str) -> str:
        return str(table.entry(index.lookup(dest, origin)).tariff.current_price)

    assert current("447400123456", "14155550100") == "0.0210"
    assert current("447400123456", "33612345678") == "0.0450"
    assert current("33612345678", "4930123456") == "0.0300"
    assert current("33612345678", "33145678901") == "0.0050"
