"""Units of work on SQLite: one at a time per process, on one shared connection."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from telebill.adapters.sql.uow import SqlUnitOfWorkFactory
from telebill.bootstrap import Container
from telebill.domain.errors import RetryableConflict
from telebill.domain.ledger import AccountKind


@pytest.fixture
def uow(container: Container) -> SqlUnitOfWorkFactory:
    if not container.embedded_database:
        pytest.skip("the shared connection is SQLite's")
    return SqlUnitOfWorkFactory(container.engine)


def test_units_of_work_share_one_connection_and_see_each_other_s_commits(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as first:
        first.ledger.create_account("platform:revenue:voice:USD", AccountKind.REVENUE, "USD", None)
        first.commit()
        connection = first._conn
    with uow() as second:
        assert second._conn is connection
        assert second.ledger.account_by_code("platform:revenue:voice:USD") is not None


def test_work_left_uncommitted_is_rolled_back_before_the_next_unit_of_work(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as first:
        first.ledger.create_account("platform:revenue:voice:USD", AccountKind.REVENUE, "USD", None)
    with uow() as second:
        assert second.ledger.account_by_code("platform:revenue:voice:USD") is None


def test_a_unit_of_work_inside_another_on_the_same_thread_is_refused_at_once(uow: SqlUnitOfWorkFactory) -> None:
    with uow(), pytest.raises(RuntimeError, match="already open"), uow():
        pass
    with uow() as after:  # the refusal left the lock and the connection usable
        assert after._conn is not None


def test_units_of_work_of_two_threads_take_turns(uow: SqlUnitOfWorkFactory) -> None:
    def create(code: str) -> None:
        with uow() as u:
            u.ledger.create_account(code, AccountKind.REVENUE, "USD", None)
            u.commit()

    threads = [threading.Thread(target=create, args=(f"platform:revenue:t{i}:USD",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with uow() as u:
        assert all(u.ledger.account_by_code(f"platform:revenue:t{i}:USD") for i in range(8))


def test_an_invalidated_connection_is_replaced_by_the_next_unit_of_work(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as first:
        assert first._conn is not None
        first._conn.invalidate()
        broken = first._conn
    with uow() as second:
        assert second._conn is not broken
        assert second._conn is not None
        assert second._conn.execute(text("SELECT 1")).scalar() == 1


def test_a_failed_commit_does_not_leave_the_shared_connection_in_its_transaction(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as failing:
        assert failing._conn is not None
        # a foreign key checked at COMMIT: like a disk full or an I/O error, the COMMIT fails
        failing._conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        failing._conn.exec_driver_sql(
            "INSERT INTO postings (transfer_id, account_id, debit, pending, amount) VALUES (999, 999, 1, 0, 5)"
        )
        with pytest.raises(RetryableConflict):
            failing.commit()
    with uow() as after:
        after.ledger.create_account("platform:revenue:voice:USD", AccountKind.REVENUE, "USD", None)
        after.commit()
    with uow() as check:
        assert check.ledger.account_by_code("platform:revenue:voice:USD") is not None
        assert check._conn is not None
        assert check._conn.execute(text("SELECT count(*) FROM postings")).scalar() == 0
