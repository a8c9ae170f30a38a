"""Price plans: which deck prices a call, and the account's discounts and fixed prices.

A plan is an ordered chain of tiers. A tier applies when its condition holds for the
call *and* its deck has a price for the destination; otherwise the next tier is tried
(Voximplant's domestic -> EEA -> international lookup). Overrides then adjust the price
charged (`current_price`); the list price (`base_price`) is never changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from telebill.domain.catalog.deck import DeckVersion
from telebill.domain.catalog.entries import VoiceRate, check_prefix
from telebill.domain.errors import InvalidRate, NoPrice
from telebill.domain.numbering import PhoneNumber

EEA = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
    ]
)
COUNTRY_GROUPS: Mapping[str, frozenset[str]] = {"EEA": EEA}


class ConditionKind(Enum):
    DOMESTIC = "domestic"  # origin country == destination country
    ORIGIN_IN_GROUP = "origin_in_group"  # origin country is in a named group (EEA)
    ALWAYS = "always"  # the international fallback


@dataclass(frozen=True, slots=True)
class Tier:
    condition: ConditionKind
    deck: str
    group: str = ""

    def __post_init__(self) -> None:
        if self.condition is ConditionKind.ORIGIN_IN_GROUP and self.group not in COUNTRY_GROUPS:
            known = ", ".join(sorted(COUNTRY_GROUPS))
            raise InvalidRate(f"tier group {self.group!r} is unknown (known: {known})")

    def applies(self, origin: PhoneNumber | None, destination: PhoneNumber) -> bool:
        if self.condition is ConditionKind.ALWAYS:
            return True
        if origin is None or origin.country is None:
            return False
        if self.condition is ConditionKind.DOMESTIC:
            return origin.country == destination.country
        return origin.country in COUNTRY_GROUPS[self.group]

    def describe(self) -> str:
        if self.condition is ConditionKind.ORIGIN_IN_GROUP:
            return f"origin in {self.group} -> {self.deck}"
        return f"{self.condition.value} -> {self.deck}"


@dataclass(frozen=True, slots=True)
class Override:
    """Per-prefix (or plan-wide when `prefix` is empty) fixed price or percentage discount."""

    prefix: str
    percent_off: Decimal | None = None
    fixed_price: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.percent_off is None) == (self.fixed_price is None):
            raise InvalidRate("an override has exactly one of percent_off and fixed_price")
        if self.prefix:
            check_prefix(self.prefix)
        if self.percent_off is not None and not 0 <= self.percent_off <= 100:
            raise InvalidRate(f"percent_off must be 0..100, got {self.percent_off}")
        if self.fixed_price is not None and self.fixed_price < 0:
            raise InvalidRate(f"fixed_price must be >= 0, got {self.fixed_price}")

    def apply(self, price: Decimal) -> Decimal:
        if self.fixed_price is not None:
            return self.fixed_price
        assert self.percent_off is not None
        return price * (100 - self.percent_off) / 100

    def describe(self) -> str:
        scope = f"prefix {self.prefix}" if self.prefix else "all destinations"
        if self.fixed_price is not None:
            return f"fixed price {self.fixed_price} for {scope}"
        return f"{self.percent_off}% off for {scope}"


@dataclass(frozen=True, slots=True)
class PricePlan:
    name: str
    tiers: tuple[Tier, ...]
    overrides: tuple[Override, ...] = ()

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidRate("plan name must not be empty")
        if not self.tiers:
            raise InvalidRate(f"plan {self.name!r} needs at least one tier")
        prefixes = [o.prefix for o in self.overrides]
        if len(set(prefixes)) != len(prefixes):
            raise InvalidRate(f"plan {self.name!r} has two overrides for one prefix")

    @property
    def deck_names(self) -> list[str]:
        return list(dict.fromkeys(t.deck for t in self.tiers))

    def override_for(self, destination_digits: str) -> Override | None:
        best: Override | None = None
        for o in self.overrides:
            if destination_digits.startswith(o.prefix) and (best is None or len(o.prefix) > len(best.prefix)):
                best = o
        return best


@dataclass(frozen=True, slots=True)
class Quote:
    """The price of calling `destination` from `origin` under a plan, and why."""

    destination: PhoneNumber
    origin: PhoneNumber | None
    entry: VoiceRate
    deck: DeckVersion
    tier: Tier
    current_price: Decimal
    override: Override | None

    @property
    def base_price(self) -> Decimal:
        return self.entry.tariff.base_price


def quote(
    plan: PricePlan,
    decks: Mapping[str, DeckVersion],
    destination: PhoneNumber,
    origin: PhoneNumber | None,
) -> Quote:
    """Walk the plan's tiers; the first applicable tier whose deck prices the call wins.
    A deck missing from `decks` (no version in force yet) prices nothing."""
    tried: Sequence[str] = []
    for tier in plan.tiers:
        if not tier.applies(origin, destination):
            continue
        version = decks.get(tier.deck)
        if version is None:
            tried = [*tried, f"{tier.deck} (no version in force)"]
            continue
        row = version.voice_row(destination.digits, origin.digits if origin else None)
        if row < 0:
            tried = [*tried, version.label]
            continue
        entry = version.voice.entry(row)
        override = plan.override_for(destination.digits)
        price = entry.tariff.current_price
        if override is not None and not (entry.tariff.free or entry.tariff.blocked):
            price = override.apply(price)
        return Quote(destination, origin, entry, version, tier, price, override)
    where = f"plan {plan.name} (tried {', '.join(tried) or 'no applicable tier'})"
    raise NoPrice(destination.e164, origin.e164 if origin else None, where)
