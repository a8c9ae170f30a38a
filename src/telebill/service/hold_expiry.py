"""Releasing holds that outlived their timeout: a call whose end never came must not keep
its customer's credit reserved for ever."""

from __future__ import annotations

from datetime import datetime

from telebill.domain.ledger import TransferKind
from telebill.service.ledger import Ledger
from telebill.service.ports import TransferRow, UnitOfWorkFactory
from telebill.service.retries import retried


def expire_holds(
    uow: UnitOfWorkFactory, now: datetime, limit: int, known_ids: dict[str, int], known_currencies: dict[int, str]
) -> int:
    """Release up to `limit` expired holds, each in a transaction of its own: a batch would
    keep the revenue row locked from its first release to its commit, across the customers'
    row locks of the others. Returns how many were released."""
    with uow() as u:
        expired = u.ledger.expired_holds(now, limit)
    released = 0
    for hold in expired:
        released += retried(lambda hold=hold: _expire(uow, hold, now, known_ids, known_currencies))  # type: ignore[misc]
    return released


def _expire(
    uow: UnitOfWorkFactory,
    hold: TransferRow,
    now: datetime,
    known_ids: dict[str, int],
    known_currencies: dict[int, str],
) -> int:
    with uow() as u:
        ledger = Ledger(u.ledger, now, known_ids, known_currencies)
        # the customer's row first, as a charging step locks it (then the revenue row)
        ledger.lock([hold.debit_account_id])
        state = ledger.hold(hold.id)
        if state is None or state[1]:  # settled meanwhile by the call's own end
            return 0
        ledger.transfer(
            f"expire:{hold.id}", TransferKind.EXPIRE_PENDING, hold.debit_account_id, hold.credit_account_id,
            0, hold.currency, f"expired {hold.reference}", pending_id=hold.id,
        )  # fmt: skip
        u.commit()
    return 1
