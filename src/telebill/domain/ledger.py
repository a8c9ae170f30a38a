"""The ledger: double-entry, append-only, in integer micros, with two-phase transfers.

Every movement of money is a transfer from one ledger account (debited) to another
(credited), of a positive amount in one currency. A *pending* transfer reserves the amount
(a hold) without moving it; it is later *posted* (all or part) or *voided*, each by a new
transfer that names it. Nothing is ever updated or deleted: a correction is a new transfer.

Balances follow TigerBeetle's model: each account keeps debits and credits, posted and
pending. A customer's credit account is credit-normal (we owe the customer): its balance
is `credits_posted - debits_posted`, and what the customer can still spend is that minus
`debits_pending`, plus the credit limit of its negative-balance policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from telebill.domain.errors import InvalidInput

# Balances are stored as 64-bit integers, and SQLite turns a sum past them into an inexact
# REAL: no ledger account's total may pass MAX_STORED_MICROS (about 9.2 * 10^18). Far below
# it, one transfer moves at most 10^15 micros (a thousand million units of any currency), and
# a customer's credit may total at most 10^18 (checked before a payment is taken: ADR 8).
MAX_TRANSFER_MICROS: Final = 10**15
MAX_CUSTOMER_CREDIT_MICROS: Final = 10**18
MAX_STORED_MICROS: Final = 2**63 - 1


class AccountKind(Enum):
    CUSTOMER_CREDIT = "customer_credit"  # prepaid credit a customer can spend
    REVENUE = "revenue"  # one per service (voice, sms, numbers, ...)
    TAX_PAYABLE = "tax_payable"
    PAYMENTS_CLEARING = "payments_clearing"  # money received, not yet settled
    FX_BROKERAGE = "fx_brokerage"  # one per currency: where conversions cross


class TransferKind(Enum):
    POSTED = "posted"  # moves money now
    PENDING = "pending"  # reserves money (a hold)
    POST_PENDING = "post_pending"  # settles part or all of a hold
    VOID_PENDING = "void_pending"  # releases a hold
    EXPIRE_PENDING = "expire_pending"  # releases a hold that outlived its timeout


@dataclass(frozen=True, slots=True)
class Balance:
    """Debits and credits of one ledger account, posted and pending, in micros."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def credit_balance(self) -> int:
        """Posted balance of a credit-normal account."""
        return self.credits_posted - self.debits_posted

    @property
    def credit_available(self) -> int:
        """Posted balance less the holds placed on it."""
        return self.credit_balance - self.debits_pending

    def plus(self, delta: Balance) -> Balance:
        return Balance(
            self.debits_posted + delta.debits_posted,
            self.credits_posted + delta.credits_posted,
            self.debits_pending + delta.debits_pending,
            self.credits_pending + delta.credits_pending,
        )

    # built field by field rather than with dataclasses.replace: these run on every transfer
    def debit(self, amount: int, pending: bool) -> Balance:
        dp, cp, dq, cq = self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending
        return Balance(dp, cp, dq + amount, cq) if pending else Balance(dp + amount, cp, dq, cq)

    def credit(self, amount: int, pending: bool) -> Balance:
        dp, cp, dq, cq = self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending
        return Balance(dp, cp, dq, cq + amount) if pending else Balance(dp, cp + amount, dq, cq)

    def release(self, debit_side: bool, amount: int) -> Balance:
        """Take `amount` out of pending (the hold is posted or voided)."""
        dp, cp, dq, cq = self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending
        return Balance(dp, cp, dq - amount, cq) if debit_side else Balance(dp, cp, dq, cq - amount)


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of a transfer on one account. Pending legs may be negative: a release."""

    account_id: int
    debit: bool
    amount: int
    pending: bool


def legs_of(
    kind: TransferKind,
    debit_account: int,
    credit_account: int,
    amount: int,
    pending_amount: int = 0,
) -> list[Leg]:
    """The postings a transfer writes. For POST_PENDING, `amount` is what is posted and
    `pending_amount` the hold it settles (the rest of the hold is released)."""
    moves_now = kind in (TransferKind.POSTED, TransferKind.PENDING)
    if amount < 0 or (moves_now and amount == 0):
        raise InvalidInput(f"amount must be positive, got {amount}")
    if amount > MAX_TRANSFER_MICROS:
        raise InvalidInput(f"amount {amount} is more than one transfer may move ({MAX_TRANSFER_MICROS} micros)")
    if debit_account == credit_account:
        raise InvalidInput("a transfer needs two different accounts")
    if kind is TransferKind.POSTED:
        return [Leg(debit_account, True, amount, False), Leg(credit_account, False, amount, False)]
    if kind is TransferKind.PENDING:
        return [Leg(debit_account, True, amount, True), Leg(credit_account, False, amount, True)]
    legs = [
        Leg(debit_account, True, -pending_amount, True),
        Leg(credit_account, False, -pending_amount, True),
    ]
    if kind is TransferKind.POST_PENDING:
        if amount > pending_amount:
            raise InvalidInput(f"cannot post {amount} of a hold of {pending_amount}")
        if amount:
            legs += [Leg(debit_account, True, amount, False), Leg(credit_account, False, amount, False)]
    return legs


def apply(balance: Balance, leg: Leg) -> Balance:
    if leg.pending:
        if leg.amount < 0:
            return balance.release(leg.debit, -leg.amount)
        return balance.debit(leg.amount, True) if leg.debit else balance.credit(leg.amount, True)
    return balance.debit(leg.amount, False) if leg.debit else balance.credit(leg.amount, False)


def legs_balance(legs: list[Leg]) -> bool:
    """Double entry: the debit legs and the credit legs of a transfer are equal, per phase."""
    for pending in (False, True):
        debits = sum(leg.amount for leg in legs if leg.debit and leg.pending is pending)
        credits = sum(leg.amount for leg in legs if not leg.debit and leg.pending is pending)
        if debits != credits:
            return False
    return True
