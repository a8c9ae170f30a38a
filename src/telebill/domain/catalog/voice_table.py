"""The voice-out section of a deck, stored by column so a million prefixes stay small.

A deck repeats a few hundred tariffs and destination names across many prefixes; each
is stored once and referenced by index. A row is then two 64-bit keys and two 32-bit ids.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from telebill.domain.catalog.entries import (
    ALL,
    ROW,
    Destination,
    Tariff,
    VoiceRate,
    check_origin,
    check_prefix,
)
from telebill.domain.catalog.prefix_index import Int32Array, Int64Array, digits_of, key_of
from telebill.domain.errors import InvalidRate

ORIGIN_ALL = -1
ORIGIN_ROW = -2


def origin_code(origin: str) -> int:
    """Column value of an (already normalised) origination selector."""
    if origin == ALL:
        return ORIGIN_ALL
    if origin == ROW:
        return ORIGIN_ROW
    return key_of(origin)


def origin_text(code: int) -> str:
    if code == ORIGIN_ALL:
        return ALL
    if code == ORIGIN_ROW:
        return ROW
    return digits_of(code)


@dataclass(frozen=True, slots=True, eq=False)
class VoiceRateTable:
    """Columns of voice entries; row `i` materialises as `entry(i)`.

    Two tables are equal when they hold the same entries, whatever their row order, with
    prices compared by their published text (`0.10` is not `0.1` in a price list).
    """

    dest_key: Int64Array
    origin: Int64Array
    destination_id: Int32Array
    tariff_id: Int32Array
    destinations: tuple[Destination, ...]
    tariffs: tuple[Tariff, ...]

    def __len__(self) -> int:
        return int(self.dest_key.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VoiceRateTable):
            return NotImplemented
        return len(self) == len(other) and self._canonical() == other._canonical()

    __hash__ = None  # type: ignore[assignment]

    def _canonical(self) -> list[tuple[int, int, Destination, tuple[object, ...]]]:
        tariffs = [tariff_identity(t) for t in self.tariffs]
        rows = zip(
            self.dest_key.tolist(),
            self.origin.tolist(),
            self.destination_id.tolist(),
            self.tariff_id.tolist(),
            strict=True,
        )
        return sorted(
            ((k, o, self.destinations[d], tariffs[t]) for k, o, d, t in rows),
            key=lambda r: (r[0], r[1]),
        )

    def entry(self, i: int) -> VoiceRate:
        return VoiceRate(
            prefix=digits_of(int(self.dest_key[i])),
            origin=origin_text(int(self.origin[i])),
            destination=self.destinations[int(self.destination_id[i])],
            tariff=self.tariffs[int(self.tariff_id[i])],
        )

    def __iter__(self) -> Iterator[VoiceRate]:
        return (self.entry(i) for i in range(len(self)))

    def rows_for_country(self, iso_country: str) -> Int64Array:
        """Row indices whose destination is in `iso_country`, in prefix order."""
        wanted = [i for i, d in enumerate(self.destinations) if d.iso_country == iso_country]
        rows = np.flatnonzero(np.isin(self.destination_id, wanted))
        return rows[np.argsort(self.dest_key[rows], kind="stable")]

    def nbytes(self) -> int:
        cols = (self.dest_key, self.origin, self.destination_id, self.tariff_id)
        return sum(c.nbytes for c in cols)

    @classmethod
    def of(cls, rates: Iterable[VoiceRate]) -> VoiceRateTable:
        builder = VoiceRateTableBuilder()
        for rate in rates:
            builder.add(rate.prefix, rate.origin, rate.destination, rate.tariff)
        return builder.build()


def tariff_identity(tariff: Tariff) -> tuple[object, ...]:
    """What makes two tariffs the same entry of a price list, published precision included.

    `Decimal("0.10") == Decimal("0.1")`, so interning by the Tariff itself would silently
    republish one price with the other's precision.
    """
    return (
        str(tariff.base_price),
        str(tariff.current_price),
        tariff.increments,
        str(tariff.connection_fee),
        tariff.free,
        tariff.blocked,
        tariff.rounding,
    )


@dataclass
class VoiceRateTableBuilder:
    """Accumulates rows, interning tariffs and destinations; `build` checks uniqueness."""

    _dest: array[int] = field(default_factory=lambda: array("q"))
    _origin: array[int] = field(default_factory=lambda: array("q"))
    _dest_id: array[int] = field(default_factory=lambda: array("i"))
    _tariff_id: array[int] = field(default_factory=lambda: array("i"))
    _destinations: dict[Destination, int] = field(default_factory=dict)
    _tariffs: dict[tuple[object, ...], int] = field(default_factory=dict)
    _tariff_list: list[Tariff] = field(default_factory=list)

    def add(self, prefix: str, origin: str, destination: Destination, tariff: Tariff) -> int:
        """Add a row; returns its index. Prefix and origin are validated here."""
        self._dest.append(key_of(check_prefix(prefix)))
        self._origin.append(origin_code(check_origin(origin)))
        self._dest_id.append(self._destinations.setdefault(destination, len(self._destinations)))
        identity = tariff_identity(tariff)
        tariff_id = self._tariffs.get(identity)
        if tariff_id is None:
            tariff_id = self._tariffs[identity] = len(self._tariff_list)
            self._tariff_list.append(tariff)
        self._tariff_id.append(tariff_id)
        return len(self._dest) - 1

    def duplicates(self) -> list[tuple[int, int]]:
        """Pairs (first row, repeated row) sharing a destination prefix and origin selector."""
        if len(self._dest) < 2:
            return []
        dest = np.frombuffer(self._dest, dtype=np.int64)
        origin = np.frombuffer(self._origin, dtype=np.int64)
        order = np.lexsort((np.arange(dest.size), origin, dest))
        same = (dest[order][1:] == dest[order][:-1]) & (origin[order][1:] == origin[order][:-1])
        pairs: list[tuple[int, int]] = []
        first = -1
        for pos in range(same.size):
            if same[pos]:
                first = first if first >= 0 else int(order[pos])
                pairs.append((first, int(order[pos + 1])))
            else:
                first = -1
        return pairs

    def build(self) -> VoiceRateTable:
        dup = self.duplicates()
        if dup:
            first, again = dup[0]
            prefix, origin = digits_of(self._dest[again]), origin_text(self._origin[again])
            raise InvalidRate(f"row {again + 1} repeats prefix {prefix} from {origin} (first at row {first + 1})")
        return VoiceRateTable(
            dest_key=np.array(self._dest, dtype=np.int64),
            origin=np.array(self._origin, dtype=np.int64),
            destination_id=np.array(self._dest_id, dtype=np.int32),
            tariff_id=np.array(self._tariff_id, dtype=np.int32),
            destinations=tuple(self._destinations),
            tariffs=tuple(self._tariff_list),
        )
