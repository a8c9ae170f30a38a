"""Prepaid credit rules: negative-balance policy, low-balance alerts, auto-recharge.

Amounts are micros of the account's currency. A low-balance alert and an auto-recharge each
fire once per *crossing* of their threshold. A crossing starts when spending (a hold, a
charge) takes the available balance to or below the threshold while the rule is armed, and
it ends only when credit added to the account (a top-up, an auto-recharge's own top-up
included) lifts the available balance above the threshold; that re-arms the rule. Money
coming back otherwise does not: a hold released when a call ends or expires, a charge
corrected down. If it did, every unanswered call of an account just above the threshold
would alert again (its hold dips below, its release lifts back above).

An auto-recharge whose own top-up leaves the balance at or below its threshold (an amount
smaller than the gap) does not end the crossing either: it is *spent*, and no further
recharge starts until a top-up lifts the balance above the threshold. Re-arming it instead
would charge the customer's card again on every call, one small top-up after another. At
most one recharge is in flight at a time, and a declined one stops auto-recharge until the
customer turns it on again (which retries: a declined recharge leaves it unspent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum

from telebill.domain.errors import InvalidInput

DEFAULT_LOW_BALANCE_THRESHOLD = 5_000_000  # 5.00 in the account currency


class NegativePolicy(Enum):
    CUT_OFF = "cut_off"  # a call ends when credit runs out
    ALLOW_NEGATIVE = "allow_negative"  # down to the credit limit; calls in progress continue


# local@domain.tld: the local part a dot-atom of RFC 5322's ASCII atext (no spaces, quotes or
# line breaks: the address goes into a mail header), the domain an ASCII name with a dot
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")


def is_email_address(text: str) -> bool:
    """A plain e-mail address (local@domain.tld), at most 254 characters."""
    # "=?" would start an encoded word, which mail software decodes into another address
    return len(text) <= 254 and "=?" not in text and _EMAIL.fullmatch(text) is not None


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
    auto_recharge_spent: bool = False  # its top-up landed at or below the threshold: this crossing had its recharge
    billing_address: str = ""
    vat_number: str = ""
    suspended: bool = False
    webhook_url: str = ""
    webhook_secret: str = ""
    notify_email: str = ""  # where notifications go by e-mail when there is no webhook

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


class BalanceChange(Enum):
    """What moved the available balance: only credit added ends a crossing."""

    SPENDING = "spending"  # a hold placed or released, a charge or its correction
    TOP_UP = "top_up"  # credit added by the customer or the operator
    AUTO_RECHARGE = "auto_recharge"  # credit added by the recharge an earlier crossing started


@dataclass(frozen=True, slots=True)
class BalanceEvents:
    """What a balance change sets off, and the settings to store afterwards."""

    settings: BillingSettings
    low_balance_alert: bool
    start_auto_recharge: bool


def after_balance_change(
    settings: BillingSettings, before: int, after: int, change: BalanceChange = BalanceChange.SPENDING
) -> BalanceEvents:
    """Alerts and auto-recharge are edge-triggered: fired once when spending takes the
    available balance to or below the threshold, re-armed only when credit added lifts it
    back above (see the module docstring). Most changes leave the settings as they were."""
    s = settings
    if change is not BalanceChange.SPENDING:
        if after > s.low_balance_threshold and s.low_balance_alerted:
            s = replace(s, low_balance_alerted=False)
        if after > s.auto_recharge_threshold:
            if s.auto_recharge_spent:
                s = replace(s, auto_recharge_spent=False)
        elif change is BalanceChange.AUTO_RECHARGE and not s.auto_recharge_spent:
            s = replace(s, auto_recharge_spent=True)
    alert = not s.low_balance_alerted and after <= s.low_balance_threshold and after < before
    if alert:
        s = replace(s, low_balance_alerted=True)
    recharge = recharge_armed(s) and after <= s.auto_recharge_threshold and after < before
    if recharge:
        s = replace(s, auto_recharge_in_flight=True)
    return BalanceEvents(s, alert, recharge)


def recharge_armed(s: BillingSettings) -> bool:
    """Whether spending down to the auto-recharge threshold would start a top-up."""
    return (
        s.auto_recharge_enabled
        and not s.auto_recharge_in_flight
        and not s.auto_recharge_declined
        and (not s.auto_recharge_spent)
    )


def quiet_above(s: BillingSettings) -> int | None:
    """The least available balance that spending can reach without an alert or a recharge
    (None: any): one above each threshold still armed."""
    bounds = [t + 1 for t, armed in ((s.low_balance_threshold, not s.low_balance_alerted),
                                    (s.auto_recharge_threshold, recharge_armed(s))) if armed]  # fmt: skip
    return max(bounds) if bounds else None
