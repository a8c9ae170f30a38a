"""Real-time charging arithmetic: what a call costs so far, and how long credit lasts.

A call's tariff is frozen when it is authorised (price, increments, fee, rounding, exchange
rate), so a deck or rate change during the call does not change its price. Costs are
cumulative: the charge after `s` seconds is `cost(s)`, each interim debit is the difference
from the last one, and the debits of a call add up to exactly `cost(duration)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from telebill.domain.catalog.entries import Increments
from telebill.domain.money import Rounding, to_micros
from telebill.domain.rating import exact_charge

_MICRO = Decimal("0.000001")


class Refusal(Enum):
    """Why a call may not start or go on (the `reason` of an authorisation)."""

    INTERNATIONAL_CALLING_DISABLED = "international_calling_disabled"
    DESTINATION_BLOCKED = "destination_blocked"
    EMERGENCY_NUMBER = "emergency_number"
    SMS_TO_ANOTHER_COUNTRY = "sms_to_another_country"
    INSUFFICIENT_CREDIT = "insufficient_credit"
    ACCOUNT_SUSPENDED = "account_suspended"
    NOT_A_LINE_OF_THE_ACCOUNT = "not_a_line_of_the_account"
    LINE_NOT_ASSIGNED_TO_MEMBER = "line_not_assigned_to_member"
    NO_PRICE = "no_price"


class CallKind(Enum):
    VOICE = "voice"
    VOICEMAIL = "voicemail"
    NOTIFICATION = "notification"
    VERIFICATION = "verification"
    CONFERENCE = "conference"
    SMS = "sms"

    @property
    def is_voice(self) -> bool:
        return self is not CallKind.SMS


@dataclass(frozen=True, slots=True)
class CallTariff:
    """The price of one call as frozen at authorisation, in the deck's currency, and the
    rate that converts it to the account's."""

    price_per_minute: Decimal
    increments: Increments
    connection_fee: Decimal
    rounding: Rounding
    fx_rate: Decimal
    free: bool = False

    def cost(self, seconds: int, answered: bool = True) -> int:
        """Micros of the account's currency for a call of `seconds` so far."""
        if self.free or not answered:
            return 0
        billed = self.increments.billed_seconds(seconds)
        amount = exact_charge(self.price_per_minute, billed, self.connection_fee, self.rounding)
        return to_micros(convert(amount, self.fx_rate))

    def billed_seconds(self, seconds: int, answered: bool = True) -> int:
        return self.increments.billed_seconds(seconds) if answered else 0

    def affordable_seconds(self, budget: int, cap: int) -> int:
        """The longest call, up to `cap` seconds, whose cost stays within `budget` micros."""
        if self.free or self.cost(cap) <= budget:
            return cap
        lo, hi = 0, cap  # cost(lo) <= budget < cost(hi)
        if self.cost(1) > budget:
            return 0
        lo = 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.cost(mid) <= budget:
                lo = mid
            else:
                hi = mid
        return lo

    def extra_affordable(self, start_s: int, budget: int, interval: int) -> int:
        """The most seconds (up to `interval`) after `start_s` whose extra cost fits `budget`."""
        base = self.cost(start_s)
        if self.cost(start_s + interval) - base <= budget:
            return interval
        lo, hi = 0, interval
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.cost(start_s + mid) - base <= budget:
                lo = mid
            else:
                hi = mid
        return lo


def convert(amount: Decimal, fx_rate: Decimal) -> Decimal:
    """An amount in the account's currency, half-up to the micro (ADR 0006)."""
    if fx_rate == 1:
        return amount
    return (amount * fx_rate).quantize(_MICRO, rounding=ROUND_HALF_UP)
