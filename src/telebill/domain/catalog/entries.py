"""Price entries of a rate deck: voice-out, inbound, SMS, phone numbers, other resources.

Every price is a Decimal in the deck's currency. Voice and inbound prices are per minute
and billed by increments; SMS per message; numbers as a setup fee plus a monthly fee;
resources per a stated quantity of a unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Final

from telebill.domain.errors import InvalidRate
from telebill.domain.money import DEFAULT_ROUNDING, Rounding

MAX_PREFIX_DIGITS: Final = 15
ALL: Final = "ALL"
ROW: Final = "ROW"


def check_prefix(prefix: str, field: str = "prefix") -> str:
    """A dialling prefix: 1..15 digits, not starting with 0 (E.164 country codes never do)."""
    text = prefix.strip().lstrip("+")
    if not (text.isascii() and text.isdigit()) or not 1 <= len(text) <= MAX_PREFIX_DIGITS or text[0] == "0":
        raise InvalidRate(f"{field} {prefix!r} must be 1 to 15 digits not starting with 0")
    return text


def check_origin(origin: str) -> str:
    """An origination selector: `ALL`, `ROW` (rest of world) or an origin prefix."""
    text = origin.strip().upper()
    if text in (ALL, ROW):
        return text
    if text == "":
        return ALL
    return check_prefix(text, "origin prefix")


@dataclass(frozen=True, slots=True)
class Increments:
    """Billing increments: the first `initial` seconds, then blocks of `subsequent` seconds."""

    initial: int = 60
    subsequent: int = 60

    def __post_init__(self) -> None:
        if self.initial < 1 or self.subsequent < 1:
            raise InvalidRate(f"increments must be positive seconds, got {self}")

    def billed_seconds(self, duration_s: int) -> int:
        """Seconds billed for a call of `duration_s` seconds (0 for an unconnected call)."""
        if duration_s <= 0:
            return 0
        if duration_s <= self.initial:
            return self.initial
        blocks = -(-(duration_s - self.initial) // self.subsequent)  # on integers: exact at any length
        return self.initial + blocks * self.subsequent

    def __str__(self) -> str:
        return f"{self.initial}/{self.subsequent}"

    @classmethod
    def parse(cls, text: str) -> Increments:
        raw = text.strip()
        if not raw:
            return cls()
        first, sep, second = raw.partition("/")
        if not _ascii_digits(first) or (sep and not _ascii_digits(second)):
            raise InvalidRate(f"increments {text!r} must look like 60/60 or 1/1")
        return cls(int(first), int(second) if sep else int(first))


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _check_price(value: Decimal, field: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise InvalidRate(f"{field} must be a non-negative decimal, got {value!r}")


@dataclass(frozen=True, slots=True)
class Tariff:
    """What a voice entry charges: shared by many prefixes, so stored once per deck."""

    base_price: Decimal
    current_price: Decimal
    increments: Increments = Increments()
    connection_fee: Decimal = Decimal(0)
    free: bool = False
    blocked: bool = False
    rounding: Rounding = DEFAULT_ROUNDING

    def __post_init__(self) -> None:
        _check_price(self.base_price, "base_price")
        _check_price(self.current_price, "current_price")
        _check_price(self.connection_fee, "connection_fee")
        if self.free and self.blocked:
            raise InvalidRate("an entry cannot be both free and blocked")


@dataclass(frozen=True, slots=True)
class Destination:
    """The name side of an entry: friendly name and ISO country (may be empty)."""

    friendly_name: str
    iso_country: str = ""


@dataclass(frozen=True, slots=True)
class VoiceRate:
    """One voice-out price: destination prefix x origination selector -> tariff."""

    prefix: str
    origin: str
    destination: Destination
    tariff: Tariff

    def __post_init__(self) -> None:
        check_prefix(self.prefix)
        if check_origin(self.origin) != self.origin:
            raise InvalidRate(f"origin {self.origin!r} is not normalised")

    @property
    def friendly_name(self) -> str:
        return self.destination.friendly_name

    @property
    def iso_country(self) -> str:
        return self.destination.iso_country


class InboundType(Enum):
    """Called-number types that inbound prices distinguish."""

    LOCAL = "local"
    MOBILE = "mobile"
    NATIONAL = "national"
    TOLL_FREE = "toll_free"


@dataclass(frozen=True, slots=True)
class InboundPrice:
    """Per-minute price of receiving a call on a number of `number_type` in `country`.

    `caller` narrows it: `ALL`, a caller prefix (digits) or a caller number type written
    `type:mobile` — toll-free numbers cost more when a mobile phone calls them.
    """

    country: str
    number_type: InboundType
    caller: str
    base_price: Decimal
    current_price: Decimal
    increments: Increments = Increments()
    connection_fee: Decimal = Decimal(0)
    rounding: Rounding = DEFAULT_ROUNDING

    def __post_init__(self) -> None:
        _check_price(self.base_price, "base_price")
        _check_price(self.current_price, "current_price")
        _check_price(self.connection_fee, "connection_fee")


@dataclass(frozen=True, slots=True)
class SmsPrice:
    """Price per outbound message to `country` (optionally narrowed to a prefix)."""

    country: str
    prefix: str
    base_price: Decimal
    current_price: Decimal
    inbound_price: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        _check_price(self.base_price, "base_price")
        _check_price(self.current_price, "current_price")
        _check_price(self.inbound_price, "inbound_price")


@dataclass(frozen=True, slots=True)
class NumberPrice:
    """A phone number's one-time setup fee (NRC) and monthly fee (MRC)."""

    country: str
    category: str
    region: str
    setup_price: Decimal
    monthly_price: Decimal
    base_monthly_price: Decimal

    def __post_init__(self) -> None:
        _check_price(self.setup_price, "setup_price")
        _check_price(self.monthly_price, "monthly_price")
        _check_price(self.base_monthly_price, "base_monthly_price")


@dataclass(frozen=True, slots=True)
class ResourcePrice:
    """Price of `quantity` units of a usage resource (speech synthesis, recognition, ...)."""

    resource: str
    unit: str
    quantity: int
    base_price: Decimal
    current_price: Decimal

    def __post_init__(self) -> None:
        _check_price(self.base_price, "base_price")
        _check_price(self.current_price, "current_price")
        if self.quantity < 1:
            raise InvalidRate(f"resource {self.resource}: quantity must be >= 1")
