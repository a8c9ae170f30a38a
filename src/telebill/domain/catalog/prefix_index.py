"""Longest-prefix matching over digit strings, scalar and vectorised, with one data layout.

A prefix `p` of length `L` and a number `n` of length `m` are both mapped to a 64-bit key
`pad15(x) * 16 + len(x)`, where `pad15` right-pads the digits with zeros to 15 digits.
The numbers a prefix covers are then exactly the keys in the half-open interval
`[pad15(p) * 16 + L, (pad15(p) + 10**(15-L)) * 16)`: the `+ L` excludes numbers shorter
than the prefix that happen to pad to the same value (`1415` vs prefix `14150`). Prefix
intervals nest like the prefix tree, so they flatten into disjoint segments, each owned by
the longest prefix covering it. A lookup is then one binary search (`bisect` for one number,
`numpy.searchsorted` for an array), and both paths read the same arrays, so they cannot
disagree. For arrays, a table indexed by the first six digits answers most numbers without a
search; only numbers in six-digit blocks split between several prefixes are searched.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from typing import Final

import numpy as np
import numpy.typing as npt

PAD: Final = 15
_POW10: Final = np.array([10**i for i in range(PAD + 1)], dtype=np.int64)
_LUT_DIGITS: Final = 6
_LUT_BUCKET: Final = 10 ** (PAD - _LUT_DIGITS) * 16
_LUT_MIN_NODES: Final = 4096
SPLIT: Final = -2  # LUT cell whose block is shared by several segments

Int64Array = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]


def key_of(digits: str) -> int:
    """The key of a digit string (a prefix or a number); the caller validated the digits."""
    return int(digits.ljust(PAD, "0")) * 16 + len(digits)


def digits_of(key: int) -> str:
    """The digit string whose key is `key` (inverse of `key_of`)."""
    length = key & 15
    return str((key >> 4) // 10 ** (PAD - length))


def keys_of_numbers(numbers: npt.NDArray[np.integer]) -> Int64Array:
    """Keys of E.164 numbers given as integers (digits without `+`); -1 where impossible."""
    nums = np.asarray(numbers, dtype=np.int64)
    valid = (nums > 0) & (nums < _POW10[PAD])
    lengths = np.searchsorted(_POW10, nums, side="right").astype(np.int64)
    lengths = np.where(valid, lengths, 1)
    keys = nums * _POW10[PAD - lengths] * 16 + lengths
    return np.where(valid, keys, np.int64(-1))


def keys_of_strings(digits: list[str]) -> Int64Array:
    return np.fromiter((key_of(d) for d in digits), dtype=np.int64, count=len(digits))


class PrefixTree:
    """A set of prefixes answering "which is the longest prefix of this number".

    Prefixes are identified by node index in ascending key order. `parent[i]` is the
    longest other prefix of the set that is a prefix of node `i` (or -1).
    """

    __slots__ = ("_bounds_a", "_values_a", "bounds", "keys", "lengths", "lut", "parent", "values")

    def __init__(self, prefix_keys: Int64Array) -> None:
        keys = np.unique(np.asarray(prefix_keys, dtype=np.int64))
        self.keys: Int64Array = keys
        lengths = keys & 15
        self.lengths: Int64Array = lengths
        pads = keys >> 4
        self.parent: Int32Array = self._parents(keys, pads, lengths)
        ends = (pads + _POW10[PAD - lengths]) * 16
        owner_after_end = self._owner_after_end(ends)
        bounds = np.concatenate(([np.int64(-1)], keys, ends))
        values = np.concatenate(([np.int32(-1)], np.arange(keys.size, dtype=np.int32), owner_after_end))
        bounds, first = np.unique(bounds, return_index=True)
        self.bounds: Int64Array = bounds
        self.values: Int32Array = values[first].astype(np.int32)
        self._bounds_a = array("q", self.bounds.tobytes())
        self._values_a = array("i", self.values.tobytes())
        self.lut: Int32Array | None = self._lut() if keys.size >= _LUT_MIN_NODES else None

    @property
    def size(self) -> int:
        return int(self.keys.size)

    @staticmethod
    def _parents(keys: Int64Array, pads: Int64Array, lengths: Int64Array) -> Int32Array:
        parent = np.full(keys.size, -1, dtype=np.int32)
        if keys.size == 0:
            return parent
        for length in range(1, int(lengths.max())):
            step = _POW10[PAD - length]
            candidate = (pads // step) * step * 16 + length
            idx = np.searchsorted(keys, candidate)
            idx_clamped = np.minimum(idx, keys.size - 1)
            found = (keys[idx_clamped] == candidate) & (lengths > length)
            parent = np.where(found, idx_clamped.astype(np.int32), parent)
        return parent

    def _owner_after_end(self, ends: Int64Array) -> Int32Array:
        """For each prefix's end boundary, the nearest ancestor still covering it (or -1)."""
        owner = self.parent.copy()
        while True:
            live = owner >= 0
            if not live.any():
                break
            safe = np.where(live, owner, 0)
            parent_end = (self.keys[safe] >> 4) + _POW10[PAD - self.lengths[safe]]
            exhausted = live & (parent_end * 16 <= ends)
            if not exhausted.any():
                break
            owner = np.where(exhausted, self.parent[safe], owner)
        return owner

    def _lut(self) -> Int32Array:
        buckets = np.arange(10**_LUT_DIGITS, dtype=np.int64) * _LUT_BUCKET
        lo = np.searchsorted(self.bounds, buckets, side="right") - 1
        hi = np.searchsorted(self.bounds, buckets + (_LUT_BUCKET - 1), side="right") - 1
        return np.where(lo == hi, self.values[lo], np.int32(SPLIT)).astype(np.int32)

    def lookup(self, key: int) -> int:
        """Node of the longest prefix of the number with `key`, or -1."""
        return self._values_a[bisect_right(self._bounds_a, key) - 1]

    def lookup_many(self, keys: Int64Array) -> Int32Array:
        """Vectorised `lookup`; keys of -1 (invalid numbers) give -1."""
        keys = np.asarray(keys, dtype=np.int64)
        if self.lut is not None:
            out = self.lut[np.maximum(keys, 0) // _LUT_BUCKET]
            split = out == SPLIT
            if split.any():
                sub = keys[split]
                out[split] = self.values[np.searchsorted(self.bounds, sub, side="right") - 1]
        else:
            out = self.values[np.searchsorted(self.bounds, keys, side="right") - 1]
        return np.where(keys < 0, np.int32(-1), out).astype(np.int32, copy=False)

    def prefix(self, node: int) -> str:
        return digits_of(int(self.keys[node]))

    def nbytes(self) -> int:
        arrays = (self.keys, self.lengths, self.parent, self.bounds, self.values)
        total = sum(a.nbytes for a in arrays) + self._bounds_a.itemsize * len(self._bounds_a)
        total += self._values_a.itemsize * len(self._values_a)
        return total + (self.lut.nbytes if self.lut is not None else 0)
