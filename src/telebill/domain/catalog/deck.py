"""Rate decks: a named, single-currency price list with effective-dated versions.

A version holds every section of the deck (voice-out, inbound, SMS, numbers, resources).
The version in force at instant `at` is the one with the latest `effective_from <= at`
(`version_in_force`, the one place that rule is written).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from telebill.domain.catalog.entries import (
    ALL,
    InboundPrice,
    InboundType,
    NumberPrice,
    ResourcePrice,
    SmsPrice,
    VoiceRate,
)
from telebill.domain.catalog.voice_index import VoiceIndex
from telebill.domain.catalog.voice_table import VoiceRateTable
from telebill.domain.errors import InvalidRate, NoPrice
from telebill.domain.money import Currency
from telebill.domain.numbering import NumberType, PhoneNumber

T = TypeVar("T")

_INBOUND_OF_TYPE = {
    NumberType.MOBILE: InboundType.MOBILE,
    NumberType.TOLL_FREE: InboundType.TOLL_FREE,
    NumberType.FIXED_LINE: InboundType.LOCAL,
    NumberType.FIXED_LINE_OR_MOBILE: InboundType.LOCAL,
}


def inbound_type_of(number: PhoneNumber) -> InboundType:
    """How inbound price lists classify a called number (anything else is `national`)."""
    return _INBOUND_OF_TYPE.get(number.number_type, InboundType.NATIONAL)


@dataclass(frozen=True)
class DeckContent:
    """Everything a deck file carries, before it is named and dated."""

    voice: VoiceRateTable
    inbound: tuple[InboundPrice, ...] = ()
    sms: tuple[SmsPrice, ...] = ()
    numbers: tuple[NumberPrice, ...] = ()
    resources: tuple[ResourcePrice, ...] = ()


@dataclass(frozen=True, eq=False)
class DeckVersion:
    """One effective-dated content of a deck. The voice index is built on first use."""

    deck: str
    currency: Currency
    effective_from: datetime
    voice: VoiceRateTable
    inbound: Sequence[InboundPrice] = ()
    sms: Sequence[SmsPrice] = ()
    numbers: Sequence[NumberPrice] = ()
    resources: Sequence[ResourcePrice] = ()
    version_id: int | None = None
    _index: list[VoiceIndex] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.effective_from.tzinfo is None:
            raise InvalidRate("effective_from must be timezone-aware (UTC)")

    @property
    def index(self) -> VoiceIndex:
        if not self._index:
            self._index.append(VoiceIndex(self.voice))
        return self._index[0]

    @classmethod
    def of(
        cls,
        deck: str,
        currency: Currency,
        effective_from: datetime,
        content: DeckContent,
        version_id: int | None = None,
    ) -> DeckVersion:
        return cls(
            deck,
            currency,
            effective_from,
            content.voice,
            content.inbound,
            content.sms,
            content.numbers,
            content.resources,
            version_id,
        )

    @property
    def content(self) -> DeckContent:
        return DeckContent(self.voice, tuple(self.inbound), tuple(self.sms), tuple(self.numbers), tuple(self.resources))

    @property
    def label(self) -> str:
        return f"{self.deck}@{self.effective_from.date().isoformat()}"

    def voice_row(self, destination: str, origin: str | None = None) -> int:
        return self.index.lookup(destination, origin)

    def voice_rate(self, destination: str, origin: str | None = None) -> VoiceRate:
        """Entry pricing a call to `destination` digits from `origin` digits; NoPrice if none."""
        row = self.index.lookup(destination, origin)
        if row < 0:
            raise NoPrice(destination, origin, f"deck {self.label}")
        return self.voice.entry(row)

    def inbound_price(self, called: PhoneNumber, caller: PhoneNumber | None) -> InboundPrice:
        """Price of receiving a call on `called`: most specific caller selector wins.

        Caller prefix (longest) beats caller type (`type:mobile`) beats `ALL`.
        """
        kind = inbound_type_of(called)
        candidates = [p for p in self.inbound if p.country == called.country and p.number_type == kind]
        best: tuple[int, InboundPrice] | None = None
        for price in candidates:
            score = _caller_score(price.caller, caller)
            if score >= 0 and (best is None or score > best[0]):
                best = (score, price)
        if best is None:
            raise NoPrice(called.e164, caller.e164 if caller else None, f"inbound prices of {self.label}")
        return best[1]

    def sms_price(self, destination: PhoneNumber) -> SmsPrice:
        best: SmsPrice | None = None
        for price in self.sms:
            if price.country != destination.country:
                continue
            if price.prefix and not destination.digits.startswith(price.prefix):
                continue
            if best is None or len(price.prefix) > len(best.prefix):
                best = price
        if best is None:
            raise NoPrice(destination.e164, None, f"SMS prices of {self.label}")
        return best


def _caller_score(selector: str, caller: PhoneNumber | None) -> int:
    """-1 when `selector` does not apply to `caller`; higher is more specific."""
    if selector == ALL:
        return 0
    if caller is None:
        return -1
    if selector.startswith("type:"):
        return 1 if caller.number_type.value == selector[5:] else -1
    return 100 + len(selector) if caller.digits.startswith(selector) else -1


def version_in_force(versions: Iterable[tuple[T, datetime]], at: datetime) -> T | None:
    """Of (version, effective_from) pairs, the one with the latest `effective_from <= at`."""
    chosen = None
    latest = None
    for version, effective in versions:
        if effective <= at and (latest is None or effective >= latest):
            chosen, latest = version, effective
    return chosen
