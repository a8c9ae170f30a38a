"""Releasing holds that outlived their timeout: a call whose end never came must not keep
its customer's credit reserved for ever. The call of such a hold is marked `expired` in the
history: what its usage reports debited stays charged, and a late end still settles it.

The idempotency keys of a call's transfers are made here (`call_step_key`), so that a hold's
call can be found from its key."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from telebill.domain.ledger import TransferKind
from telebill.service.ledger import Ledger
from telebill.service.ports import TransferRow, UnitOfWorkFactory
from telebill.service.retries import retried


def call_step_key(account_sid: str, call_id: str, step: str) -> str:
    return f"call:{account_sid}:{call_id}:{step}"


def call_of_hold(key: str) -> tuple[str, str] | None:
    """The account sid and call id of a call's hold, from the hold's key (None: not a call's)."""
    if not key.startswith("call:"):
        return None
    account_sid, _, rest = key[len("call:") :].partition(":")
    call_id, found, seq = rest.rpartition(":hold:")
    return (account_sid, call_id) if found and account_sid and call_id and seq.isdigit() else None


def expire_holds(
    uow: UnitOfWorkFactory,
    now: datetime,
    limit: int,
    known_ids: dict[str, int],
    known_currencies: dict[int, str],
    after: datetime | None = None,
) -> tuple[int, bool]:
    """Release up to `limit` expired holds, each in a transaction of its own: a batch would
    keep the revenue row locked from its first release to its commit, across the customers'
    row locks of the others.

    `after`: every hold expiring at or before it is known to be settled or released, so only
    later ones are looked at. Returns how many holds were released, and whether that was every
    hold expiring by `now` (after `after`)."""
    with uow() as u:
        expired = u.ledger.expired_holds(now, limit, after)
    released = 0
    for hold in expired:
        released += retried(lambda hold=hold: _expire(uow, hold, now, known_ids, known_currencies))  # type: ignore[misc]
    return released, len(expired) < limit


def _expire(
    uow: UnitOfWorkFactory,
    hold: TransferRow,
    now: datetime,
    known_ids: dict[str, int],
    known_currencies: dict[int, str],
) -> int:
    with uow() as u:
        owner = call_of_hold(hold.idempotency_key)
        # rows locked in a charging step's order: the call, then the customer's, then revenue
        call = u.billing.call(*owner, lock=True) if owner is not None else None
        ledger = Ledger(u.ledger, now, known_ids, known_currencies)
        ledger.lock([hold.debit_account_id])
        state = ledger.hold(hold.id)
        if state is None or state[1]:  # settled meanwhile by the call's own end
            return 0
        ledger.transfer(
            f"expire:{hold.id}", TransferKind.EXPIRE_PENDING, hold.debit_account_id, hold.credit_account_id,
            0, hold.currency, f"expired {hold.reference}", pending_id=hold.id,
        )  # fmt: skip
        if call is not None and call.status == "active" and call.hold_transfer_id == hold.id:
            u.billing.update_call(replace(call, status="expired", hold_transfer_id=None))
        u.commit()
    return 1


class HoldExpiry:
    """Passes of `expire_holds`, remembering how far they are complete.

    After a pass that saw every expired hold, the holds that expired a hold timeout before it
    are not looked at again: a hold is placed expiring a hold timeout after its step began, so
    only a host whose clock lags by more than that (or a step open as long) could still add one
    below. That instant is kept in memory and in storage (the worker mark `hold_expiry`), so a
    new process, or a worker run from cron, starts from it too. A stored mark later than this
    process's clock allows (a pass made with a clock ahead) is not trusted: the pass then looks
    at every hold and sets the mark again, lower. So does a pass after the clock went back."""

    MARK = "hold_expiry"

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hold_timeout: timedelta,
        known_ids: dict[str, int],
        known_currencies: dict[int, str],
    ) -> None:
        self._uow = uow
        self._hold_timeout = hold_timeout
        self._known_ids = known_ids
        self._known_currencies = known_currencies
        self._through: datetime | None = None  # holds expiring by then are all settled
        self._last_pass: datetime | None = None

    def run(self, now: datetime, limit: int) -> int:
        if self._last_pass is not None and now < self._last_pass:
            self._through = None
        through = self._through
        if through is None:
            with self._uow() as u:
                stored = u.billing.mark(self.MARK)
            if stored is not None and stored <= now - self._hold_timeout:
                through = stored
        released, complete = expire_holds(self._uow, now, limit, self._known_ids, self._known_currencies, through)
        if complete:
            through = now - self._hold_timeout
            with self._uow() as u:
                u.billing.set_mark(self.MARK, through)
                u.commit()
        self._through = through
        self._last_pass = now
        return released
