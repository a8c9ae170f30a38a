"""The Voximplant management API methods telebill answers, over the account's `PriceView`.

Each method takes a `VoxCall` and returns the whole response body (`{"result": ...}` plus
any siblings such as `count`); amounts are `Decimal`s, which the router writes as exact
JSON numbers. Prices are the account's: plan overrides applied to voice-out prices, then
converted into the account's currency (`PriceView.convert`).

IDs are stable within one deck version (and, for voice, one plan): a price group id is
`local * 10 + resource code`, where `local` derives from the interned destination and
tariff ids of the deck's voice table (and the plan override in force), or is the rank of
the inbound or SMS price by its key; subscription template and phone region ids are the
1-based rank of the list deck's phone-number prices by (country, category, region), so
they never depend on the order the store returns rows in. Name filters are exact but
case-insensitive; `resource_param` values are numbers or prefixes, matched by the
deck's longest-prefix rule (voice), by country and number type (inbound) or by
`DeckVersion.sms_price` (SMS), a bare prefix by the longest allowed prefix it starts with.

Deliberate limits: voice groups come from the entries that apply whatever the origin
(`ALL`, `ROW`); origin-specific rates and blocked destinations are not listed, and
connection fees and first increments have no field in this API. Names are English
whatever `locale` says; numbers are never in stock (`phone_count` 0), so `omit_empty` is
accepted but has no effect, and there are no sandbox numbers. There is no balance yet, so
`GetAccountInfo` carries no `balance` or `credit_limit`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Any, Final

import numpy as np
import phonenumbers

from telebill.bootstrap import Container
from telebill.domain.accounts import Principal
from telebill.domain.catalog.deck import DeckVersion, inbound_type_of
from telebill.domain.catalog.entries import ALL, InboundPrice, InboundType, NumberPrice, SmsPrice
from telebill.domain.catalog.plans import ConditionKind
from telebill.domain.catalog.prefix_index import digits_of
from telebill.domain.catalog.voice_table import ORIGIN_ALL, ORIGIN_ROW
from telebill.domain.errors import InvalidInput, InvalidNumber, NoPrice
from telebill.domain.numbering import PhoneNumber, e164_digits, parse_number
from telebill.service.pricing import PriceView, country_name

PERIOD_MONTH: Final = "0-1-0 0:0:0"
DATETIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})

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
# Our number categories -> Voximplant phone categories, their labels and inbound resources.
_CATEGORIES: Final = {
    "local": "GEOGRAPHIC",
    "mobile": "MOBILE",
    "toll_free": "TOLLFREE",
    "national": "NATIONAL",
}
_CATEGORY_LABELS: Final = {
    "GEOGRAPHIC": "Geographic",
    "MOBILE": "Mobile",
    "TOLLFREE": "Toll-free",
    "NATIONAL": "National",
}
_INBOUND_RESOURCE: Final = {c: f"PSTN_IN_{c}" for c in _CATEGORY_LABELS}
_INBOUND_LABELS: Final = {
    InboundType.LOCAL: "Geographic",
    InboundType.MOBILE: "Mobile",
    InboundType.TOLL_FREE: "Toll-free",
    InboundType.NATIONAL: "National",
}


@dataclass(frozen=True)
class Params:
    """Request parameters as sent: booleans any case (`True`, `true`, `1`), lists `;`-separated."""

    values: Mapping[str, str]

    def text(self, name: str) -> str | None:
        value = self.values.get(name, "").strip()
        return value or None

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise InvalidInput(f"{name}: this parameter is required")
        return value

    def flag(self, name: str) -> bool | None:
        value = self.text(name)
        if value is None:
            return None
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise InvalidInput(f"{name}: {value!r} is not a boolean (true or false)")

    def words(self, name: str) -> list[str]:
        return [w.strip() for w in self.values.get(name, "").split(";") if w.strip()]

    def ints(self, name: str) -> list[int]:
        words = self.words(name)
        if not all(w.isascii() and w.isdigit() for w in words):
            raise InvalidInput(f"{name}: expected integers separated by ';'")
        return [int(w) for w in words]

    def integer(self, name: str, default: int | None) -> int | None:
        value = self.text(name)
        if value is None:
            return default
        if not (value.isascii() and value.isdigit()):
            raise InvalidInput(f"{name}: {value!r} is not a non-negative integer")
        return int(value)


@dataclass(frozen=True)
class VoxCall:
    principal: Principal
    container: Container
    params: Params
    host: str

    def view(self) -> PriceView:
        return self.container.pricing.view(self.principal.account)


Method = Callable[[VoxCall], dict[str, Any]]


# -- GetResourcePrice --------------------------------------------------------------------


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
        tariff, override = entry.tariff, plan.override_for(entry.prefix)
        price = tariff.current_price
        if override is not None and not tariff.free:
            price = override.apply(price)
        g = _group(
            local,
            code,
            entry.friendly_name,
            view.convert(price),
            60,
            tariff.increments.subsequent,
            sorted(allowed),
            entry.iso_country,
        )
        g["params"]["requested"] = requested.get(local, [])
        groups.append(g)
    return sorted(groups, key=lambda g: (g["params"]["allowed"][0], g["price_group_id"]))


def _calling_code(iso: str) -> str:
    code = phonenumbers.country_code_for_region(iso)
    return str(code) if code else ""


def _inbound_rows(deck: DeckVersion) -> list[tuple[int, InboundPrice]]:
    """Inbound prices numbered by their key (country, type, caller): ids that do not depend
    on the order the store returns rows in."""
    return list(enumerate(sorted(deck.inbound, key=lambda p: (p.country, p.number_type.value, p.caller))))


def _sms_rows(deck: DeckVersion) -> list[tuple[int, SmsPrice]]:
    return list(enumerate(sorted(deck.sms, key=lambda p: (p.country, p.prefix))))


def _number_rows(deck: DeckVersion) -> list[tuple[int, NumberPrice]]:
    """Phone-number prices numbered from 1 by their key (country, category, region)."""
    return list(enumerate(sorted(deck.numbers, key=lambda n: (n.country, n.category, n.region)), start=1))


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
            [_calling_code(p.country)],
            p.country,
        )
        for i, p in rows
    ]

    def by_number(number: PhoneNumber) -> set[int]:
        if inbound_type_of(number) is not kind:
            return set()
        return {i for i, p in rows if p.country == number.country}

    requested = _matching([(i, _calling_code(p.country)) for i, p in rows], flt, by_number)
    return _select(groups, code, flt, requested)


def _sms_groups(view: PriceView, code: int, flt: _Filter) -> list[dict[str, Any]]:
    deck = view.list_deck
    rows = _sms_rows(deck)
    allowed = [(i, p.prefix or _calling_code(p.country)) for i, p in rows]
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


# -- phone numbers -----------------------------------------------------------------------


def _category(category: str) -> str:
    key = category.strip().lower()
    return _CATEGORIES.get(key, key.upper().replace("-", "_").replace(" ", "_"))


def _template_name(p: NumberPrice) -> str:
    return " ".join(w for w in ("Phone", p.country, p.category, p.region) if w)


def get_subscription_price(call: VoxCall) -> dict[str, Any]:
    p = call.params
    ids = set(p.ints("subscription_template_id"))
    kind = p.text("subscription_template_type")
    name = p.text("subscription_template_name")
    count = p.integer("count", None)
    offset = p.integer("offset", 0) or 0
    view = call.view()
    found = []
    for i, n in _number_rows(view.list_deck):
        if ids and i not in ids:
            continue
        if kind is not None and kind.upper() != "PHONE_NUM":
            continue
        if name is not None and _template_name(n).casefold() != name.casefold():
            continue
        found.append(
            {
                "subscription_template_id": i,
                "installation_price": view.convert(n.setup_price),
                "price": view.convert(n.monthly_price),
                "period": PERIOD_MONTH,
                "subscription_template_type": "PHONE_NUM",
                "subscription_template_name": _template_name(n),
                "currency": view.currency.code,
            }
        )
    page = found[offset:] if count is None else found[offset : offset + count]
    return {"result": page, "count": len(page), "total_count": len(found)}


def _numbers_by_country(view: PriceView) -> dict[str, dict[str, list[tuple[int, NumberPrice]]]]:
    """Number prices of the list deck by country (ISO order), then Voximplant category."""
    out: dict[str, dict[str, list[tuple[int, NumberPrice]]]] = defaultdict(lambda: defaultdict(list))
    for i, n in _number_rows(view.list_deck):
        out[n.country][_category(n.category)].append((i, n))
    return {iso: out[iso] for iso in sorted(out)}


def _representative(rows: Iterable[tuple[int, NumberPrice]]) -> NumberPrice:
    """The category's price: its country-wide row (no region), else its cheapest region."""
    prices = [n for _, n in rows]
    whole = [n for n in prices if not n.region]
    return (whole or sorted(prices, key=lambda n: (n.monthly_price, n.setup_price)))[0]


def get_phone_number_categories(call: VoxCall) -> dict[str, Any]:
    p = call.params
    wanted = {c.upper() for c in p.words("country_code")}
    sandbox = p.flag("sandbox")  # there are no sandbox numbers
    view = call.view()
    result = []
    for iso, categories in ({} if sandbox else _numbers_by_country(view)).items():
        if wanted and iso not in wanted:
            continue
        entries = []
        for category, rows in categories.items():
            n = _representative(rows)
            entries.append(
                {
                    "phone_category_name": category,
                    "country_has_states": False,
                    "localized_phone_category_name": _CATEGORY_LABELS.get(category, category),
                    "phone_installation_price": view.convert(n.setup_price),
                    "phone_price": view.convert(n.monthly_price),
                    "phone_period": PERIOD_MONTH,
                    "can_list_phone_numbers": False,
                    "incoming_calls_resource_name": _INBOUND_RESOURCE.get(category, ""),
                }
            )
        result.append(
            {
                "country_code": iso,
                "phone_prefix": _calling_code(iso),
                "can_list_phone_numbers": False,
                "localized_country_name": country_name(iso),
                "emergency_calls_to_be_enabled": False,
                "phone_categories": entries,
            }
        )
    return {"result": result, "count": len(result)}


def get_phone_number_regions(call: VoxCall) -> dict[str, Any]:
    p = call.params
    iso = p.required("country_code").upper()
    category = _category(p.required("phone_category_name"))
    state = p.text("country_state")
    p.flag("omit_empty")  # nothing is in stock, and every region is listed
    region_id = p.integer("phone_region_id", None)
    region_name = p.text("phone_region_name")
    region_code = p.text("phone_region_code")
    view = call.view()
    rows = [] if state else _numbers_by_country(view).get(iso, {}).get(category, [])
    sms = any(s.country == iso for s in view.list_deck.sms)
    label = _CATEGORY_LABELS.get(category, category)
    result = []
    for i, n in rows:
        name = n.region or country_name(iso)
        if region_id is not None and i != region_id:
            continue
        if region_name is not None and name.casefold() != region_name.casefold():
            continue
        if region_code is not None:
            continue  # area codes are not known
        result.append(
            {
                "phone_region_id": i,
                "phone_region_name": name,
                "phone_region_code": "",
                "phone_count": 0,
                "phone_period": PERIOD_MONTH,
                "phone_price": view.convert(n.monthly_price),
                "phone_installation_price": view.convert(n.setup_price),
                "is_need_regulation_address": False,
                "is_sms_supported": sms,
                "multiple_numbers_price": [],
                "country_code": iso,
                "phone_category_name": category,
                "localized_country_name": country_name(iso),
                "localized_phone_category_name": label,
                "localized_phone_region_name": name,
            }
        )
    return {"result": result, "count": len(result)}


# -- account -----------------------------------------------------------------------------


def get_account_info(call: VoxCall) -> dict[str, Any]:
    call.params.flag("return_live_balance")  # there is no balance yet
    a = call.principal.account
    created = a.created_at if a.created_at.tzinfo is None else a.created_at.astimezone(UTC)
    result = {
        "account_id": a.number,
        "account_name": a.name,
        "account_email": "",
        "created": created.strftime(DATETIME_FORMAT),
        "active": a.active,
        "frozen": False,
        "currency": a.currency.code,
    }
    return {"result": result, "api_address": call.host}


METHODS: Final[Mapping[str, Method]] = {
    "GetResourcePrice": get_resource_price,
    "GetSubscriptionPrice": get_subscription_price,
    "GetPhoneNumberCategories": get_phone_number_categories,
    "GetPhoneNumberRegions": get_phone_number_regions,
    "GetAccountInfo": get_account_info,
}
