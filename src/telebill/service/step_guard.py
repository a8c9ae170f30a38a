"""Charging steps that read the account without locking it (PostgreSQL), and what their
commit must find still true.

A charging step locked its account's prepaid settings and customer ledger account from its
first read to its COMMIT: concurrent calls of one account then queued on those rows for a
step's Python work and two round trips each (ADR 10). Such a step now reads them without
locks and decides on that snapshot, then commits with a guard checked in the same round trip
as its writes (`UnitOfWork.commit_guarded`): the settings' revision unchanged, and the
available credit the transaction leaves at least `least_available`. The guard is chosen so
that whenever it holds, the step's decisions on the snapshot are the ones it would have made
on the rows as they are at its commit, so the result is that of the locked step run then.

- A step whose snapshot decision depends on the balance is not taken here: a grant shorter
  than the interval, a refusal for credit, a price above the budget, or a balance change that
  alerts or starts an auto-recharge. Those run with locks, as before.
- Otherwise the decisions that depend on the balance are of the form "the credit covers
  this": the hold (or the message price) fits above the floor, and no threshold is crossed.
  Each holds for every available balance at least as high as the bound it sets, and the
  step's own change to the available credit does not depend on the balance, so a bound on
  the available credit after the step is enough.

If the guard fails, nothing is committed and the step runs again with locks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from telebill.domain.accounts import Account
from telebill.domain.ledger import Balance
from telebill.domain.prepaid import BillingSettings, after_balance_change, quiet_above
from telebill.service.credits import balance_events
from telebill.service.ports import UnitOfWork
from telebill.service.retries import retried
from telebill.service.step_ports import GuardFailed, StepGuard

NO_BOUND = -(2**62)
T = TypeVar("T")


def stepped(unlocked_first: bool, step: Callable[[bool], T]) -> T:
    """Run `step(unlocked)`: without locks on the account first where the database allows;
    with locks where it does not, and when the account changed under it (GuardFailed). A
    lost race (RetryableConflict) runs it all again (retries.py)."""

    def attempt() -> T:
        if unlocked_first:
            try:
                return step(True)
            except GuardFailed:
                pass
        return step(False)

    return retried(attempt)


def consequences(
    uow: UnitOfWork,
    account: Account,
    settings: BillingSettings,
    before: int,
    after: int,
    now: datetime,
    customer_id: int,
    *,
    unlocked: bool,
    covered: bool,
) -> StepGuard | None:
    """A locked step stores what its balance change sets off (balance_events) and commits as
    usual: None. An unlocked one sets off nothing, and commits with the guard that keeps it
    so; GuardFailed, to run it with locks, when its snapshot sets something off or is short."""
    if not unlocked:
        balance_events(uow, account, settings, before, after, now)
        return None
    least = least_available(settings, before, after, covered=covered)
    if least is None:
        raise GuardFailed("the step changes the balance near a floor or threshold")
    return StepGuard(account.sid, customer_id, least)


def least_available(settings: BillingSettings, before: int, after: int, *, covered: bool) -> int | None:
    """The least available credit after the step for which its snapshot decisions stand;
    None when the snapshot itself is constrained (the step must run with locks).

    `before`, `after`: the available credit before and after the step, on the snapshot.
    `covered`: the step spent only what the credit above the floor covered (a hold, a message
    price); then the true credit must cover it too."""
    events = after_balance_change(settings, before, after)
    if events.low_balance_alert or events.start_auto_recharge or events.settings != settings:
        return None
    bounds = [NO_BOUND]
    if covered:
        bounds.append(settings.floor)
    quiet = quiet_above(settings)
    if after < before and quiet is not None:  # only spending alerts or starts a recharge
        bounds.append(quiet)
    least = max(bounds)
    return least if after >= least else None


def commit_step(uow: UnitOfWork, guard: StepGuard | None) -> Balance | None:
    """Commit a step: with its guard when it read without locks, and then the guarded ledger
    account's balance as committed (None for a locked step, whose own reads are current)."""
    if guard is None:
        uow.commit()
        return None
    return uow.commit_guarded(guard)
