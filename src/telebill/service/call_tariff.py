"""The tariff frozen on a call row, rebuilt for each charging step (once per distinct tariff)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from telebill.domain.catalog.entries import Increments
from telebill.domain.charging import CallTariff, convert
from telebill.domain.money import Rounding, to_micros
from telebill.service.ports import CallRow


def tariff_of(call: CallRow) -> CallTariff:
    return _tariff(
        call.price_per_minute, call.initial_s, call.subsequent_s, call.connection_fee, call.rounding, call.fx_rate,
        call.free,
    )  # fmt: skip


@lru_cache(maxsize=4096)
def _tariff(
    price: Decimal, initial_s: int, subsequent_s: int, fee: Decimal, rounding: str, fx_rate: Decimal, free: bool
) -> CallTariff:
    # a step asks for its call's tariff several times, and calls share a few tariffs
    return CallTariff(price, Increments(initial_s, subsequent_s), fee, Rounding.parse(rounding), fx_rate, free)


def sms_micros(call: CallRow) -> int:
    """The price of one message, as charged: the entry's rounding in the deck currency, then
    converted to the account's (ADR 6), in micros."""
    return to_micros(convert(Rounding.parse(call.rounding).apply(call.price_per_minute), call.fx_rate))
