"""The origin rule on top of longest-prefix matching: which voice entry prices a call.

Longest destination prefix wins; among the entries of that prefix the most specific
origin wins (longest origin prefix, then `ROW`, then `ALL`); when no origin selector of
that prefix applies, the next shorter destination prefix of the deck is tried. Without an
origin only `ROW` and `ALL` entries apply. The scalar and the vectorised lookups walk the
same arrays in the same order, so they return the same row for every input.
"""

from __future__ import annotations

from array import array

import numpy as np

from telebill.domain.catalog.prefix_index import Int32Array, Int64Array, PrefixTree, key_of
from telebill.domain.catalog.voice_table import ORIGIN_ALL, ORIGIN_ROW, VoiceRateTable

NO_ORIGIN = -1


class _OriginChoice:
    """Entries of one destination prefix that name specific origin prefixes."""

    __slots__ = ("rows", "tree")

    def __init__(self, origin_keys: Int64Array, rows: Int32Array) -> None:
        self.tree = PrefixTree(origin_keys)
        order = np.searchsorted(self.tree.keys, origin_keys)
        self.rows = np.empty(self.tree.size, dtype=np.int32)
        self.rows[order] = rows

    def lookup(self, origin_key: int) -> int:
        node = self.tree.lookup(origin_key)
        return int(self.rows[node]) if node >= 0 else -1

    def lookup_many(self, origin_keys: Int64Array) -> Int32Array:
        nodes = self.tree.lookup_many(origin_keys)
        return np.where(nodes >= 0, self.rows[np.maximum(nodes, 0)], np.int32(-1))


class VoiceIndex:
    """Answers "which row of the table prices a call to this number from that origin"."""

    __slots__ = ("_default_a", "_parent_a", "default", "origins", "table", "tree")

    def __init__(self, table: VoiceRateTable, radix: bool | None = None) -> None:
        self.table = table
        self.tree = PrefixTree(table.dest_key, radix)
        node_of_row = np.searchsorted(self.tree.keys, table.dest_key).astype(np.int32)
        default = np.full(self.tree.size, -1, dtype=np.int32)
        rows = np.arange(len(table), dtype=np.int32)
        # ROW beats ALL: write ALL first so ROW overwrites it.
        for code in (ORIGIN_ALL, ORIGIN_ROW):
            mask = table.origin == code
            default[node_of_row[mask]] = rows[mask]
        self.default: Int32Array = default
        specific = table.origin >= 0
        self.origins: dict[int, _OriginChoice] = {}
        if specific.any():
            nodes, origin_keys, spec_rows = (
                node_of_row[specific],
                table.origin[specific],
                rows[specific],
            )
            order = np.argsort(nodes, kind="stable")
            nodes, origin_keys, spec_rows = nodes[order], origin_keys[order], spec_rows[order]
            starts = np.flatnonzero(np.r_[True, nodes[1:] != nodes[:-1]])
            ends = np.r_[starts[1:], nodes.size]
            for s, e in zip(starts, ends, strict=True):
                self.origins[int(nodes[s])] = _OriginChoice(origin_keys[s:e], spec_rows[s:e])
        self._default_a = array("i", default.tobytes())
        self._parent_a = array("i", self.tree.parent.tobytes())

    def lookup(self, destination: str, origin: str | None = None) -> int:
        """Row pricing a call to `destination` (E.164 digits) from `origin` digits, or -1."""
        node = self.tree.lookup(key_of(destination))
        origin_key = key_of(origin) if origin else NO_ORIGIN
        origins = self.origins
        default = self._default_a
        parent = self._parent_a
        while node >= 0:
            if origin_key >= 0 and node in origins:
                row = origins[node].lookup(origin_key)
                if row >= 0:
                    return row
            row = default[node]
            if row >= 0:
                return row
            node = parent[node]
        return -1

    def lookup_many(self, dest_keys: Int64Array, origin_keys: Int64Array | None = None) -> Int32Array:
        """Vectorised `lookup` over keys (see `prefix_index.keys_of_numbers`); -1 = no price."""
        dest_keys = np.asarray(dest_keys, dtype=np.int64)
        nodes = self.tree.lookup_many(dest_keys)
        if not self.origins or origin_keys is None:
            return self._defaults_up_the_tree(nodes)
        origin_keys = np.asarray(origin_keys, dtype=np.int64)
        result = np.full(dest_keys.size, -1, dtype=np.int32)
        pending = np.flatnonzero(nodes >= 0)
        node = nodes[pending]
        while pending.size:
            found = np.full(pending.size, -1, dtype=np.int32)
            with_origin = origin_keys[pending] >= 0
            for n in np.unique(node[with_origin]):
                choice = self.origins.get(int(n))
                if choice is None:
                    continue
                sel = with_origin & (node == n)
                found[sel] = choice.lookup_many(origin_keys[pending[sel]])
            found = np.where(found >= 0, found, self.default[node])
            done = found >= 0
            result[pending[done]] = found[done]
            node = self.tree.parent[node[~done]]
            pending = pending[~done]
            alive = node >= 0
            node, pending = node[alive], pending[alive]
        return result

    def _defaults_up_the_tree(self, nodes: Int32Array) -> Int32Array:
        result = np.where(nodes >= 0, self.default[np.maximum(nodes, 0)], np.int32(-1))
        missing = np.flatnonzero((result < 0) & (nodes >= 0))
        node = self.tree.parent[nodes[missing]]
        while missing.size:
            alive = node >= 0
            missing, node = missing[alive], node[alive]
            found = self.default[node]
            hit = found >= 0
            result[missing[hit]] = found[hit]
            missing, node = missing[~hit], self.tree.parent[node[~hit]]
        return result.astype(np.int32, copy=False)

    def nbytes(self) -> int:
        total = self.tree.nbytes() + self.default.nbytes + self.table.nbytes()
        total += sum(c.tree.nbytes() + c.rows.nbytes for c in self.origins.values())
        return total + len(self._default_a) * 4 + len(self._parent_a) * 4
