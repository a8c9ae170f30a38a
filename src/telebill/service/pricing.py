"""What an account pays: the catalog seen through the account's plan, overrides and currency.

The compatibility APIs (Twilio, Voximplant) and the native API all read prices through a
`PriceView`: the account's plan with its decks resolved at one instant, and the exchange
rate from the plan's currency to the account's. `base_price` is the list price and
`current_price` what this account pays, both converted (docs/adr/0006-account-prices-and-conversion.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from telebill.domain.accounts import Account
from telebill.domain.catalog.deck import DeckVersion, inbound_type_of
from telebill.domain.catalog.entries import ALL, InboundPrice, InboundType, NumberPrice, SmsPrice, VoiceRate
from telebill.domain.catalog.plans import ConditionKind, PricePlan, Quote, quote
from telebill.domain.catalog.prefix_index import digits_of, key_of
from telebill.domain.errors import InvalidInput, NoPrice, NoRate, NotFound
from telebill.domain.iso3166 import COUNTRY_NAMES
from telebill.domain.money import Currency
from telebill.domain.numbering import NumberType, PhoneNumber
from telebill.service.catalog import CatalogService
from telebill.service.ports import Clock, ExchangeRates
from telebill.service.ttl_cache import TtlCache

_CONVERTED = Decimal("0.000001")
_GroupKey = tuple[str, str, str, bool, bool]  # name, base text, current text, free, blocked


@dataclass(frozen=True, slots=True)
class PriceGroup:
    """Prices sharing a name and amounts: Twilio's `outbound_prefix_prices` record."""

    friendly_name: str
    origination_prefixes: tuple[str, ...]
    destination_prefixes: tuple[str, ...]
    base_price: Decimal
    current_price: Decimal
    free: bool
    blocked: bool


@dataclass(frozen=True, slots=True)
class PricedRate:
    entry: VoiceRate
    base_price: Decimal
    current_price: Decimal


@dataclass(frozen=True)
class PriceView:
    account: Account
    plan: PricePlan
    decks: dict[str, DeckVersion]
    plan_currency: Currency
    fx_rate: Decimal  # account currency units per plan currency unit
    at: datetime

    @property
    def currency(self) -> Currency:
        return self.account.currency

    def convert(self, amount: Decimal) -> Decimal:
        """An amount of the plan's currency in the account's (ADR 0006)."""
        if self.fx_rate == 1:
            return amount
        converted = (amount * self.fx_rate).quantize(_CONVERTED, rounding=ROUND_HALF_UP)
        # drop the zeros the conversion added, but keep the published precision
        exponent = amount.as_tuple().exponent
        shortest = converted.normalize()
        shortest_exponent = shortest.as_tuple().exponent
        if isinstance(exponent, int) and isinstance(shortest_exponent, int) and shortest_exponent > exponent:
            return shortest.quantize(Decimal(1).scaleb(max(exponent, -6)))
        return shortest

    @property
    def list_deck(self) -> DeckVersion:
        """The deck of the unconditional (international) tier: the published price list."""
        for tier in reversed(self.plan.tiers):
            if tier.condition is ConditionKind.ALWAYS and tier.deck in self.decks:
                return self.decks[tier.deck]
        for tier in reversed(self.plan.tiers):
            if tier.deck in self.decks:
                return self.decks[tier.deck]
        raise NoPrice("", None, f"plan {self.plan.name}: no deck in force")

    def priced(self, entry: VoiceRate) -> PricedRate:
        """`entry` as this account pays it: the plan's override applied, then converted."""
        price = entry.tariff.current_price
        override = self.plan.override_for(entry.prefix)
        if override is not None and not (entry.tariff.free or entry.tariff.blocked):
            price = override.apply(price)
        return PricedRate(entry, self.convert(entry.tariff.base_price), self.convert(price))

    # -- countries -----------------------------------------------------------------------

    def countries(self) -> list[tuple[str, str]]:
        """(ISO code, name) of every country the list deck prices, by ISO code."""
        deck = self.list_deck
        isos = {deck.voice.destinations[i].iso_country for i in np.unique(deck.voice.destination_id)}
        isos |= {p.country for p in deck.inbound}
        return sorted((iso, country_name(iso)) for iso in isos if iso)

    def has_country(self, iso: str) -> bool:
        return iso in dict(self.countries())

    def voice_country(self, iso: str) -> list[PriceGroup]:
        """Outbound prices to `iso`, grouped like Twilio's `outbound_prefix_prices`."""
        deck = self.list_deck
        rows = deck.voice.rows_for_country(iso)
        return group_prices(self.priced(deck.voice.entry(int(r))) for r in rows)

    def inbound_country(self, iso: str) -> list[tuple[InboundType, Decimal, Decimal]]:
        """Inbound per-minute prices by number type (the `ALL` caller price of each type)."""
        out = []
        for p in self.list_deck.inbound:
            if p.country == iso and p.caller == ALL:
                out.append((p.number_type, self.convert(p.base_price), self.convert(p.current_price)))
        return sorted(out, key=lambda t: t[0].value)

    def number_prices(self, iso: str) -> list[NumberPrice]:
        return [
            NumberPrice(
                p.country,
                p.category,
                p.region,
                self.convert(p.setup_price),
                self.convert(p.monthly_price),
                self.convert(p.base_monthly_price),
            )
            for p in self.list_deck.numbers
            if p.country == iso
        ]

    def sms_prices(self, iso: str) -> list[SmsPrice]:
        return [
            SmsPrice(
                p.country,
                p.prefix,
                self.convert(p.base_price),
                self.convert(p.current_price),
                self.convert(p.inbound_price),
            )
            for p in self.list_deck.sms
            if p.country == iso
        ]

    # -- numbers -------------------------------------------------------------------------

    def quote(self, destination: PhoneNumber, origin: PhoneNumber | None) -> tuple[Quote, PricedRate]:
        """The price of one call under the plan (tiers, origin rule, overrides), converted."""
        q = quote(self.plan, self.decks, destination, origin)
        return q, PricedRate(q.entry, self.convert(q.base_price), self.convert(q.current_price))

    def origin_variants(self, destination: PhoneNumber) -> list[PricedRate]:
        """Every origin variant of the list deck's longest prefix matching `destination`."""
        deck = self.list_deck
        node = deck.index.tree.lookup(key_of(destination.digits))
        if node < 0:
            raise NoPrice(destination.e164, None, f"deck {deck.label}")
        rows = np.flatnonzero(deck.voice.dest_key == deck.index.tree.keys[node])
        entries = sorted((deck.voice.entry(int(r)) for r in rows), key=lambda e: e.origin)
        return [self.priced(e) for e in entries]

    def inbound_for(self, called: PhoneNumber, caller: PhoneNumber | None) -> InboundPrice | None:
        try:
            p = self.list_deck.inbound_price(called, caller)
        except NoPrice:
            return None
        return InboundPrice(
            p.country,
            p.number_type,
            p.caller,
            self.convert(p.base_price),
            self.convert(p.current_price),
            p.increments,
            self.convert(p.connection_fee),
            p.rounding,
        )

    def search(self, text: str, limit: int) -> list[PricedRate]:
        """Entries of the list deck whose prefix starts with `text` (digits) or whose name
        contains it (case-insensitive), in prefix order."""
        deck = self.list_deck
        table = deck.voice
        needle = text.strip().lstrip("+")
        if needle.isascii() and needle.isdigit():
            rows = [i for i, key in enumerate(table.dest_key.tolist()) if digits_of(key).startswith(needle)]
        else:
            lowered = needle.casefold()
            ids = [i for i, d in enumerate(table.destinations) if lowered in d.friendly_name.casefold()]
            rows = np.flatnonzero(np.isin(table.destination_id, ids)).tolist()
        rows.sort(key=lambda r: (int(table.dest_key[r]), int(table.origin[r])))
        return [self.priced(table.entry(r)) for r in rows[:limit]]

    def rates_from(self, origin: PhoneNumber) -> list[PricedRate]:
        """The price from `origin` to every destination prefix of the plan's decks."""
        seen: dict[str, str] = {}
        for deck in self.decks.values():
            table = deck.voice
            for key, dest_id in zip(table.dest_key.tolist(), table.destination_id.tolist(), strict=True):
                seen.setdefault(digits_of(key), table.destinations[dest_id].iso_country)
        out = []
        for prefix in sorted(seen):
            pseudo = PhoneNumber("+" + prefix, seen[prefix] or None, NumberType.UNKNOWN)
            try:
                _, priced = self.quote(pseudo, origin)
            except NoPrice:
                continue
            if priced.entry.prefix == prefix:
                out.append(priced)
        return out

    def inbound_type(self, called: PhoneNumber) -> InboundType:
        return inbound_type_of(called)


def country_name(iso: str) -> str:
    return COUNTRY_NAMES.get(iso, iso)


def group_prices(rates: Iterable[PricedRate]) -> list[PriceGroup]:
    """Group by (name, prices, flags); within a group, entries with the same origin set share
    one record listing all their destination prefixes."""
    by_price: dict[tuple[str, str, str, bool, bool], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for r in rates:
        t = r.entry.tariff
        key = (r.entry.friendly_name, str(r.base_price), str(r.current_price), t.free, t.blocked)
        by_price[key][r.entry.prefix].add(r.entry.origin)
    groups = []
    for (name, base_text, current_text, free, blocked), prefixes in by_price.items():
        base, current = Decimal(base_text), Decimal(current_text)
        by_origins: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for prefix, origin_set in prefixes.items():
            by_origins[tuple(sorted(origin_set))].append(prefix)
        for origins, dests in by_origins.items():
            groups.append(PriceGroup(name, origins, tuple(sorted(dests)), base, current, free, blocked))
    return sorted(groups, key=lambda g: (g.destination_prefixes, g.origination_prefixes))


class PricingService:
    def __init__(self, catalog: CatalogService, rates: ExchangeRates, clock: Clock, cache_ttl_s: float = 1.0) -> None:
        self._catalog = catalog
        self._rates = rates
        self._clock = clock
        # The view of "now" is shared by the requests of one account for a second: a deck
        # version taking effect is seen at most that late (the catalog caches for longer).
        self._current: TtlCache[tuple[str, str, str], PriceView] = TtlCache(clock, cache_ttl_s)

    def view(self, account: Account, at: datetime | None = None) -> PriceView:
        if account.plan is None:
            raise NotFound(f"account {account.sid} has no price plan")
        if at is None:
            key = (account.sid, account.plan, account.currency.code)
            return self._current.get(key, lambda: self._view(account, self._clock.now()))
        return self._view(account, at)

    def check_currency(self, plan_name: str, currency: Currency) -> None:
        """Refuse (InvalidInput naming `currency`) an account in a currency that the prices of
        its plan in force now cannot be converted to: each of its calls would be refused.
        A plan with nothing in force yet is not checked."""
        now = self._clock.now()
        try:
            decks = self._catalog.resolve(self._catalog.plan(plan_name), now)
        except NoPrice:
            return
        for deck_currency in {d.currency.code: d.currency for d in decks.values()}.values():
            try:
                self._rates.rate(deck_currency, currency, now)
            except NoRate as exc:
                raise InvalidInput(
                    f"currency: plan {plan_name!r} is priced in {deck_currency.code}, and {exc}: "
                    f"an account in {currency.code} could make no call"
                ) from None

    def _view(self, account: Account, at: datetime) -> PriceView:
        assert account.plan is not None
        plan = self._catalog.plan(account.plan)
        decks = self._catalog.resolve(plan, at)
        plan_currency = next(iter(decks.values())).currency
        rate = self._rates.rate(plan_currency, account.currency, at)
        return PriceView(account, plan, decks, plan_currency, rate, at)
