"""Per-calling-code and per-region tables of the numbering metadata, for vectorised parsing.

Owns the facts `bulk_numbers` needs to parse numbers in columns the way `numbering.parse_number`
parses one: which 1-3 digit prefixes are country calling codes, the possible national lengths
of each code, which leading digits a national or international prefix pattern could swallow,
the longest emergency number of a region, and which codes several regions share (where the
region of a number needs the full metadata). Rows the tables cannot decide for certain are
left to the scalar parser; the tables only ever say "certainly" or "not sure".

Built once per process on first use (`dialling_plan()`), never at import.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

# The regex parser of the standard library (no public name): reads the metadata's patterns.
sre_parse: Any = importlib.import_module("re._parser")

PREFIX_DIGITS: Final = 3  # prefix patterns are judged on the first three digits of a number
PREFIX_SPAN: Final = 10**PREFIX_DIGITS
DIGITS: Final = "0123456789"
MAX_CC: Final = 1000
MAX_NSN: Final = 17  # phonenumbers' longest national significant number
NO_REGION: Final = 0
NON_GEOGRAPHIC: Final = "001"

Int16Array = npt.NDArray[np.int16]
Int32Array = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def prefix_table(pattern: str | None) -> BoolArray:
    """For each 3-digit start `abc` (index 0..999), whether a non-empty match of `pattern`
    (anchored at the start) might begin a string that starts with `abc`. Conservative: a
    construct it does not understand marks every start."""
    table = np.zeros(PREFIX_SPAN, dtype=np.bool_)
    if not pattern:
        return table
    try:
        items = list(sre_parse.parse(pattern))
    except re.error:
        table[:] = True
        return table
    return _table_of(items)


def anchored_prefix_tables(pattern: str | None) -> tuple[BoolArray, BoolArray, int]:
    """`prefix_table(pattern)` split by the pattern's top-level alternatives: (starts of those
    that can match a prefix of any string, starts of those ending in `$`, and a bitmask of the
    string lengths the latter can match whole). A `$` alternative (`([24-9]\\d{6})$|0`) only
    matches a number of its own length, so a start it marks is only unsure at those lengths."""
    free = np.zeros(PREFIX_SPAN, dtype=np.bool_)
    anchored = np.zeros(PREFIX_SPAN, dtype=np.bool_)
    if not pattern:
        return free, anchored, 0
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return ~free, anchored, 0
    items = list(parsed)
    branch = len(items) == 1 and str(items[0][0]) == "BRANCH"
    alternatives = list(items[0][1][1]) if branch else [parsed]
    lengths = 0
    for alternative in alternatives:
        parts = list(alternative)
        low, high = alternative.getwidth()
        ends = bool(parts) and str(parts[-1][0]) == "AT" and str(parts[-1][1]) == "AT_END"
        if ends and high <= _MAX_ANCHORED_LENGTH:
            anchored |= _table_of(parts)
            lengths |= sum(1 << x for x in range(int(low), int(high) + 1))
        else:
            free |= _table_of(parts)
    return free, anchored, lengths


_MAX_ANCHORED_LENGTH: Final = 30


def _table_of(items: list[tuple[Any, Any]]) -> BoolArray:
    table = np.zeros(PREFIX_SPAN, dtype=np.bool_)
    try:
        starts = _prefixes(items, PREFIX_DIGITS)
    except _Unsure:
        table[:] = True
        return table
    for text in starts:
        if not text or not (text.isascii() and text.isdigit()):
            continue
        if len(text) == PREFIX_DIGITS:
            table[int(text)] = True
        else:  # a whole match shorter than three digits: every start beginning with it
            width = 10 ** (PREFIX_DIGITS - len(text))
            table[int(text) * width : (int(text) + 1) * width] = True
    return table


def pattern_max_width(pattern: str | None) -> int:
    """The most characters `pattern` can match (0 if none)."""
    if not pattern:
        return 0
    try:
        return int(min(sre_parse.parse(pattern).getwidth()[1], 1 << 14))
    except re.error:
        return 1 << 14


class _Unsure(Exception):
    """A pattern this module does not follow: every start is possible."""


_MAX_STARTS: Final = 20_000


def _concat(left: set[str], right: set[str], k: int) -> set[str]:
    out = {a for a in left if len(a) >= k}
    out.update((a + b)[:k] for a in left if len(a) < k for b in right)
    if len(out) > _MAX_STARTS:
        raise _Unsure
    return out


def _prefixes(items: list[tuple[Any, Any]], k: int) -> set[str]:
    """Strings a sequence of pattern items can match, cut to `k` characters."""
    out = {""}
    for item in items:
        out = _concat(out, _item_prefixes(item, k), k)
    return out


def _item_prefixes(item: tuple[Any, Any], k: int) -> set[str]:
    op, arg = item
    name = str(op)
    if name == "LITERAL":
        return {chr(int(arg))}
    if name == "IN":
        return _set_members(arg)
    if name == "ANY":
        return set(DIGITS)
    if name == "BRANCH":
        return set().union(*(_prefixes(list(seq), k) for seq in arg[1]))
    if name == "SUBPATTERN":
        return _prefixes(list(arg[3]), k)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, body = int(arg[0]), int(arg[1]), _prefixes(list(arg[2]), k)
        limit = min(high, low + k + 1)
        result: set[str] = set()
        current = {""}
        for count in range(limit + 1):
            if count >= low:
                result |= current
            current = _concat(current, body, k)
        if high > limit:
            result |= {c for c in current if len(c) >= k}
        return result
    if name == "AT":
        return {""}
    raise _Unsure


def _set_members(members: list[tuple[Any, Any]]) -> set[str]:
    chars: set[str] = set()
    for op, arg in members:
        name = str(op)
        if name == "LITERAL":
            chars.add(chr(int(arg)))
        elif name == "RANGE":
            chars.update(chr(c) for c in range(int(arg[0]), int(arg[1]) + 1))
        else:  # CATEGORY, NEGATE, ...: any digit, to be safe
            chars.update(DIGITS)
    return chars


def _metadata(cc: int, region: str) -> Any:
    if region == NON_GEOGRAPHIC:
        return PhoneMetadata.metadata_for_nongeo_region(cc, None)
    return PhoneMetadata.metadata_for_region(region, None)


@dataclass(frozen=True, eq=False)
class DiallingPlan:
    """Arrays indexed by calling code (0..999) and by region id (0 = no country)."""

    regions: tuple[str, ...]  # region id -> ISO code ("" for id 0)
    is_cc: BoolArray  # [cc]: a country calling code
    cc_region: Int16Array  # [cc]: its only region, NO_REGION for non-geographic, -1 if shared
    cc_lengths: Int32Array  # [cc]: bit L set when a national significant number of L digits is possible
    cc_npp_unsure: BoolArray  # [cc, abc]: the main region's national prefix might start a number `abc...`
    cc_npp_anchored: BoolArray  # [cc, abc]: ... but only with a number of a length in cc_npp_lengths
    cc_npp_lengths: Int32Array  # [cc]: bit L set when an anchored (`...$`) national prefix matches L digits
    region_cc: Int16Array  # [region id]: its calling code
    region_npp_unsure: BoolArray  # [region id, abc]: the region's own national prefix might start `abc...`
    region_npp_anchored: BoolArray  # [region id, abc]: ... only with a length in region_npp_lengths
    region_npp_lengths: Int32Array  # [region id]: as cc_npp_lengths
    region_idd_unsure: BoolArray  # [region id, abc]: its international prefix might start `abc...`
    region_emergency_max: Int16Array  # [region id]: longest emergency number, in digits

    def cc_npp_may_match(self, cc: Int64Array, start: Int64Array, length: Int64Array) -> BoolArray:
        """Whether the national prefix of calling code `cc` might match a national number
        starting with `start` (its first three digits) of `length` digits."""
        cell = cc * PREFIX_SPAN + start
        out: BoolArray = self.cc_npp_unsure.ravel()[cell]
        anchored = np.flatnonzero(self.cc_npp_anchored.ravel()[cell])
        if anchored.size:
            fits = (self.cc_npp_lengths[cc[anchored]] >> np.clip(length[anchored], 0, 30)) & 1 == 1
            out[anchored] |= fits
        return out

    def region_npp_may_match(self, rid: Int16Array, start: Int64Array, length: Int64Array) -> BoolArray:
        """As `cc_npp_may_match`, for the national prefix of region `rid`."""
        fits = (self.region_npp_lengths[rid] >> np.clip(length, 0, 30)) & 1 == 1
        out: BoolArray = self.region_npp_unsure[rid, start] | (self.region_npp_anchored[rid, start] & fits)
        return out

    def region_id(self, code: str | None) -> int:
        """Id of ISO region `code`; NO_REGION for None, unknown codes and non-geographic ones."""
        if not code:
            return NO_REGION
        return _region_index(self.regions).get(code.upper(), NO_REGION)


@lru_cache(maxsize=8)
def _region_index(regions: tuple[str, ...]) -> dict[str, int]:
    return {r: i for i, r in enumerate(regions) if r}


@lru_cache(maxsize=1)
def dialling_plan() -> DiallingPlan:
    """The tables of the installed phonenumbers metadata (built on first use)."""
    geo = sorted({r for regions in COUNTRY_CODE_TO_REGION_CODE.values() for r in regions if r != NON_GEOGRAPHIC})
    regions = ("", *geo)
    ids = {r: i for i, r in enumerate(regions)}
    is_cc = np.zeros(MAX_CC, dtype=np.bool_)
    cc_region = np.zeros(MAX_CC, dtype=np.int16)
    cc_lengths = np.zeros(MAX_CC, dtype=np.int32)
    cc_npp_unsure = np.ones((MAX_CC, PREFIX_SPAN), dtype=np.bool_)
    cc_npp_anchored = np.zeros((MAX_CC, PREFIX_SPAN), dtype=np.bool_)
    cc_npp_lengths = np.zeros(MAX_CC, dtype=np.int32)
    n = len(regions)
    region_cc = np.zeros(n, dtype=np.int16)
    region_npp_unsure = np.ones((n, PREFIX_SPAN), dtype=np.bool_)
    region_npp_anchored = np.zeros((n, PREFIX_SPAN), dtype=np.bool_)
    region_npp_lengths = np.zeros(n, dtype=np.int32)
    region_idd_unsure = np.ones((n, PREFIX_SPAN), dtype=np.bool_)
    region_emergency_max = np.full(n, 1 << 14, dtype=np.int16)
    for cc, cc_regions in COUNTRY_CODE_TO_REGION_CODE.items():
        if not 0 < cc < MAX_CC:
            continue
        is_cc[cc] = True
        main = _metadata(cc, phonenumbers.region_code_for_country_code(cc))
        if main is None:  # a code without metadata: every number of it goes to the scalar parser
            continue
        if len(cc_regions) > 1:
            cc_region[cc] = -1
        else:
            cc_region[cc] = ids.get(cc_regions[0], NO_REGION)
        desc = main.general_desc
        lengths = {x for x in (*desc.possible_length, *desc.possible_length_local_only) if 0 <= x <= MAX_NSN}
        cc_lengths[cc] = sum(1 << x for x in lengths)
        cc_npp_unsure[cc], cc_npp_anchored[cc], cc_npp_lengths[cc] = anchored_prefix_tables(
            main.national_prefix_for_parsing
        )
        for region in cc_regions:
            if region == NON_GEOGRAPHIC:
                continue
            meta = _metadata(cc, region)
            if meta is None:
                continue
            rid = ids[region]
            region_cc[rid] = cc
            region_npp_unsure[rid], region_npp_anchored[rid], region_npp_lengths[rid] = anchored_prefix_tables(
                meta.national_prefix_for_parsing
            )
            region_idd_unsure[rid] = _idd_table(meta.international_prefix)
            short = PhoneMetadata.short_metadata_for_region(region, None)
            emergency = short.emergency if short is not None else None
            pattern = emergency.national_number_pattern if emergency is not None else None
            region_emergency_max[rid] = min(pattern_max_width(pattern), 1 << 14)
    return DiallingPlan(
        regions,
        is_cc,
        cc_region,
        cc_lengths,
        cc_npp_unsure,
        cc_npp_anchored,
        cc_npp_lengths,
        region_cc,
        region_npp_unsure,
        region_npp_anchored,
        region_npp_lengths,
        region_idd_unsure,
        region_emergency_max,
    )


def _idd_table(pattern: str | None) -> BoolArray:
    """An international prefix that can match nothing matches every number: all unsure."""
    table = prefix_table(pattern)
    if pattern and "" in _safe_prefixes(pattern):
        table[:] = True
    return table


def _safe_prefixes(pattern: str) -> set[str]:
    try:
        return _prefixes(list(sre_parse.parse(pattern)), PREFIX_DIGITS)
    except (re.error, _Unsure):
        return {""}
