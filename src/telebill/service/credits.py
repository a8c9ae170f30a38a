"""Prepaid credit: top-ups through a payment provider, balances, negative-balance policy,
low-balance alerts and auto-recharge. Credits never expire and are not refundable.

A top-up is idempotent by its key: the payment row (unique key) and the ledger transfer
(key `topup:<key>`) are written in one transaction, after the provider accepted the charge.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from telebill.domain.accounts import Account, Principal, Role
from telebill.domain.errors import Forbidden, IdempotencyConflict, InvalidInput, RetryableConflict
from telebill.domain.ledger import MAX_CUSTOMER_CREDIT_MICROS, MAX_TRANSFER_MICROS, AccountKind, TransferKind
from telebill.domain.money import format_decimal, format_micros, from_micros, to_decimal, to_micros
from telebill.domain.prepaid import (
    BalanceChange,
    BillingSettings,
    NegativePolicy,
    after_balance_change,
    is_email_address,
)
from telebill.service.ledger import Ledger, customer_credit_code
from telebill.service.ports import Clock, PaymentRow, UnitOfWork, UnitOfWorkFactory
from telebill.service.provider_ports import PaymentProvider, PaymentResult


@dataclass(frozen=True, slots=True)
class AccountBalance:
    currency: str
    balance: int  # posted credit, micros (negative under allow_negative)
    holds: int
    available: int
    settings: BillingSettings


@dataclass(frozen=True, slots=True)
class TopUpResult:
    payment_status: str  # succeeded | declined
    amount: Decimal
    currency: str
    balance: AccountBalance
    reason: str
    replayed: bool


def settings_of(uow: UnitOfWork, account_sid: str, lock: bool = False) -> BillingSettings:
    return uow.billing.settings(account_sid, lock) or BillingSettings()


def balance_events(
    uow: UnitOfWork,
    account: Account,
    settings: BillingSettings,
    before: int,
    after: int,
    now: datetime,
    change: BalanceChange = BalanceChange.SPENDING,
) -> BillingSettings:
    """Store the consequences of a balance change: an alert and an auto-recharge request,
    each at most once per crossing, as outbox messages in this transaction. Money in the
    messages is written as the API writes it (at least the currency's minor units)."""
    events = after_balance_change(settings, before, after, change)
    payload = {
        "account_sid": account.sid,
        "currency": account.currency.code,
        "available": format_micros(after, account.currency),
        "threshold": format_micros(settings.low_balance_threshold, account.currency),
        "at": now.isoformat(),
    }
    # One message per crossing: the random part keeps two crossings at the same instant (a
    # coarse or frozen clock) from colliding on the dedupe key and the second being dropped,
    # which for auto_recharge would leave it in flight with no request to settle it.
    stamp = f"{now.isoformat()}:{secrets.token_hex(4)}"
    if events.low_balance_alert:
        uow.billing.enqueue(account.sid, "balance.low", f"balance.low:{account.sid}:{stamp}", payload, now)
    if events.start_auto_recharge:
        recharge = {
            **payload,
            "threshold": format_micros(settings.auto_recharge_threshold, account.currency),  # the one crossed
            "amount": format_micros(settings.auto_recharge_amount, account.currency),
        }
        uow.billing.enqueue(account.sid, "auto_recharge", f"auto_recharge:{account.sid}:{stamp}", recharge, now)
    if events.settings != settings:
        uow.billing.save_settings(account.sid, events.settings)
    return events.settings


class CreditService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        provider: PaymentProvider,
        identity_required_for: frozenset[str] = frozenset({"USD", "EUR"}),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._provider = provider
        self._identity_required_for = identity_required_for

    def payments(self, account: Account, limit: int = 100, before: int | None = None) -> tuple[list[PaymentRow], bool]:
        """The account's top-ups, succeeded and declined, newest first (`before`: a payment id),
        and whether older ones follow."""
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit must be 1..1000")
        with self._uow() as uow:
            rows = uow.billing.payments_of(account.sid, limit + 1, before)
        return rows[:limit], len(rows) > limit

    def balance(self, account: Account) -> AccountBalance:
        with self._uow() as uow:
            return self._balance(uow, account, settings_of(uow, account.sid))

    @staticmethod
    def _balance(uow: UnitOfWork, account: Account, settings: BillingSettings) -> AccountBalance:
        ledger = Ledger(uow.ledger, datetime.min)
        found = ledger.repo.account_by_code(f"customer:{account.sid}:credit:{account.currency.code}")
        b = found.balance if found else None
        posted = b.credit_balance if b else 0
        holds = b.debits_pending if b else 0
        return AccountBalance(account.currency.code, posted, holds, posted - holds, settings)

    def update_settings(self, account: Account, changes: dict[str, Any]) -> AccountBalance:
        """Change policy, thresholds, auto-recharge, billing identity or webhook (money as
        decimal strings in the account currency)."""
        with self._uow() as uow:
            current = settings_of(uow, account.sid, lock=True)
            values: dict[str, Any] = {}
            for name, value in changes.items():
                if name in ("credit_limit", "low_balance_threshold", "auto_recharge_threshold", "auto_recharge_amount"):
                    # the recharge amount is paid: in the currency's own units, like a top-up
                    amount = _amount(account, value, name, paid=name == "auto_recharge_amount")
                    if amount < 0:
                        raise InvalidInput(f"{name} must not be negative")
                    values[name] = to_micros(amount)
                elif name == "policy":
                    try:
                        values[name] = NegativePolicy(value)
                    except ValueError:
                        raise InvalidInput("policy must be cut_off or allow_negative") from None
                elif name in ("auto_recharge_enabled", "suspended"):
                    if not isinstance(value, bool):
                        raise InvalidInput(f"{name} must be true or false")
                    values[name] = value
                elif name in ("billing_address", "vat_number", "webhook_url", "webhook_secret", "notify_email"):
                    if not isinstance(value, str):
                        raise InvalidInput(f"{name} must be text")
                    values[name] = value.strip()
                    if name == "notify_email" and values[name] and not is_email_address(values[name]):
                        raise InvalidInput("notify_email must be an e-mail address (name@domain)")
                    if name == "webhook_url" and values[name]:
                        parsed = urlsplit(values[name])
                        if parsed.scheme not in ("http", "https") or not parsed.hostname:
                            raise InvalidInput("webhook_url must be an http(s) URL with a host")
                else:
                    raise InvalidInput(f"{name}: not a setting")
            if values.get("auto_recharge_enabled"):
                values["auto_recharge_declined"] = False  # turning it on again retries after a decline
            if {"auto_recharge_enabled", "auto_recharge_threshold", "auto_recharge_amount"} & values.keys():
                # a recharge spent on this crossing was too small: new terms may recharge again
                values["auto_recharge_spent"] = False
            updated = replace(current, **values)
            if updated.auto_recharge_enabled and (
                values.get("auto_recharge_enabled") or "auto_recharge_amount" in values
            ):
                if not self._provider.collects_payment:
                    raise InvalidInput("auto_recharge: the payment provider cannot charge the customer")
                if updated.auto_recharge_amount <= 0:
                    raise InvalidInput("auto_recharge_amount must be positive when auto-recharge is on")
            if updated != current:  # a save counts a revision: charging steps in flight run again
                uow.billing.save_settings(account.sid, updated)
            result = self._balance(uow, account, updated)
            uow.commit()
        return result

    def top_up(
        self, account: Account, amount_text: object, key: str, source: str = "api", by: Principal | None = None
    ) -> TopUpResult:
        """Add credit: the provider charges the customer, then the ledger credits the account.

        `by`: the customer's credentials the request came with; None for the operator (the
        CLI, the operator token, the auto-recharge worker). A customer adds funds only through
        a provider that collects the payment, and only as admin or manager."""
        if by is not None:
            if by.role is Role.MEMBER:
                raise Forbidden("adding funds needs the role admin or manager; the caller has member")
            if not self._provider.collects_payment:
                raise Forbidden(
                    "the payment provider records payments received by other means: an operator enters them"
                    " (telebill topup, or the operator token)"
                )
        if not key or len(key) > 150:
            raise InvalidInput("Idempotency-Key: required, at most 150 characters")
        amount = _amount(account, amount_text, "amount")
        if amount <= 0:
            raise InvalidInput("amount must be positive")
        micros = to_micros(amount)
        digest = hashlib.sha256(json.dumps([account.sid, micros, source]).encode()).hexdigest()
        # payments recorded before amounts were compared as micros: "25" and "25.00" differed
        legacy = hashlib.sha256(json.dumps([account.sid, str(amount), source]).encode()).hexdigest()
        payment_key = f"{account.sid}:{key}"
        with self._uow() as uow:
            existing = uow.billing.payment_by_key(payment_key)
            settings = settings_of(uow, account.sid)
            if existing is not None:
                if existing.request_hash not in (digest, legacy):
                    raise IdempotencyConflict(f"Idempotency-Key {key!r} was used for another top-up")
                bal = self._balance(uow, account, settings)
                return TopUpResult(existing.status, amount, account.currency.code, bal, existing.reason, True)
            if account.currency.code in self._identity_required_for and not settings.has_billing_identity:
                raise InvalidInput(
                    f"accounts in {account.currency.code} need a billing address or VAT number before adding funds"
                )
            found = uow.ledger.account_by_code(customer_credit_code(account.sid, account.currency.code))
            if found is not None and found.balance.credits_posted + micros > MAX_CUSTOMER_CREDIT_MICROS:
                # refused before anyone is charged: the ledger would refuse the credit after it
                raise InvalidInput("amount: the account's ledger cannot take that much more credit")
        if source == "auto" and not self._provider.collects_payment:
            # an auto-recharge must take the money from the customer: this provider cannot
            result = PaymentResult(False, "none", "", "the payment provider cannot charge the customer")
        else:
            result = self._provider.charge(account.sid, amount, account.currency.code, payment_key)
        now = self._clock.now()
        replay = False
        try:
            outcome = self._store(account, result, payment_key, digest, micros, amount, source, now)
        except RetryableConflict:  # a concurrent request with the same key committed first
            replay = True
        if replay or outcome is None:  # answered outside the transaction: on SQLite it holds the write lock
            return self.top_up(account, amount_text, key, source, by)
        return outcome

    def _store(
        self,
        account: Account,
        result: PaymentResult,
        payment_key: str,
        digest: str,
        micros: int,
        amount: Decimal,
        source: str,
        now: datetime,
    ) -> TopUpResult | None:
        """Record the payment in its own transaction; None when a replay already did."""
        outcome = None
        with self._uow() as uow:
            # lock first: on PostgreSQL a concurrent replay then waits for the winner's commit
            # and sees its payment below, instead of failing on the unique key
            settings = settings_of(uow, account.sid, lock=True)
            if uow.billing.payment_by_key(payment_key) is None:
                outcome = self._record(uow, account, result, payment_key, digest, micros, amount, settings, source, now)
        return outcome

    def _record(
        self,
        uow: UnitOfWork,
        account: Account,
        result: PaymentResult,
        payment_key: str,
        digest: str,
        micros: int,
        amount: Decimal,
        settings: BillingSettings,
        source: str,
        now: datetime,
    ) -> TopUpResult:
        """Write the payment and, if it succeeded, the credit; commits the unit of work."""
        transfer_id = None
        if result.succeeded:
            ledger = Ledger(uow.ledger, now)
            customer = ledger.customer_credit(account.sid, account.currency.code)
            clearing = ledger.platform(AccountKind.PAYMENTS_CLEARING, account.currency.code)
            # read locked: charging steps spend without the settings' lock (step_guard.py), so
            # only the ledger row's lock keeps the balance the flags are decided on current
            ledger.lock([customer.id, clearing.id])
            before = ledger.balance(customer.id).credit_available
            transfer = ledger.transfer(
                f"topup:{payment_key}", TransferKind.POSTED, clearing.id, customer.id, micros,
                account.currency.code, f"top-up {result.provider} {result.reference}",
            )  # fmt: skip
            transfer_id = transfer.id
            if source == "auto":
                # saved here: balance_events saves only what it changes itself
                settings = replace(settings, auto_recharge_in_flight=False)
                uow.billing.save_settings(account.sid, settings)
            change = BalanceChange.AUTO_RECHARGE if source == "auto" else BalanceChange.TOP_UP
            settings = balance_events(uow, account, settings, before, before + micros, now, change)
        elif source == "auto":
            settings = replace(settings, auto_recharge_in_flight=False, auto_recharge_declined=True)
            uow.billing.save_settings(account.sid, settings)
            uow.billing.enqueue(
                account.sid, "auto_recharge.declined", f"auto_recharge.declined:{payment_key}",
                {"account_sid": account.sid, "amount": format_decimal(amount), "reason": result.reason}, now,
            )  # fmt: skip
        status = "succeeded" if result.succeeded else "declined"
        uow.billing.add_payment(
            PaymentRow(
                None,
                account.sid,
                payment_key,
                digest,
                micros,
                account.currency.code,
                result.provider,
                status,
                result.reference,
                result.reason,
                transfer_id,
                now,
            )
        )
        bal = self._balance(uow, account, settings)
        uow.commit()
        return TopUpResult(status, amount, account.currency.code, bal, result.reason, False)


def _amount(account: Account, value: object, name: str, paid: bool = True) -> Decimal:
    """A money amount in the account currency (a decimal string); `paid`: one that changes
    hands, so in the currency's minor units. Bounded so that ledger sums stay exact."""
    amount = to_decimal(value, name)
    if abs(amount) > from_micros(MAX_TRANSFER_MICROS):
        raise InvalidInput(f"{name}: at most {format_decimal(from_micros(MAX_TRANSFER_MICROS))}")
    if paid and amount != amount.quantize(Decimal(1).scaleb(-account.currency.minor_units)):
        raise InvalidInput(f"{name}: {account.currency.code} has {account.currency.minor_units} decimals")
    return amount
