"""What charging steps read of an account, kept from one transaction to the next for the
steps that read without locks (PostgreSQL, step_guard.py): the prepaid settings with their
revision, the account's own lines and its destination blocks as read at or after that
revision, and its customer ledger row.

Such a step commits only if the settings' revision is still the one it decided on and the
credit it leaves is what it needs; a step that answers without a guarded commit (a refusal)
runs again with locks, which read everything afresh. So a kept row that is out of date
costs a step's second run, never a wrong decision, provided that:

- every change to what is kept bumps the revision in its own transaction (the settings, an
  account's lines and its blocks: billing_repository.py), and
- a row is kept with a revision only if it was read after that revision was: a change
  committed in between then shows at the guard as a newer revision.

The ledger row's balance only decides whether a step may try without locks (a balance near
a floor or threshold runs with locks from the start); the guard checks the balance as it
is. It is kept from a step's unlocked read and from what its guarded commit left, and
dropped when a step runs with locks (that step changes it).

One instance per process (the unit-of-work factory), shared by its threads: entries are
replaced whole, never changed in place, under a lock; a step keeps what it read only if the
entry is still the one it began with.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CAPACITY = 20_000  # accounts; past that the oldest kept entry goes


@dataclass(frozen=True, slots=True)
class Snapshot:
    revision: int
    settings: Any  # the settings row as read (prepared statement's row)
    lines: Mapping[str, Any] = field(default_factory=dict)  # e164 -> the row of a line of the account
    blocks: list[Any] | None = None  # the blocks rows, or not read yet
    ledger: Mapping[int, Any] = field(default_factory=dict)  # ledger account id -> row


class AccountSnapshots:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._kept: OrderedDict[str, Snapshot] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, account_sid: str) -> Snapshot | None:
        return self._kept.get(account_sid)

    def __len__(self) -> int:
        return len(self._kept)

    def keep(self, account_sid: str, snapshot: Snapshot, instead_of: Snapshot | None) -> None:
        """Keep `snapshot` if what is kept is still `instead_of` (what the step began with):
        a step does not bring back what was forgotten meanwhile, nor replace a later step's."""
        with self._lock:
            if self._kept.get(account_sid) is not instead_of:
                return
            self._kept[account_sid] = snapshot
            self._kept.move_to_end(account_sid)
            while len(self._kept) > self._capacity:
                self._kept.popitem(last=False)

    def forget(self, account_sid: str) -> None:
        with self._lock:
            self._kept.pop(account_sid, None)

    def committed(self, account_sid: str, revision: int, ledger_id: int, balance: Mapping[str, int]) -> None:
        """A guarded commit left ledger row `ledger_id` with `balance`, the settings still at
        `revision`: keep that balance (if the row is kept with that revision)."""
        with self._lock:
            kept = self._kept.get(account_sid)
            if kept is None or kept.revision != revision or ledger_id not in kept.ledger:
                return
            row = kept.ledger[ledger_id]._replace(**balance)
            self._kept[account_sid] = Snapshot(kept.revision, kept.settings, kept.lines, kept.blocks, {ledger_id: row})
