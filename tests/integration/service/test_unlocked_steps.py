"""Charging steps that read their account without locks (service/step_guard.py): on
PostgreSQL a step commits only if its account is still as its decisions assumed; otherwise
nothing of it is committed and it runs again with locks. Each test changes the account from
another transaction between the step's reads and its commit, as a concurrent request would.
(SQLite runs one writer at a time: its steps always run with locks.)"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import pytest
from prepaid_account import UK_MOBILE, US_LINE

from telebill.bootstrap import Container
from telebill.domain.accounts import Account, Principal, Role
from telebill.domain.ledger import Balance
from telebill.domain.money import currency
from telebill.service.call_admission import CallRequest
from telebill.service.charging import ChargingService
from telebill.service.credits import CreditService
from telebill.service.ports import UnitOfWork, UnitOfWorkFactory
from telebill.service.step_ports import StepGuard


class Interleaved:
    """A unit-of-work factory whose guarded commits first run `meanwhile` (once), in another
    transaction. It counts the units of work, the guarded commits tried and those that
    committed."""

    def __init__(self, inner: UnitOfWorkFactory, meanwhile: Callable[[], Any]) -> None:
        self.inner = inner
        self.meanwhile: Callable[[], Any] | None = meanwhile
        self.units = self.guarded = self.committed = 0

    def __call__(self) -> UnitOfWork:
        self.units += 1
        return _Unit(self, self.inner())  # type: ignore[return-value]

    def entered(self, unit: UnitOfWork) -> None:
        """Called with each unit of work once its transaction is open."""


class _Unit:
    def __init__(self, owner: Interleaved, inner: UnitOfWork) -> None:
        self._owner, self._inner = owner, inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> Self:
        self._inner.__enter__()
        self._owner.entered(self._inner)
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._inner.__exit__(t, e, tb)

    def commit_guarded(self, guard: StepGuard) -> Balance:
        self._owner.guarded += 1
        meanwhile, self._owner.meanwhile = self._owner.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        balance = self._inner.commit_guarded(guard)
        self._owner.committed += 1
        return balance


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
    assert (units.guarded, units.committed, units.units) == (1, 0, 2)  # failed; run again, locked
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
    assert (units.guarded, units.committed, units.units) == (1, 0, 2)
    assert c.units is not None
    with c.units() as uow:
        alerts = [m for m in uow.billing.outbox_of(acme.sid) if m.topic == "balance.low"]
    assert len(alerts) == 1


@pytest.mark.usefixtures("postgres")
def test_settings_saved_unchanged_meanwhile_do_not_make_a_step_run_again(
    demo_container: Container, acme: Account
) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    warm_up(c, acme)
    same = {"billing_address": "1 Main St, San Francisco", "low_balance_threshold": "5.00"}
    charging, units = interleaved(c, lambda: c.credits.update_settings(acme, same))
    assert charging.authorize(acme, request("first")).allowed
    assert (units.guarded, units.committed, units.units) == (1, 1, 1)


@pytest.mark.usefixtures("postgres")
def test_an_unlocked_end_answers_the_balance_it_committed(demo_container: Container, acme: Account) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    charging, units = interleaved(c, lambda: c.credits.top_up(acme, "1.00", "t2"))
    assert c.charging.authorize(acme, request("first")).allowed
    ended = charging.end(acme, "first", 95, True)
    # the top-up changed neither the settings nor the bound: committed as read, in one unit of work
    assert (units.guarded, units.committed, units.units) == (1, 1, 1)
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
    assert (units.guarded, units.units) == (0, 2)  # given up before its commit, and run locked
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
    assert (units.guarded, units.committed, units.units) == (1, 1, 1)
    newest, older = c.ledger.statement(acme.sid, "USD").lines[:2]
    assert (newest.transfer.reference, older.transfer.reference) == ("hold first", "hold second")
    assert newest.transfer.id < older.transfer.id  # applied in the other order than numbered
    assert (older.holds, newest.holds) == (21_000, 42_000)
    assert newest.balance == older.balance == 10_000_000


@pytest.mark.usefixtures("postgres")
def test_usage_reports_and_messages_commit_unlocked_well_above_the_floor(
    demo_container: Container, acme: Account
) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    warm_up(c, acme)
    assert c.charging.authorize(acme, request("call")).allowed
    charging, units = interleaved(c, lambda: None)
    usage = charging.usage(acme, "call", 60)
    assert (usage.proceed, usage.granted_until_s, usage.charged) == (True, 120, 21_000)
    sms = charging.authorize(acme, CallRequest("sms", US_LINE, "+14155550123", kind="sms"))
    assert sms.allowed
    assert (units.guarded, units.committed, units.units) == (2, 2, 2)
    assert c.credits.balance(acme).holds == 21_000
    assert c.ledger.verify().ok


@pytest.mark.usefixtures("postgres")
def test_a_usage_report_whose_credit_was_spent_meanwhile_is_granted_only_what_is_left(
    demo_container: Container, acme: Account
) -> None:
    c = demo_container
    c.credits.update_settings(acme, {"low_balance_threshold": "0"})
    c.credits.top_up(acme, "0.05", "t1")
    warm_up(c, acme)
    assert c.charging.authorize(acme, request("call")).allowed  # holds 0.021: 0.029 left
    charging, units = interleaved(c, lambda: c.charging.authorize(acme, request("other")))
    # read: 0.029 covers the next minute (0.021); by the commit another call held 0.021 of it
    usage = charging.usage(acme, "call", 60)
    assert (units.guarded, units.committed, units.units) == (1, 0, 2)
    assert not usage.proceed  # 0.008 left: not a minute (60/60), so nothing more is granted
    assert (usage.granted_until_s, usage.charged) == (60, 21_000)
    assert c.credits.balance(acme).available == 8_000
    assert c.ledger.verify().ok


@pytest.mark.usefixtures("postgres")
def test_a_top_up_decides_its_alert_on_the_balance_as_it_is_not_as_it_read_it(
    demo_container: Container, acme: Account
) -> None:
    c = demo_container
    c.credits.top_up(acme, "4.99", "t1")  # below the default 5.00 threshold
    warm_up(c, acme)  # its hold alerts; the release does not re-arm
    assert c.credits.balance(acme).settings.low_balance_alerted
    spent: list[Any] = []

    def meanwhile() -> None:  # the top-up holds the settings' lock: an unlocked step does not wait on it
        t = threading.Thread(target=lambda: spent.append(c.charging.authorize(acme, request("first"))))
        t.start()
        t.join(30)
        assert spent, "the step waited on the top-up"

    credits = CreditService(LedgerLocked(c.units, meanwhile), c.clock, payments_of(c))
    credits.top_up(acme, "0.02", "t2")  # 4.99 + 0.02 - 0.021 = 4.989: still below the threshold
    balance = c.credits.balance(acme)
    assert balance.available == 4_989_000
    assert balance.settings.low_balance_alerted  # not re-armed: the next call must not alert again


class LedgerLocked(Interleaved):
    """Runs `meanwhile` when a unit of work first locks ledger rows."""

    def entered(self, unit: UnitOfWork) -> None:
        lock = unit.ledger.lock

        def locking(ids: Any) -> Any:
            meanwhile, self.meanwhile = self.meanwhile, None
            if meanwhile is not None:
                meanwhile()
            return lock(ids)

        unit.ledger.lock = locking  # type: ignore[method-assign]


def payments_of(c: Container) -> Any:
    return c.credits._provider


def test_a_step_updates_its_customer_s_row_before_the_revenue_row_whatever_their_ids(
    demo_container: Container, acme: Account
) -> None:
    """A step locks its customer's row first, the revenue row after: a step that updated them
    in id order would deadlock with one that holds the customer's row and waits for revenue's."""
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    warm_up(c, acme)  # the revenue account exists before beta's customer account
    beta = prepaid_account_named(c, "beta", "+14155550111")
    c.credits.top_up(beta, "10.00", "b1")
    orders: list[list[int]] = []
    fresh = ChargingService(Recording(c.units, orders), c.clock, c.pricing, c.settings.charging_interval_s)
    assert fresh.authorize(beta, CallRequest("b-1", "+14155550111", UK_MOBILE)).allowed  # caches cold
    with c.units() as uow:
        customer = uow.ledger.account_by_code(f"customer:{beta.sid}:credit:USD")
        revenue = uow.ledger.account_by_code("platform:revenue:voice:USD")
    assert customer is not None
    assert revenue is not None
    assert revenue.id < customer.id
    assert orders == [[customer.id, revenue.id]]


class Recording(Interleaved):
    """Records the order of the accounts each ledger update is given."""

    def __init__(self, inner: UnitOfWorkFactory, orders: list[list[int]]) -> None:
        super().__init__(inner, lambda: None)
        self.orders = orders

    def entered(self, unit: UnitOfWork) -> None:
        add = unit.ledger.add_to_balances

        def adding(deltas: Any) -> None:
            self.orders.append(list(deltas))
            add(deltas)

        unit.ledger.add_to_balances = adding  # type: ignore[method-assign]


def prepaid_account_named(c: Container, name: str, line: str) -> Account:
    account = c.accounts.create_account(name, currency("USD"), "demo").account
    c.credits.update_settings(account, {"billing_address": "2 Main St"})
    c.lines.add(account, line)
    c.lines.set_international(Principal(account, Role.ADMIN), account, line, True)
    return account
