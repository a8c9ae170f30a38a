"""Finding calls billed twice: the first location of each key, across batches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telebill.adapters.cdr_duplicates import SeenCalls, call_keys, file_and_row, location
from telebill.domain.errors import InvalidInput

KEYS = st.one_of(st.none(), st.sampled_from(["", "a", "b", "c\x00", "c", "é", "a\x1fb"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(KEYS, max_size=12), max_size=8))
def test_each_row_gets_the_first_location_of_its_key_as_a_dictionary_would(batches: list[list[str | None]]) -> None:
    seen, first = SeenCalls(), {}
    at = 0
    for keys in batches:
        locations = np.arange(at + 1, at + len(keys) + 1, dtype=np.int64)
        got = seen.earlier(pa.array(keys, pa.string()), locations).tolist()
        want = []
        for key, here in zip(keys, locations.tolist(), strict=True):
            want.append(first.get(key, -1) if key else -1)
            if key and key not in first:
                first[key] = here
        assert got == want
        at += len(keys)
    assert seen.distinct == len(first)


def test_many_batches_of_new_keys_stay_in_a_few_sorted_runs() -> None:
    seen = SeenCalls()
    for b in range(64):
        keys = pa.array([f"{b}-{i}" for i in range(50)])
        assert (seen.earlier(keys, np.arange(50, dtype=np.int64)) == -1).all()
    again = seen.earlier(pa.array(["0-0", "63-49", "64-0"]), np.zeros(3, dtype=np.int64))
    assert again.tolist() == [0, 49, -1]
    assert seen.distinct == 64 * 50 + 1  # "64-0" is remembered too
    assert len(seen._runs) <= 7


def test_a_location_names_its_file_and_row() -> None:
    at = location(3, np.array([1, 2**40 - 1], dtype=np.int64))
    assert [file_and_row(int(a)) for a in at] == [(3, 1), (3, 2**40 - 1)]
    with pytest.raises(InvalidInput, match="too many files, or rows"):
        location(0, np.array([2**40], dtype=np.int64))


def test_a_key_is_null_when_a_cell_is_missing_or_blank_and_ignores_surrounding_spaces() -> None:
    keys = call_keys(
        pa.array([" 1", "1", None, "  "]),
        pa.array(["2 ", "2", "2", "2"]),
        pa.array(["t", "t", "t", "t"]),
        pa.array([5, 5, 5, 5]),
    )
    assert keys.to_pylist() == ["1\x1f2\x1ft\x1f5", "1\x1f2\x1ft\x1f5", None, None]
