"""Arrow columns of call records turned into numpy columns for the bulk rater, without Python
objects per row: dialled numbers (strings or integers), whole numbers (durations), flags and
texts encoded as dictionaries. Times are read in `cdr_times`.

Owns the reading of each cell's spelling. A cell that cannot be read becomes a per-row reason
(`Reasons`), never an exception, so one bad row never stops a file: the caller sends it to the
rejects with that reason. Rows whose text the vectorised path cannot be sure of (numbers with
unusual characters) are read one by one in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from telebill.domain.bulk_numbers import MAX_DIGITS, DialledNumbers, digit_count

Int64Array = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]

# The separators `numbering.parse_number` drops, in RE2 syntax (other whitespace: scalar path).
_SEPARATORS: Final = r"[ \t\n\r\f\v\-./()\x{00a0}]"


@dataclass
class Reasons:
    """A reason per row (index into `texts`, -1 = none); the first reason given to a row stays."""

    size: int
    code: Int32Array = field(init=False)
    texts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.code = np.full(self.size, -1, dtype=np.int32)

    def add(self, rows: BoolArray | Int64Array, text: str) -> None:
        if rows.dtype == np.bool_ and rows.shape == (self.size,):
            if not rows.any():
                return
            mask = rows & (self.code < 0)
        else:
            mask = np.zeros(self.size, dtype=np.bool_)
            mask[rows] = True
            mask &= self.code < 0
        if mask.any():
            self.texts.append(text)
            self.code[mask] = len(self.texts) - 1

    def add_coded(self, rows: Int64Array, codes: Int32Array, texts: Sequence[str], prefix: str) -> None:
        """Rows `rows` get `prefix + texts[codes]` (for reasons already interned elsewhere)."""
        fresh = self.code[rows] < 0
        rows, codes = rows[fresh], codes[fresh]
        if not rows.size:
            return
        used, inverse = np.unique(codes, return_inverse=True)
        base = len(self.texts)
        self.texts.extend(prefix + texts[int(c)] for c in used)
        self.code[rows] = base + inverse.astype(np.int32)

    @property
    def rejected(self) -> BoolArray:
        return self.code >= 0


def as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array (chunks combined, dictionaries decoded)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        return column.dictionary_decode()
    return column


@dataclass(frozen=True)
class _Texts:
    """The original text of rows of a column (picklable, unlike a closure)."""

    column: pa.Array

    def __call__(self, rows: Int64Array) -> list[str | None]:
        values = self.column.take(pa.array(rows, type=pa.int64())).to_pylist()
        return [None if v is None else str(v) for v in values]


def dialled_numbers(column: pa.Array | pa.ChunkedArray) -> DialledNumbers:
    """Digits, digit counts and `+` flags of a number column (strings or integers)."""
    array = as_array(column)
    n = len(array)
    valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    if pa.types.is_integer(array.type):
        values = _int64s(array)
        counts = np.where(values > 0, digit_count(values), -1).astype(np.int8)
        counts[~valid] = 0
        return DialledNumbers(values, counts, np.zeros(n, dtype=np.bool_), _Texts(array))
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(pa.string())
    values, length, plus = _plain_digits(array)
    odd = np.flatnonzero(valid & (length < 0))
    if odd.size:  # separators or other characters: drop the separators, then read again
        subset = array.take(pa.array(odd, type=pa.int64()))
        compact = pc.replace_substring_regex(subset, pattern=_SEPARATORS, replacement="")
        values[odd], length[odd], plus[odd] = _plain_digits(compact)
    length[~valid] = 0
    return DialledNumbers(values, length.astype(np.int8), plus & (length > 0), _Texts(array))


def _plain_digits(array: pa.Array) -> tuple[Int64Array, Int64Array, BoolArray]:
    """(value, digit count, leading plus) of cells that are ASCII digits after at most one `+`;
    count 0 for an empty cell, -1 for anything else."""
    quick = _digits_from_buffers(array)
    if quick is not None:
        return quick
    n = len(array)
    plus = bools(pc.starts_with(array, "+"))
    body = pc.ascii_ltrim(array, characters="+")
    full_length = ints(pc.binary_length(array))
    length = ints(pc.binary_length(body))
    plain = bools(pc.ascii_is_decimal(body)) & (length <= MAX_DIGITS) & (full_length - length <= 1)
    values = np.zeros(n, dtype=np.int64)
    if plain.all():
        values = ints(pc.cast(body, pa.int64()))
    elif plain.any():
        values[plain] = ints(pc.cast(body.filter(pa.array(plain)), pa.int64()))
    out_length = np.where(plain, length, np.where(full_length == 0, 0, -1))
    return values, out_length, plus


def _digits_from_buffers(array: pa.Array) -> tuple[Int64Array, Int64Array, BoolArray] | None:
    """`_plain_digits` read off the string buffers when every byte of the column is a digit but
    for a `+` opening some cells (the usual CDR column); None otherwise. The `+` bytes become
    `0` in a copy of the bytes, so that one cast reads every cell's digits at once."""
    if not pa.types.is_string(array.type) or array.null_count:
        return None
    n = len(array)
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=n + 1, offset=array.offset * 4)
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
    begin, end = int(offsets[0]), int(offsets[-1])
    full = np.diff(offsets).astype(np.int64)
    if begin == end:
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.bool_)
    plus = (full > 0) & (np.take(data, offsets[:-1], mode="clip") == ord("+"))
    digits = data[begin:end].copy()
    starts = offsets - begin if begin else offsets
    digits[starts[np.flatnonzero(plus)]] = ord("0")
    if digits.min() < ord("0") or digits.max() > ord("9"):
        return None  # other characters, or a `+` inside a cell
    length = full - plus
    plain = (length > 0) & (length <= MAX_DIGITS)
    validity = None if plain.all() else pa.py_buffer(np.packbits(plain, bitorder="little"))
    texts = pa.Array.from_buffers(pa.string(), n, [validity, pa.py_buffer(starts), pa.py_buffer(digits)])
    values = ints(pc.cast(texts, pa.int64()))
    if validity is not None:  # the caller reads the other cells again into these rows
        values = values.copy()
    return values, np.where(plain, length, np.where(full == 0, 0, -1)), plus


def ints(array: pa.Array | pa.ChunkedArray) -> Int64Array:
    """The values of an integer column as int64, nulls as 0."""
    return np.asarray(as_array(array).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)


def bools(array: pa.Array | pa.ChunkedArray) -> BoolArray:
    """The values of a boolean column, nulls as False."""
    return np.asarray(as_array(array).fill_null(False).to_numpy(zero_copy_only=False), dtype=np.bool_)


def whole_numbers(column: pa.Array | pa.ChunkedArray, field_name: str, reasons: Reasons) -> Int64Array:
    """Integers of a column of integers or of their decimal text; other cells get a reason."""
    array = as_array(column)
    valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    reasons.add(~valid, f"{field_name}: missing")
    if pa.types.is_integer(array.type):
        values = _int64s(array)
        if pa.types.is_unsigned_integer(array.type):
            reasons.add(valid & (values < 0), f"{field_name}: too large")
        return values
    text = pc.utf8_trim_whitespace(array.cast(pa.string()))
    whole = bools(pc.match_substring_regex(text, pattern=r"^-?[0-9]{1,18}$"))
    values = pc.cast(pc.if_else(pa.array(whole), text, "0"), pa.int64())
    out = np.where(whole, np.asarray(values.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64), 0)
    odd = np.flatnonzero(valid & ~whole)
    if odd.size:  # a leading `+` (which the cast refuses), an empty cell or not a number: rare
        cells = text.take(pa.array(odd, type=pa.int64()))
        plus = bools(pc.match_substring_regex(cells, pattern=r"^\+[0-9]{1,18}$"))
        if plus.any():
            out[odd[plus]] = ints(pc.cast(pc.utf8_ltrim(cells.filter(pa.array(plus)), characters="+"), pa.int64()))
        empty = ints(pc.binary_length(cells)) == 0
        reasons.add(odd[empty], f"{field_name}: missing")
        long = bools(pc.match_substring_regex(cells, pattern=r"^[+-]?[0-9]{19,}$"))
        reasons.add(odd[long], f"{field_name}: too large")
        reasons.add(odd[~plus & ~empty], f"{field_name}: not a whole number")
    return out


def _int64s(array: pa.Array) -> Int64Array:
    """An integer column as int64, nulls as 0; a uint64 above 2^63 - 1 comes out negative."""
    return np.asarray(array.cast(pa.int64(), safe=False).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)


def flags(column: pa.Array | pa.ChunkedArray, field_name: str, reasons: Reasons) -> BoolArray:
    """Booleans of a boolean column or of text true/false/1/0/yes/no (any case)."""
    array = as_array(column)
    valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    reasons.add(~valid, f"{field_name}: missing")
    if pa.types.is_boolean(array.type):
        return bools(array)
    if pa.types.is_integer(array.type):
        values = _int64s(array)
        reasons.add(valid & (values != 0) & (values != 1), f"{field_name}: not 0 or 1")
        return np.asarray(values == 1, dtype=np.bool_)
    text = pc.utf8_lower(pc.utf8_trim_whitespace(array.cast(pa.string())))
    yes = bools(pc.is_in(text, value_set=pa.array(["true", "1", "yes", "y", "t"])))
    no = bools(pc.is_in(text, value_set=pa.array(["false", "0", "no", "n", "f"])))
    reasons.add(valid & ~yes & ~no, f"{field_name}: not true or false")
    return yes


def encoded_texts(
    ids: npt.NDArray[np.integer], valid: BoolArray, texts_of: Callable[[Int64Array], Sequence[str] | pa.Array]
) -> pa.DictionaryArray:
    """Text per row as a dictionary<int32, string> array (null where not `valid`), from ids
    into a table of texts: `texts_of(distinct ids used)` is asked once per batch, and ids with
    equal texts share one dictionary entry."""
    every = bool(valid.all())
    if every and ids.size and ids.min() == ids.max():  # one value (a single currency)
        encoded = _dictionary_of(texts_of(ids[:1].astype(np.int64)))
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(ids.size, dtype=np.int32)), encoded.dictionary)
    ids = np.asarray(ids, dtype=np.int64) if every else np.where(valid, ids, 0).astype(np.int64)
    if ids.size and every:
        used = np.flatnonzero(np.bincount(ids))
    elif valid.any():
        used = np.flatnonzero(np.bincount(ids[valid]))
    else:
        used = np.empty(0, dtype=np.int64)
    encoded = _dictionary_of(texts_of(used))
    dense = np.zeros(int(used[-1]) + 1 if used.size else 1, dtype=np.int32)
    dense[used] = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    indices = pa.array(dense[ids], mask=None if every else ~valid)
    return pa.DictionaryArray.from_arrays(indices, encoded.dictionary)


def _dictionary_of(texts: Sequence[str] | pa.Array) -> pa.DictionaryArray:
    return (texts if isinstance(texts, pa.Array) else pa.array(texts, type=pa.string())).dictionary_encode()
