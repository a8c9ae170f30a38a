"""Settling a call's charge against its open hold: what usage reports and the end of a call
post, void or give back on the ledger."""

from __future__ import annotations

from dataclasses import replace

from telebill.domain.accounts import Account
from telebill.domain.ledger import TransferKind
from telebill.service.call_tariff import tariff_of
from telebill.service.hold_expiry import call_step_key
from telebill.service.ledger import Ledger
from telebill.service.ports import CallRow


def held_by(ledger: Ledger, call: CallRow) -> int:
    """What the call's open hold still reserves (0 once settled, e.g. expired)."""
    state = ledger.hold(call.hold_transfer_id) if call.hold_transfer_id is not None else None
    return state[0].amount if state is not None and not state[1] else 0


def settle_to(
    ledger: Ledger,
    account: Account,
    call: CallRow,
    customer_id: int,
    revenue_id: int,
    seconds: int,
    answered: bool = True,
) -> CallRow:
    """Charge the call up to `seconds`: settle the open hold and post what it did not cover.
    Consumed time is always charged (no floor): the service was delivered."""
    target = tariff_of(call).cost(seconds, answered)
    delta = target - call.charged
    step = f"settle:{call.usage_seq}"
    held = held_by(ledger, call)
    if call.hold_transfer_id is not None and held:
        posted = max(0, min(delta, held))
        settle = TransferKind.POST_PENDING if posted else TransferKind.VOID_PENDING
        ledger.transfer(
            call_step_key(account.sid, call.call_id, step), settle,
            customer_id, revenue_id, posted, account.currency.code, f"call {call.call_id}",
            pending_id=call.hold_transfer_id, fx_rate=call.fx_rate, guarded=True,
        )  # fmt: skip
        delta -= posted
    if delta > 0:
        ledger.transfer(
            call_step_key(account.sid, call.call_id, f"{step}:extra"), TransferKind.POSTED, customer_id, revenue_id,
            delta, account.currency.code, f"call {call.call_id}", fx_rate=call.fx_rate, guarded=True,
        )  # fmt: skip
    elif delta < 0:  # the final duration was shorter than time already charged: give it back
        ledger.transfer(
            call_step_key(account.sid, call.call_id, f"{step}:refund"), TransferKind.POSTED, revenue_id, customer_id,
            -delta, account.currency.code, f"call {call.call_id} correction", fx_rate=call.fx_rate,
            guarded=True,
        )  # fmt: skip
    return replace(call, charged=target, hold_transfer_id=None)
