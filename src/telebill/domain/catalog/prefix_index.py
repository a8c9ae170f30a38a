"""Longest-prefix matching over digit strings, scalar and vectorised, with one data layout.

A prefix `p` of length `L` and a number `n` of length `m` are both mapped to a 64-bit key
`pad15(x) * 16 + len(x)`, where `pad15` right-pads the digits with zeros to 15 digits.
The numbers a prefix covers are then exactly the keys in the half-open interval
`[pad15(p) * 16 + L, (pad15(p) + 10**(15-L)) * 16)`: the `+ L` excludes numbers shorter
than the prefix that happen to pad to the same value (`1415` vs prefix `14150`). Prefix
intervals nest like the prefix tree, so they flatten into disjoint segments, each owned by
the longest prefix covering it. A lookup of one number is one binary search (`bisect`).

Arrays of numbers go through a radix table derived from the same segments: a root table
indexed by the first six digits, then ten-way child tables, one digit at a time, only
under cells that several segments share. A cell is read as if the number had 15 digits;
the rare number shorter than the prefix found that way is re-answered by binary search.
The child tables are walked as a state machine whose answers loop on themselves, so every
number below the root takes the same steps and no step sorts out the numbers already done.
Property tests check that both paths agree on every input.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from typing import Final

import numpy as np
import numpy.typing as npt

PAD: Final = 15
_POW10: Final = np.array([10**i for i in range(PAD + 1)], dtype=np.int64)
_ROOT_DIGITS: Final = 6
_ROOT_WIDTH: Final = 10 ** (PAD - _ROOT_DIGITS)
_RADIX_MIN_NODES: Final = 256

Int64Array = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]


def key_of(digits: str) -> int:
    """The key of a digit string (a prefix or a number); the caller validated the digits."""
    return int(digits.ljust(PAD, "0")) * 16 + len(digits)


def digits_of(key: int) -> str:
    """The digit string whose key is `key` (inverse of `key_of`)."""
    length = key & 15
    return str((key >> 4) // 10 ** (PAD - length))


def _digit_tables() -> tuple[Int64Array, Int64Array]:
    """Indexed by the exponent field of a float64 (1023 + e for x in [2**e, 2**(e+1))): the
    digits d of 2**e (at most PAD), and 10**d, from which such an x has d + 1 digits."""
    digits = np.ones(2048, dtype=np.int64)
    for e in range(64):
        digits[1023 + e] = min(len(str(2**e)), PAD)
    digits[1023 + 64 :] = PAD
    return digits, np.where(digits < PAD, _POW10[digits], np.iinfo(np.int64).max)


_DIGITS_OF_EXPONENT, _NEXT_POWER_OF_EXPONENT = _digit_tables()
_KEY_SCALE: Final = _POW10[PAD - np.arange(PAD + 1)] * 16  # [length]: the digits' place in a key


def keys_of_numbers(numbers: npt.NDArray[np.integer]) -> Int64Array:
    """Keys of E.164 numbers given as integers (digits without `+`); -1 where impossible."""
    nums = np.asarray(numbers, dtype=np.int64)
    valid = (nums > 0) & (nums < _POW10[PAD])
    # The digit count from the float's exponent: exact, as numbers below 10**15 are exact floats.
    exponent = nums.astype(np.float64).view(np.int64) >> 52
    lengths = np.take(_DIGITS_OF_EXPONENT, exponent, mode="clip")
    lengths += nums >= np.take(_NEXT_POWER_OF_EXPONENT, exponent, mode="clip")
    keys = nums * np.take(_KEY_SCALE, lengths, mode="clip") + lengths
    return np.where(valid, keys, np.int64(-1))


def keys_of_strings(digits: list[str]) -> Int64Array:
    return np.fromiter((key_of(d) for d in digits), dtype=np.int64, count=len(digits))


class PrefixTree:
    """A set of prefixes answering "which is the longest prefix of this number".

    Prefixes are identified by node index in ascending key order. `parent[i]` is the
    longest other prefix of the set that is a prefix of node `i` (or -1).
    """

    __slots__ = (
        "_bounds_a",
        "_len8",
        "_longest",
        "_values_a",
        "bounds",
        "depth",
        "keys",
        "lengths",
        "parent",
        "root",
        "steps",
        "tables",
        "values",
    )

    def __init__(self, prefix_keys: Int64Array, radix: bool | None = None) -> None:
        """`radix` forces the array lookup table on or off (default: on for larger sets)."""
        keys = np.unique(np.asarray(prefix_keys, dtype=np.int64))
        self.keys: Int64Array = keys
        lengths = keys & 15
        self.lengths: Int64Array = lengths
        self._len8 = lengths.astype(np.int8)
        self._longest = int(lengths.max()) if keys.size else 0
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
        self.root: Int32Array | None = None
        self.steps: Int32Array = np.empty(0, dtype=np.int32)
        self.tables = 0
        self.depth = 0
        if radix or (radix is None and keys.size >= _RADIX_MIN_NODES):
            self._build_radix()

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

    def _cell_values(self, lo_pads: Int64Array, width: int) -> Int32Array:
        """Node owning every 15-digit number of each cell, or a negative marker if shared."""
        lo = np.searchsorted(self.bounds, lo_pads * 16 + 15, side="right") - 1
        hi = np.searchsorted(self.bounds, (lo_pads + (width - 1)) * 16 + 15, side="right") - 1
        return np.where(lo == hi, self.values[lo], np.int32(-2)).astype(np.int32)

    def _build_radix(self) -> None:
        """Root table of 10**6 cells; a shared cell holds `-2 - t`, pointing at child table `t`.

        Child table `t` holds cells `10 * t` to `10 * t + 9` of the levels concatenated, one
        cell per next digit (tables are numbered level by level); `_steps` turns them into
        transitions.
        """
        width = _ROOT_WIDTH
        root = self._cell_values(np.arange(10**_ROOT_DIGITS, dtype=np.int64) * width, width)
        levels: list[Int32Array] = []
        owner, split = root, np.flatnonzero(root == -2)
        split_lo = split.astype(np.int64) * width
        tables = 0
        while split.size:
            width //= 10
            owner[split] = -2 - (tables + np.arange(split.size, dtype=np.int32))
            tables += split.size
            child_lo = (split_lo[:, None] + np.arange(10, dtype=np.int64) * width).ravel()
            level = self._cell_values(child_lo, width)
            levels.append(level)
            owner, split = level, np.flatnonzero(level == -2)
            split_lo = child_lo[split]
        self.root = root
        self.tables, self.depth = tables, len(levels)
        self.steps = self._steps(np.concatenate(levels) if levels else np.empty(0, dtype=np.int32))

    def _steps(self, cells: Int32Array) -> Int32Array:
        """The child tables as transitions: `steps[10 * s + digit]` is `10 * s'` for the next
        state `s'`, a child table (0 <= s' < tables) or the answer `v` (s' = tables + 1 + v),
        whose ten cells lead back to itself."""
        tables = cells.size // 10
        answer = cells > -2
        state = np.where(answer, tables + 1 + cells.astype(np.int64), -2 - cells.astype(np.int64))
        loops = np.repeat(np.arange(tables, tables + self.size + 1, dtype=np.int64), 10)
        steps = np.concatenate([state, loops]) * 10
        if steps.size and steps.max() >= 2**31:  # a deck of hundreds of millions of prefixes
            raise ValueError("prefix set too large for the radix table")
        return steps.astype(np.int32)

    def lookup(self, key: int) -> int:
        """Node of the longest prefix of the number with `key`, or -1."""
        return self._values_a[bisect_right(self._bounds_a, key) - 1]

    def lookup_many(self, keys: Int64Array) -> Int32Array:
        """Vectorised `lookup`; keys of -1 (invalid numbers) give -1."""
        keys = np.asarray(keys, dtype=np.int64)
        if self.root is None:
            out = self.values[np.searchsorted(self.bounds, keys, side="right") - 1]
            return np.where(keys < 0, np.int32(-1), out).astype(np.int32, copy=False)
        valid = keys >= 0
        pads = np.where(valid, keys >> 4, 0)
        out = self.root[pads // _ROOT_WIDTH]
        pending = np.flatnonzero(out <= -2)
        if pending.size:
            # Digits below the root fit in int32 (< 10**9), which halves the work per level.
            rest = (pads[pending] % _ROOT_WIDTH).astype(np.int32)
            at = (-2 - out[pending]) * 10
            width = _ROOT_WIDTH
            for _ in range(self.depth):
                width //= 10
                at = self.steps[at + rest // width % 10]
            out[pending] = at // 10 - (self.tables + 1)
        # A number shorter than the prefix found for its 15-digit padding: search exactly.
        length = keys & 15  # 15 for the invalid keys (-1)
        if length.size and int(length.min()) < self._longest:
            short = np.flatnonzero((out >= 0) & (self._len8[np.maximum(out, 0)] > length))
            if short.size:
                out[short] = self.values[np.searchsorted(self.bounds, keys[short], side="right") - 1]
        out[~valid] = -1
        result: Int32Array = out
        return result

    def prefix(self, node: int) -> str:
        return digits_of(int(self.keys[node]))

    def nbytes(self) -> int:
        arrays = (self.keys, self.lengths, self.parent, self.bounds, self.values)
        total = sum(a.nbytes for a in arrays) + self._bounds_a.itemsize * len(self._bounds_a)
        total += self._values_a.itemsize * len(self._values_a)
        return total + self.steps.nbytes + (self.root.nbytes if self.root is not None else 0)
