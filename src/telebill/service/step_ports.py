"""What a charging step tells its unit of work: the rows it is about to read, and, when it
read the account without locking it, the condition its commit depends on (step_guard.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StepReads:
    """What a charging step is about to read, in this order: its call row (locked), the call's
    open hold, the line's number row, the account's destination blocks, its prepaid settings
    and one ledger account. A unit of work may fetch them together; a step that then reads
    less (a replayed request) only took its locks early.

    `unlocked`: the settings and the ledger account are read without locks, for a step that
    commits with a guard (`UnitOfWork.commit_guarded`); the call row is locked all the same,
    unless `new_call`.
    `new_call` (with `unlocked`): the step assumes its call does not exist yet (a first
    authorisation) and does not read it; if it does exist, the commit raises GuardFailed and
    the step runs again with locks, reading it."""

    account_sid: str
    call_id: str
    hold_of_call: bool = False
    line_e164: str | None = None
    blocks: bool = False
    ledger_account_id: int | None = None
    unlocked: bool = False
    new_call: bool = False


@dataclass(frozen=True, slots=True)
class StepGuard:
    """What must still hold when a step that read its account without locks commits: the
    account's prepaid settings unchanged since the step read them (their revision, which also
    counts changes to its lines and blocks), and its customer ledger account left with at
    least `least_available` micros available by the transaction. No ledger account: a step
    that moves no money (a refusal) and needs only the settings unchanged."""

    account_sid: str
    ledger_account_id: int | None
    least_available: int


class GuardFailed(Exception):
    """The account changed under a step that read it without locks: nothing was committed,
    and the step is run again with locks."""
