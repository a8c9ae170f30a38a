"""Charging steps that read their account without locks (service/step_guard.py): on
PostgreSQL a step commits only if its account is still as its decisions assumed; otherwise
nothing of it is committed and it runs again with locks. Each test changes the account from
another transaction between the step's reads and its commit, as a concurrent request would.
(SQLite runs one writer at a time: its steps always run with locks.)"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import pytest
from prepaid_account import UK_MOBILE, US_LINE

from telebill.bootstrap import Container
from telebill.domain.accounts import Account
from telebill.domain.ledger import Balance
from telebill.service.call_admission import CallRequest
from telebill.service.charging import ChargingService
from telebill.service.ports import UnitOfWork, UnitOfWorkFactory
from telebill.service.step_ports import StepGuard


class Interleaved:
    """A unit-of-work factory whose guarded commits first run `meanwhile` (once), in another
    transaction; it counts the guarded commits."""

    def __init__(self, inner: UnitOfWorkFactory, meanwhile: Callable[[], Any]) -> None:
        self.inner = inner
        self.meanwhile: Callable[[], Any] | None = meanwhile
        self.guarded = 0

    def __call__(self) -> UnitOfWork:
        return _Unit(self, self.inner())  # type: ignore[return-value]


class _Unit:
    def __init__(self, owner: Interleaved, inner: UnitOfWork) -> None:
        self._owner, self._inner = owner, inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._inner.__exit__(t, e, tb)

    def commit_guarded(self, guard: StepGuard) -> Balance:
        self._owner.guarded += 1
        meanwhile, self._owner.meanwhile = self._owner.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return self._inner.commit_guarded(guard)


@pytest.fixture
def postgres(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time: its steps always run with locks")


def interleaved(c: Container, meanwhile: Callable[[], Any]) -> tuple[ChargingService, Interleaved]:
    assert c.units is not None
    units = Interleaved(c.units, meanwhile)
    return ChargingService(units, c.clock, c.pricing, c.settings.charging_interval_s), units


def request(call_id: str) -> CallRequest:
    return CallRequest(call_id, US_LINE, UK_MOBILE)


def warm_up(c: Container, account: Account) -> None:
    """One unanswered call, which costs nothing: the ledger accounts a call needs exist before
    the tests' steps (a step creating one would make the interleaved request wait for it)."""
    assert c.charging.authorize(account, request("warm-up")).allowed
    c.charging.end(account, "warm-up", 0, False)


@pytest.mark.usefixtures("postgres")
def test_a_step_whose_credit_was_spent_meanwhile_runs_again_with_locks_and_is_refused(
    demo_container: Container, acme: Account
) -> None:
    c = demo_container
    c.credits.update_settings(acme, {"low_balance_threshold": "0"})
    c.credits.top_up(acme, "0.03", "t1")  # one minute's hold (0.021) fits, two do not
    warm_up(c, acme)
    charging, units = interleaved(c, lambda: c.charging.authorize(acme, request("other")))
    answer = charging.authorize(acme, request("first"))
    assert units.guarded == 1  # the guard failed; the second run was locked and needed none
    assert not answer.allowed
    assert answer.reason == "insufficient_credit"
    assert c.credits.balance(acme).available == 9_000
    assert c.ledger.verify().ok


@pytest.mark.usefixtures("postgres")
def test_a_step_whose_settings_changed_meanwhile_runs_again_with_the_new_ones(
    demo_container: Container, acme: Account
) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    warm_up(c, acme)
    charging, units = interleaved(c, lambda: c.credits.update_settings(acme, {"low_balance_threshold": "9.99"}))
    assert charging.authorize(acme, request("first")).allowed  # holds 0.021: 9.979 left, below 9.99
    assert units.guarded == 1
    assert c.units is not None
    with c.units() as uow:
        alerts = [m for m in uow.billing.outbox_of(acme.sid) if m.topic == "balance.low"]
    assert len(alerts) == 1


@pytest.mark.usefixtures("postgres")
def test_an_unlocked_end_answers_the_balance_it_committed(demo_container: Container, acme: Account) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    charging, units = interleaved(c, lambda: c.credits.top_up(acme, "1.00", "t2"))
    assert c.charging.authorize(acme, request("first")).allowed
    ended = charging.end(acme, "first", 95, True)
    assert units.guarded == 1  # the top-up changed neither the settings nor the bound: committed as read
    assert ended.charge == 42_000
    assert ended.balance == 10_958_000 == c.credits.balance(acme).balance
    assert c.ledger.verify().ok


@pytest.mark.usefixtures("postgres")
def test_a_step_that_would_set_off_an_alert_runs_with_locks(demo_container: Container, acme: Account) -> None:
    c = demo_container
    c.credits.update_settings(acme, {"low_balance_threshold": "4.00"})
    c.credits.top_up(acme, "5.01", "t1")
    warm_up(c, acme)
    c.credits.update_settings(acme, {"low_balance_threshold": "5.00"})
    charging, units = interleaved(c, lambda: None)
    assert charging.authorize(acme, request("first")).allowed  # 4.989 available: the default threshold is 5.00
    assert units.guarded == 0
    assert c.units is not None
    with c.units() as uow:
        assert [m.topic for m in uow.billing.outbox_of(acme.sid)] == ["balance.low"]


@pytest.mark.usefixtures("postgres")
def test_a_step_that_took_its_transfer_id_first_but_committed_last_is_the_statement_s_newest_line(
    demo_container: Container, acme: Account
) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    warm_up(c, acme)
    charging, units = interleaved(c, lambda: c.charging.authorize(acme, request("second")))
    assert charging.authorize(acme, request("first")).allowed
    assert units.guarded == 1
    newest, older = c.ledger.statement(acme.sid, "USD").lines[:2]
    assert (newest.transfer.reference, older.transfer.reference) == ("hold first", "hold second")
    assert newest.transfer.id < older.transfer.id  # applied in the other order than numbered
    assert (older.holds, newest.holds) == (21_000, 42_000)
    assert newest.balance == older.balance == 10_000_000
