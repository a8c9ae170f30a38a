"""What a process keeps of an account between charging steps (account_snapshots.py): steps
that read without locks are answered from it, and a change made by another process (which
cannot tell this one) is still obeyed at the next step. Two containers on one database stand
for two server processes. PostgreSQL only: on SQLite steps always run with locks and read
everything."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from prepaid_account import UK_MOBILE, US_LINE, prepaid_account

from telebill.adapters.clock import FrozenClock
from telebill.adapters.sql import uow as uow_module
from telebill.adapters.sql.account_snapshots import AccountSnapshots
from telebill.adapters.sql.uow import SqlUnitOfWorkFactory
from telebill.bootstrap import Container, bootstrap
from telebill.config import Settings
from telebill.domain.accounts import Account, Principal, Role
from telebill.domain.errors import IdempotencyConflict
from telebill.service.call_admission import CallRequest

FR_MOBILE = "+33612345678"


@pytest.fixture
def a(demo_container: Container, database_url: str) -> Container:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time: its steps always run with locks, reading all")
    return demo_container


def another_process(database_url: str, clock: FrozenClock) -> Iterator[Container]:
    other = bootstrap(Settings(database_url=database_url), clock)
    try:
        yield other
    finally:
        other.close()


@pytest.fixture
def b(a: Container, database_url: str, clock: FrozenClock) -> Iterator[Container]:
    """Another server process on the same database."""
    yield from another_process(database_url, clock)


@pytest.fixture
def acme(a: Container) -> Account:
    acct = prepaid_account(a)
    a.credits.top_up(acct, "10.00", "t1")
    return acct


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """For each step read ahead: how many reads went to the database, and how many were
    answered from what the process kept."""
    seen: list[tuple[int, int]] = []
    real = uow_module.prefetch

    def prefetch(conn: Any, planned: Any, known: Any = ()) -> Any:
        seen.append((len(planned), len(known)))
        return real(conn, planned, known)

    monkeypatch.setattr(uow_module, "prefetch", prefetch)
    return seen


def kept_of(c: Container) -> AccountSnapshots:
    assert isinstance(c.units, SqlUnitOfWorkFactory)
    assert c.units.snapshots is not None
    return c.units.snapshots


def call(a: Container, acme: Account, call_id: str, to: str = UK_MOBILE) -> tuple[bool, str | None]:
    answer = a.charging.authorize(acme, CallRequest(call_id, US_LINE, to))
    if answer.allowed:
        a.charging.end(acme, call_id, 30, True)
    return answer.allowed, answer.reason


def test_after_the_first_call_an_authorisation_reads_nothing_and_an_end_its_call_and_hold(
    a: Container, acme: Account, reads: list[tuple[int, int]]
) -> None:
    assert call(a, acme, "first") == (True, None)
    reads.clear()
    assert call(a, acme, "second") == (True, None)
    # authorise: the settings, line, blocks and ledger row kept, the call assumed new. End:
    # the call and its hold read; the settings and ledger row kept
    assert reads == [(0, 5), (2, 2)]
    assert a.ledger.verify().ok


def test_an_authorisation_repeated_without_locks_gets_the_first_answer_and_holds_once(
    a: Container, acme: Account, reads: list[tuple[int, int]]
) -> None:
    assert call(a, acme, "first") == (True, None)
    first = a.charging.authorize(acme, CallRequest("second", US_LINE, UK_MOBILE))
    reads.clear()
    again = a.charging.authorize(acme, CallRequest("second", US_LINE, UK_MOBILE))
    assert (again.allowed, again.max_duration_s, again.granted_until_s) == (
        first.allowed, first.max_duration_s, first.granted_until_s,
    )  # fmt: skip
    assert reads[0] == (0, 5)  # assumed new; its commit failed on the call's key
    assert reads[1][0] == 5  # run again with locks: the call and all the rest read
    assert a.credits.balance(acme).available == 10_000_000 - 21_000 - 21_000
    with pytest.raises(IdempotencyConflict):
        a.charging.authorize(acme, CallRequest("second", US_LINE, FR_MOBILE))
    assert a.ledger.verify().ok


def test_international_calling_turned_off_by_another_process_refuses_the_next_call(
    a: Container, b: Container, acme: Account
) -> None:
    assert call(a, acme, "first") == (True, None)
    b.lines.set_international(Principal(acme, Role.ADMIN), acme, US_LINE, False)
    assert call(a, acme, "second") == (False, "international_calling_disabled")
    assert a.credits.balance(acme).available == 10_000_000 - 21_000


def test_a_block_added_by_another_process_refuses_the_next_call(a: Container, b: Container, acme: Account) -> None:
    assert call(a, acme, "first") == (True, None)
    b.lines.block(Principal(acme, Role.ADMIN), acme, "GB")
    assert call(a, acme, "second") == (False, "destination_blocked")


def test_a_block_removed_by_another_process_no_longer_refuses(a: Container, b: Container, acme: Account) -> None:
    a.lines.block(Principal(acme, Role.ADMIN), acme, "FR")
    assert call(a, acme, "first") == (True, None)
    assert call(a, acme, "to France", FR_MOBILE) == (False, "destination_blocked")
    b.lines.unblock(Principal(acme, Role.ADMIN), acme, "FR")
    assert call(a, acme, "to France again", FR_MOBILE) == (True, None)


def test_an_account_suspended_by_another_process_is_refused_at_the_next_call(
    a: Container, b: Container, acme: Account
) -> None:
    assert call(a, acme, "first") == (True, None)
    b.credits.update_settings(acme, {"suspended": True})
    assert call(a, acme, "second") == (False, "account_suspended")


def test_credit_spent_by_another_process_is_what_the_next_call_sees(a: Container, b: Container, acme: Account) -> None:
    a.credits.update_settings(acme, {"low_balance_threshold": "0"})
    assert call(a, acme, "first") == (True, None)
    left = a.credits.balance(acme).available  # 9.979
    # another process spends all but 0.025: one minute's hold (0.021) fits, two do not
    minutes = (left - 21_000) // 21_000
    spent = 0
    while spent < minutes:  # calls of at most 4 hours
        length = min(minutes - spent, 240)
        assert b.charging.authorize(acme, CallRequest(f"elsewhere {spent}", US_LINE, UK_MOBILE)).allowed
        b.charging.end(acme, f"elsewhere {spent}", length * 60, True)
        spent += length
    assert b.credits.balance(acme).available == left - minutes * 21_000 < 42_000
    answer = a.charging.authorize(acme, CallRequest("second", US_LINE, UK_MOBILE))
    assert answer.allowed
    assert answer.max_duration_s < 180  # from the balance as it is, not as this process last saw it
    assert not a.charging.authorize(acme, CallRequest("third", US_LINE, UK_MOBILE)).allowed
    assert a.ledger.verify().ok


def test_a_change_made_by_this_process_is_read_afresh_at_once(
    a: Container, acme: Account, reads: list[tuple[int, int]]
) -> None:
    assert call(a, acme, "first") == (True, None)
    a.lines.set_international(Principal(acme, Role.ADMIN), acme, US_LINE, False)
    reads.clear()
    assert call(a, acme, "second") == (False, "international_calling_disabled")
    assert reads[0] == (4, 1)  # the settings, line, blocks, ledger row read; the call assumed new


@pytest.fixture
def fresh(a: Container, database_url: str, clock: FrozenClock) -> Iterator[Container]:
    """A third process, which has kept nothing: the answers as the account is."""
    yield from another_process(database_url, clock)


def test_a_member_s_call_obeys_international_calling_turned_off_by_another_process(
    a: Container, b: Container, acme: Account
) -> None:
    member = a.accounts.create_key(acme.sid, Role.MEMBER)
    a.lines.assign(Principal(acme, Role.ADMIN), acme, US_LINE, member.key.sid, True)
    assert call(a, acme, "first") == (True, None)
    b.lines.set_international(Principal(acme, Role.ADMIN), acme, US_LINE, False)
    # the member's assignment is read through another path, which drops the rows read ahead:
    # the settings are then read afresh, but the guard still checks the kept line's revision
    answer = a.charging.authorize(acme, CallRequest("second", US_LINE, UK_MOBILE, member_key=member.key.sid))
    assert (answer.allowed, answer.reason) == (False, "international_calling_disabled")


def test_a_step_running_while_this_process_changes_a_line_does_not_keep_the_old_line_for_long(
    a: Container, acme: Account
) -> None:
    member = a.accounts.create_key(acme.sid, Role.MEMBER)
    a.lines.assign(Principal(acme, Role.ADMIN), acme, US_LINE, member.key.sid, True)
    assert call(a, acme, "first") == (True, None)
    assert a.units is not None
    with a.units() as u:
        u.billing.set_international(US_LINE, False)  # forgets what the process kept; not committed yet
        meanwhile = threading.Thread(target=lambda: call(a, acme, "meanwhile"))  # reads the line as it was
        meanwhile.start()
        meanwhile.join()
        assert kept_of(a).get(acme.sid) is not None  # kept: the line as it was
        u.commit()
    assert kept_of(a).get(acme.sid) is None  # forgotten again at the commit
    answer = a.charging.authorize(acme, CallRequest("second", US_LINE, UK_MOBILE, member_key=member.key.sid))
    assert (answer.allowed, answer.reason) == (False, "international_calling_disabled")


def test_a_repeated_end_answers_the_balance_as_it_is(
    a: Container, b: Container, fresh: Container, acme: Account
) -> None:
    assert call(a, acme, "first") == (True, None)
    b.credits.top_up(acme, "5.00", "t2")
    replay = a.charging.end(acme, "first", 30, True)
    assert replay.balance == fresh.charging.end(acme, "first", 30, True).balance == 14_979_000


def test_a_repeated_authorisation_answers_the_balance_as_it_is(a: Container, b: Container, fresh: Container) -> None:
    small = prepaid_account(a)  # little credit: the longest call is not the 4 hours' cap
    a.credits.update_settings(small, {"low_balance_threshold": "0"})
    a.credits.top_up(small, "1.00", "t1")
    assert call(a, small, "warm") == (True, None)
    assert a.charging.authorize(small, CallRequest("open", US_LINE, UK_MOBILE)).allowed
    b.credits.top_up(small, "1.00", "t2")
    replay = a.charging.authorize(small, CallRequest("open", US_LINE, UK_MOBILE))
    truth = fresh.charging.authorize(small, CallRequest("open", US_LINE, UK_MOBILE))
    assert replay.max_duration_s == truth.max_duration_s == (1_979_000 // 21_000) * 60


def test_a_bad_number_on_an_account_suspended_by_another_process_is_refused_as_suspended(
    a: Container, b: Container, acme: Account
) -> None:
    assert call(a, acme, "first") == (True, None)
    b.credits.update_settings(acme, {"suspended": True})
    answer = a.charging.authorize(acme, CallRequest("bad", US_LINE, "+44"))
    assert (answer.allowed, answer.reason) == (False, "account_suspended")


def test_a_refusal_on_kept_rows_that_still_stand_commits_at_once(
    a: Container, acme: Account, reads: list[tuple[int, int]]
) -> None:
    a.lines.block(Principal(acme, Role.ADMIN), acme, "FR")
    assert call(a, acme, "first") == (True, None)
    reads.clear()
    assert call(a, acme, "to France", FR_MOBILE) == (False, "destination_blocked")
    assert reads == [(0, 5)]  # one step, on kept rows, its refusal guarded: not run again with locks


def test_a_repeated_usage_report_is_answered_with_locks(
    a: Container, acme: Account, reads: list[tuple[int, int]]
) -> None:
    assert call(a, acme, "first") == (True, None)
    assert a.charging.authorize(acme, CallRequest("long", US_LINE, UK_MOBILE)).allowed
    first = a.charging.usage(acme, "long", 60)
    reads.clear()
    again = a.charging.usage(acme, "long", 60)
    assert (again.proceed, again.granted_until_s, again.charged) == (
        first.proceed,
        first.granted_until_s,
        first.charged,
    )
    assert reads[0] == (2, 2)  # without locks: the call and its hold read, the rest kept
    assert reads[1] == (4, 0)  # nothing to commit, so nothing guarded: run again, reading all
