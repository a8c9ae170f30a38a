"""Money: exact decimal amounts in an ISO 4217 currency, rounding rules and ledger micros.

Floats are refused everywhere: a binary float cannot represent 0.1 and a bill must add up
to the last micro-unit. Amounts are `Decimal`; the ledger stores integers at 10^-6 of the
currency unit ("micros").
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Final

from telebill.domain.errors import InvalidMoney
from telebill.domain.iso4217 import CURRENCIES

MICROS_PER_UNIT: Final = 1_000_000
_MICRO: Final = Decimal("0.000001")
# Enough precision for a 15-digit amount with 12 decimals of rate precision.
_CONTEXT: Final = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN, traps=[decimal.InvalidOperation])


@dataclass(frozen=True, slots=True)
class Currency:
    """An active ISO 4217 currency with its number of minor-unit digits."""

    code: str
    minor_units: int
    name: str

    def __str__(self) -> str:
        return self.code


def currency(code: str) -> Currency:
    """The currency with ISO 4217 code `code` (case-insensitive); InvalidMoney if unknown."""
    if not isinstance(code, str):
        raise InvalidMoney(f"currency code must be a string, got {type(code).__name__}")
    upper = code.strip().upper()
    found = CURRENCIES.get(upper)
    if found is None:
        raise InvalidMoney(f"unknown currency code {code!r} (not an active ISO 4217 code)")
    return Currency(upper, found[0], found[1])


def to_decimal(value: object, field: str = "amount") -> Decimal:
    """Parse `value` (Decimal, int or decimal string) as an exact, finite Decimal.

    Floats are refused: the caller must say which decimal it means.
    """
    if isinstance(value, (bool, float)):
        raise InvalidMoney(f"{field}: {value!r} is a {type(value).__name__}; give a decimal string")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = Decimal(text)
        except decimal.InvalidOperation:
            raise InvalidMoney(f"{field}: {value!r} is not a decimal number") from None
    else:
        raise InvalidMoney(f"{field}: {value!r} is a {type(value).__name__}, not a decimal")
    if not result.is_finite():
        raise InvalidMoney(f"{field}: {value!r} is not a finite number")
    return result


class RoundingMethod(Enum):
    """How a charge is rounded: away from zero, half away from zero, or toward zero."""

    UP = "up"
    HALF_UP = "half_up"
    DOWN = "down"

    @property
    def decimal_mode(self) -> str:
        return {
            RoundingMethod.UP: decimal.ROUND_UP,
            RoundingMethod.HALF_UP: decimal.ROUND_HALF_UP,
            RoundingMethod.DOWN: decimal.ROUND_DOWN,
        }[self]


@dataclass(frozen=True, slots=True)
class Rounding:
    """A rounding rule: method plus number of decimals (0..6, the ledger's resolution)."""

    method: RoundingMethod = RoundingMethod.HALF_UP
    decimals: int = 6

    def __post_init__(self) -> None:
        if not 0 <= self.decimals <= 6:
            raise InvalidMoney(f"rounding decimals must be 0..6, got {self.decimals}")

    def apply(self, amount: Decimal) -> Decimal:
        quantum = Decimal(1).scaleb(-self.decimals)
        return amount.quantize(quantum, rounding=self.method.decimal_mode, context=_CONTEXT)

    def __str__(self) -> str:
        return f"{self.method.value}:{self.decimals}"

    @classmethod
    def parse(cls, text: str) -> Rounding:
        """Parse `half_up:6`, `up:4`, `down:2` (method alone means 6 decimals)."""
        raw = text.strip().lower().replace("-", "_")
        method_text, _, decimals_text = raw.partition(":")
        try:
            method = RoundingMethod(method_text)
        except ValueError:
            choices = ", ".join(m.value for m in RoundingMethod)
            raise InvalidMoney(f"rounding {text!r}: method must be one of {choices}") from None
        if not decimals_text:
            return cls(method)
        if not (decimals_text.isascii() and decimals_text.isdigit()):
            raise InvalidMoney(f"rounding {text!r}: decimals must be a whole number")
        return cls(method, int(decimals_text))


DEFAULT_ROUNDING: Final = Rounding()


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency. Arithmetic across currencies is refused."""

    amount: Decimal
    currency: Currency

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise InvalidMoney(f"money amount must be a finite Decimal, got {self.amount!r}")

    @classmethod
    def of(cls, amount: object, code: str) -> Money:
        return cls(to_decimal(amount), currency(code))

    def _same(self, other: Money) -> None:
        if other.currency.code != self.currency.code:
            raise InvalidMoney(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def rounded(self, rule: Rounding) -> Money:
        return Money(rule.apply(self.amount), self.currency)

    def to_minor_units(self) -> Money:
        """Rounded half-up to the currency's minor unit (invoice presentation)."""
        quantum = Decimal(1).scaleb(-self.currency.minor_units)
        return Money(self.amount.quantize(quantum, rounding=decimal.ROUND_HALF_UP), self.currency)

    def to_micros(self) -> int:
        return to_micros(self.amount)

    def __str__(self) -> str:
        return f"{format_decimal(self.amount)} {self.currency.code}"


def to_micros(amount: Decimal) -> int:
    """The exact integer number of micros in `amount`; refuses amounts finer than 10^-6."""
    scaled = amount.scaleb(6, context=_CONTEXT)
    if scaled != scaled.to_integral_value():
        raise InvalidMoney(f"{amount} has more than 6 decimals; round it before the ledger")
    return int(scaled)


def from_micros(micros: int) -> Decimal:
    return Decimal(micros).scaleb(-6)


def format_decimal(amount: Decimal) -> str:
    """Plain decimal notation, never exponent form, trailing zeros kept as given."""
    return f"{amount:f}"


def round_ratio(numerator: int, denominator: int, method: RoundingMethod) -> int:
    """`numerator / denominator` rounded to an integer by `method`, exactly (no precision loss)."""
    if denominator <= 0:
        raise InvalidMoney("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    q, r = divmod(abs(numerator), denominator)
    if r and (method is RoundingMethod.UP or (method is RoundingMethod.HALF_UP and 2 * r >= denominator)):
        q += 1
    return sign * q


def decimal_as_ratio(value: Decimal) -> tuple[int, int]:
    """`value` as an exact (integer numerator, power-of-ten denominator) pair."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise InvalidMoney(f"{value} is not finite")
    mantissa = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    if exponent >= 0:
        return mantissa * 10**exponent, 1
    return mantissa, 10**-exponent


def format_micros(micros: int, currency: Currency) -> str:
    """An amount of micros as a decimal string with at least the currency's minor units and
    no trailing zeros beyond them: 25000000 USD -> "25.00", 9958000 -> "9.958"."""
    value = from_micros(micros).normalize()
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -currency.minor_units:
        value = value.quantize(Decimal(1).scaleb(-currency.minor_units))
    return format_decimal(value)
