"""Prepaid credit rules: negative-balance policy, low-balance alerts, auto-recharge.

Amounts are micros of the account's currency. An alert or an auto-recharge fires once per
*crossing*: when the available balance goes from above the threshold to at or below it,
and is re-armed when a top-up lifts the balance back above.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from telebill.domain.errors import InvalidInput

DEFAULT_LOW_BALANCE_THRESHOLD = 5_000_000  # 5.00 in the account currency


class NegativePolicy(Enum):
    CUT_OFF = "cut_off"  # a call ends when credit runs out
    ALLOW_NEGATIVE = "allow_negative"  # down to the credit limit; calls in progress continue


@dataclass(frozen=True, slots=True)
class BillingSettings:
    policy: NegativePolicy = NegativePolicy.CUT_OFF
    credit_limit: int = 0
    low_balance_threshold: int = DEFAULT_LOW_BALANCE_THRESHOLD
    low_balance_alerted: bool = False
    auto_recharge_enabled: bool = False
    auto_recharge_threshold: int = 0
    auto_recharge_amount: int = 0
    auto_recharge_in_flight: bool = False
    auto_recharge_declined: bool = False
    billing_address: str = ""
    vat_number: str = ""
    suspended: bool = False
    webhook_url: str = ""
    webhook_secret: str = ""

    def __post_init__(self) -> None:
        if self.credit_limit < 0:
            raise InvalidInput("credit_limit must not be negative")
        if self.low_balance_threshold < 0 or self.auto_recharge_threshold < 0:
            raise InvalidInput("thresholds must not be negative")
        if self.auto_recharge_enabled and self.auto_recharge_amount <= 0:
            raise InvalidInput("auto_recharge amount must be positive when auto-recharge is on")

    @property
    def floor(self) -> int:
        """The lowest available balance new spending may reach."""
        return -self.credit_limit if self.policy is NegativePolicy.ALLOW_NEGATIVE else 0

    @property
    def has_billing_identity(self) -> bool:
        return bool(self.billing_address.strip() or self.vat_number.strip())


@dataclass(frozen=True, slots=True)
class BalanceEvents:
    """What a balance change sets off, and the settings to store afterwards."""

    settings: BillingSettings
    low_balance_alert: bool
    start_auto_recharge: bool


def after_balance_change(settings: BillingSettings, before: int, after: int) -> BalanceEvents:
    """Alerts and auto-recharge are edge-triggered: fired once when the available balance
    crosses down through the threshold, re-armed when it is lifted back above it."""
    s = settings
    alert = False
    if after > s.low_balance_threshold:
        if s.low_balance_alerted:  # re-armed (most changes leave the settings as they were)
            s = replace(s, low_balance_alerted=False)
    elif not s.low_balance_alerted and after < before:
        s = replace(s, low_balance_alerted=True)
        alert = True
    recharge = False
    armed = s.auto_recharge_enabled and not s.auto_recharge_in_flight and not s.auto_recharge_declined
    if armed and after <= s.auto_recharge_threshold and after < before:
        s = replace(s, auto_recharge_in_flight=True)
        recharge = True
    return BalanceEvents(s, alert, recharge)
