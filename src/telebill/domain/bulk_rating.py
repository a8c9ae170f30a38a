"""Rating call records in columns: `quote` + `rate_call` for millions of calls at once.

Owns the vectorised walk of a price plan: for each tier in order, the calls still without a
price where the tier applies (origin and destination regions for domestic, origin region for
a country group) are looked up in the deck version in force at each call's start
(`VoiceIndex.lookup_many`, the index of the real-time path); the plan's overrides then pick the
price charged by longest destination prefix, and `bulk_charge` computes the charges. Numbers
arrive as E.164 integers (`bulk_numbers` parses text); results are integer columns plus ids into
small tables (entries, price slots, currencies) that the caller turns into text once per value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from telebill.domain.bulk_charge import (
    CHARGE_DECIMALS,
    ChargeOutcome,
    PriceSlots,
    Slot,
    charge_slots,
)
from telebill.domain.bulk_numbers import UNRESOLVED, RegionResolver, calling_codes
from telebill.domain.catalog.deck import DeckVersion
from telebill.domain.catalog.plans import COUNTRY_GROUPS, ConditionKind, PricePlan, Tier
from telebill.domain.catalog.prefix_index import PAD, PrefixTree, digits_of, key_of, keys_of_numbers
from telebill.domain.dialling_plan import MAX_CC, NO_REGION, dialling_plan
from telebill.domain.errors import InvalidRate
from telebill.domain.money import Currency

Int64Array = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
Int16Array = npt.NDArray[np.int16]
Int8Array = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_POW10: Final = np.array([10**i for i in range(PAD + 1)], dtype=np.int64)
_STATUS_OF_OUTCOME: Final = np.zeros(len(ChargeOutcome), dtype=np.int8)
__all__ = ["CHARGE_DECIMALS", "BulkRater", "CdrColumns", "RateStatus", "RatedColumns", "epoch_us"]


class RateStatus(IntEnum):
    RATED = 0
    NO_PRICE = 1  # no tier of the plan prices the destination (NoPrice)
    BLOCKED = 2  # the matched entry is blocked (CallBlocked)
    BAD_DESTINATION = 3  # no destination number
    BAD_DURATION = 4  # a negative duration
    TOO_LARGE = 5  # the charge does not fit 64-bit micros
    NO_VERSION = 6  # NO_PRICE because no tier that applies has a version of its deck in force yet


_STATUS_OF_OUTCOME[[ChargeOutcome.CHARGED, ChargeOutcome.BLOCKED, ChargeOutcome.TOO_LARGE]] = [
    RateStatus.RATED,
    RateStatus.BLOCKED,
    RateStatus.TOO_LARGE,
]


def epoch_us(instant: datetime) -> int:
    """Microseconds from the Unix epoch to a timezone-aware instant, exactly."""
    if instant.tzinfo is None:
        raise InvalidRate("instants must be timezone-aware (UTC)")
    return (instant - _EPOCH) // _MICROSECOND


@dataclass(frozen=True, eq=False)
class CdrColumns:
    """Calls to rate, one row each. `destination` and `origin` are E.164 digits as integers
    (-1: no destination / unknown origin); `start_us` microseconds since the epoch (UTC)."""

    destination: Int64Array
    origin: Int64Array
    start_us: Int64Array
    duration_s: Int64Array
    answered: BoolArray

    def __len__(self) -> int:
        return int(self.destination.size)


@dataclass(frozen=True, eq=False)
class RatedColumns:
    """The outcome per row: a RateStatus, the charge in units of 10**-CHARGE_DECIMALS, billed
    seconds, and ids for `BulkRater.matched_prefix` (entry), `BulkRater.rate_text` (price)
    and `BulkRater.currencies` (currency); -1 where the row has none. A blocked row keeps
    its entry (to name the prefix that blocks it)."""

    status: Int8Array
    charge: Int64Array
    billed_s: Int64Array
    entry: Int64Array
    price: Int32Array
    currency: Int16Array


@dataclass(frozen=True, eq=False)
class _Timeline:
    """The versions of one deck, ordered by effective_from (ties: the later one listed wins)."""

    effective_us: Int64Array
    versions: tuple[int, ...]  # global version ids


class BulkRater:
    """A plan with every version of its decks, ready to rate columns of calls. Picklable."""

    def __init__(self, plan: PricePlan, versions: Mapping[str, Sequence[DeckVersion]]) -> None:
        self.plan = plan
        self._versions: list[DeckVersion] = []
        self._timelines: dict[str, _Timeline] = {}
        for deck in plan.deck_names:
            ordered = sorted(versions.get(deck, ()), key=lambda v: v.effective_from)
            for version in ordered:
                if version.deck != deck:
                    raise InvalidRate(f"version {version.label} given for deck {deck!r}")
            ids = tuple(range(len(self._versions), len(self._versions) + len(ordered)))
            self._versions.extend(ordered)
            effective = np.array([epoch_us(v.effective_from) for v in ordered], dtype=np.int64)
            self._timelines[deck] = _Timeline(effective, ids)
        self.currencies: tuple[Currency, ...] = tuple({v.currency.code: v.currency for v in self._versions}.values())
        codes = [c.code for c in self.currencies]
        self._version_currency = np.array([codes.index(v.currency.code) for v in self._versions], dtype=np.int16)
        self._build_overrides()
        self._build_slots()
        self._group_tables: dict[str, Int8Array] = {}
        self._regions = RegionResolver()

    # -- tables --------------------------------------------------------------------------

    def _build_overrides(self) -> None:
        overrides = self.plan.overrides
        self._plan_wide = next((i for i, o in enumerate(overrides) if not o.prefix), -1)
        specific = [(key_of(o.prefix), i) for i, o in enumerate(overrides) if o.prefix]
        self._override_tree: PrefixTree | None = None
        self._override_of_node = np.empty(0, dtype=np.int32)
        if specific:
            keys = np.array([k for k, _ in specific], dtype=np.int64)
            tree = PrefixTree(keys)
            of_node = np.full(tree.size, -1, dtype=np.int32)
            of_node[np.searchsorted(tree.keys, keys)] = [i for _, i in specific]
            self._override_tree, self._override_of_node = tree, of_node

    def _build_slots(self) -> None:
        """Slot of (version, tariff, override): the override's price unless the tariff is free
        or blocked (as in `quote`); entry ids are version offsets plus table rows."""
        overrides = self.plan.overrides
        width = len(overrides) + 1
        slots: list[Slot] = []
        entry_slot0: list[Int64Array] = []
        entry_key: list[Int64Array] = []
        entry_base = [0]
        for version in self._versions:
            base = len(slots)
            for tariff in version.voice.tariffs:
                slots.append(Slot(tariff, tariff.current_price))
                for o in overrides:
                    price = tariff.current_price if tariff.free or tariff.blocked else o.apply(tariff.current_price)
                    slots.append(Slot(tariff, price))
            entry_slot0.append(base + version.voice.tariff_id.astype(np.int64) * width)
            entry_key.append(version.voice.dest_key)
            entry_base.append(entry_base[-1] + len(version.voice))
        self.slots = PriceSlots.of(slots)
        self._entry_slot0 = np.concatenate(entry_slot0) if entry_slot0 else np.empty(0, dtype=np.int64)
        self._entry_key = np.concatenate(entry_key) if entry_key else np.empty(0, dtype=np.int64)
        self._entry_base = np.array(entry_base, dtype=np.int64)

    def _group_table(self, group: str) -> Int8Array:
        """Per calling code: 1 if all its regions are in `group`, 0 if none, -1 if some."""
        table = self._group_tables.get(group)
        if table is None:
            plan = dialling_plan()
            members = COUNTRY_GROUPS[group]
            inside: dict[int, set[bool]] = {}
            for rid, code in enumerate(plan.regions):
                if rid != NO_REGION:
                    inside.setdefault(int(plan.region_cc[rid]), set()).add(code in members)
            table = np.zeros(MAX_CC, dtype=np.int8)
            for cc, flags in inside.items():
                table[cc] = 1 if flags == {True} else (-1 if len(flags) > 1 else 0)
            self._group_tables[group] = table
        return table

    # -- rating --------------------------------------------------------------------------

    def rate(self, cdrs: CdrColumns) -> RatedColumns:
        n = len(cdrs)
        destination = np.asarray(cdrs.destination, dtype=np.int64)
        origin = np.asarray(cdrs.origin, dtype=np.int64)
        duration = np.asarray(cdrs.duration_s, dtype=np.int64)
        dest_keys = keys_of_numbers(destination)
        origin_keys: Int64Array | None = None
        status = np.full(n, RateStatus.NO_PRICE, dtype=np.int8)
        status[dest_keys < 0] = RateStatus.BAD_DESTINATION
        status[(dest_keys >= 0) & (duration < 0)] = RateStatus.BAD_DURATION
        pending = status == RateStatus.NO_PRICE
        version = np.full(n, -1, dtype=np.int64)
        table_row = np.full(n, -1, dtype=np.int64)
        context = _Context(destination, origin, self._regions)
        applied = np.zeros(n, dtype=np.bool_)  # a tier applied to the row...
        timely = np.zeros(n, dtype=np.bool_)  # ...and one such tier's deck had a version in force
        for tier in self.plan.tiers:
            rows = np.flatnonzero(pending & self._applies(tier, context, pending))
            applied[rows] = True
            timeline = self._timelines[tier.deck]
            if not rows.size or not timeline.versions:
                continue
            position = np.searchsorted(timeline.effective_us, cdrs.start_us[rows], side="right") - 1
            low, high = int(position.min()), int(position.max())
            timely[rows if low >= 0 else rows[position >= 0]] = True
            in_force = np.unique(position) if low != high else np.array([low])
            for p in in_force[in_force >= 0]:
                sub = rows if low == high else rows[position == p]
                gv = timeline.versions[int(p)]
                if not len(self._versions[gv].voice):  # an empty table prices nothing
                    continue
                index = self._versions[gv].index
                whole = sub.size == n
                if index.origins and origin_keys is None:  # only decks with origin-specific entries
                    origin_keys = keys_of_numbers(origin)
                found = index.lookup_many(
                    dest_keys if whole else dest_keys[sub],
                    None if origin_keys is None else (origin_keys if whole else origin_keys[sub]),
                )
                got = found >= 0
                if whole:  # masks, not lists of rows, when every row was looked up
                    np.copyto(version, gv, where=got)
                    np.copyto(table_row, found, where=got)
                    pending &= ~got
                else:
                    hit = sub[got]
                    version[hit] = gv
                    table_row[hit] = found[got]
                    pending[hit] = False
        status[pending & applied & ~timely] = RateStatus.NO_VERSION
        return self._charge(cdrs, dest_keys, duration, status, version, table_row)

    def _applies(self, tier: Tier, context: _Context, pending: BoolArray) -> BoolArray:
        if tier.condition is ConditionKind.ALWAYS:
            return pending
        if tier.condition is ConditionKind.DOMESTIC:
            return context.domestic(pending)
        return context.origin_in(self._group_table(tier.group), COUNTRY_GROUPS[tier.group], pending)

    def _charge(
        self,
        cdrs: CdrColumns,
        dest_keys: Int64Array,
        duration: Int64Array,
        status: Int8Array,
        version: Int64Array,
        table_row: Int64Array,
    ) -> RatedColumns:
        # Every row at once (rows without a version masked out): cheaper than gathering the others.
        found = version >= 0
        if not found.any():
            n = status.size
            none = np.full(n, -1, dtype=np.int64)
            zeros = np.zeros(n, dtype=np.int64)
            return RatedColumns(status, zeros, zeros.copy(), none, none.astype(np.int32), none.astype(np.int16))
        gv = np.maximum(version, 0)
        entry = np.where(found, self._entry_base[gv] + table_row, -1)
        slot = np.take(self._entry_slot0, np.maximum(entry, 0))
        if self._override_tree is None:
            slot += 1 + self._plan_wide
        else:
            slot += 1 + self._override_index(dest_keys)
        answered = np.asarray(cdrs.answered, dtype=np.bool_) & found
        charge, billed, outcome = charge_slots(self.slots, slot, duration, answered)
        status = np.where(found, _STATUS_OF_OUTCOME[outcome], status)
        rated = found & (outcome == ChargeOutcome.CHARGED)
        price = np.where(rated, slot, -1).astype(np.int32)
        currency = np.where(rated, self._version_currency[gv], -1).astype(np.int16)
        return RatedColumns(status, charge, billed, entry, price, currency)

    def _override_index(self, dest_keys: Int64Array) -> Int64Array:
        """Index of the plan override for each destination (longest prefix wins), -1 for none."""
        found = np.full(dest_keys.size, self._plan_wide, dtype=np.int64)
        if self._override_tree is not None:
            node = self._override_tree.lookup_many(dest_keys)
            found = np.where(node >= 0, self._override_of_node[np.maximum(node, 0)], found)
        return found

    # -- names of ids --------------------------------------------------------------------

    def matched_prefix_digits(self, entries: Int64Array) -> Int64Array:
        """The matched prefixes of entry ids as integers (a prefix never starts with 0)."""
        keys = self._entry_key[np.maximum(entries, 0)]
        digits: Int64Array = (keys >> 4) // _POW10[PAD - (keys & 15)]
        return digits

    def matched_prefix(self, entry: int) -> str:
        return digits_of(int(self._entry_key[entry]))

    def rate_text(self, price: int) -> str:
        return self.slots.rate_text(price)

    def friendly_name(self, entry: int) -> str:
        gv = int(np.searchsorted(self._entry_base, entry, side="right")) - 1
        table = self._versions[gv].voice
        return table.destinations[int(table.destination_id[entry - int(self._entry_base[gv])])].friendly_name


class _Context:
    """Regions of the calls' numbers, worked out only for the rows and codes that need them."""

    def __init__(self, destination: Int64Array, origin: Int64Array, regions: RegionResolver) -> None:
        self._dest, self._origin, self._resolver = destination, origin, regions
        self._cc_region = dialling_plan().cc_region
        self._origin_cc: Int64Array | None = None
        self._dest_cc: Int64Array | None = None

    @property
    def origin_cc(self) -> Int64Array:
        if self._origin_cc is None:
            self._origin_cc = np.where(self._origin >= 0, calling_codes(self._origin), 0)
        return self._origin_cc

    @property
    def dest_cc(self) -> Int64Array:
        if self._dest_cc is None:
            self._dest_cc = np.where(self._dest >= 0, calling_codes(self._dest), 0)
        return self._dest_cc

    def _regions_of(self, numbers: Int64Array, cc: Int64Array, rows: Int64Array) -> Int16Array:
        region = self._cc_region[cc[rows]]
        if (region == UNRESOLVED).any():
            region = self._resolver.resolve(numbers[rows], region)
        return region

    def domestic(self, pending: BoolArray) -> BoolArray:
        """Origin and destination in one country: a code of one region decides by itself."""
        same: BoolArray = pending & (self._origin >= 0) & (self.origin_cc == self.dest_cc)
        out: BoolArray = same & (self._cc_region[self.origin_cc] > NO_REGION)
        shared = np.flatnonzero(same & (self._cc_region[self.origin_cc] == UNRESOLVED))
        if shared.size:
            o = self._regions_of(self._origin, self.origin_cc, shared)
            d = self._regions_of(self._dest, self.dest_cc, shared)
            out[shared] = (o == d) & (o > NO_REGION)
        return out

    def origin_in(self, table: Int8Array, members: frozenset[str], pending: BoolArray) -> BoolArray:
        """The origin's region is one of `members` (`table` says it per calling code)."""
        known: BoolArray = pending & (self._origin >= 0)
        verdict = table[self.origin_cc]
        out: BoolArray = known & (verdict == 1)
        mixed = np.flatnonzero(known & (verdict == -1))
        if mixed.size:
            plan = dialling_plan()
            member_ids = np.array([plan.region_id(c) for c in members], dtype=np.int16)
            region = self._regions_of(self._origin, self.origin_cc, mixed)
            out[mixed] = np.isin(region, member_ids)
        return out
