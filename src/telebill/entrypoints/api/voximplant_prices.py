"""GetResourcePrice: the account's prices by resource type, as Voximplant price groups.

Owns the resource types (voice out by plan tier, inbound by number type, SMS), how their
prices become price groups, and the request's filters (group ids, name, `resource_param`).
Prices are the account's: voice-out prices as `PriceView.priced` gives them (the plan
override applied, then converted), inbound and SMS prices converted (`PriceView.convert`).

IDs are stable within one deck version (and, for voice, one plan): a price group id is
`local * 10 + resource code`, where `local` derives from the interned destination and
tariff ids of the deck's voice table (and the plan override in force), or is the rank of
the inbound or SMS price by its key, so they never depend on the order the store returns
rows in. Name filters are exact but case-insensitive; `resource_param` values are numbers
or prefixes, matched by the deck's longest-prefix rule (voice), by country and number type
(inbound) or by `DeckVersion.sms_price` (SMS), a bare prefix by the longest allowed prefix
it starts with.

Deliberate limits: voice groups come from the entries that apply whatever the origin
(`ALL`, `ROW`); origin-specific rates and blocked destinations are not listed, and
connection fees and first increments have no field in this API. Names are English
whatever `locale` says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import numpy as np

from telebill.domain.catalog.deck import DeckVersion, inbound_type_of
from telebill.domain.catalog.entries import ALL, InboundPrice, InboundType, SmsPrice
from telebill.domain.catalog.plans import ConditionKind
from telebill.domain.catalog.prefix_index import digits_of
from telebill.domain.catalog.voice_table import ORIGIN_ALL, ORIGIN_ROW
from telebill.domain.errors import InvalidInput, InvalidNumber, NoPrice
from telebill.domain.numbering import PhoneNumber, e164_digits, parse_number
from telebill.entrypoints.api.voximplant_numbers import calling_code
from telebill.entrypoints.api.voximplant_params import VoxCall
from telebill.service.pricing import PriceView, country_name

# Resource type -> code (the last digit of its price group ids).
RESOURCE_CODES: Final[Mapping[str, int]] = {
    "PSTN_OUT_INCOUNTRY": 1,
    "PSTNOUT_EEA": 2,
    "PSTN_INTERNATIONAL": 3,
    "PSTN_IN_GEOGRAPHIC": 4,
    "PSTN_IN_MOBILE": 5,
    "PSTN_IN_TOLLFREE": 6,
    "PSTN_IN_NATIONAL": 7,
    "SMSOUT": 8,
}
_VOICE_TIERS: Final = {
    "PSTN_OUT_INCOUNTRY": (ConditionKind.DOMESTIC, ""),
    "PSTNOUT_EEA": (ConditionKind.ORIGIN_IN_GROUP, "EEA"),
    "PSTN_INTERNATIONAL": (ConditionKind.ALWAYS, ""),
}
_INBOUND_KINDS: Final = {
    "PSTN_IN_GEOGRAPHIC": InboundType.LOCAL,
    "PSTN_IN_MOBILE": InboundType.MOBILE,
    "PSTN_IN_TOLLFREE": InboundType.TOLL_FREE,
    "PSTN_IN_NATIONAL": InboundType.NATIONAL,
}
_INBOUND_LABELS: Final = {
    InboundType.LOCAL: "Geographic",
    InboundType.MOBILE: "Mobile",
    InboundType.TOLL_FREE: "Toll-free",
    InboundType.NATIONAL: "National",
}


@dataclass(frozen=True)
class _Requested:
    """A `resource_param`: its text, E.164 digits and, when it is a whole number, the number."""

    text: str
    digits: str
    number: PhoneNumber | None

    @classmethod
    def of(cls, text: str) -> _Requested:
        digits = e164_digits(text)
        try:
            number: PhoneNumber | None = parse_number("+" + digits)
        except InvalidNumber:
            number = None
        return cls(text, digits, number if number is not None and number.country else None)


@dataclass(frozen=True)
class _Filter:
    locals: set[int] | None  # wanted group ids of this resource type, without the type code
    name: str | None  # casefolded
    requested: list[_Requested]


def get_resource_price(call: VoxCall) -> dict[str, Any]:
    p = call.params
    types = list(dict.fromkeys(t.upper() for t in p.words("resource_type")))
    for t in types:
        if t not in RESOURCE_CODES:
            known = ", ".join(RESOURCE_CODES)
            raise InvalidInput(f"resource_type: unknown resource type {t!r} (known: {known})")
    ids = p.ints("price_group_id")
    name = p.text("price_group_name")
    requested = [_Requested.of(text) for text in p.words("resource_param")]
    view = call.view()
    result = []
    for t in types or list(RESOURCE_CODES):
        code = RESOURCE_CODES[t]
        wanted = {i // 10 for i in ids if i % 10 == code} if ids else None
        groups = _groups(view, t, _Filter(wanted, name.casefold() if name else None, requested))
        if groups or types:
            result.append({"resource_type": t, "price_groups": groups})
    return {"result": result}


def _groups(view: PriceView, resource_type: str, flt: _Filter) -> list[dict[str, Any]]:
    code = RESOURCE_CODES[resource_type]
    if flt.locals is not None and not flt.locals:
        return []
    if resource_type in _VOICE_TIERS:
        kind, group = _VOICE_TIERS[resource_type]
        decks = [view.decks[t.deck] for t in view.plan.tiers if t.condition is kind and t.group == group]
        groups = _voice_groups(view, decks[0], code, flt) if decks else []
    elif resource_type in _INBOUND_KINDS:
        groups = _inbound_groups(view, _INBOUND_KINDS[resource_type], code, flt)
    else:
        groups = _sms_groups(view, code, flt)
    if flt.name is not None:
        groups = [g for g in groups if g["price_group_name"].casefold() == flt.name]
    return groups


def _group(
    local: int, code: int, name: str, price: Decimal, per: int, quantum: int, allowed: list[str], iso: str
) -> dict[str, Any]:
    return {
        "price_group_id": local * 10 + code,
        "price_group_name": name,
        "price": price,
        "num_resources_per_price": per,
        "quantum": quantum,
        "params": {"allowed": allowed, "forbidden": [], "requested": []},
        "country_code": iso,
    }


def _voice_groups(view: PriceView, deck: DeckVersion, code: int, flt: _Filter) -> list[dict[str, Any]]:
    """Entries grouped by destination (name, country), tariff and the plan override in force."""
    table, plan = deck.voice, view.plan
    n_tariffs, n_overrides = len(table.tariffs), len(plan.overrides) + 1
    combos = table.destination_id.astype(np.int64) * n_tariffs + table.tariff_id
    blocked = [i for i, t in enumerate(table.tariffs) if t.blocked]
    usable = np.isin(table.origin, [ORIGIN_ALL, ORIGIN_ROW]) & ~np.isin(table.tariff_id, blocked)
    if flt.name is not None:
        named = [i for i, d in enumerate(table.destinations) if d.friendly_name.casefold() == flt.name]
        usable &= np.isin(table.destination_id, named)

    def local_of(combo: int, prefix: str) -> int:
        found = plan.override_for(prefix)
        return combo * n_overrides + (0 if found is None else plan.overrides.index(found) + 1)

    requested: dict[int, list[str]] = defaultdict(list)
    for r in flt.requested:
        row = deck.voice_row(r.digits)
        if row >= 0 and usable[row]:
            requested[local_of(int(combos[row]), digits_of(int(table.dest_key[row])))].append(r.text)
    wanted = flt.locals
    if flt.requested:
        wanted = set(requested) if wanted is None else wanted & set(requested)
    if wanted is not None:
        usable &= np.isin(combos, [w // n_overrides for w in wanted])
    rows = np.flatnonzero(usable)
    prefixes: dict[int, list[str]] = defaultdict(list)
    first_row: dict[int, int] = {}
    columns = (rows.tolist(), table.dest_key[rows].tolist(), combos[rows].tolist())
    for row, key, combo in zip(*columns, strict=True):
        prefix = digits_of(key)
        local = local_of(combo, prefix)
        if wanted is None or local in wanted:
            prefixes[local].append(prefix)
            first_row.setdefault(local, row)
    groups = []
    for local, allowed in prefixes.items():
        entry = table.entry(first_row[local])
        g = _group(
            local,
            code,
            entry.friendly_name,
            view.priced(entry).current_price,  # blocked tariffs are not usable
            60,
            entry.tariff.increments.subsequent,
            sorted(allowed),
            entry.iso_country,
        )
        g["params"]["requested"] = requested.get(local, [])
        groups.append(g)
    return sorted(groups, key=lambda g: (g["params"]["allowed"][0], g["price_group_id"]))


def _inbound_rows(deck: DeckVersion) -> list[tuple[int, InboundPrice]]:
    """Inbound prices numbered by their key (country, type, caller): ids that do not depend
    on the order the store returns rows in."""
    return list(enumerate(sorted(deck.inbound, key=lambda p: (p.country, p.number_type.value, p.caller))))


def _sms_rows(deck: DeckVersion) -> list[tuple[int, SmsPrice]]:
    return list(enumerate(sorted(deck.sms, key=lambda p: (p.country, p.prefix))))


def _matching(
    candidates: Sequence[tuple[int, str]], flt: _Filter, by_number: Callable[[PhoneNumber], set[int]]
) -> dict[int, list[str]]:
    """Requested params per candidate (local id, allowed prefix): a whole number is matched by
    `by_number`, a bare prefix by the longest allowed prefixes it starts with."""
    out: dict[int, list[str]] = defaultdict(list)
    for r in flt.requested:
        if r.number is not None:
            hits = by_number(r.number)
        else:
            covering = [(len(prefix), local) for local, prefix in candidates if r.digits.startswith(prefix)]
            longest = max((n for n, _ in covering), default=0)
            hits = {local for n, local in covering if n == longest}
        for local in sorted(hits):
            out[local].append(r.text)
    return out


def _select(
    groups: list[dict[str, Any]], code: int, flt: _Filter, requested: dict[int, list[str]]
) -> list[dict[str, Any]]:
    out = []
    for g in groups:
        local = g["price_group_id"] // 10
        if flt.locals is not None and local not in flt.locals:
            continue
        if flt.requested and local not in requested:
            continue
        g["params"]["requested"] = requested.get(local, [])
        out.append(g)
    return out


def _inbound_groups(view: PriceView, kind: InboundType, code: int, flt: _Filter) -> list[dict[str, Any]]:
    deck = view.list_deck
    rows = [(i, p) for i, p in _inbound_rows(deck) if p.caller == ALL and p.number_type is kind]
    groups = [
        _group(
            i,
            code,
            f"{country_name(p.country)} {_INBOUND_LABELS[kind]}",
            view.convert(p.current_price),
            60,
            p.increments.subsequent,
            [calling_code(p.country)],
            p.country,
        )
        for i, p in rows
    ]

    def by_number(number: PhoneNumber) -> set[int]:
        if inbound_type_of(number) is not kind:
            return set()
        return {i for i, p in rows if p.country == number.country}

    requested = _matching([(i, calling_code(p.country)) for i, p in rows], flt, by_number)
    return _select(groups, code, flt, requested)


def _sms_groups(view: PriceView, code: int, flt: _Filter) -> list[dict[str, Any]]:
    deck = view.list_deck
    rows = _sms_rows(deck)
    allowed = [(i, p.prefix or calling_code(p.country)) for i, p in rows]
    groups = []
    for (i, prefix), (_, p) in zip(allowed, rows, strict=True):
        name = f"{country_name(p.country)} SMS" + (f" +{p.prefix}" if p.prefix else "")
        groups.append(_group(i, code, name, view.convert(p.current_price), 1, 1, [prefix], p.country))

    def by_number(number: PhoneNumber) -> set[int]:
        try:
            best = deck.sms_price(number)
        except NoPrice:
            return set()
        return {i for i, p in rows if p is best}

    return _select(groups, code, flt, _matching(allowed, flt, by_number))
