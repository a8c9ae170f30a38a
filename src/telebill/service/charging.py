"""Real-time charging: authorise a call (may it start, for how long), debit it as it goes,
and settle it at the end. All of a step runs in one transaction: the call row (locked),
the ledger transfers and the outbox messages move together or not at all.

Each request is idempotent: authorising a call id again with the same content returns the
first answer (other content: IdempotencyConflict); a usage report of a time already charged
changes nothing; ending an ended call returns the first end's answer. A cost is cumulative
(`cost(seconds)`), so the debits of a call add up exactly to the charge of its duration.

On PostgreSQL a step reads its account's settings and balance without locks and commits with
a guard; when the account changed under it, it runs again with locks (step_guard.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime, timedelta

from telebill.domain.accounts import Account
from telebill.domain.charging import CallKind, Refusal
from telebill.domain.errors import (
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    TelebillError,
)
from telebill.domain.ledger import AccountKind, TransferKind
from telebill.domain.prepaid import BillingSettings, NegativePolicy
from telebill.service.call_admission import CallRequest, admit, asked_call, line_e164_of, suspended
from telebill.service.call_settlement import held_by, settle_to
from telebill.service.call_tariff import sms_micros, tariff_of
from telebill.service.charging_answers import Authorization, CallEnd, Usage
from telebill.service.credits import settings_of
from telebill.service.hold_expiry import HoldExpiry, call_step_key
from telebill.service.ledger import Floor, Ledger, customer_credit_code
from telebill.service.ports import CallRow, Clock, UnitOfWork, UnitOfWorkFactory
from telebill.service.pricing import PricingService
from telebill.service.step_guard import NO_BOUND, commit_step, consequences, stepped
from telebill.service.step_ports import GuardFailed, StepGuard, StepReads

MAX_CALL_S = 4 * 3600


class ChargingService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        pricing: PricingService,
        interval_s: int = 60,
        hold_timeout_s: int = 4 * 3600 + 600,
        unlocked_steps: bool = True,
    ) -> None:
        self._uow = uow
        self._unlocked_steps = unlocked_steps
        self._clock = clock
        self._pricing = pricing
        self._interval = interval_s
        self._hold_timeout = timedelta(seconds=hold_timeout_s)
        self._account_ids: dict[str, int] = {}
        self._account_currencies: dict[int, str] = {}
        self._expiry = HoldExpiry(uow, self._hold_timeout, self._account_ids, self._account_currencies)

    # -- helpers --------------------------------------------------------------------------

    def _ledger(self, uow: UnitOfWork, now: datetime) -> Ledger:
        return Ledger(uow.ledger, now, self._account_ids, self._account_currencies)

    @staticmethod
    def _key(account: Account, call_id: str, step: str) -> str:
        return call_step_key(account.sid, call_id, step)

    def _read_ahead(
        self,
        uow: UnitOfWork,
        account: Account,
        call_id: str,
        *,
        hold_of_call: bool = False,
        line_e164: str | None = None,
        blocks: bool = False,
        unlocked: bool = False,
        new_call: bool = False,
    ) -> bool:
        """Tell the unit of work which rows the step reads (its customer ledger account once
        its id is known): a database server then sends them in one round trip. True: the
        settings and the ledger are read without locks, and the step commits guarded."""
        known = self._account_ids.get(customer_credit_code(account.sid, account.currency.code))
        return uow.read_ahead(
            StepReads(account.sid, call_id, hold_of_call, line_e164, blocks, known, unlocked, new_call)
        )

    def _ledger_accounts(self, ledger: Ledger, account: Account, service: str) -> tuple[int, int]:
        customer = ledger.customer_credit_id(account.sid, account.currency.code)
        return customer, ledger.platform_id(AccountKind.REVENUE, account.currency.code, service)

    # -- authorise ------------------------------------------------------------------------

    def authorize(self, account: Account, request: CallRequest) -> Authorization:
        if not request.call_id or len(request.call_id) > 128:
            raise InvalidInput("call_id: required, at most 128 characters")
        if request.direction not in ("outbound", "inbound"):
            raise InvalidInput("direction must be outbound or inbound")
        try:
            kind = CallKind(request.kind)
        except ValueError:
            raise InvalidInput(f"kind must be one of {', '.join(k.value for k in CallKind)}") from None
        digest = hashlib.sha256(
            json.dumps([request.origin, request.destination, request.direction, request.kind]).encode()
        ).hexdigest()
        return stepped(self._unlocked_steps, lambda unlocked: self._authorize(account, request, kind, digest, unlocked))

    def _authorize(
        self, account: Account, request: CallRequest, kind: CallKind, digest: str, unlocked: bool
    ) -> Authorization:
        now = self._clock.now()
        # Prices are read before the transaction opens: on SQLite a transaction holds the
        # write lock, and the catalog reads through units of work of its own.
        view = self._pricing.view(account) if account.plan else None
        with self._uow() as uow:
            outbound = request.direction == "outbound"
            # without locks a first authorisation is assumed: a repeated one fails at the commit
            # (the call's key exists) and runs again with locks, which read the call
            unlocked = self._read_ahead(
                uow, account, request.call_id, line_e164=line_e164_of(request), blocks=outbound, unlocked=unlocked,
                new_call=unlocked,
            )  # fmt: skip
            existing = uow.billing.call(account.sid, request.call_id, lock=True)
            if existing is not None:
                if unlocked:  # a replay commits nothing to guard: answered from the account as it is
                    raise GuardFailed("a repeated authorisation is answered with locks")
                if existing.request_hash != digest:
                    raise IdempotencyConflict(f"call {request.call_id} was authorised with other details")
                return self._answer(uow, account, existing)
            new_call = asked_call(account, request, kind, digest, now)
            try:
                refusal, call = admit(uow, account, request, kind, new_call, view)
                admission_error: TelebillError | None = None
            except TelebillError as exc:  # a bad number, no exchange rate: unless suspended (below)
                refusal, call, admission_error = None, new_call, exc
            # locked (as usage, end and top-up do, in the same order): the alert and auto-recharge
            # flags are read here and written back by balance_events. Taken after the policy
            # reads, so that concurrent calls of the account wait on it for less time; a
            # suspended account is refused first all the same, with the call as it was asked.
            settings = settings_of(uow, account.sid, lock=True)
            if suspended(account, settings):
                refusal, call = Refusal.ACCOUNT_SUSPENDED, new_call
            elif admission_error is not None:
                if unlocked:  # perhaps suspended meanwhile, which is answered first
                    raise GuardFailed("an admission error is answered with locks")
                raise admission_error
            if refusal is not None:
                call = _refused(call, refusal)
                uow.billing.add_call(call)
                # without locks, the refusal may rest on rows kept from earlier steps: it
                # stands if the account's settings, lines and blocks are still as read
                commit_step(uow, StepGuard(account.sid, None, NO_BOUND) if unlocked else None)
                return self._answer(uow, account, call)
            call, available, guard = self._open(uow, account, kind, call, settings, now, unlocked)
            uow.billing.add_call(call)
            held = tariff_of(call).cost(call.granted_until_s) if call.hold_transfer_id is not None else 0
            committed = commit_step(uow, guard)
            if committed is not None:  # read without locks: the answer from the balance as committed
                available = committed.credit_available
            return self._answer(uow, account, call, settings, available, held)

    def _open(
        self,
        uow: UnitOfWork,
        account: Account,
        kind: CallKind,
        call: CallRow,
        settings: BillingSettings,
        now: datetime,
        unlocked: bool,
    ) -> tuple[CallRow, int, StepGuard | None]:
        """Place the first hold (voice) or take the message price (SMS). Returns the call
        (not yet stored), the available balance it leaves, and the guard of an unlocked step
        that moved money."""
        tariff = tariff_of(call)
        ledger = self._ledger(uow, now)
        customer_id, revenue_id = self._ledger_accounts(ledger, account, "sms" if kind is CallKind.SMS else "voice")
        available = ledger.balance(customer_id).credit_available
        budget = available - settings.floor
        if kind is CallKind.SMS:
            price = sms_micros(call)
            if price > budget:
                if unlocked:  # refused for credit: decided on the balance as it is, locked
                    raise GuardFailed("the message price is above the budget read")
                return _refused(call, Refusal.INSUFFICIENT_CREDIT), available, None
            guard = self._unmoved(account, customer_id, unlocked)
            if price:
                ledger.transfer(
                    self._key(account, call.call_id, "sms"), TransferKind.POSTED, customer_id, revenue_id, price,
                    account.currency.code, f"sms {call.call_id}", fx_rate=call.fx_rate,
                    floor=Floor(customer_id, settings.floor), guarded=True,
                )  # fmt: skip
                guard = consequences(
                    uow, account, settings, available, available - price, now, customer_id,
                    unlocked=unlocked, covered=True,
                )  # fmt: skip
            call = replace(call, status="ended", charged=price, duration_s=0, billed_s=0, answered=True, ended_at=now)
            return call, available - price, guard
        if tariff.free:
            return replace(call, granted_until_s=MAX_CALL_S), available, self._unmoved(account, customer_id, unlocked)
        grant = tariff.affordable_seconds(budget, self._interval)
        if unlocked and grant < self._interval:
            raise GuardFailed("the credit read covers less than an interval")
        if grant == 0:
            return _refused(call, Refusal.INSUFFICIENT_CREDIT), available, None
        call = self._hold(uow, ledger, account, call, customer_id, revenue_id, 0, grant, now)
        # the first hold lowers the available balance too: a crossing here alerts now, not at
        # the next call (usage and end only see drops from where the hold left it)
        after = ledger.balance(customer_id).credit_available
        guard = consequences(
            uow, account, settings, available, after, now, customer_id, unlocked=unlocked, covered=True
        )
        return call, after, guard

    @staticmethod
    def _unmoved(account: Account, customer_id: int, unlocked: bool) -> StepGuard | None:
        """The guard of an unlocked step that moves no money: the settings it decided on (and
        the line and blocks, which count in their revision) still stand at its commit."""
        return StepGuard(account.sid, customer_id, NO_BOUND) if unlocked else None

    def _hold(
        self,
        uow: UnitOfWork,
        ledger: Ledger,
        account: Account,
        call: CallRow,
        customer_id: int,
        revenue_id: int,
        start_s: int,
        seconds: int,
        now: datetime,
    ) -> CallRow:
        """Reserve the cost of the next `seconds` after `start_s`."""
        # up to the cost of the granted time, less what is already charged: at the start of a
        # call that includes the connection fee, which no earlier step has charged
        amount = tariff_of(call).cost(start_s + seconds) - call.charged
        hold_id = None
        if amount > 0:
            hold = ledger.transfer(
                self._key(account, call.call_id, f"hold:{call.usage_seq}"), TransferKind.PENDING, customer_id,
                revenue_id, amount, account.currency.code, f"hold {call.call_id}",
                expires_at=now + self._hold_timeout, fx_rate=call.fx_rate, guarded=True,
            )  # fmt: skip
            hold_id = hold.id
        return replace(call, hold_transfer_id=hold_id, granted_until_s=start_s + seconds)

    def _answer(
        self,
        uow: UnitOfWork,
        account: Account,
        call: CallRow,
        settings: BillingSettings | None = None,
        available: int | None = None,
        held: int | None = None,
    ) -> Authorization:
        """The authorisation answer; what the caller already knows (settings, the available
        balance, the amount held) is passed in rather than read again."""
        if call.status == "refused":
            return Authorization(False, call.reason, 0, 0, call.price_per_minute, call.currency, call.free, call)
        settings = settings or settings_of(uow, account.sid)
        tariff = tariff_of(call)
        if call.free or call.kind == CallKind.SMS.value:
            max_s = MAX_CALL_S if call.kind != CallKind.SMS.value else 0
        else:
            if available is None:
                ledger = self._ledger(uow, call.created_at)
                customer_id = ledger.customer_credit_id(account.sid, account.currency.code)
                available = ledger.balance(customer_id).credit_available
            if held is None:
                held = held_by(self._ledger(uow, call.created_at), call)
            budget = available + held - settings.floor + call.charged
            max_s = tariff.affordable_seconds(budget, MAX_CALL_S)
        return Authorization(
            True, None, max_s, call.granted_until_s, call.price_per_minute, call.currency, call.free, call
        )

    # -- usage and end --------------------------------------------------------------------

    def usage(self, account: Account, call_id: str, used_s: int) -> Usage:
        if used_s < 0 or used_s > MAX_CALL_S:
            raise InvalidInput(f"used_s must be 0..{MAX_CALL_S}")
        return stepped(self._unlocked_steps, lambda unlocked: self._usage(account, call_id, used_s, unlocked))

    def _usage(self, account: Account, call_id: str, used_s: int, unlocked: bool) -> Usage:
        now = self._clock.now()
        with self._uow() as uow:
            unlocked = self._read_ahead(uow, account, call_id, hold_of_call=True, unlocked=unlocked)
            call = self._active_call(uow, account, call_id)
            if call.status != "active" or used_s <= call.used_s or call.kind == CallKind.SMS.value:
                if unlocked:  # nothing to commit, so nothing guarded: answered with locks
                    raise GuardFailed("a repeated usage report is answered with locks")
                # a replayed (or stale) report answers like the report that charged this time
                left = call.granted_until_s - call.used_s
                negative = settings_of(uow, account.sid).policy is NegativePolicy.ALLOW_NEGATIVE
                proceed = call.status == "active" and left > 0 and (left >= self._interval or negative)
                return Usage(proceed, call.granted_until_s, call.charged, call)
            ledger = self._ledger(uow, now)
            held_by(ledger, call)  # the call row is locked: the hold-expiry worker waits for this step
            settings = settings_of(uow, account.sid, lock=True)
            customer_id, revenue_id = self._ledger_accounts(ledger, account, "voice")
            before = ledger.balance(customer_id).credit_available
            call = settle_to(ledger, account, call, customer_id, revenue_id, used_s)
            call = replace(call, used_s=used_s, usage_seq=call.usage_seq + 1)
            tariff = tariff_of(call)
            grant = cap = min(self._interval, MAX_CALL_S - used_s)  # never past what `end` accepts
            if not tariff.free:
                budget = ledger.balance(customer_id).credit_available - settings.floor
                grant = tariff.extra_affordable(used_s, budget, grant)
            if unlocked and grant < cap:
                raise GuardFailed("the credit read covers less than the next interval")
            call = self._hold(uow, ledger, account, call, customer_id, revenue_id, used_s, grant, now)
            uow.billing.update_call(call)
            after = ledger.balance(customer_id).credit_available
            guard = consequences(
                uow, account, settings, before, after, now, customer_id, unlocked=unlocked, covered=not tariff.free
            )
            commit_step(uow, guard)
        proceed = grant >= self._interval or (settings.policy is NegativePolicy.ALLOW_NEGATIVE and grant > 0)
        return Usage(proceed and grant > 0, call.granted_until_s, call.charged, call)

    def end(self, account: Account, call_id: str, duration_s: int, answered: bool) -> CallEnd:
        if duration_s < 0 or duration_s > MAX_CALL_S:
            raise InvalidInput(f"duration_s must be 0..{MAX_CALL_S}")
        return stepped(
            self._unlocked_steps, lambda unlocked: self._end(account, call_id, duration_s, answered, unlocked)
        )

    def _end(self, account: Account, call_id: str, duration_s: int, answered: bool, unlocked: bool) -> CallEnd:
        now = self._clock.now()
        with self._uow() as uow:
            unlocked = self._read_ahead(uow, account, call_id, hold_of_call=True, unlocked=unlocked)
            call = self._active_call(uow, account, call_id)
            ledger = self._ledger(uow, now)
            customer_id, revenue_id = self._ledger_accounts(
                ledger, account, "sms" if call.kind == CallKind.SMS.value else "voice"
            )
            if call.status not in ("active", "expired"):  # expired: its hold was released, end still settles it
                if unlocked:  # nothing to commit, so nothing guarded: answered with locks
                    raise GuardFailed("a repeated end is answered with locks")
                balance = ledger.balance(customer_id).credit_balance
                return CallEnd(call.charged, call.billed_s or 0, balance, call)
            held_by(ledger, call)  # the call row is locked: the hold-expiry worker waits for this step
            settings = settings_of(uow, account.sid, lock=True)
            before = ledger.balance(customer_id).credit_available
            connected = answered or call.kind == CallKind.VOICEMAIL.value  # voicemail is billed as connected
            call = settle_to(ledger, account, call, customer_id, revenue_id, duration_s, connected)
            billed = tariff_of(call).billed_seconds(duration_s, connected)
            call = replace(
                call, status="ended", duration_s=duration_s, billed_s=billed,
                answered=connected, ended_at=now, used_s=max(call.used_s, duration_s),
            )  # fmt: skip
            uow.billing.update_call(call)
            after = ledger.balance(customer_id)
            guard = consequences(
                uow, account, settings, before, after.credit_available, now, customer_id,
                unlocked=unlocked, covered=False,
            )  # fmt: skip
            committed = commit_step(uow, guard)
            if committed is not None:  # read without locks: the balance as committed
                after = committed
        return CallEnd(call.charged, call.billed_s or 0, after.credit_balance, call)

    def _active_call(self, uow: UnitOfWork, account: Account, call_id: str) -> CallRow:
        call = uow.billing.call(account.sid, call_id, lock=True)
        if call is None:
            raise NotFound(f"call {call_id} was not authorised")
        return call

    def history(self, account: Account, limit: int = 100, before: datetime | None = None) -> list[CallRow]:
        """Newest first. A call still active a hold timeout (at least 4 h and an interval)
        after it started is lost and shows as expired: the hold-expiry worker stores that for a
        call with a hold, which it releases; a call holding nothing (free, or out of credit) has
        nothing to release and is only shown so."""
        with self._uow() as uow:
            calls = uow.billing.calls_of(account.sid, limit, before)
        # no call outlives the longest `end` accepts: with a hold timeout shorter than that, a
        # call reporting its usage renews its hold and may still be going
        lost_before = self._clock.now() - max(self._hold_timeout, timedelta(seconds=MAX_CALL_S + self._interval))
        return [
            replace(c, status="expired") if c.status == "active" and c.created_at <= lost_before else c for c in calls
        ]

    def expire_holds(self, limit: int = 500) -> int:
        """Release holds that outlived their timeout (hold_expiry.py)."""
        return self._expiry.run(self._clock.now(), limit)


def _refused(call: CallRow, refusal: Refusal) -> CallRow:
    return replace(call, status="refused", reason=refusal.value)
