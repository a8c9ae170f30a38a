"""Rating: the exact charge for one call under a quote, with its explanation.

charge = round(connection_fee + price_per_minute * billed_seconds / 60), rounded once by the
entry's rule (docs/adr/0002-rounding.md). An unanswered call costs nothing; an answered
call of zero seconds costs its connection fee only; a free destination costs nothing;
a blocked destination is refused with CallBlocked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from telebill.domain.catalog.plans import Quote
from telebill.domain.errors import CallBlocked, InvalidRate
from telebill.domain.money import Currency, Rounding, decimal_as_ratio, round_ratio


@dataclass(frozen=True, slots=True)
class CallUsage:
    """A voice call as the switch reports it."""

    origin: str
    destination: str
    start: datetime
    duration_s: int
    answered: bool = True

    def __post_init__(self) -> None:
        if self.duration_s < 0:
            raise InvalidRate(f"duration_s must be >= 0, got {self.duration_s}")


@dataclass(frozen=True, slots=True)
class Charge:
    amount: Decimal
    currency: Currency
    billed_s: int
    price_per_minute: Decimal
    connection_fee: Decimal
    rounding: Rounding
    quote: Quote
    reason: str

    def explain(self) -> list[str]:
        q = self.quote
        e = q.entry
        lines = [
            f"destination {q.destination.e164} ({q.destination.country or '??'}, {q.destination.number_type.value})",
            f"origin {q.origin.e164 if q.origin else 'unknown'}",
            f"tier {q.tier.describe()}; deck {q.deck.label}",
            f"entry prefix {e.prefix} from {e.origin}: {e.friendly_name}",
            f"list price {e.tariff.base_price}/min, charged {q.current_price}/min"
            + (f" ({q.override.describe()})" if q.override else ""),
            f"increments {e.tariff.increments}: billed {self.billed_s} s",
            f"connection fee {self.connection_fee}",
            f"rounding {self.rounding}: {self.amount} {self.currency}",
        ]
        if self.reason:
            lines.append(self.reason)
        return lines


def exact_charge(price_per_minute: Decimal, billed_s: int, fee: Decimal, rounding: Rounding) -> Decimal:
    """fee + price * billed / 60, rounded once, computed on integers (no precision loss)."""
    p_num, p_den = decimal_as_ratio(price_per_minute)
    f_num, f_den = decimal_as_ratio(fee)
    den = 60 * p_den * f_den
    num = (p_num * billed_s * f_den + f_num * 60 * p_den) * 10**rounding.decimals
    units = round_ratio(num, den, rounding.method)
    return Decimal(units).scaleb(-rounding.decimals)


def rate_call(usage: CallUsage, quote: Quote) -> Charge:
    tariff = quote.entry.tariff
    currency = quote.deck.currency
    rounding = tariff.rounding
    if tariff.blocked:
        raise CallBlocked(quote.destination.e164, quote.entry.prefix, quote.entry.friendly_name)
    zero = Decimal(0).scaleb(-rounding.decimals)
    if tariff.free:
        billed = tariff.increments.billed_seconds(usage.duration_s) if usage.answered else 0
        return Charge(zero, currency, billed, Decimal(0), Decimal(0), rounding, quote, "free destination")
    if not usage.answered:
        return Charge(zero, currency, 0, quote.current_price, Decimal(0), rounding, quote, "not answered")
    billed = tariff.increments.billed_seconds(usage.duration_s)
    fee = tariff.connection_fee
    amount = exact_charge(quote.current_price, billed, fee, rounding)
    return Charge(amount, currency, billed, quote.current_price, fee, rounding, quote, "")
