"""Number columns are read to digits as `numbering.parse_number` would see them, whichever
path the reader takes (straight off the string buffers, or Arrow's string kernels); durations
as whole numbers or with a reason."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from telebill.adapters.cdr_columns import Reasons, dialled_numbers, whole_numbers

cells = st.one_of(
    st.none(),
    st.text("+0123456789", max_size=22),
    st.builds(lambda d: "+" + d, st.text("0123456789", min_size=1, max_size=20)),
    st.text("+0123456789 -()é", max_size=8),
)


def expected(text: str | None) -> tuple[int, int, bool]:
    """(digits, digit count, plus): count 0 for no number, -1 for text that is not digits."""
    if text is None:
        return 0, 0, False
    compact = "".join(ch for ch in text if ch not in " -./()")
    plus = compact.startswith("+")
    body = compact[1:] if plus else compact
    if body.isascii() and body.isdigit() and len(body) <= 18:
        return int(body), len(body), plus
    return 0, (0 if not compact else -1), False


@given(st.lists(cells, max_size=30), st.integers(0, 3))
@settings(max_examples=300, deadline=None)
def test_digits_of_every_cell_match_their_text(texts: list[str | None], skip: int) -> None:
    column = pa.array(["+1"] * skip + texts, type=pa.string()).slice(skip)

    got = dialled_numbers(column)

    want = [expected(t) for t in texts]
    length = got.length.astype(np.int64)
    assert length.tolist() == [w[1] for w in want]
    assert [bool(p) for p, n in zip(got.plus, length, strict=True) if n > 0] == [w[2] for w in want if w[1] > 0]
    assert [int(v) for v, n in zip(got.digits, length, strict=True) if n > 0] == [w[0] for w in want if w[1] > 0]


def test_a_column_of_plus_and_digits_is_read_off_its_buffers() -> None:
    column = pa.array(["+442079460018", "+0", "442079460018", "", "+", "+1234567890123456789"])

    got = dialled_numbers(column)

    assert got.digits[:3].tolist() == [442079460018, 0, 442079460018]
    assert got.length.tolist() == [12, 1, 12, 0, -1, -1]
    assert got.plus[:3].tolist() == [True, True, False]


def test_a_plus_signed_duration_is_read_and_an_empty_one_is_missing() -> None:
    reasons = Reasons(7)
    got = whole_numbers(pa.array(["60", "+60", " -5 ", "", "  ", "6O", None]), "duration_s", reasons)
    assert got[:3].tolist() == [60, 60, -5]
    assert [reasons.texts[c] if c >= 0 else None for c in reasons.code.tolist()] == [
        None, None, None,
        "duration_s: missing", "duration_s: missing", "duration_s: not a whole number", "duration_s: missing",
    ]  # fmt: skip


def test_an_unsigned_duration_past_the_int64_range_is_a_reason_not_an_error() -> None:
    reasons = Reasons(2)
    got = whole_numbers(pa.array([2**64 - 1, 61], type=pa.uint64()), "duration_s", reasons)
    assert got[1] == 61
    assert [reasons.texts[c] if c >= 0 else None for c in reasons.code.tolist()] == ["duration_s: too large", None]
