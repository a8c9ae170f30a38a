"""The per-process store of what charging steps read of an account (account_snapshots.py)."""

from __future__ import annotations

from collections import namedtuple

from telebill.adapters.sql.account_snapshots import AccountSnapshots, Snapshot

Row = namedtuple("Row", "id debits_posted credits_posted debits_pending credits_pending")
BALANCE = {"debits_posted": 1, "credits_posted": 10, "debits_pending": 2, "credits_pending": 0}


def test_a_guarded_commit_keeps_the_balance_it_left_for_the_revision_it_checked() -> None:
    kept = AccountSnapshots()
    kept.keep("AC1", Snapshot(3, object(), ledger={7: Row(7, 0, 0, 0, 0)}), instead_of=None)
    kept.committed("AC1", 3, 7, BALANCE)
    snapshot = kept.get("AC1")
    assert snapshot is not None
    assert snapshot.ledger[7] == Row(7, 1, 10, 2, 0)


def test_a_commit_checked_against_another_revision_keeps_nothing_new() -> None:
    kept = AccountSnapshots()
    kept.keep("AC1", Snapshot(4, object(), ledger={7: Row(7, 0, 0, 0, 0)}), instead_of=None)
    kept.committed("AC1", 3, 7, BALANCE)
    kept.committed("AC2", 3, 7, BALANCE)  # nothing kept of that account: nothing to update
    snapshot = kept.get("AC1")
    assert snapshot is not None
    assert snapshot.ledger[7] == Row(7, 0, 0, 0, 0)
    assert kept.get("AC2") is None


def test_past_its_capacity_the_store_drops_the_account_kept_longest_ago() -> None:
    kept = AccountSnapshots(capacity=2)
    for sid in ("AC1", "AC2"):
        kept.keep(sid, Snapshot(0, object()), instead_of=None)
    kept.keep("AC1", Snapshot(1, object()), instead_of=kept.get("AC1"))  # kept again: now the newest
    kept.keep("AC3", Snapshot(0, object()), instead_of=None)
    assert len(kept) == 2
    assert kept.get("AC2") is None
    assert kept.get("AC1") is not None
    assert kept.get("AC3") is not None


def test_a_step_does_not_bring_back_what_was_forgotten_since_it_began() -> None:
    kept = AccountSnapshots()
    began = Snapshot(0, object())
    kept.keep("AC1", began, instead_of=None)
    kept.forget("AC1")  # a change to the account, meanwhile
    kept.keep("AC1", Snapshot(0, object()), instead_of=began)
    assert kept.get("AC1") is None


def test_a_step_does_not_replace_what_a_later_step_kept() -> None:
    kept = AccountSnapshots()
    later = Snapshot(5, object())
    kept.keep("AC1", later, instead_of=None)
    kept.keep("AC1", Snapshot(4, object()), instead_of=None)  # began when nothing was kept
    assert kept.get("AC1") is later


def test_a_forgotten_account_is_read_afresh() -> None:
    kept = AccountSnapshots()
    kept.keep("AC1", Snapshot(0, object()), instead_of=None)
    kept.forget("AC1")
    kept.forget("AC9")
    assert kept.get("AC1") is None
